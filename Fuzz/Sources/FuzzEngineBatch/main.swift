// The multi-group log's record scanner, batch decoder and recovery: any bytes, as log files or as
// the bodies of records with valid framing, are inspected read-only (`LogEngine.inspect`) and
// opened (which cuts a torn tail), without a trap, a hang or an allocation the bytes merely claim.
// The read-only pass and opening must agree: the same groups, the same cut, the same damage; the
// inspection must not change a byte; and what opens must take a write and keep it.
//
// Input, by byte 0 (bits 0-1):
// - 0: one raw log file (the rest of the input), header included.
// - 1: record bodies: the rest is a sequence of [length u16 BE][body] framed as records (length
//   word, CRC32C, padding) after a valid header, so every body reaches the batch decoder; a length
//   of 0 or one past the end puts the remaining bytes after the records unframed (a torn tail, or
//   garbage).
// - 2: two files: bytes 1-2 give the split point, each part is read as in mode 1; the second
//   file's header names the first one's real size.
// - 3: a script of writes (entries, HardStates, snapshots recorded and installed, compactions,
//   removals, purges, restarts, for four groups) through the real engine with 1 KiB files, so
//   base records and rotations are reached. The last 3 bytes then damage the last file (an offset
//   and a byte to xor in, or a cut when the byte is 0), unless bit 2 is set: then the engine as the
//   script left it must be what the inspection and a reopen give back, exactly.
import FuzzSupport
import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting

let directory = "/engine"
let fileSize: Int64 = 1024

// MARK: - Building files

func varint(_ value: UInt64) -> [UInt8] {
    var bytes: [UInt8] = []
    var rest = value
    while rest >= 0x80 {
        bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
        rest >>= 7
    }
    bytes.append(UInt8(rest))
    return bytes
}

