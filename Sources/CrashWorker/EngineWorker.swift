import MultiRaftLog
import RaftStorage

/// The multi-group engine under SIGKILL: concurrent writers sharing fdatasyncs (group commit),
/// batches spanning groups, compaction and purges, all while the parent may kill the process.
enum EngineWorker {
    static let groups: ClosedRange<UInt64> = 1...16
    static let writers = 4
    /// Small files, so writes rotate files and purges remove them between kills.
    static let options = LogEngine.Options(fileSize: 64 * 1024)

    /// A group's entry data: the WAL worker's payload, keyed by the group too.
    static func data(group: UInt64, index: UInt64, term: UInt64) -> [UInt8] {
        payload(index: index, term: term ^ group << 40)
    }

    static func run(directory: String, seed: UInt64, term: UInt64) async throws -> Never {
        let engine = try LogEngine(directory: directory, options: options)
        var total: UInt64 = 0
        for group in groups { total += try engine.log(for: group).lastIndex() }
        say("open \(total)")
        let perWriter = UInt64(groups.count / writers)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for writer in 0..<UInt64(writers) {
                let owned = (groups.lowerBound + writer * perWriter)...(groups.lowerBound + (writer + 1) * perWriter - 1)
                tasks.addTask { try await write(engine, groups: owned, seed: seed &+ writer &* 0x9E37_79B9_7F4A_7C15, term: term, purges: writer == 0) }
            }
            try await tasks.next()
        }
        fail("a writer stopped")
    }

    /// Writes batches over random subsets of `groups` until killed; each durable batch's
    /// groups are acknowledged. Now and then a group is compacted behind its commit index, and
    /// (when `purges`) old files are purged.
    static func write(_ engine: LogEngine, groups: ClosedRange<UInt64>, seed: UInt64, term: UInt64, purges: Bool) async throws(StorageError) {
        var dice = Dice(seed: seed)
        func roll(_ bound: UInt64) -> UInt64 { dice.roll(bound) }
        var last: [UInt64: UInt64] = [:]
        for group in groups { last[group] = try engine.log(for: group).lastIndex() }
        while true {
            var batch = WriteBatch()
            var acknowledgements: [String] = []
            for group in groups where roll(2) == 0 {
                let previous = last[group, default: 0]
                let count = 1 + roll(4)
                let entries = ((previous + 1)...(previous + count)).map { Entry(term: term, index: $0, data: data(group: group, index: $0, term: term)) }
                // What was acknowledged before this batch is committed.
                batch.save(hardState: HardState(term: term, vote: 1, commit: previous), entries: entries, for: group)
                acknowledgements.append("ack \(group) \(previous + 1) \(previous + count) \(term)")
                last[group] = previous + count
            }
            guard !batch.isEmpty else { continue }
            try await engine.writeDurably(batch)
            for line in acknowledgements { say(line) }
            if roll(4) == 0 {
                let group = groups.lowerBound + roll(UInt64(groups.count))
                let log = engine.log(for: group)
                let commit = try log.hardState().commit
                if commit > 10, commit - 10 >= (try log.firstIndex()) {
                    var compaction = WriteBatch()
                    compaction.compact(group, through: commit - 10)
                    try await engine.writeDurably(compaction)
                }
            }
            if purges, roll(8) == 0 { try engine.purge(budget: 64 * 1024) }
        }
    }
}
