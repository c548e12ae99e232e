// A child process for the process-crash tests (Docs/Reliability.md): it appends to a WAL durably and reports
// every acknowledged batch on stdout, until its parent kills it with SIGKILL. The parent then
// opens the WAL itself and checks that every reported entry is there.
//
//   CrashWorker append <directory> <seed> <term>   append until killed; prints
//       "open <lastIndex>" once, then "ack <first> <last> <term>" after each durable save and
//       "snap <index>" after each durable snapshot marker.
//   CrashWorker hold <directory>      open the WAL for writing, print "holding", wait for stdin
//       to close, then close the WAL.
//   CrashWorker try-open <directory>  print "opened" or "locked" (exit 0) or the error (exit 1).
//   CrashWorker storage <directory> <seed> <term> etcd|lz4   the same through Storage (WAL in
//       <directory>/wal, snapshots in <directory>/snap): prints "open <lastIndex> <snapshot>",
//       "ack ..." per Ready and "snap <index>" per local snapshot (whose data is
//       `payload(index: <index>, term: 0)`), with compaction behind each snapshot.
//   CrashWorker engine <directory> <seed> <term>   a multi-group LogEngine: 4 concurrent
//       writers, each owning 4 of groups 1-16, write durable batches over random subsets of
//       their groups, compact groups and purge; prints "open <sum of the groups' lastIndex>",
//       then "ack <group> <first> <last> <term>" for each group of each durable batch. A
//       group's entry data is `payload(index:, term: term ^ group << 40)`.
//
// Entry data is a function of (index, term) only (see `payload`), so the parent can check any
// entry it finds without being told what was written.

import EtcdStorage
import LZ4Snapshots
import Logging
import MultiRaftLog
import RaftStorage
import RaftFiles
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of the entry at (index, term): 0 to 2999 bytes from a generator seeded by both,
/// the function the tests check entries with.
func payload(index: UInt64, term: UInt64) -> [UInt8] {
    crashWorkerPayload(index: index, term: term)
}

