/// A snapshot store that also saves and loads snapshots in chunks, for state larger than memory.
///
/// The whole-``Snapshot`` calls of ``SnapshotStore`` hold the data in one array; these stream it,
/// so peak memory stays a few block buffers whatever the snapshot's size. Backends:
/// `EtcdSnapshotStore` and `LZ4SnapshotStore`.
///
/// ```swift
/// try store.save(metadata: metadata, dataCount: state.count) { writer throws(StorageError) in
///     for chunk in state.chunks { try writer.write(chunk) }
/// }
/// let metadata = try store.loadNewest(matching: markers) { event throws(StorageError) in
///     switch event {
///     case .start: restored.removeAll()          // a snapshot begins (again, after a broken one)
///     case .data(let bytes): restored.append(contentsOf: bytes)
///     }
/// }
/// ```
///
/// ## Implementation requirements
///
/// - ``save(metadata:dataCount:writing:)`` has the guarantees of ``SnapshotStore/save(_:)``
///   (durable and atomic on return; nothing stored when it throws). It throws
///   ``StorageError/Code/invalidArgument`` when `body` writes more or fewer than `dataCount`
///   bytes, and rethrows what `body` throws; either way nothing is stored.
/// - ``loadNewest(matching:receiving:)`` picks snapshots as ``SnapshotStore/loadNewest(matching:)``
///   does. For each candidate it reports ``SnapshotStreamEvent/start(_:)``, then the data in order.
///   Data is verified as a whole only at the end: when a candidate turns out damaged it is set
///   aside and the next one starts with a new `.start`, so the receiver drops what it got. The
///   metadata is returned once every checksum has passed; `nil` when no candidate was readable.
///   An error thrown by `body` stops the load and is rethrown, and never marks a file broken.
public protocol StreamingSnapshotStore: SnapshotStore {
    /// Stores a snapshot of `metadata` whose `dataCount` data bytes `body` writes, durably and
    /// atomically.
    ///
    /// - Throws: ``StorageError/Code/invalidArgument`` when `body` writes a different number of
    ///   bytes; what `body` throws; I/O errors.
    func save(
        metadata: SnapshotMetadata,
        dataCount: Int,
        writing body: (SnapshotWriter) throws(StorageError) -> Void
    ) throws(StorageError)

    /// Streams the newest readable snapshot whose (index, term) is one of `markers` (any
    /// snapshot when `markers` is `nil`) to `body`, and returns its metadata once verified.
    func loadNewest(
        matching markers: [SnapshotMarker]?,
        receiving body: (SnapshotStreamEvent) throws(StorageError) -> Void
    ) throws(StorageError) -> SnapshotMetadata?
}

/// What a streaming load hands its receiver.
public enum SnapshotStreamEvent {
    /// A snapshot at this position begins; drop anything received before.
    case start(SnapshotMarker)
    /// The next data bytes, valid only during the call.
    case data(UnsafeRawBufferPointer)
}

/// Takes the data of a snapshot being saved by ``StreamingSnapshotStore/save(metadata:dataCount:writing:)``.
///
/// Valid only inside the `writing` closure it is passed to; calls after it returns throw
/// ``StorageError/Code/closed``. Not thread-safe: write from one task.
public final class SnapshotWriter {
    private var sink: ((UnsafeRawBufferPointer) throws(StorageError) -> Void)?
    private let expected: Int
    /// The data bytes written so far.
    public private(set) var bytesWritten = 0

    /// A writer that passes at most `dataCount` bytes to `sink`; for store implementations.
    package init(dataCount: Int, sink: @escaping (UnsafeRawBufferPointer) throws(StorageError) -> Void) {
        self.expected = dataCount
        self.sink = sink
    }

    /// Appends `bytes` to the snapshot data.
    ///
    /// - Throws: ``StorageError/Code/invalidArgument`` when this would pass the announced
    ///   size; ``StorageError/Code/closed`` after the save ended; the store's I/O errors.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(StorageError) {
        guard let sink else { throw StorageError(.closed, "the snapshot writer is used after its save ended") }
        guard bytes.count <= expected - bytesWritten else {
            throw StorageError(
                .invalidArgument,
                "snapshot data exceeds the announced \(expected) bytes (\(bytesWritten) written, \(bytes.count) more offered)")
        }
        try sink(bytes)
        bytesWritten += bytes.count
    }

    /// Appends `bytes` to the snapshot data.
    public func write(_ bytes: [UInt8]) throws(StorageError) {
        try bytes.withRawBytes { (raw) throws(StorageError) in try write(raw) }
    }

    /// Ends the writer and checks every announced byte arrived; for store implementations.
    package func close() throws(StorageError) {
        sink = nil
        guard bytesWritten == expected else {
            throw StorageError(
                .invalidArgument, "snapshot data is \(bytesWritten) bytes, but \(expected) were announced")
        }
    }

    /// Ends the writer without checks, after a failure.
    package func abandon() {
        sink = nil
    }

    /// Passes the writer to the caller's `body`, then checks every announced byte arrived; ends
    /// the writer either way; for store implementations.
    package func run(_ body: (SnapshotWriter) throws(StorageError) -> Void) throws(StorageError) {
        do throws(StorageError) {
            try body(self)
            try close()
        } catch {
            abandon()
            throw error
        }
    }
}
