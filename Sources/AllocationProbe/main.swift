// Measures the heap allocations each decoder makes on hostile input: length fields that claim far
// more than the input holds, at several input sizes. Every allocation of the process is counted
// (CMallocCounter interposes malloc and friends in this executable only) between the moment the
// decoder is called and the moment it returns; the input is written before.
//
// Usage: `AllocationProbe [size ...]` (input sizes in bytes; 64 B, 4 KiB, 64 KiB and 1 MiB by
// default). Prints one JSON line per case:
//
//   {"name":"wal-length-word-2^40","family":"wal","input_bytes":4096,"largest_allocation":32816,
//    "total_allocated":51891,"allocations":154,"error":"unexpectedEnd"}
//
// `family` names the documented bound the case falls under (Docs/Reliability.md, "Allocation
// bounds"); `error` is the code the decoder ended with (`none` when it accepted the input).
// Tests/EtcdStorageTests/AllocationBoundTests.swift runs this and checks every line against its bound.
// Not a product: `swift build` builds it next to the tests.
import CMallocCounter
import CXXHash
import EtcdStorage
import InMemoryLogging
import LZ4Snapshots
import Logging
import MultiRaftLog
import RaftStorage
import LZ4Codec
import RaftFiles
import RaftStoreCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The input sizes (bytes; the command line may give others): from a tiny file to one large
/// enough that the multiple, not the constant, is what a bound allows.
let sizes = CommandLine.arguments.count > 1 ? CommandLine.arguments.dropFirst().compactMap { Int($0) }.filter { $0 > 0 } : [64, 4 << 10, 64 << 10, 1 << 20]
let fileSystem = PosixFileSystem()
let quiet = Logger(label: "allocation-probe", factory: { _ in SwiftLogNoOpLogHandler() })
/// What fills inputs after their hostile field: not zero, so it never reads as a zeroed tail.
let filler: UInt8 = 0xA5
let huge: UInt64 = 1 << 40

/// One hostile input for one decoder.
struct Probe {
    var name: String
    /// The documented bound the case falls under: wal, record, snap, lz4 or json.
    var family: String
    /// Writes the input into `directory` (new and empty) and returns its size and the decoder
    /// run, which gives the error code it ended with (`none` when it accepted the input).
    var prepare: (_ directory: String) throws(StorageError) -> (inputBytes: Int, decode: () -> String)
}

// MARK: - Bytes

func varint(_ value: UInt64) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.appendVarint(value)
    return bytes
}

func littleEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
func littleEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

/// `prefix` followed by filler up to `size` bytes (or `prefix` alone when it is longer).
func padded(_ prefix: [UInt8], to size: Int) -> [UInt8] {
    prefix + [UInt8](repeating: filler, count: max(0, size - prefix.count))
}

/// A `walpb.Record` of `type` around `data`, with its CRC32C (etcd's, over the data) or 0.
func walRecord(type: UInt8, data: [UInt8], checksum: Bool) -> [UInt8] {
    let crc = checksum ? CRC32C.update(0, data) : 0
    return [0x08, type, 0x10] + varint(UInt64(crc)) + [0x1A] + varint(UInt64(data.count)) + data
}

/// The largest entry record (walpb.Record, type 2) of at most `size` bytes whose `raftpb.Entry`
/// (term 1, index 1) holds `data(fill)` as its data field, for the largest `fill` that fits.
func entryRecord(size: Int, checksum: Bool, data: (Int) -> [UInt8]) -> [UInt8] {
    var best: [UInt8] = []
    for fill in stride(from: size, through: 0, by: -1) {
        let entry: [UInt8] = [0x10, 0x01, 0x18, 0x01] + data(fill)
        let record = walRecord(type: 2, data: entry, checksum: checksum)
        if record.count <= size && record.count > best.count { best = record }
        if record.count == size || size - record.count > 16 { break }
    }
    return best
}

