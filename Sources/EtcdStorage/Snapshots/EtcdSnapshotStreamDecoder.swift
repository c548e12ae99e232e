import RaftStorage
import RaftFiles

/// Decodes etcd `.snap` content (`snappb.snapshot{crc=1, data=2}` around
/// `raftpb.Snapshot{data=1, metadata=2}`) fed in chunks split anywhere, handing the snapshot data
/// out as it passes and checking etcd's rules at the end (`snap.Read`: no data or a zero CRC is an
/// empty snapshot; a CRC that differs is a mismatch).
///
/// Fields may come in any order, as protobuf allows (etcd writes the CRC first, the streaming
/// encoder last). Unknown fields are skipped without being buffered. What this decoder does not
/// accept, though a protobuf parser might: a second `data` field at either level (etcd never
/// writes one, and the first has been handed out already), and groups (deprecated, never written).
///
/// Memory: the metadata message is buffered (growing with the bytes actually present, up to
/// ``maxMetadataSize``); nothing else is, whatever a length field claims.
struct EtcdSnapshotStreamDecoder: SnapshotStreamDecoder {
    /// Larger metadata (a membership of millions of nodes) is taken for corruption.
    static let maxMetadataSize = 64 << 20

    private enum Level { case wrapper, snapshot }

    private enum State {
        /// Reading the tag of the next field.
        case tag(Level)
        /// Reading the varint value of a field (the CRC, or a skipped one).
        case varint(Level, field: UInt64)
        /// Reading the length of a length-delimited field.
        case length(Level, field: UInt64)
        /// Skipping the bytes of an unknown field.
        case skip(Level, remaining: UInt64)
        /// Passing on snapshot data.
        case data(remaining: UInt64)
        /// Gathering the metadata message.
        case metadata(remaining: Int)
    }

    private var state = State.tag(.wrapper)
    /// Bytes decoded so far: the offset of the next byte.
    private var offset: Int64 = 0
    /// The varint being read, across chunk boundaries.
    private var varint: UInt64 = 0
    private var varintBytes = 0
    private var varintStart: Int64 = 0

    /// Where the raftpb.Snapshot message ends, once its length is known.
    private var snapshotEnd: Int64?
    private var sawSnapshot = false
    private var snapshotCount: UInt64 = 0
    private var storedCRC: UInt32 = 0
    private var crc: UInt32 = 0

    private var dataCount: Int?
    private var metadataBytes: [UInt8] = []
    private var metadata = SnapshotMetadata()

    init() {}

    mutating func decode(
        _ bytes: UnsafeRawBufferPointer,
        data: (UnsafeRawBufferPointer) throws(StorageError) -> Void
    ) throws(StorageError) {
        var position = 0
        // Bytes inside raftpb.Snapshot are checksummed in runs, not field by field.
        var runStart: Int?
        func closeRun(at end: Int) {
            if let start = runStart, end > start {
                crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            }
            runStart = nil
        }

        while position < bytes.count {
            let inSnapshot = snapshotEnd != nil
            if inSnapshot && runStart == nil { runStart = position }
            // A step inside raftpb.Snapshot may not read past its end.
            let limit = snapshotEnd.map { min(bytes.count, position + Int(min($0 - offset, Int64(Int.max / 2)))) } ?? bytes.count
            let available = UnsafeRawBufferPointer(rebasing: bytes[..<limit])
            try step(available, &position, data: data)
            if let end = snapshotEnd, offset == end {
                guard case .tag(.snapshot) = state, varintBytes == 0 else {
                    throw corrupt("a field runs past the end of the raftpb.Snapshot message", at: varintStart)
                }
                closeRun(at: position)
                state = .tag(.wrapper)
                snapshotEnd = nil
            } else if !inSnapshot {
                closeRun(at: position)
            }
        }
        closeRun(at: position)
    }

