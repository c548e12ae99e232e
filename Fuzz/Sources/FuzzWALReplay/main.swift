// The WAL frame decoder and replay: any bytes as one or two segment files are read (etcd's
// ReadAll), scanned for snapshot markers, and opened for writing with repair, without a trap,
// a hang or an allocation the bytes merely claim. Whatever opens must then take an append.
//
// Input, by byte 0:
// - bit 1 clear: raw segments. Bit 0 chooses one segment (the rest of the input) or two (bytes
//   1-2 give the split point, the rest is split there).
// - bit 1 set: operations. The rest is a script of WAL writes (entries, HardStates, snapshot
//   markers, syncs) run through the real writer with 8 KiB segments, so every frame and CRC is
//   valid and replay's own logic is reached; the last 3 bytes then damage the last segment
//   (an offset and a byte to store there, or a cut when the byte is 0).
import EtcdWAL
import FuzzSupport
import Logging
import RaftStorage
import RaftStorageTesting

let quiet = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
let first = "0000000000000000-0000000000000000.wal"
let second = "0000000000000001-0000000000000010.wal"

/// Reads, scans and opens the WAL in `/wal`; whatever opens must take an append and keep it.
func check(_ fs: FaultInjectingFileSystem) {
    let options = WALOptions(fileSystem: fs, segmentSize: 16 * 1024, logger: quiet)
    let codec = ProtobufRecordCodec()

    _ = try? WAL.read(at: "/wal", from: .zero, codec: codec, options: options)
    _ = try? WAL.verify(at: "/wal", from: .zero, codec: codec, options: options)
    _ = try? WAL.validSnapshotMarkers(at: "/wal", codec: codec, options: options)

    // Open for writing as a node would (repairing a torn tail once); what opens must continue.
    guard let store = try? WALLogStore.open(at: "/wal", codec: codec, options: .init(wal: options, retainedSegments: nil)) else { return }
    do {
        let next = try store.lastIndex() + 1
        let term = max(try store.hardState().term, try store.term(at: next - 1), 1)
        try store.append([Entry(term: term, index: next, data: [1, 2, 3])])
        try store.close()
        let reopened = try WALLogStore.open(at: "/wal", codec: codec, options: .init(wal: options, retainedSegments: nil))
        let kept = try reopened.entries(in: next..<(next + 1))
        require(kept == [Entry(term: term, index: next, data: [1, 2, 3])], "an entry appended after opening was not kept: \(kept)")
        try reopened.close()
    } catch {
        require(false, "a WAL that opened does not continue: \(error)")
    }
}

/// Runs a script of writes through the WAL writer, then damages the last segment.
func writeScript(_ script: UnsafeRawBufferPointer, to fs: FaultInjectingFileSystem) {
    let options = WALOptions(fileSystem: fs, segmentSize: 8192, logger: quiet)
    guard let wal = try? WAL.create(at: "/wal", metadata: Array(script.prefix(3)), codec: ProtobufRecordCodec(), options: options) else { return }
    // At most 600 script bytes: longer scripts only repeat what shorter ones reach, slowly.
    var cursor = script.dropLast(3).dropFirst(3).prefix(600)
    func next() -> UInt64 {
        guard let byte = cursor.first else { return 0 }
        cursor = cursor.dropFirst()
        return UInt64(byte)
    }
    while !cursor.isEmpty {
        switch next() % 5 {
        case 0, 1:
            let first = next(), count = next() % 8, term = next() % 4, size = Int(next()) * 4
            let entries = (0..<count).map { Entry(term: term, index: first + $0, data: [UInt8](repeating: UInt8(truncatingIfNeeded: first), count: size)) }
            _ = try? wal.save(hardState: .empty, entries: entries)
        case 2: _ = try? wal.save(hardState: HardState(term: next() % 4, vote: next() % 3, commit: next()), entries: [])
        case 3: _ = try? wal.saveSnapshot(SnapshotMarker(index: next(), term: next() % 4))
        default: _ = try? wal.sync()
        }
    }
    try? wal.close()
    guard script.count >= 3, let names = try? fs.contentsOfDirectory("/wal"),
        let last = names.filter({ $0.hasSuffix(".wal") }).sorted().last,
        let bytes = fs.contents(of: "/wal/" + last), !bytes.isEmpty
    else { return }
    let tail = script.suffix(3)
    let offset = (Int(tail[tail.startIndex]) << 8 | Int(tail[tail.startIndex + 1])) % bytes.count
    let value = tail[tail.startIndex + 2]
    var damaged = bytes
    if value == 0 { damaged.removeSubrange(offset...) } else { damaged[offset] ^= value }
    fs.setContents(of: "/wal/" + last, to: damaged)
}

runFuzzer { input in
    guard let mode = input.first else { return }
    let fs = FaultInjectingFileSystem()
    var files: [(String, UnsafeRawBufferPointer)] = []
    if mode & 1 == 0 {
        files = [(first, UnsafeRawBufferPointer(rebasing: input.dropFirst()))]
    } else {
        guard input.count >= 3 else { return }
        let rest = UnsafeRawBufferPointer(rebasing: input.dropFirst(3))
        let split = (Int(input[1]) << 8 | Int(input[2])) % (rest.count + 1)
        files = [(first, UnsafeRawBufferPointer(rebasing: rest[..<split])), (second, UnsafeRawBufferPointer(rebasing: rest[split...]))]
    }
    if mode & 2 != 0 {
        writeScript(UnsafeRawBufferPointer(rebasing: input.dropFirst()), to: fs)
        check(fs)
        return
    }
    do {
        try fs.createDirectory("/wal", permissions: 0o700)
        for (name, bytes) in files {
            let file = try fs.open("/wal/" + name, [.write, .create], permissions: 0o600)
            try file.write(bytes, at: 0)
            try file.close()
        }
    } catch {
        require(false, "setting up the in-memory file system failed: \(error)")
    }
    check(fs)
}
