import EtcdStorage
import Foundation
import MultiRaftLog
import RaftStorage

/// Rows 1 and 2 of `WALBenchmark engine`: `groups` raft groups each persisting one entry and its
/// HardState per round, durable once per round, on the engine (one batch of every group, one
/// `write(_:sync: true)`) against etcd-format WALs: one `WALLogStore` per group (each saving
/// and syncing on its own), or one `WALLogStore` holding the same bytes as one group (every
/// group's entry in one save, one sync). Stretches of the two sides alternate; each pair of
/// stretches gives a ratio.
enum EngineVersusWAL {
    struct Pair {
        /// Entries per second.
        var engine: Double
        var wal: Double
    }

    /// WAL segments for the many-WAL side: 4,000,000 bytes instead of etcd's 64,000,000, so a
    /// thousand WALs preallocate 4 GB, not 64 GB. A round writes about 130 bytes into each, so
    /// no segment fills during the benchmark: the size changes nothing measured.
    static let separateSegmentSize: Int64 = 4_000_000

    /// The engine, one round at a time; `rounds` rounds per stretch.
    final class EngineSide {
        let engine: LogEngine
        let groups: Int
        let payload: [UInt8]
        var next: UInt64 = 1

        init(path: String, groups: Int, payload: [UInt8]) throws {
            engine = try LogEngine(directory: path)
            self.groups = groups
            self.payload = payload
        }

        /// Entries per second over `rounds` rounds.
        func stretch(rounds: Int) throws -> Double {
            let start = ContinuousClock.now
            for _ in 0..<rounds {
                try engine.write(EngineWorkload.roundBatch(groups: 1..<UInt64(groups + 1), index: next, payload: payload), sync: true)
                next += 1
            }
            return Double(rounds * groups) / (ContinuousClock.now - start).seconds
        }
    }

    /// One `WALLogStore` per group.
    final class SeparateWALs {
        let logs: [WALLogStore<ProtobufRecordCodec>]
        let payload: [UInt8]
        var next: UInt64 = 1

        init(path: String, groups: Int, payload: [UInt8]) throws {
            let options = WALLogStore<ProtobufRecordCodec>.Options(wal: WALOptions(segmentSize: EngineVersusWAL.separateSegmentSize))
            logs = try (0..<groups).map { group in try WALLogStore.open(at: path + "/group-\(group)", options: options) }
            self.payload = payload
        }

        /// Entries per second over `rounds` rounds: each group saves its entry and syncs.
        func stretch(rounds: Int) throws -> Double {
            let start = ContinuousClock.now
            for _ in 0..<rounds {
                let hardState = HardState(term: 1, vote: 1, commit: next)
                for log in logs {
                    try log.save(hardState: hardState, entries: [Entry(term: 1, index: next, data: payload)])
                    try log.sync()
                }
                next += 1
            }
            return Double(rounds * logs.count) / (ContinuousClock.now - start).seconds
        }

        func close() {
            for log in logs { try? log.close() }
        }
    }

    /// One `WALLogStore`, every group's entry of a round in one save.
    final class OneWAL {
        let log: WALLogStore<ProtobufRecordCodec>
        let groups: Int
        let payload: [UInt8]
        var next: UInt64 = 1

        init(path: String, groups: Int, payload: [UInt8]) throws {
            log = try WALLogStore.open(at: path)
            self.groups = groups
            self.payload = payload
        }

        func stretch(rounds: Int) throws -> Double {
            let start = ContinuousClock.now
            for _ in 0..<rounds {
                let entries = (0..<UInt64(groups)).map { Entry(term: 1, index: next + $0, data: payload) }
                next += UInt64(groups)
                try log.save(hardState: HardState(term: 1, vote: 1, commit: next - 1), entries: entries)
                try log.sync()
            }
            return Double(rounds * groups) / (ContinuousClock.now - start).seconds
        }
    }

    /// Row 1: the engine against one WAL per group. Returns the pairs and the open-file limit
    /// before and after raising it.
    static func separate(
        groups: Int, size: Int, pairs: Int, engineRounds: Int, walRounds: Int, directory: String
    ) throws -> (pairs: [Pair], fileLimit: (before: Int, after: Int)) {
        // Each WAL holds its segment file and its directory open: two descriptors a group,
        // plus the engine's, the standard ones and some room.
        let fileLimit = FileLimit.raise(to: groups * 2 + 256)
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let payload = EngineWorkload.payload(size)
        let engine = try EngineSide(path: base + "/engine", groups: groups, payload: payload)
        defer { try? engine.engine.close() }
        let wals = try SeparateWALs(path: base + "/wals", groups: groups, payload: payload)
        defer { wals.close() }
        // Not timed: each new WAL's first sync writes its first window of zeros ahead
        // (WALOptions.zeroFillAhead), which later rounds do once per megabyte of records.
        _ = try engine.stretch(rounds: 1)
        _ = try wals.stretch(rounds: 1)
        var results: [Pair] = []
        for pair in 1...pairs {
            Compare.progress("engine row 1: pair \(pair)/\(pairs)")
            let engineRate = try engine.stretch(rounds: engineRounds)
            let walRate = try wals.stretch(rounds: walRounds)
            results.append(Pair(engine: engineRate, wal: walRate))
        }
        return (results, fileLimit)
    }

    /// Rows 1 and 2's engine side alone, for profiling: `rounds` rounds (not synced unless
    /// `sync`), with the CPU time they took.
    static func probe(groups: Int, size: Int, rounds: Int, sync: Bool, directory: String) throws {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let engine = try LogEngine(directory: base + "/engine")
        defer { try? engine.close() }
        let payload = EngineWorkload.payload(size)
        let before = CPUTime.now()
        let start = ContinuousClock.now
        for round in 1...UInt64(rounds) {
            try engine.write(EngineWorkload.roundBatch(groups: 1..<UInt64(groups + 1), index: round, payload: payload), sync: sync)
        }
        let seconds = (ContinuousClock.now - start).seconds
        let cpu = CPUTime.now() - before
        print(String(format: "%d rounds of %d groups: %.3f s, %.0f ns per entry (user %.3f s, sys %.3f s)",
                     rounds, groups, seconds, seconds / Double(rounds * groups) * 1e9, cpu.user, cpu.system))
    }

    /// Row 2: the engine against one WAL holding the same bytes.
    static func single(groups: Int, size: Int, pairs: Int, rounds: Int, directory: String) throws -> [Pair] {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let payload = EngineWorkload.payload(size)
        let engine = try EngineSide(path: base + "/engine", groups: groups, payload: payload)
        defer { try? engine.engine.close() }
        let wal = try OneWAL(path: base + "/wal", groups: groups, payload: payload)
        defer { try? wal.log.close() }
        _ = try engine.stretch(rounds: 1)
        _ = try wal.stretch(rounds: 1)
        var results: [Pair] = []
        for pair in 1...pairs {
            Compare.progress("engine row 2: pair \(pair)/\(pairs)")
            // The order within a pair alternates too, so neither side always follows the other.
            if pair % 2 == 1 {
                let engineRate = try engine.stretch(rounds: rounds)
                results.append(Pair(engine: engineRate, wal: try wal.stretch(rounds: rounds)))
            } else {
                let walRate = try wal.stretch(rounds: rounds)
                results.append(Pair(engine: try engine.stretch(rounds: rounds), wal: walRate))
            }
        }
        return results
    }
}
