#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EtcdStorage
import KeyValueStateMachine
import RaftStorage
import RaftFiles

/// The demo as the user sees it: start the worker, count its acknowledgements, kill it,
/// recover, check, report.
struct DemoRun {
    var directory: String?
    var acknowledgedTarget: Int

    func run() throws(CLIError) {
        let temporary = directory == nil
        let root: String
        if let directory {
            if Paths.exists(directory) {
                try Paths.requireDirectory(directory)
                let contents = try storage { () throws(StorageError) in try Paths.fileSystem.contentsOfDirectory(directory) }
                guard contents.isEmpty else { throw .usage("\(directory) is not empty; the demo needs a new or empty directory") }
            }
            root = directory
        } else {
            root = try TemporaryDirectory.create(prefix: "raftstore-demo-")
        }
        defer { if temporary { TemporaryDirectory.remove(root) } }
        let out = TextSink()
        out.line("raftstore demo: a key/value store on raft Storage (etcd-format WAL + LZ4 snapshots), crashed on purpose")
        out.line("  data in \(root)" + (temporary ? " (removed at the end; --dir DIR keeps it)" : ""))
        out.line()
        out.flush()

        let written = try write(root, out: out)
        let recovered = try recover(root, out: out)
        try check(written: written, recovered: recovered, out: out)
        try onDisk(root, out: out)
        out.line()
        out.line("OK: every acknowledged write survived the crash")
        out.flush()
    }

    // MARK: - 1, 2: write until the target, then SIGKILL

    private struct Written {
        var acknowledged: Int
        var seconds: Double
        var snapshots: Int
    }

    private func write(_ root: String, out: TextSink) throws(CLIError) -> Written {
        out.line("1. write    a worker process puts keys in batches of \(DemoWorkload.batchSize); each batch is one WAL save,")
        out.line("            fsynced before it is acknowledged; a snapshot every \(Format.count(DemoWorkload.snapshotInterval, "entry", "entries"))")
        out.flush()
        let worker = try ChildProcess(ChildProcess.currentExecutable, ["demo", "--worker", "--dir", root])
        var acknowledged = -1
        var snapshots = 0
        var stopwatch: Stopwatch?
        var seconds = 0.0
        var killed = false
        while let line = worker.readLine() {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let number = Int(parts[1]) else { continue }
            switch parts[0] {
            case "ack":
                if stopwatch == nil { stopwatch = Stopwatch() }
                acknowledged = max(acknowledged, number)
                if !killed && acknowledged + 1 >= acknowledgedTarget {
                    worker.send(SIGKILL)
                    killed = true
                    seconds = stopwatch?.seconds ?? 0
                }
            case "snap":
                snapshots += 1
            default:
                break
            }
        }
        let exit = worker.wait()
        guard exit.signal == SIGKILL else {
            throw .data("the worker ended by itself (\(exit.code.map { "exit code \($0)" } ?? "signal \(exit.signal ?? 0)")) before it was killed; see the message above")
        }
        let count = acknowledged + 1
        let megabytes = Double(count * DemoWorkload.bytesPerPut) / 1e6
        out.line("            \(Format.count(count, "write")) acknowledged in \(Format.fixed(seconds, 2)) s: "
            + "\(Format.count(Int(Double(count) / max(seconds, 1e-9)))) writes/s, \(Format.fixed(megabytes / max(seconds, 1e-9), 1)) MB/s, \(Format.count(snapshots, "snapshot"))")
        out.line("2. crash    SIGKILL in the middle of writing")
        out.flush()
        return Written(acknowledged: count, seconds: seconds, snapshots: snapshots)
    }

    // MARK: - 3: recover

    private struct Recovered {
        var values: [String: String]
    }

    private func recover(_ root: String, out: TextSink) throws(CLIError) -> Recovered {
        let stopwatch = Stopwatch()
        let node = try storage { () throws(StorageError) in try DemoStorage.open(root) }
        let seconds = stopwatch.seconds
        let recovery = node.recovery
        let snapshot = recovery.snapshot.matches(.zero)
            ? "no snapshot"
            : "the snapshot at index \(Format.count(recovery.snapshot.index))"
        out.line("3. recover  \(snapshot) + \(Format.count(recovery.replayedEntries, "entry", "entries")) replayed from the WAL, in \(Format.fixed(seconds * 1000, 0)) ms")
        if case .truncated(let path, let offset, _)? = node.storage.log.repair {
            out.line("            the WAL's torn tail was cut off at \(path.split(separator: "/").last ?? "") offset \(offset) (a .broken copy is kept)")
        }
        out.line("            \(Format.count(node.state.values.count, "key")), last index \(Format.count(recovery.lastIndex)); the node now leads term \(recovery.term)")
        out.flush()
        let values = node.state.values
        try storage { () throws(StorageError) in try node.storage.close() }
        return Recovered(values: values)
    }

    // MARK: - 4: check

    private func check(written: Written, recovered: Recovered, out: TextSink) throws(CLIError) {
        let sequences = recovered.values.values.map { DemoWorkload.sequence(of: $0) }
        guard sequences.allSatisfy({ $0 != nil }) else {
            throw .data("check failed: the recovered state holds a value the demo never wrote")
        }
        let last = sequences.compactMap { $0 }.max() ?? -1
        let survivors = last + 1
        guard survivors >= written.acknowledged else {
            throw .data("check failed: only the first \(Format.count(survivors, "write")) survived, but \(Format.count(written.acknowledged)) \(written.acknowledged == 1 ? "was" : "were") acknowledged")
        }
        guard recovered.values == DemoWorkload.model(through: last) else {
            throw .data("check failed: the recovered state is not the state after writes 0 to \(last)")
        }
        let extra = survivors - written.acknowledged
        out.line("4. check    all \(Format.count(written.acknowledged, "acknowledged write")) survived"
            + (extra > 0 ? " (plus \(extra) written but never acknowledged)," : ","))
        out.line("            and the state is exactly the state after the first \(Format.count(survivors, "write"))")
        out.flush()
    }

    private func onDisk(_ root: String, out: TextSink) throws(CLIError) {
        let fileSystem = Paths.fileSystem
        let wal = Paths.join(root, "wal")
        let segments = try storage { () throws(StorageError) in
            try fileSystem.contentsOfDirectory(wal).compactMap(SegmentName.init(fileName:))
        }
        // Segments are numbered from 0: those before the oldest left were purged.
        let purged = segments.map(\.sequence).min() ?? 0
        let purgeNote = purged == 0 ? "" : " (the \(purged) older \(purged == 1 ? "one" : "ones") purged behind snapshots)"
        let snapshots = try storage { () throws(StorageError) in try SnapshotFileListing.read(Paths.join(root, "snap")) }
        let snapshotBytes = snapshots.snapshots.reduce(Int64(0)) { $0 + $1.size }
        out.line("   on disk  wal/: \(Format.count(segments.count, "segment")) of \(Format.bytes(DemoWorkload.segmentSize))\(purgeNote); "
            + "snap/: \(Format.count(snapshots.snapshots.count, ".snap.lz4 file")), \(Format.bytes(snapshotBytes))")
        out.flush()
    }
}
