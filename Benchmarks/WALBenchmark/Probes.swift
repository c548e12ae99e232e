import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles

/// In-process measurements used while optimising (`WALBenchmark probe-write ...`): the write
/// phase of a workload with its user and system CPU time, so profiles and instruction counts
/// (valgrind --tool=callgrind) see only the WAL.
enum Probes {
    static func write(entries: Int, size: Int, batch: Int, fsync: Bool, directory: String, rounds: Int, discardWrites: Bool) throws {
        for _ in 0..<rounds {
            let before = CPUTime.now()
            let seconds = try WriteFloor.writeWAL(
                fileSystem: discardWrites ? DiscardingFileSystem() : PosixFileSystem(), directory: directory, entries: entries, size: size,
                batch: batch, fsync: fsync)
            let cpu = CPUTime.now() - before
            print(String(format: "write %.3f s  %.2f M entries/s  user %.3f s  sys %.3f s",
                         seconds, Double(entries) / seconds / 1e6, cpu.user, cpu.system))
        }
    }
}

extension Probes {
    /// Writes a W1-shaped WAL once, then replays it `rounds` times (`WAL.read`, etcd's ReadAll).
    static func replay(entries: Int, size: Int, directory: String, rounds: Int) throws {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let path = base + "/wal"
        let wal = try WAL.create(at: path, metadata: nil, codec: ProtobufRecordCodec(), options: WALOptions(unsafeNoSync: true))
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        var next: UInt64 = 1
        while next <= UInt64(entries) {
            let batch = (next..<min(next + 1000, UInt64(entries) + 1)).map { Entry(term: 1, index: $0, data: payload) }
            next += UInt64(batch.count)
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: next - 1), entries: batch)
        }
        try wal.close()
        for _ in 0..<rounds {
            let before = CPUTime.now()
            let start = ContinuousClock.now
            let replay = try WAL.read(at: path, from: .zero, codec: ProtobufRecordCodec())
            let seconds = (ContinuousClock.now - start).seconds
            let cpu = CPUTime.now() - before
            guard replay.error == nil, replay.entries.count == entries else { throw replay.error ?? StorageError(.corrupt, "short replay") }
            print(String(format: "replay %.3f s  %.2f M entries/s  user %.3f s  sys %.3f s",
                         seconds, Double(entries) / seconds / 1e6, cpu.user, cpu.system))
        }
    }
}

/// User and system CPU time of this process.
struct CPUTime {
    var user: Double
    var system: Double

    static func now() -> CPUTime {
        var usage = rusage()
        getrusage(0, &usage)  // RUSAGE_SELF
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return CPUTime(user: seconds(usage.ru_utime), system: seconds(usage.ru_stime))
    }

    static func - (lhs: CPUTime, rhs: CPUTime) -> CPUTime {
        CPUTime(user: lhs.user - rhs.user, system: lhs.system - rhs.system)
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Temporary directories for benchmark WALs.
enum Scratch {
    static func directory(in parent: String) throws -> String {
        let path = parent + "/walbench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
