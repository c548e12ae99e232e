import Foundation
import MultiRaftLog
import RaftStorage

/// Row 3 of `WALBenchmark engine`: `writers` tasks, each owning `groupsPerWriter` groups and
/// writing one durable batch over them per round (`writeDurably`: concurrent callers share an
/// fdatasync), against one writer doing the same batches one after another. Two engines in
/// the same directory, in alternating stretches.
enum EngineGroupCommit {
    struct Pair {
        /// Entries per second.
        var concurrent: Double
        var serial: Double
    }

    /// An engine and where each of its groups is.
    final class Side: Sendable {
        let engine: LogEngine
        let writers: Int
        let groupsPerWriter: Int
        let payload: [UInt8]

        init(path: String, writers: Int, groupsPerWriter: Int, payload: [UInt8]) throws {
            engine = try LogEngine(directory: path)
            self.writers = writers
            self.groupsPerWriter = groupsPerWriter
            self.payload = payload
        }

        func groups(of writer: Int) -> Range<UInt64> {
            let first = UInt64(writer * groupsPerWriter + 1)
            return first..<(first + UInt64(groupsPerWriter))
        }

        /// Every writer's batch of round `index`, all writers at once; entries per second.
        func concurrent(rounds: Int, from index: UInt64) async throws -> Double {
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for writer in 0..<writers {
                    tasks.addTask {
                        for round in 0..<UInt64(rounds) {
                            try await self.engine.writeDurably(
                                EngineWorkload.roundBatch(groups: self.groups(of: writer), index: index + round, payload: self.payload))
                        }
                    }
                }
                try await tasks.waitForAll()
            }
            return Double(rounds * writers * groupsPerWriter) / (ContinuousClock.now - start).seconds
        }

        /// The same batches, one writer, one after another.
        func serial(rounds: Int, from index: UInt64) async throws -> Double {
            let start = ContinuousClock.now
            for round in 0..<UInt64(rounds) {
                for writer in 0..<writers {
                    try await engine.writeDurably(EngineWorkload.roundBatch(groups: groups(of: writer), index: index + round, payload: payload))
                }
            }
            return Double(rounds * writers * groupsPerWriter) / (ContinuousClock.now - start).seconds
        }
    }

    /// Row 3's concurrent side alone, for profiling: `rounds` rounds of every writer, with the
    /// CPU time they took (both cores busy means the writers are bound by CPU, not by syncs).
    static func probe(writers: Int, groupsPerWriter: Int, size: Int, rounds: Int, directory: String) async throws {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let side = try Side(path: base + "/concurrent", writers: writers, groupsPerWriter: groupsPerWriter, payload: EngineWorkload.payload(size))
        defer { try? side.engine.close() }
        let before = CPUTime.now()
        let start = ContinuousClock.now
        let rate = try await side.concurrent(rounds: rounds, from: 1)
        let seconds = (ContinuousClock.now - start).seconds
        let cpu = CPUTime.now() - before
        print(String(format: "%d writers x %d groups, %d rounds: %.3f s, %@ entries/s (user %.3f s, sys %.3f s: %.2f cores busy)",
                     writers, groupsPerWriter, rounds, seconds, Compare.format(rate), cpu.user, cpu.system, (cpu.user + cpu.system) / seconds))
    }

    static func run(
        writers: Int, groupsPerWriter: Int, size: Int, pairs: Int, concurrentRounds: Int, serialRounds: Int, directory: String
    ) async throws -> [Pair] {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let payload = EngineWorkload.payload(size)
        let concurrent = try Side(path: base + "/concurrent", writers: writers, groupsPerWriter: groupsPerWriter, payload: payload)
        let serial = try Side(path: base + "/serial", writers: writers, groupsPerWriter: groupsPerWriter, payload: payload)
        defer {
            try? concurrent.engine.close()
            try? serial.engine.close()
        }
        var concurrentNext: UInt64 = 1
        var serialNext: UInt64 = 1
        var results: [Pair] = []
        for pair in 1...pairs {
            Compare.progress("engine row 3: pair \(pair)/\(pairs)")
            let concurrentRate = try await concurrent.concurrent(rounds: concurrentRounds, from: concurrentNext)
            concurrentNext += UInt64(concurrentRounds)
            let serialRate = try await serial.serial(rounds: serialRounds, from: serialNext)
            serialNext += UInt64(serialRounds)
            results.append(Pair(concurrent: concurrentRate, serial: serialRate))
        }
        return results
    }
}
