public import RaftStorage

/// How a whole snapshot becomes the bytes of a snapshot file.
///
/// Snapshot stores that write files (`LZ4SnapshotStore`, `EtcdSnapshotStore`) are generic over
/// it. Every ``RecordCodec`` is one too, since a log's format and its snapshot files usually
/// come together (etcd's `.snap` content is `ProtobufRecordCodec`'s).
///
/// ## Implementation requirements
///
/// `RaftStorageTesting.RecordCodecConformance` checks every rule below.
///
/// - ``decodeSnapshot(_:)`` of ``encodeSnapshot(_:into:)``'s output gives back the same
///   snapshot; decoding damaged bytes throws a ``RaftStorage/StorageError``, never traps, and
///   allocates no more than the input justifies (as ``RecordCodec``'s decoding).
/// - ``snapshotFraming(of:)``, when not `nil`, gives `prefix + data + suffix` equal to
///   ``encodeSnapshot(_:into:)``'s output.
/// - A codec that streams snapshots (``makeSnapshotEncoder(metadata:dataCount:)`` and
///   ``makeSnapshotDecoder()`` not `nil`) decodes, whole and streamed, what it encodes whole and
///   streamed; the streamed decoder hands back exactly the data, in order, whatever the chunking.
public protocol SnapshotCodec: Sendable {
    /// Appends the encoding of a whole snapshot, including its own checksum, to `buffer`.
    func encodeSnapshot(_ snapshot: Snapshot, into buffer: inout [UInt8])

    /// Decodes and verifies a whole snapshot.
    func decodeSnapshot(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> Snapshot

    /// The encoding of `snapshot` split around its data, so a store can write the data without
    /// copying it: `prefix`, the data, then `suffix` are exactly ``encodeSnapshot(_:into:)``'s
    /// bytes. `nil` (the default) when the codec cannot split its encoding that way.
    func snapshotFraming(of snapshot: Snapshot) -> SnapshotFraming?

    /// A streaming encoder for a snapshot of `metadata` with `dataCount` data bytes, or `nil`
    /// when this codec cannot stream (the default); stores then hold the whole snapshot in memory.
    func makeSnapshotEncoder(metadata: SnapshotMetadata, dataCount: Int) -> (any SnapshotStreamEncoder)?

    /// A streaming decoder for snapshots, or `nil` when this codec cannot stream (the default).
    func makeSnapshotDecoder() -> (any SnapshotStreamDecoder)?
}

extension SnapshotCodec {
    public func snapshotFraming(of snapshot: Snapshot) -> SnapshotFraming? { nil }

    public func makeSnapshotEncoder(metadata: SnapshotMetadata, dataCount: Int) -> (any SnapshotStreamEncoder)? { nil }

    public func makeSnapshotDecoder() -> (any SnapshotStreamDecoder)? { nil }

    /// Decodes a snapshot from an array.
    public func decodeSnapshot(_ bytes: [UInt8]) throws(StorageError) -> Snapshot {
        try bytes.withRawBytes { (raw) throws(StorageError) in try decodeSnapshot(raw) }
    }
}