/// Writes a line to stdout at once (no buffering: a SIGKILL must not eat acknowledged lines).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    var written = 0
    while written < bytes.count {
        let result = bytes[written...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if result <= 0 { exit(3) }
        written += result
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError(message)
    exit(1)
}

enum FileHandle {
    static func standardError(_ message: String) {
        let bytes = Array((message + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// Small segments, so a run cuts segments, preallocates spares and purges often.
let options = WALLogStore<ProtobufRecordCodec>.Options(
    wal: WALOptions(segmentSize: 128 * 1024, logger: Logger(label: "crash-worker", factory: { _ in SwiftLogNoOpLogHandler() })),
    retainedSegments: 4)

/// Saves batches of 1 to 20 entries of `term` after `last` until killed, printing
/// "ack <first> <last> <term>" once each is durable, then runs `afterBatch` (which may take a
/// snapshot) with `roll`, the xorshift64 dice seeded by `seed` that also sized the batch.
func saveBatches(
    after last: UInt64, seed: UInt64, term: UInt64,
    save: (HardState, [Entry]) throws(StorageError) -> Void,
    afterBatch: (_ roll: (UInt64) -> UInt64) throws(StorageError) -> Void
) throws(StorageError) -> Never {
    var last = last
    var dice = Dice(seed: seed)
    func roll(_ bound: UInt64) -> UInt64 { dice.roll(bound) }
    while true {
        let count = 1 + roll(20)
        let entries = ((last + 1)...(last + count)).map { Entry(term: term, index: $0, data: payload(index: $0, term: term)) }
        // Everything before this batch was acknowledged durable: call it committed.
        try save(HardState(term: term, vote: 1, commit: last), entries)
        say("ack \(last + 1) \(last + count) \(term)")
        last += count
        try afterBatch(roll)
    }
}

func append(directory: String, seed: UInt64, term: UInt64) throws(StorageError) -> Never {
    let store = try WALLogStore.open(at: directory, options: options)
    let last = try store.lastIndex()
    say("open \(last)")
    try saveBatches(after: last, seed: seed, term: term) { hardState, entries throws(StorageError) in
        try store.save(hardState: hardState, entries: entries)
    } afterBatch: { roll throws(StorageError) in
        let commit = try store.hardState().commit
        if roll(8) == 0, commit > (try store.snapshotMarker().index) {
            // A local snapshot at the (durable) commit index, then compaction behind it:
            // segments are released and purged while the parent may kill us.
            try store.recordSnapshot(SnapshotMetadata(index: commit, term: try store.term(at: commit)))
            say("snap \(commit)")
            if commit > 50 { try store.compact(through: commit - 50) }
        }
    }
}

/// Storage over the WAL and a file snapshot store in `directory`, as a node opens it.
func openStorage(directory: String, snapshots kind: String) throws(StorageError) -> Storage<AnyLogStore, AnySnapshotStore> {
    let fileSystem = PosixFileSystem()
    try fileSystem.createDirectory(directory, permissions: 0o700)
    try fileSystem.syncDirectory(fileSystem.parentDirectory(of: directory))
    let log = try WALLogStore.open(at: fileSystem.join(directory, "wal"), options: options)
    let quiet = Logger(label: "crash-worker", factory: { _ in SwiftLogNoOpLogHandler() })
    let snapshotDirectory = fileSystem.join(directory, "snap")
    let snapshots: any SnapshotStore = kind == "lz4"
        ? try LZ4SnapshotStore(directory: snapshotDirectory, codec: ProtobufRecordCodec(), logger: quiet)
        : try EtcdSnapshotStore(directory: snapshotDirectory, logger: quiet)
    return try Storage(log: AnyLogStore(log), snapshots: AnySnapshotStore(snapshots), options: .init(retainedEntries: 20, retainedSnapshots: 2))
}

func storage(directory: String, seed: UInt64, term: UInt64, snapshots kind: String) throws(StorageError) -> Never {
    let storage = try openStorage(directory: directory, snapshots: kind)
    let last = try storage.lastIndex()
    say("open \(last) \(storage.snapshotMetadata.index)")
    try saveBatches(after: last, seed: seed, term: term) { hardState, entries throws(StorageError) in
        try storage.save(hardState: hardState, entries: entries)
    } afterBatch: { roll throws(StorageError) in
        let commit = try storage.initialState().hardState.commit
        if roll(6) == 0, commit > storage.snapshotMetadata.index {
            try storage.createSnapshot(at: commit, data: payload(index: commit, term: 0))
            say("snap \(commit)")
        }
    }
}

func hold(directory: String) throws(StorageError) {
    let store = try WALLogStore.open(at: directory, options: options)
    say("holding")
    var byte: UInt8 = 0
    while read(0, &byte, 1) > 0 {}
    try store.close()
}

func tryOpen(directory: String) {
    do {
        let store = try WALLogStore.open(at: directory, options: options)
        try store.close()
        say("opened")
    } catch where error.code == .locked {
        say("locked")
    } catch {
        fail("\(error)")
    }
}

let arguments = CommandLine.arguments
if arguments.count == 5, arguments[1] == "engine" {
    guard let seed = UInt64(arguments[3]), let term = UInt64(arguments[4]) else { fail("engine <directory> <seed> <term>") }
    do {
        try await EngineWorker.run(directory: arguments[2], seed: seed, term: term)
    } catch {
        fail("\(error)")
    }
}
guard arguments.count >= 3 else { fail("usage: CrashWorker append|hold|try-open <directory> [seed term]") }
do {
    switch arguments[1] {
    case "append":
        guard arguments.count == 5, let seed = UInt64(arguments[3]), let term = UInt64(arguments[4]) else { fail("append <directory> <seed> <term>") }
        try append(directory: arguments[2], seed: seed, term: term)
    case "storage":
        guard arguments.count == 6, let seed = UInt64(arguments[3]), let term = UInt64(arguments[4]) else { fail("storage <directory> <seed> <term> etcd|lz4") }
        try storage(directory: arguments[2], seed: seed, term: term, snapshots: arguments[5])
    case "hold": try hold(directory: arguments[2])
    case "try-open": tryOpen(directory: arguments[2])
    default: fail("unknown mode \(arguments[1])")
    }
} catch {
    fail("\(error)")
}