/// An etcd WAL frame: the length word (with padding bits when needed), the record, padding.
func walFrame(_ record: [UInt8]) -> [UInt8] {
    let padding = (8 - record.count % 8) % 8
    let word = UInt64(record.count) | (padding == 0 ? 0 : UInt64(0x80 | padding) << 56)
    return littleEndian(word) + record + [UInt8](repeating: 0, count: padding)
}

/// An LZ4 block of `count` literals only (decodes to `count` filler bytes).
func literalBlock(_ count: Int) -> [UInt8] {
    guard count >= 15 else { return [UInt8(count << 4)] + [UInt8](repeating: filler, count: count) }
    var extra = count - 15
    var bytes: [UInt8] = [0xF0]
    while extra >= 255 {
        bytes.append(255)
        extra -= 255
    }
    bytes.append(UInt8(extra))
    return bytes + [UInt8](repeating: filler, count: count)
}

/// An entry's data field as LZ4RecordCodec stores compressed data (marker 01, the data size,
/// an LZ4 block), claiming the largest size it decodes (1 GiB) over a block of literals, in at
/// most `fill` bytes.
func lz4EntryData(fill: Int) -> [UInt8] {
    let head = [UInt8(0x01)] + varint(UInt64(LZ4RecordCodec<ProtobufRecordCodec>.maxDataSize))
    func field(_ literals: Int) -> [UInt8] {
        let value = head + literalBlock(literals)
        return [0x22] + varint(UInt64(value.count)) + value
    }
    var literals = max(0, fill - head.count - 8 - fill / 255)
    while literals > 0 && field(literals).count > fill { literals -= 1 }
    return field(literals)
}

/// An LZ4 frame header: independent 4 MiB blocks, no checksums, optionally a content size.
func lz4Header(contentSize: UInt64? = nil) -> [UInt8] {
    var descriptor: [UInt8] = [0x40 | 0x20 | (contentSize == nil ? 0 : 0x08), 0x70]
    if let contentSize { descriptor += littleEndian(contentSize) }
    let check = descriptor.withUnsafeBytes { cxxh32($0.baseAddress, $0.count, 0) }
    return [0x04, 0x22, 0x4D, 0x18] + descriptor + [UInt8(truncatingIfNeeded: check >> 8)]
}

/// An LZ4 frame of `size` bytes holding `content` (then filler) in one stored block.
func lz4StoredFrame(_ content: [UInt8], size: Int, header: [UInt8] = lz4Header()) -> [UInt8] {
    let count = max(content.count, size - header.count - 8)
    return header + littleEndian(UInt32(count) | 0x8000_0000) + padded(content, to: count) + littleEndian(UInt32(0))
}

/// `.snap` content (`snappb.snapshot{crc, data}`) whose `raftpb.Snapshot` starts with `inner`,
/// claiming `claimed` bytes for the raftpb.Snapshot message.
func snapContent(inner: [UInt8], claimed: UInt64) -> [UInt8] {
    [0x08] + varint(1234) + [0x12] + varint(claimed) + inner
}

// MARK: - Files

func write(_ bytes: [UInt8], to path: String) throws(StorageError) {
    let file = try fileSystem.open(path, [.write, .create, .truncate], permissions: 0o600)
    try bytes.withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 0) }
    try file.close()
}

func removeTree(_ path: String) throws(StorageError) {
    for name in try fileSystem.contentsOfDirectory(path) {
        let child = fileSystem.join(path, name)
        if try fileSystem.info(child)?.isDirectory == true {
            try removeTree(child)
        } else {
            try fileSystem.removeFile(child)
        }
    }
    try fileSystem.removeDirectory(path)
}

let firstSegment = "0000000000000000-0000000000000000.wal"
let snapshotStem = "0000000000000001-0000000000000005"

