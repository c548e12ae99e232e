public import RaftStorage

// MARK: - Codec side

/// The streaming form of ``SnapshotCodec/encodeSnapshot(_:into:)``.
///
/// The encoding is ``prefix()``, then the snapshot data unchanged, then ``suffix()``. The store
/// writes the data itself and shows it to the encoder through ``update(_:)`` so the encoder can
/// checksum it. The bytes may differ from `encodeSnapshot`'s (etcd's format, for one, can only
/// place its checksum after the data when streaming), but
/// ``SnapshotCodec/decodeSnapshot(_:)-(UnsafeRawBufferPointer)`` and the codec's
/// ``SnapshotStreamDecoder`` read both.
public protocol SnapshotStreamEncoder {
    /// The bytes before the data; called once, first.
    mutating func prefix() -> [UInt8]

    /// Sees the next data bytes, in order; together they are the `dataCount` bytes announced.
    mutating func update(_ data: UnsafeRawBufferPointer)

    /// The bytes after the data, with the checksums; called once, after all data.
    mutating func suffix() -> [UInt8]
}

/// The streaming form of ``SnapshotCodec/decodeSnapshot(_:)-(UnsafeRawBufferPointer)``.
///
/// Fed the encoded bytes in chunks of any size (split anywhere, even inside a varint), it hands
/// back the snapshot data within them and verifies everything in ``finish()``.
///
/// Memory: whatever the length fields claim, a decoder buffers at most a small, fixed amount
/// (a tag, a varint, the metadata message up to a cap), never the data.
public protocol SnapshotStreamDecoder {
    /// Decodes the next encoded bytes, passing the data bytes among them to `data`, in order.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` for malformed input, with the offset in the
    ///   encoded stream; whatever `data` throws.
    mutating func decode(
        _ bytes: UnsafeRawBufferPointer,
        data: (UnsafeRawBufferPointer) throws(StorageError) -> Void
    ) throws(StorageError)

    /// Checks that the encoding ended where it should and that its checksums match, and returns
    /// what was decoded besides the data.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/unexpectedEnd`` for a truncated encoding,
    ///   ``RaftStorage/StorageError/Code/crcMismatch`` for a checksum that does not match,
    ///   ``RaftStorage/StorageError/Code/corrupt`` otherwise.
    mutating func finish() throws(StorageError) -> StreamedSnapshot

    /// The data size the encoding announces, once the decoder has seen it; a hint for reserving
    /// memory, to be trusted no further than the caller's own bounds. `nil` (the default) when
    /// unknown.
    var announcedDataCount: Int? { get }
}

extension SnapshotStreamDecoder {
    public var announcedDataCount: Int? { nil }
}

/// A snapshot's encoding split around its data (``SnapshotCodec/snapshotFraming(of:)``).
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
    /// The number of data bytes, or `nil` when the encoding had no data field (``RaftStorage/Snapshot/data``
    /// is `nil`, not empty).
    public var dataCount: Int?

    /// What a decoder found: `metadata`, and `dataCount` data bytes (`nil`: no data field).
    public init(metadata: SnapshotMetadata, dataCount: Int?) {
        self.metadata = metadata
        self.dataCount = dataCount
    }
}
