import Foundation
import MultiRaftLog
import RaftStorage

/// Row 5 of `WALBenchmark engine`: the in-memory index of `entries` entries of `size` bytes in
/// `groups` groups (`LogEngine.indexStatistics(for:)` summed over the groups: the capacity the
/// process holds, not the count), after writing and after reopening.
enum EngineIndexMemory {
    struct Result {
        var entries: Int
        var writtenBytes: Int
        var reopenedBytes: Int
        var writeSeconds: Double
        var reopenSeconds: Double
    }

    static func run(entries: Int, size: Int, groups: Int, directory: String) throws -> Result {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let path = base + "/engine"
        let payload = EngineWorkload.payload(size)
        // Ten entries a group per batch (1.3 MB with the defaults); not synced until the end:
        // what is measured is memory.
        let perGroup = 10
        let rounds = max(1, entries / groups / perGroup)
        var engine = try LogEngine(directory: path)
        let start = ContinuousClock.now
        for round in 0..<rounds {
            if round % 50 == 0 { Compare.progress("engine row 5: writing, \(round * perGroup * groups) entries") }
            let first = UInt64(round * perGroup + 1)
            let batchEntries = (first..<(first + UInt64(perGroup))).map { Entry(term: 1, index: $0, data: payload) }
            var batch = WriteBatch()
            for group in 1...UInt64(groups) { batch.append(batchEntries, to: group) }
            try engine.write(batch, sync: false)
        }
        try engine.sync()
        let writeSeconds = (ContinuousClock.now - start).seconds
        let written = try statistics(engine, groups: groups)
        try engine.close()
        Compare.progress("engine row 5: reopening")
        let reopenStart = ContinuousClock.now
        engine = try LogEngine(directory: path)
        let reopenSeconds = (ContinuousClock.now - reopenStart).seconds
        let reopened = try statistics(engine, groups: groups)
        try engine.close()
        guard written.entries == rounds * perGroup * groups, reopened.entries == written.entries else {
            throw BenchmarkError("index holds \(written.entries) entries written, \(reopened.entries) reopened; \(rounds * perGroup * groups) expected")
        }
        return Result(entries: written.entries, writtenBytes: written.bytes, reopenedBytes: reopened.bytes,
                      writeSeconds: writeSeconds, reopenSeconds: reopenSeconds)
    }

    static func statistics(_ engine: LogEngine, groups: Int) throws -> (entries: Int, bytes: Int) {
        var total = (entries: 0, bytes: 0)
        for group in 1...UInt64(groups) {
            let statistics = try engine.indexStatistics(for: group)
            total.entries += Int(statistics.entries)
            total.bytes += statistics.bytes
        }
        return total
    }
}
