#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeyValueStateMachine
import RaftStorage

/// The process the demo kills: it writes batches of puts forever (up to `limit`), printing
/// `ack <last sequence>` on standard output each time a batch is durable and applied, and
/// `snap <index>` after each snapshot.
enum DemoWorker {
    static func run(directory: String, limit: Int) throws(CLIError) {
        let node = try storage { () throws(StorageError) in try DemoStorage.open(directory) }
        let parent = getppid()
        var next = node.state.values.values.compactMap(DemoWorkload.sequence).max().map { $0 + 1 } ?? 0
        var snapshotIndex = node.storage.snapshotMetadata.index
        while next < limit {
            let batch = (next..<(next + DemoWorkload.batchSize)).map(DemoWorkload.command)
            try storage { () throws(StorageError) in try node.propose(batch) }
            next += DemoWorkload.batchSize
            // Told only now: the batch is durable (fsynced) and applied.
            report("ack \(next - 1)")
            if node.storage.snapshotMetadata.index != snapshotIndex {
                snapshotIndex = node.storage.snapshotMetadata.index
                report("snap \(snapshotIndex)")
            }
            if getppid() != parent { return }  // the demo is gone; nobody is counting
        }
        try storage { () throws(StorageError) in try node.storage.close() }
    }

    private static func report(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { writeFully(STDOUT_FILENO, $0) }
    }
}
