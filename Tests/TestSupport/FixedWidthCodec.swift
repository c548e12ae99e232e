public import RaftStorage
public import RaftFiles

/// A deliberately simple codec (fixed-width little-endian fields) with neither fast path, as a
/// third party might write one: it exercises `RecordCodecConformance` independently of the
/// protobuf codec, and the WAL through the protocol's defaults.
public struct FixedWidthCodec: RecordCodec {
    public init() {}

    public var formatName: String? { "fixed-width-test" }

    public func encode(_ record: LogRecord, into buffer: inout [UInt8], checksum: (UnsafeRawBufferPointer) -> UInt32) {
        var payload: [UInt8] = []
        let kind: UInt8
        switch record {
        case .metadata(let data):
            kind = 1
            Self.put(data, into: &payload)
        case .entry(let entry):
            kind = 2
            Self.put(entry.term, into: &payload)
            Self.put(entry.index, into: &payload)
            Self.put(UInt64(UInt32(bitPattern: entry.type.rawValue)), into: &payload)
            Self.put(entry.data, into: &payload)
        case .hardState(let state):
            kind = 3
            for value in [state.term, state.vote, state.commit] { Self.put(value, into: &payload) }
        case .snapshot(let marker):
            kind = 4
            Self.put(marker.index, into: &payload)
            Self.put(marker.term, into: &payload)
        case .crc(let value):
            buffer.append(5)
            Self.put(UInt64(value), into: &buffer)
            return
        }
        let sum = payload.withUnsafeBytes(checksum)
        buffer.append(kind)
        Self.put(UInt64(sum), into: &buffer)
        buffer += payload
    }

    public func decode(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> DecodedRecord {
        var reader = Reader(bytes: bytes)
        let kind = try reader.byte()
        let sum = UInt32(truncatingIfNeeded: try reader.u64())
        let start = reader.position
        let record: LogRecord
        switch kind {
        case 1: record = .metadata(try reader.data())
        case 2:
            let term = try reader.u64(), index = try reader.u64()
            let type = EntryType(rawValue: Int32(bitPattern: UInt32(truncatingIfNeeded: try reader.u64())))
            record = .entry(Entry(term: term, index: index, type: type, data: try reader.data()))
        case 3: record = .hardState(HardState(term: try reader.u64(), vote: try reader.u64(), commit: try reader.u64()))
        case 4: record = .snapshot(SnapshotMarker(index: try reader.u64(), term: try reader.u64()))
        case 5:
            guard reader.position == bytes.count else { throw StorageError(.corrupt, "trailing bytes") }
            return DecodedRecord(record: .crc(sum), checksum: sum, payload: start..<start)
        default: throw StorageError(.corrupt, "unknown kind \(kind)", offset: 0)
        }
        guard reader.position == bytes.count else { throw StorageError(.corrupt, "trailing bytes", offset: Int64(reader.position)) }
        return DecodedRecord(record: record, checksum: sum, payload: start..<bytes.count)
    }

    public func encodeSnapshot(_ snapshot: Snapshot, into buffer: inout [UInt8]) {
        var body: [UInt8] = []
        let meta = snapshot.metadata
        Self.put(meta.index, into: &body)
        Self.put(meta.term, into: &body)
        for list in [meta.confState.voters, meta.confState.learners, meta.confState.votersOutgoing, meta.confState.learnersNext] {
            Self.put(UInt64(list.count), into: &body)
            for id in list { Self.put(id, into: &body) }
        }
        body.append(meta.confState.autoLeave ? 1 : 0)
        Self.put(snapshot.data, into: &body)
        Self.put(UInt64(body.withUnsafeBytes(fnv)), into: &buffer)
        buffer += body
    }

    public func decodeSnapshot(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> Snapshot {
        var reader = Reader(bytes: bytes)
        let sum = try reader.u64()
        guard sum == UInt64(fnv(UnsafeRawBufferPointer(rebasing: bytes[8...]))) else { throw StorageError(.crcMismatch, "snapshot checksum") }
        var meta = SnapshotMetadata(index: try reader.u64(), term: try reader.u64())
        var lists: [[UInt64]] = []
        for _ in 0..<4 {
            let count = try reader.u64()
            guard count <= UInt64(bytes.count / 8) else { throw StorageError(.corrupt, "list too long") }
            lists.append(try (0..<Int(count)).map { _ throws(StorageError) in try reader.u64() })
        }
        meta.confState = ConfState(voters: lists[0], learners: lists[1], votersOutgoing: lists[2], learnersNext: lists[3], autoLeave: try reader.byte() == 1)
        let snapshot = Snapshot(data: try reader.data(), metadata: meta)
        guard reader.position == bytes.count else { throw StorageError(.corrupt, "trailing bytes") }
        return snapshot
    }

    private static func put(_ value: UInt64, into buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer += $0 }
    }

    private static func put(_ data: [UInt8]?, into buffer: inout [UInt8]) {
        guard let data else { return buffer.append(0) }
        buffer.append(1)
        put(UInt64(data.count), into: &buffer)
        buffer += data
    }

    private func fnv(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in bytes { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        return hash
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        mutating func byte() throws(StorageError) -> UInt8 {
            guard position < bytes.count else { throw StorageError(.unexpectedEnd, "short record", offset: Int64(position)) }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func u64() throws(StorageError) -> UInt64 {
            guard bytes.count - position >= 8 else { throw StorageError(.unexpectedEnd, "short record", offset: Int64(position)) }
            defer { position += 8 }
            return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        }

        mutating func data() throws(StorageError) -> [UInt8]? {
            guard try byte() == 1 else { return nil }
            let count = try u64()
            guard count <= UInt64(bytes.count - position) else { throw StorageError(.corrupt, "length \(count) past the end", offset: Int64(position)) }
            defer { position += Int(count) }
            return Array(bytes[position..<(position + Int(count))])
        }
    }
}