    /// Consumes the bytes of the current state that `bytes` holds from `position` on.
    private mutating func step(
        _ bytes: UnsafeRawBufferPointer,
        _ position: inout Int,
        data: (UnsafeRawBufferPointer) throws(StorageError) -> Void
    ) throws(StorageError) {
        switch state {
        case .tag(let level), .varint(let level, _), .length(let level, _):
            guard let value = try readVarint(bytes, &position) else { return }
            try handleVarint(value, level: level)
        case .skip(let level, let remaining):
            let count = Int(min(remaining, UInt64(bytes.count - position)))
            position += count
            advance(count)
            state = remaining == UInt64(count) ? .tag(level) : .skip(level, remaining: remaining - UInt64(count))
        case .data(let remaining):
            let count = Int(min(remaining, UInt64(bytes.count - position)))
            try data(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)]))
            position += count
            advance(count)
            state = remaining == UInt64(count) ? .tag(.snapshot) : .data(remaining: remaining - UInt64(count))
        case .metadata(let remaining):
            let count = min(remaining, bytes.count - position)
            metadataBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)]))
            position += count
            advance(count)
            if remaining == count {
                try decodeMetadata()
                state = .tag(.snapshot)
            } else {
                state = .metadata(remaining: remaining - count)
            }
        }
    }

    var announcedDataCount: Int? { dataCount }

    mutating func finish() throws(StorageError) -> StreamedSnapshot {
        guard case .tag(.wrapper) = state, varintBytes == 0, snapshotEnd == nil else {
            throw StorageError(.unexpectedEnd, "snapshot content ends inside a field", offset: offset)
        }
        guard sawSnapshot, snapshotCount > 0, storedCRC != 0 else {
            throw StorageError(.corrupt, "snap: empty snapshot", offset: offset)
        }
        guard crc == storedCRC else {
            throw StorageError(.crcMismatch, "snap: crc mismatch (stored \(hex(storedCRC)), computed \(hex(crc)))", offset: offset)
        }
        return StreamedSnapshot(metadata: metadata, dataCount: dataCount)
    }

    // MARK: - Fields

    private mutating func handleVarint(_ value: UInt64, level: Level) throws(StorageError) {
        switch state {
        case .tag:
            let field = value >> 3
            guard field > 0 else { throw corrupt("illegal field number 0", at: varintStart) }
            try startField(field, wireType: UInt8(value & 7), level: level)
        case .varint(.wrapper, 1):
            storedCRC = UInt32(truncatingIfNeeded: value)
            state = .tag(.wrapper)
        case .varint(let level, _):
            state = .tag(level)
        case .length(let level, let field):
            try startLengthDelimited(field, length: value, level: level)
        default:
            break
        }
    }

    private mutating func startField(_ field: UInt64, wireType: UInt8, level: Level) throws(StorageError) {
        let known: Bool = switch (level, field) {
        case (.wrapper, 1), (.wrapper, 2), (.snapshot, 1), (.snapshot, 2): true
        default: false
        }
        let expected: UInt8 = level == .wrapper && field == 1 ? 0 : 2
        if known && wireType != expected {
            throw corrupt("wrong wire type \(wireType) for field \(field) of \(level == .wrapper ? "snappb.snapshot" : "raftpb.Snapshot")", at: varintStart)
        }
        switch wireType {
        case 0: state = .varint(level, field: field)
        case 1: state = .skip(level, remaining: 8)
        case 2: state = .length(level, field: field)
        case 5: state = .skip(level, remaining: 4)
        default: throw corrupt("unsupported wire type \(wireType) (field \(field))", at: varintStart)
        }
    }

    private mutating func startLengthDelimited(_ field: UInt64, length: UInt64, level: Level) throws(StorageError) {
        if let end = snapshotEnd, length > UInt64(end - offset) {
            throw corrupt("length \(length) runs past the end of the raftpb.Snapshot message", at: varintStart)
        }
        switch (level, field) {
        case (.wrapper, 2):
            guard !sawSnapshot else { throw corrupt("a second data field in snappb.snapshot", at: varintStart) }
            sawSnapshot = true
            snapshotCount = length
            guard length <= UInt64(Int64.max - offset) else { throw corrupt("impossible length \(length)", at: varintStart) }
            snapshotEnd = offset + Int64(length)
            state = .tag(.snapshot)
        case (.snapshot, 1):
            guard dataCount == nil else { throw corrupt("a second data field in raftpb.Snapshot", at: varintStart) }
            dataCount = Int(length)
            state = length == 0 ? .tag(.snapshot) : .data(remaining: length)
        case (.snapshot, 2):
            guard length <= UInt64(Self.maxMetadataSize) else {
                throw corrupt("snapshot metadata of \(length) bytes is over the \(Self.maxMetadataSize)-byte limit", at: varintStart)
            }
            metadataBytes.removeAll(keepingCapacity: true)
            state = .metadata(remaining: Int(length))
            if length == 0 { try decodeMetadata(); state = .tag(.snapshot) }
        default:
            state = length == 0 ? .tag(level) : .skip(level, remaining: length)
        }
    }

    private mutating func decodeMetadata() throws(StorageError) {
        let start = offset - Int64(metadataBytes.count)
        do {
            try metadataBytes.withRawBytes { (raw) throws(StorageError) in
                var reader = ProtobufReader(raw)
                try reader.readSnapshotMetadata(into: &metadata)
            }
        } catch {
            throw StorageError(error.code, error.message, offset: start + (error.offset ?? 0))
        }
    }

    // MARK: - Bytes

    /// Reads varint bytes; returns the value once complete, `nil` when the chunk ran out first.
    private mutating func readVarint(_ bytes: UnsafeRawBufferPointer, _ position: inout Int) throws(StorageError) -> UInt64? {
        if varintBytes == 0 { varintStart = offset }
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            advance(1)
            // Go's decoder takes up to ten bytes and drops bits past 64.
            guard varintBytes < 10 else { throw corrupt("varint overflows 64 bits", at: varintStart) }
            varint |= UInt64(byte & 0x7F) << UInt64(7 * varintBytes)
            varintBytes += 1
            if byte < 0x80 {
                defer { varint = 0; varintBytes = 0 }
                return varint
            }
        }
        return nil
    }

    private mutating func advance(_ count: Int) {
        offset += Int64(count)
    }

    private func corrupt(_ message: String, at offset: Int64) -> StorageError {
        StorageError(.corrupt, "snap: \(message)", offset: offset)
    }
}
