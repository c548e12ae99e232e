// Seeds of FuzzEngineBatch, in its input modes (Fuzz/Sources/FuzzEngineBatch/main.swift): files
// and record bodies the engine itself wrote, and scripts of writes.
import MultiRaftLog
import RaftStorage
import RaftStorageTesting

/// Runs a small workload of three groups through an engine on a simulated disk with 256-byte
/// files: batches of entries and HardStates, a snapshot recorded and one installed, a
/// compaction, and (with `purge`) a purge that rewrites the groups pinning the oldest file
/// (base records). Returns every log file's bytes, oldest first.
func engineFiles(purge: Bool) throws -> [[UInt8]] {
    let fs = FaultInjectingFileSystem()
    let engine = try LogEngine(directory: "/engine", options: .init(fileSystem: fs, fileSize: 256))
    for index in UInt64(1)...12 {
        var batch = WriteBatch()
        // Group 3 stops early (it pins the oldest file), group 2 before its snapshot is installed.
        for (group, lastIndex) in [(1, 12), (2, 9), (3, 4)] as [(UInt64, UInt64)] where index <= lastIndex {
            let entry = Entry(term: 1 + index / 6, index: index, data: Array("g\(group) \(index)".utf8))
            batch.save(hardState: HardState(term: 1 + index / 6, vote: group, commit: index), entries: [entry], for: group)
        }
        if index == 6 { batch.recordSnapshot(SnapshotMetadata(confState: ConfState(voters: [1, 2], learners: [3]), index: 5, term: 1), for: 1) }
        if index == 8 { batch.compact(1, through: 5) }
        if index == 10 { batch.applySnapshot(SnapshotMetadata(confState: ConfState(voters: [1]), index: 20, term: 3), to: 2) }
        try engine.write(batch, sync: false)
    }
    if purge { try engine.purge(budget: 64) }
    try engine.close()
    return fs.files(under: "/engine").filter { $0.hasSuffix(".rlog") }.sorted().compactMap { fs.contents(of: $0) }
}

/// The bodies of a log file's records.
func recordBodies(_ file: [UInt8]) -> [[UInt8]] {
    var bodies: [[UInt8]] = []
    var offset = 40
    while offset + 8 <= file.count {
        let length = (0..<4).reduce(0) { $0 | Int(file[offset + $1]) << (8 * $1) }
        guard length > 0, offset + 8 + length <= file.count else { break }
        bodies.append(Array(file[(offset + 8)..<(offset + 8 + length)]))
        offset = (offset + 8 + length + 7) / 8 * 8
    }
    return bodies
}

/// Bodies as the framed modes read them: each behind its length, u16 big-endian.
func lengthPrefixed(_ bodies: [[UInt8]]) -> [UInt8] {
    bodies.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 }
}

/// A script of `count` bytes from a fixed linear congruential sequence: every byte string is a
/// script, and this one reaches each kind of write.
func script(seed: UInt64, count: Int) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

func writeEngineSeeds() throws {
    let plain = try engineFiles(purge: false)
    let purged = try engineFiles(purge: true)
    // Mode 0: one raw file.
    try seed("EngineBatch", "raw-first-file", [0] + plain[0])
    // Mode 1: the bodies of the first file, and of the last file after a purge (base records,
    // whose references then point at files that are not there).
    try seed("EngineBatch", "bodies-first-file", [1] + lengthPrefixed(recordBodies(plain[0])))
    try seed("EngineBatch", "bodies-base-records", [1] + lengthPrefixed(recordBodies(purged[purged.count - 1])))
    // Mode 1 with a torn tail: the last body cut short.
    var torn = lengthPrefixed(recordBodies(plain[0]))
    torn.removeLast(5)
    try seed("EngineBatch", "bodies-torn-tail", [1] + torn)
    // Mode 2: the first two files' bodies.
    let first = lengthPrefixed(recordBodies(plain[0]))
    try seed("EngineBatch", "two-files", [2, UInt8(first.count >> 8), UInt8(first.count & 0xFF)] + first + lengthPrefixed(recordBodies(plain[1])))
    // Mode 3: scripts, intact (bit 2) and damaged.
    try seed("EngineBatch", "script-intact", [7] + script(seed: 1, count: 300))
    try seed("EngineBatch", "script-damaged", [3] + script(seed: 2, count: 300))
}
