import Dispatch

/// A second thread for the two-stage pipelines of the frame writer and reader: one stage runs
/// on the caller's thread, the other here, one job at a time in submission order.
///
/// Why a thread: liblz4 compresses and decompresses on one core, and the checksums (XXH32 over
/// the content, the codec's CRC32C) and the file I/O around it would add 30-50% to a
/// single-threaded load or save. Overlapping them with the (de)compression of the next block
/// keeps a save or load within a few percent of raw LZ4 speed (see Docs/Performance.md).
///
/// Jobs hand raw buffers between the threads, so callers must not touch what a pending job
/// uses until ``wait()`` returns; ``wait()`` also makes the job's writes visible.
final class BackgroundLane: Sendable {
    private let queue = DispatchQueue(label: "raftstore.lz4snapshots.pipeline")
    private let group = DispatchGroup()

    /// Runs `job` after the jobs submitted before it.
    func submit(_ job: @escaping @Sendable () -> Void) {
        queue.async(group: group, execute: job)
    }

    /// Returns when every submitted job has finished.
    func wait() {
        group.wait()
    }
}

/// Moves a value the pipeline hands between threads under its own discipline (a job owns it
/// until ``BackgroundLane/wait()``) past the compiler's Sendable check.
struct Handoff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