func littleEndian(_ value: UInt64, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

/// A log file header (`Docs/OnDiskFormat.md`, "File header").
func header(number: UInt64, previousSize: UInt64) -> [UInt8] {
    var bytes = Array("RAFTMLOG".utf8) + littleEndian(1, 4) + littleEndian(0, 4) + littleEndian(number, 8) + littleEndian(previousSize, 8)
    bytes += littleEndian(UInt64(CRC32C.checksum(bytes)), 4) + littleEndian(0, 4)
    return bytes
}

/// A log file: a valid header, then `input` read as length-prefixed bodies, each framed as a record.
func framedFile(number: UInt64, previousSize: UInt64, _ input: UnsafeRawBufferPointer.SubSequence) -> [UInt8] {
    var file = header(number: number, previousSize: previousSize)
    var rest = input
    while rest.count >= 2 {
        let length = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
        rest = rest.dropFirst(2)
        guard length > 0, length <= rest.count else { break }
        let body = Array(rest.prefix(length))
        rest = rest.dropFirst(length)
        file += littleEndian(UInt64(body.count), 4) + littleEndian(UInt64(CRC32C.checksum(body)), 4) + body
        file += [UInt8](repeating: 0, count: (8 - file.count % 8) % 8)
    }
    return file + Array(rest)
}

func store(_ bytes: [UInt8], as number: UInt64, in fs: FaultInjectingFileSystem) {
    do {
        let file = try fs.open(directory + "/" + name(number), [.write, .create], permissions: 0o600)
        try bytes.withUnsafeBytes { raw in try file.write(raw, at: 0) }
        try file.close()
    } catch {
        require(false, "setting up the in-memory file system failed: \(error)")
    }
}

func name(_ number: UInt64) -> String {
    let hex = String(number, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex + ".rlog"
}

// MARK: - What a group holds

/// A group as an open engine or an inspection shows it; `entries` is the read's outcome.
struct GroupView: Equatable, CustomStringConvertible {
    var id: UInt64
    var firstIndex: UInt64
    var lastIndex: UInt64
    var hardState: HardState
    var marker: SnapshotMarker
    var entries: Result<[Entry], StorageError>

    var description: String {
        let read = (try? entries.get()).map { "\($0.count) entries" } ?? "a read error"
        return "group \(id) [\(firstIndex), \(lastIndex)] \(hardState) \(marker) \(read)"
    }
}

func read(_ body: () throws(StorageError) -> [Entry]) -> Result<[Entry], StorageError> {
    do throws(StorageError) { return .success(try body()) } catch { return .failure(error) }
}

func views(of engine: LogEngine) throws(StorageError) -> [GroupView] {
    var views: [GroupView] = []
    for id in try engine.groupIDs() {
        let log = engine.log(for: id)
        let first = try log.firstIndex(), last = try log.lastIndex()
        let entries = last < first ? .success([]) : read { () throws(StorageError) in try log.entries(in: first..<(last + 1)) }
        views.append(GroupView(id: id, firstIndex: first, lastIndex: last, hardState: try log.hardState(), marker: try log.snapshotMarker(), entries: entries))
    }
    return views
}

func views(of inspection: EngineInspection) -> [GroupView] {
    inspection.groups.map { group in
        let entries = group.lastIndex < group.firstIndex
            ? .success([])
            : read { () throws(StorageError) in try inspection.entries(of: group.id, in: group.firstIndex..<(group.lastIndex + 1)) }
        return GroupView(
            id: group.id, firstIndex: group.firstIndex, lastIndex: group.lastIndex, hardState: group.hardState, marker: group.snapshotMarker,
            entries: entries)
    }
}

func disk(_ fs: FaultInjectingFileSystem) -> [String: [UInt8]] {
    var files: [String: [UInt8]] = [:]
    for path in fs.files(under: directory) { files[path] = fs.contents(of: path) }
    return files
}

// MARK: - The properties

/// Inspects and opens the engine on `fs`; with `expected`, the engine a script wrote and
/// closed, which both must give back exactly.
func check(_ fs: FaultInjectingFileSystem, expected: [GroupView]? = nil) {
    let before = disk(fs)
    let inspection: EngineInspection
    do {
        inspection = try LogEngine.inspect(directory: directory, fileSystem: fs)
    } catch {
        // Damage is the inspection's answer, never a throw.
        fatalError("inspect threw: \(error)")
    }
    require(disk(fs) == before, "inspect changed the files")
    let inspected = views(of: inspection)
    if let expected {
        require(inspection.isClean, "the script's intact engine inspects as unclean: \(String(describing: inspection.damage)) \(inspection.recoveryActions)")
        require(inspected == expected, "the inspection of the script's engine gives \(inspected), the script left \(expected)")
    }

    let options = LogEngine.Options(fileSystem: fs, fileSize: fileSize)
    let engine: LogEngine
    do throws(StorageError) {
        engine = try LogEngine(directory: directory, options: options)
    } catch {
        require(inspection.damage != nil, "opening fails (\(error)) where the inspection found nothing wrong")
        require(inspection.damage == error, "opening fails with \(error), the inspection with \(String(describing: inspection.damage))")
        return
    }
    require(inspection.damage == nil, "opening succeeds where the inspection found \(String(describing: inspection.damage))")
    require(engine.recoveryActions == inspection.recoveryActions, "opening did \(engine.recoveryActions), the inspection said \(inspection.recoveryActions)")
    do {
        let opened = try views(of: engine)
        require(opened == inspected, "opening rebuilds \(opened), the inspection \(inspected)")
        // What opens continues: a new group's write is kept, and the reopened engine is clean.
        let group = (try engine.groupIDs().last ?? 0) &+ 1
        var batch = WriteBatch()
        batch.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: [Entry(term: 1, index: 1, data: [7])], for: group)
        try engine.write(batch, sync: true)
        try engine.close()
        let reopened = try LogEngine(directory: directory, options: options)
        require(reopened.recoveryActions.isEmpty, "an engine reopened after a clean close cut \(reopened.recoveryActions)")
        let continued = try reopened.log(for: group).entries(in: 1..<2)
        require(continued == [Entry(term: 1, index: 1, data: [7])], "a write after opening was not kept: \(continued)")
        var kept = try views(of: reopened)
        kept.removeAll { $0.id == group }
        require(kept == opened, "reopening gives \(kept), the first open \(opened)")
        try reopened.close()
    } catch {
        require(false, "an engine that opened does not continue: \(error)")
    }
}

// MARK: - Scripts

/// Runs a script of writes through the engine; returns what it held when the script closed it.
func runScript(_ script: UnsafeRawBufferPointer.SubSequence, on fs: FaultInjectingFileSystem) -> [GroupView] {
    // At most 400 script bytes: longer scripts only repeat what shorter ones reach, slowly.
    var cursor = script.prefix(400)
    func next() -> UInt64 {
        guard let byte = cursor.first else { return 0 }
        cursor = cursor.dropFirst()
        return UInt64(byte)
    }
    let options = LogEngine.Options(fileSystem: fs, fileSize: fileSize)
    do {
        var engine = try LogEngine(directory: directory, options: options)
        var batch = WriteBatch()
        /// The last index each group will have once `batch` is written.
        var pendingLast: [UInt64: UInt64] = [:]
        func flush(sync: Bool) throws(StorageError) {
            defer {
                batch = WriteBatch()
                pendingLast = [:]
            }
            do throws(StorageError) {
                try engine.write(batch, sync: sync)
            } catch where ![.closed, .io, .corrupt, .crcMismatch].contains(error.code) {
                // The script does not follow raft's rules exactly: a refused batch writes nothing.
            }
        }
        while !cursor.isEmpty {
            let group = 1 + next() % 4
            let log = engine.log(for: group)
            let last = try pendingLast[group] ?? log.lastIndex()
            let hardState = try log.hardState()
            switch next() % 8 {
            case 0, 1:
                let start = max(1, last + 1 - min(next() % 3, last))
                let term = max(1, hardState.term) + next() % 2
                let count = 1 + next() % 4
                let size = Int(next() % 16) * 4
                let entries = (0..<count).map { Entry(term: term, index: start + $0, data: [UInt8](repeating: UInt8(truncatingIfNeeded: start + $0), count: size)) }
                batch.append(entries, to: group)
                pendingLast[group] = start + count - 1
            case 2:
                let commit = min(last, hardState.commit + next() % 4)
                batch.setHardState(HardState(term: max(1, hardState.term) + next() % 2, vote: 1 + next() % 2, commit: commit), for: group)
            case 3:
                let index = hardState.commit - min(hardState.commit, next() % 4)
                if let term = try? log.term(at: index) { batch.recordSnapshot(SnapshotMetadata(index: index, term: term), for: group) }
            case 4:
                let first = try log.firstIndex()
                batch.compact(group, through: first - 1 + next() % 4)
            case 5:
                let voters = (0..<(next() % 3)).map { UInt64($0 + 1) }
                batch.applySnapshot(SnapshotMetadata(confState: ConfState(voters: voters), index: last + 1 + next() % 4, term: max(1, hardState.term) + next() % 2), to: group)
                pendingLast[group] = nil
            case 6:
                try flush(sync: next() % 2 == 0)
            default:
                try flush(sync: false)
                switch next() % 4 {
                case 0: try engine.removeGroup(group)
                case 1: try engine.purge(budget: Int(next()) * 8)
                case 2:
                    try engine.close()
                    engine = try LogEngine(directory: directory, options: options)
                default: try engine.sync()
                }
            }
        }
        try flush(sync: true)
        let written = try views(of: engine)
        try engine.close()
        return written
    } catch {
        fatalError("a script of writes failed on a healthy disk: \(error)")
    }
}

/// Damages the last log file as the script's last 3 bytes say.
func damage(_ fs: FaultInjectingFileSystem, with tail: UnsafeRawBufferPointer.SubSequence) {
    guard tail.count == 3, let last = fs.files(under: directory).filter({ $0.hasSuffix(".rlog") }).last,
        let bytes = fs.contents(of: last), !bytes.isEmpty
    else { return }
    let offset = (Int(tail[tail.startIndex]) << 8 | Int(tail[tail.startIndex + 1])) % bytes.count
    let value = tail[tail.startIndex + 2]
    var damaged = bytes
    if value == 0 { damaged.removeSubrange(offset...) } else { damaged[offset] ^= value }
    fs.setContents(of: last, to: damaged)
}

runFuzzer { input in
    guard let mode = input.first else { return }
    let fs = FaultInjectingFileSystem()
    do {
        try fs.createDirectory(directory, permissions: 0o700)
    } catch {
        require(false, "setting up the in-memory file system failed: \(error)")
    }
    let rest = input.dropFirst()
    switch mode & 3 {
    case 0:
        store(Array(rest), as: 1, in: fs)
        check(fs)
    case 1:
        store(framedFile(number: 1, previousSize: 0, rest), as: 1, in: fs)
        check(fs)
    case 2:
        guard rest.count >= 2 else { return }
        let parts = rest.dropFirst(2)
        let split = parts.startIndex + (Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])) % (parts.count + 1)
        let first = framedFile(number: 1, previousSize: 0, parts[..<split])
        store(first, as: 1, in: fs)
        store(framedFile(number: 2, previousSize: UInt64(first.count), parts[split...]), as: 2, in: fs)
        check(fs)
    default:
        let intact = mode & 4 != 0
        let written = runScript(intact ? rest : rest.dropLast(3), on: fs)
        if intact {
            check(fs, expected: written)
        } else {
            damage(fs, with: rest.suffix(3))
            check(fs)
        }
    }
}