/// The bytes of a real WAL (header records and two entries) up to the end of its records.
func validWALPrefix(in directory: String) throws(StorageError) -> [UInt8] {
    let path = fileSystem.join(directory, "source")
    let options = WALOptions(fileSystem: fileSystem, segmentSize: 64 << 10, unsafeNoSync: true, logger: quiet)
    let wal = try WAL.create(at: path, metadata: nil, codec: ProtobufRecordCodec(), options: options)
    try wal.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: [Entry(term: 1, index: 1, data: [1]), Entry(term: 1, index: 2, data: [2])])
    try wal.close()
    let replay = try WAL.read(at: path, from: .zero, codec: ProtobufRecordCodec(), options: options, replayOptions: WALReplayOptions(collectsRecords: true))
    let end = replay.records.last.map { Int($0.offset) + $0.frameSize } ?? 0
    let bytes = try fileSystem.readFile(fileSystem.join(path, firstSegment))
    try removeTree(path)
    return Array(bytes[..<end])
}

// MARK: - Decoders

/// `WAL.read` of a WAL whose one segment holds `segment`.
func walProbe(_ name: String, segment: @escaping (Int, String) throws(StorageError) -> [UInt8], size: Int) -> Probe {
    Probe(name: name, family: "wal") { (directory) throws(StorageError) in
        let bytes = try segment(size, directory)
        let path = fileSystem.join(directory, "wal")
        try fileSystem.createDirectory(path, permissions: 0o700)
        try write(bytes, to: fileSystem.join(path, firstSegment))
        let options = WALOptions(fileSystem: fileSystem, logger: quiet)
        return (bytes.count, {
            do throws(StorageError) {
                let replay = try WAL.read(at: path, from: .zero, codec: ProtobufRecordCodec(), options: options)
                return replay.error?.code.name ?? "none"
            } catch {
                return error.code.name
            }
        })
    }
}

/// A record codec's `decode` of `bytes`.
func recordProbe<Codec: RecordCodec>(_ name: String, codec: Codec, bytes: @escaping (Int) -> [UInt8], size: Int) -> Probe {
    Probe(name: name, family: "record") { _ in
        let input = bytes(size)
        return (input.count, {
            input.withUnsafeBytes { raw in
                do throws(StorageError) {
                    _ = try codec.decode(raw)
                    return "none"
                } catch {
                    return error.code.name
                }
            }
        })
    }
}

/// The error code a snapshot store logged when it set a file aside (`set aside unreadable
/// snapshot <path> as <path>.broken: <code>: <message>`), or `none`.
func setAsideCode(_ handler: InMemoryLogHandler) -> String {
    let marker = Array(".broken: ".utf8)
    for entry in handler.entries {
        let message = Array("\(entry.message)".utf8)
        guard message.count >= marker.count else { continue }
        for start in 0...(message.count - marker.count) where message[start..<(start + marker.count)].elementsEqual(marker) {
            let reason = message[(start + marker.count)...]
            return String(decoding: reason.prefix { $0 != UInt8(ascii: ":") }, as: UTF8.self)
        }
    }
    return "none"
}

/// A whole or streamed load of a snapshot store whose one file holds `content`.
func snapshotProbe(
    _ name: String, family: String, fileName: String, content: @escaping (Int) -> [UInt8], size: Int,
    open: @escaping (String, Logger) throws(StorageError) -> any StreamingSnapshotStore
) -> [Probe] {
    ["whole", "stream"].map { mode in
        Probe(name: "\(name)-\(mode)", family: family) { (directory) throws(StorageError) in
            let bytes = content(size)
            try write(bytes, to: fileSystem.join(directory, fileName))
            let handler = InMemoryLogHandler()
            let store = try open(directory, Logger(label: "allocation-probe", factory: { _ in handler }))
            return (bytes.count, {
                do throws(StorageError) {
                    if mode == "whole" {
                        if try store.loadNewest() != nil { return "none" }
                    } else {
                        if try store.loadNewest(matching: nil, receiving: { _ in }) != nil { return "none" }
                    }
                    return setAsideCode(handler)
                } catch {
                    return error.code.name
                }
            })
        }
    }
}

