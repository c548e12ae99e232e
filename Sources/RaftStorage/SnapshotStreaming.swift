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

// MARK: - Codec side

/// The streaming form of ``RecordCodec/encodeSnapshot(_:into:)``.
///
/// The encoding is ``prefix()``, then the snapshot data unchanged, then ``suffix()``. The store
/// writes the data itself and shows it to the encoder through ``update(_:)`` so the encoder can
/// checksum it. The bytes may differ from `encodeSnapshot`'s (etcd's format, for one, can only
/// place its checksum after the data when streaming), but
/// ``RecordCodec/decodeSnapshot(_:)-(UnsafeRawBufferPointer)`` and the codec's
/// ``SnapshotStreamDecoder`` read both.
public protocol SnapshotStreamEncoder {
    /// The bytes before the data; called once, first.
    mutating func prefix() -> [UInt8]

    /// Sees the next data bytes, in order; together they are the `dataCount` bytes announced.
    mutating func update(_ data: UnsafeRawBufferPointer)

    /// The bytes after the data, with the checksums; called once, after all data.
    mutating func suffix() -> [UInt8]
}

/// The streaming form of ``RecordCodec/decodeSnapshot(_:)-(UnsafeRawBufferPointer)``.
///
/// Fed the encoded bytes in chunks of any size (split anywhere, even inside a varint), it hands
/// back the snapshot data within them and verifies everything in ``finish()``.
///
/// Memory: whatever the length fields claim, a decoder buffers at most a small, fixed amount
/// (a tag, a varint, the metadata message up to a cap), never the data.
public protocol SnapshotStreamDecoder {
    /// Decodes the next encoded bytes, passing the data bytes among them to `data`, in order.
    ///
    /// - Throws: ``StorageError/Code/corrupt`` for malformed input, with the offset in the
    ///   encoded stream; whatever `data` throws.
    mutating func decode(
        _ bytes: UnsafeRawBufferPointer,
        data: (UnsafeRawBufferPointer) throws(StorageError) -> Void
    ) throws(StorageError)

    /// Checks that the encoding ended where it should and that its checksums match, and returns
    /// what was decoded besides the data.
    ///
    /// - Throws: ``StorageError/Code/unexpectedEnd`` for a truncated encoding,
    ///   ``StorageError/Code/crcMismatch`` for a checksum that does not match,
    ///   ``StorageError/Code/corrupt`` otherwise.
    mutating func finish() throws(StorageError) -> StreamedSnapshot

    /// The data size the encoding announces, once the decoder has seen it; a hint for reserving
    /// memory, to be trusted no further than the caller's own bounds. `nil` (the default) when
    /// unknown.
    var announcedDataCount: Int? { get }
}

extension SnapshotStreamDecoder {
    public var announcedDataCount: Int? { nil }
}

/// A snapshot's encoding split around its data (``RecordCodec/snapshotFraming(of:)``).
public struct SnapshotFraming: Hashable, Sendable {
    /// The bytes before the data.
    public var prefix: [UInt8]
    /// The bytes after the data.
    public var suffix: [UInt8]

    /// A framing of `prefix`, the data, then `suffix`.
    public init(prefix: [UInt8], suffix: [UInt8]) {
        self.prefix = prefix
        self.suffix = suffix
    }
}

/// What a ``SnapshotStreamDecoder`` found besides the data.
public struct StreamedSnapshot: Hashable, Sendable {
    /// The snapshot's metadata.
    public var metadata: SnapshotMetadata
    /// The number of data bytes, or `nil` when the encoding had no data field (``Snapshot/data``
    /// is `nil`, not empty).
    public var dataCount: Int?

    /// What a decoder found: `metadata`, and `dataCount` data bytes (`nil`: no data field).
    public init(metadata: SnapshotMetadata, dataCount: Int?) {
        self.metadata = metadata
        self.dataCount = dataCount
    }
}