func etcdSnapshotProbe(_ name: String, content: @escaping (Int) -> [UInt8], size: Int) -> [Probe] {
    snapshotProbe(name, family: "snap", fileName: snapshotStem + ".snap", content: content, size: size) { (directory, logger) throws(StorageError) in
        try EtcdSnapshotStore(directory: directory, fileSystem: fileSystem, logger: logger)
    }
}

func lz4SnapshotProbe(_ name: String, content: @escaping (Int) -> [UInt8], size: Int) -> [Probe] {
    snapshotProbe(name, family: "lz4", fileName: snapshotStem + ".snap.lz4", content: content, size: size) { (directory, logger) throws(StorageError) in
        try LZ4SnapshotStore(directory: directory, codec: ProtobufRecordCodec(), fileSystem: fileSystem, logger: logger)
    }
}

/// A multi-group log file of `size` bytes: its header, then one record whose body (CRC32C
/// valid, so the batch decoder reads it) is `prefix` followed by filler.
func engineFile(body prefix: [UInt8], size: Int) -> [UInt8] {
    var header = Array("RAFTMLOG".utf8) + littleEndian(UInt32(1)) + littleEndian(UInt32(0)) + littleEndian(UInt64(1)) + littleEndian(UInt64(0))
    header += littleEndian(CRC32C.checksum(header)) + littleEndian(UInt32(0))
    let body = padded(prefix, to: (size - header.count - 8) / 8 * 8)
    return header + littleEndian(UInt32(body.count)) + littleEndian(CRC32C.checksum(body)) + body
}

/// `LogEngine.inspect` (recovery's pass, read-only) of a directory whose one log file is
/// `file(size)`: the damage code, `tornTailCut` for a torn tail, or `none`.
func engineProbe(_ name: String, file: @escaping (Int) -> [UInt8], size: Int) -> Probe {
    Probe(name: name, family: "engine") { (directory) throws(StorageError) in
        let bytes = file(size)
        try write(bytes, to: fileSystem.join(directory, "0000000000000001.rlog"))
        return (bytes.count, {
            do throws(StorageError) {
                let inspection = try LogEngine.inspect(directory: directory, fileSystem: fileSystem)
                return inspection.damage?.code.name ?? inspection.recoveryActions.first?.kind.rawValue ?? "none"
            } catch {
                return error.code.name
            }
        })
    }
}

/// A batch body's start: the kind byte and one part of `group` with `flags`.
func batchPart(flags: UInt8) -> [UInt8] { [1, 1, 9, flags] }

/// What a base part starts with: boundary (0, 0), HardState (1, 0, 0), marker (0, 0).
let baseStart: [UInt8] = [0, 0, 1, 0, 0, 0, 0, 0]

/// `WALDump.parse` (`raftstore wal import`) of `bytes`.
func jsonProbe(_ name: String, bytes: @escaping (Int) -> [UInt8], size: Int) -> Probe {
    Probe(name: name, family: "json") { _ in
        let input = bytes(size)
        return (input.count, {
            do throws(StorageError) {
                _ = try WALDump.parse(json: input)
                return "none"
            } catch {
                return error.code.name
            }
        })
    }
}

/// `{"entries":[<element>,<element>,...]}` of about `size` bytes.
func jsonArray(of element: String, size: Int) -> [UInt8] {
    let head = Array(#"{"entries":["#.utf8), tail = Array("]}".utf8), item = Array(element.utf8)
    let count = max(1, (size - head.count - tail.count + 1) / (item.count + 1))
    var bytes = head
    for index in 0..<count {
        if index > 0 { bytes.append(UInt8(ascii: ",")) }
        bytes += item
    }
    return bytes + tail
}

// MARK: - Cases

func probes(size: Int) -> [Probe] {
    var probes: [Probe] = []

    // WAL: a length word claiming 2^40 bytes, first in the segment and after intact records;
    // an intact frame (valid CRC) whose entry's data length claims 2^40.
    probes.append(walProbe("wal-length-word-2^40", segment: { (size, _) in padded(littleEndian(huge), to: size) }, size: size))
    probes.append(walProbe("wal-length-word-2^40-after-records", segment: { (size, directory) throws(StorageError) in
        padded(try validWALPrefix(in: directory) + littleEndian(huge), to: size)
    }, size: size))
    probes.append(walProbe("wal-entry-data-length-2^40", segment: { (size, _) in
        walFrame(entryRecord(size: size - 8, checksum: true) { [0x22] + varint(huge) + [UInt8](repeating: filler, count: $0) })
    }, size: size))

    // Record codecs: the record's data field, the entry's data field, and LZ4RecordCodec's
    // stored data size (1 GiB, its maximum) over a small block.
    probes.append(recordProbe("record-data-length-2^40", codec: ProtobufRecordCodec(), bytes: { size in
        padded([0x08, 0x02, 0x10, 0x00, 0x1A] + varint(huge), to: size)
    }, size: size))
    probes.append(recordProbe("record-entry-data-length-2^40", codec: ProtobufRecordCodec(), bytes: { size in
        entryRecord(size: size, checksum: false) { [0x22] + varint(huge) + [UInt8](repeating: filler, count: $0) }
    }, size: size))
    probes.append(recordProbe("lz4-record-stored-size-1GiB", codec: LZ4RecordCodec(base: ProtobufRecordCodec()), bytes: { size in
        entryRecord(size: size, checksum: false, data: lz4EntryData)
    }, size: size))

    // etcd .snap: the snapshot message, its data and its metadata claiming huge lengths.
    probes += etcdSnapshotProbe("snap-message-length-2^40", content: { size in padded(snapContent(inner: [], claimed: huge), to: size) }, size: size)
    probes += etcdSnapshotProbe("snap-data-length-2^40", content: { size in
        padded(snapContent(inner: [0x0A] + varint(huge), claimed: UInt64(max(0, size - 16))), to: size)
    }, size: size)
    probes += etcdSnapshotProbe("snap-metadata-length-64MiB", content: { size in
        padded(snapContent(inner: [0x12] + varint(64 << 20), claimed: UInt64(max(0, size - 16))), to: size)
    }, size: size)

    // .snap.lz4: the frame header's content size, a block size field, and the .snap inside
    // announcing 16 times the file (the most a whole load reserves) or 2^40 data bytes.
    probes += lz4SnapshotProbe("lz4-content-size-2^62", content: { size in lz4StoredFrame([], size: size, header: lz4Header(contentSize: 1 << 62)) }, size: size)
    probes += lz4SnapshotProbe("lz4-block-size-2GiB", content: { size in padded(lz4Header() + littleEndian(UInt32(0x7FFF_FFFF)), to: size) }, size: size)
    probes += lz4SnapshotProbe("lz4-block-size-4MiB", content: { size in padded(lz4Header() + littleEndian(UInt32(4 << 20)), to: size) }, size: size)
    probes += lz4SnapshotProbe("lz4-snap-data-16x-file", content: { size in
        let data = UInt64(16 * size)
        return lz4StoredFrame(snapContent(inner: [0x0A] + varint(data), claimed: data + 16), size: size)
    }, size: size)
    probes += lz4SnapshotProbe("lz4-snap-data-2^40", content: { size in
        lz4StoredFrame(snapContent(inner: [0x0A] + varint(huge), claimed: huge + 16), size: size)
    }, size: size)

    // The multi-group log: a record's length word claiming 1 GiB; counts that claim as many
    // parts, entries, markers, members, term runs or referred entries as the body's bytes
    // allow, each element as small as the format allows (real parts, referred entries) or the
    // rest filler, so each is refused once the bytes run out or break the format.
    let bodyBytes = max(16, size - 48)
    /// A count of elements of `each` bytes that the body's bytes allow, less `margin`.
    func claim(_ each: Int, less margin: Int) -> UInt64 { UInt64(max(2, bodyBytes / each - margin)) }
    probes.append(engineProbe("engine-length-word-1GiB", file: { size in
        let file = engineFile(body: [], size: size)
        return Array(file[..<40]) + littleEndian(UInt32(1 << 30)) + Array(file[44...])
    }, size: size))
    probes.append(engineProbe("engine-parts-2-bytes-each", file: { size in
        let count = claim(2, less: 8)
        var body: [UInt8] = [1] + varint(count)
        for _ in 0..<(count - 1) { body += [9, 0x01] }
        return engineFile(body: body + [9, 0xC0], size: size)
    }, size: size))
    probes.append(engineProbe("engine-entry-count", file: { size in
        engineFile(body: batchPart(flags: 0x04) + [1] + varint(claim(7, less: 4)), size: size)
    }, size: size))
    probes.append(engineProbe("engine-marker-count", file: { size in
        engineFile(body: batchPart(flags: 0x80) + baseStart + varint(claim(3, less: 8)), size: size)
    }, size: size))
    probes.append(engineProbe("engine-voter-count", file: { size in
        engineFile(body: batchPart(flags: 0x02) + [5, 1, 1] + varint(claim(1, less: 16)), size: size)
    }, size: size))
    probes.append(engineProbe("engine-term-run-count", file: { size in
        engineFile(body: batchPart(flags: 0x80) + baseStart + [0] + varint(huge) + varint(claim(2, less: 16)), size: size)
    }, size: size))
    probes.append(engineProbe("engine-referred-entries", file: { size in
        let count = claim(1, less: 40)
        let head = batchPart(flags: 0x80) + baseStart + [0] + varint(huge) + [1, 1, 1] + [1, 1] + varint(1) + varint(40) + varint(count)
        return engineFile(body: head + [UInt8](repeating: 7, count: Int(count)), size: size)
    }, size: size))

    // `raftstore wal import` JSON: no length fields, but arrays of the smallest elements.
    probes.append(jsonProbe("json-entries-of-numbers", bytes: { size in jsonArray(of: "0", size: size) }, size: size))
    probes.append(jsonProbe("json-entries-of-objects", bytes: { size in jsonArray(of: "{}", size: size) }, size: size))
    return probes
}

// MARK: - Main

guard counter_supported() != 0 else {
    print("AllocationProbe: allocations cannot be counted on this system (glibc or a sanitizer build needed)")
    exit(2)
}

let temporary = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
var template = Array("\(temporary)/allocation-probe.XXXXXX".utf8CString)
guard let root = template.withUnsafeMutableBufferPointer({ buffer in mkdtemp(buffer.baseAddress!).map { String(cString: $0) } }) else {
    print("AllocationProbe: cannot create a directory in \(temporary)")
    exit(1)
}

do throws(StorageError) {
    var number = 0
    for size in sizes {
        for probe in probes(size: size) {
            number += 1
            var counts = counter_counts()
            var outcome = ""
            var inputBytes = 0
            // Twice, each from a fresh input (a failed snapshot load sets its file aside); the
            // first run pays for what the runtime sets up once (type metadata, lazy globals).
            for attempt in 0..<2 {
                let directory = fileSystem.join(root, "\(number)-\(attempt)")
                try fileSystem.createDirectory(directory, permissions: 0o700)
                let (bytes, decode) = try probe.prepare(directory)
                inputBytes = bytes
                counter_reset()
                outcome = decode()
                counts = counter_read()
                try removeTree(directory)
            }
            print(
                #"{"name":"\#(probe.name)","family":"\#(probe.family)","input_bytes":\#(inputBytes),"#
                    + #""largest_allocation":\#(counts.largest),"total_allocated":\#(counts.total),"#
                    + #""allocations":\#(counts.count),"error":"\#(outcome)"}"#)
        }
    }
    try removeTree(root)
} catch {
    print("AllocationProbe: \(error)")
    exit(1)
}
