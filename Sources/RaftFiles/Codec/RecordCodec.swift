public import RaftStorage
/// One record of a durable log.
///
/// The five kinds are etcd's WAL record types. A log writes `metadata` once per segment,
/// `entry` and `hardState` for every save, `snapshot` markers, and a `crc` record carrying the
/// running checksum at the start of each segment.
public enum LogRecord: Hashable, Sendable {
    /// Opaque application metadata (etcd stores node and cluster id); `nil` when absent.
    case metadata([UInt8]?)
    /// A log entry.
    case entry(Entry)
    /// The HardState after the entries of a save.
    case hardState(HardState)
    /// A snapshot marker: where the log may be opened from.
    case snapshot(SnapshotMarker)
    /// The running checksum of everything written before it.
    case crc(UInt32)
}

/// A decoded record, with what its writer stored to verify it.
public struct DecodedRecord: Hashable, Sendable {
    /// The record.
    public var record: LogRecord
    /// The checksum stored in the record (for ``LogRecord/crc(_:)`` the value itself).
    public var checksum: UInt32
    /// Where the record's payload lies in the bytes that were decoded: the bytes the
    /// checksum covers. Empty for a `crc` record and for absent payloads.
    public var payload: Range<Int>

    /// A decoded record with its stored checksum and the range of its payload.
    public init(record: LogRecord, checksum: UInt32, payload: Range<Int>) {
        self.record = record
        self.checksum = checksum
        self.payload = payload
    }
}

/// How a durable log's records, and whole snapshots, become bytes.
///
/// The log owns framing (lengths, padding, alignment) and the checksum chain; the codec owns
/// the bytes inside a frame. Backends: `ProtobufRecordCodec` (byte-for-byte etcd) and the
/// compressing decorator `LZ4RecordCodec`.
///
/// ## Implementation requirements
///
/// `RaftStorageTesting.RecordCodecConformance` checks every rule below.
///
/// - ``decode(_:)`` of what ``encode(_:into:checksum:)`` wrote gives back the same record,
///   and the checksum the closure returned; ``decodeSnapshot(_:)`` of
///   ``encodeSnapshot(_:into:)``'s output gives back the same snapshot.
/// - Decoding any bytes (flipped bits, truncation, garbage) either throws a ``StorageError``
///   (``StorageError/Code/corrupt`` or ``StorageError/Code/crcMismatch``) or returns a
///   well-formed value; it never traps, and whatever a length field claims, no single
///   allocation is larger than 4 times the input's size or 1 MiB + 64 KiB, whichever is more
///   (data that really decompresses to more takes its decompressed size). This package's codecs
///   are measured against that bound on hostile input (`AllocationBoundTests`).
/// - ``encode(_:into:checksum:)`` calls `checksum` exactly once, with the record's payload,
///   except for ``LogRecord/crc(_:)`` records, which carry their own value.
/// - ``snapshotFraming(of:)``, when not `nil`, gives `prefix + data + suffix` equal to
///   ``encodeSnapshot(_:into:)``'s output.
/// - A codec that streams snapshots (``makeSnapshotEncoder(metadata:dataCount:)`` and
///   ``makeSnapshotDecoder()`` not `nil`) decodes, whole and streamed, what it encodes whole and
///   streamed; the streamed decoder hands back exactly the data, in order, whatever the chunking.
/// - Codecs whose logs another codec must refuse (because it would misread them) have a
///   ``formatName``; a log stores it and refuses to open with a codec of another name.
public protocol RecordCodec: Sendable {
    /// The name a log written with this codec records, or `nil` for etcd's plain format.
    var formatName: String? { get }

    /// Appends the encoding of `record` to `buffer`. `checksum` receives the payload and returns
    /// the value to store with it (the log's running checksum).
    func encode(_ record: LogRecord, into buffer: inout [UInt8], checksum: (UnsafeRawBufferPointer) -> UInt32)

    /// Decodes one record that fills `bytes` exactly. The caller verifies the checksum.
    func decode(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> DecodedRecord

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

extension RecordCodec {
    public var formatName: String? { nil }

    public func snapshotFraming(of snapshot: Snapshot) -> SnapshotFraming? { nil }

    public func makeSnapshotEncoder(metadata: SnapshotMetadata, dataCount: Int) -> (any SnapshotStreamEncoder)? { nil }

    public func makeSnapshotDecoder() -> (any SnapshotStreamDecoder)? { nil }

    /// Decodes one record from an array.
    public func decode(_ bytes: [UInt8]) throws(StorageError) -> DecodedRecord {
        try bytes.withRawBytes { (raw) throws(StorageError) in try decode(raw) }
    }

    /// Decodes a snapshot from an array.
    public func decodeSnapshot(_ bytes: [UInt8]) throws(StorageError) -> Snapshot {
        try bytes.withRawBytes { (raw) throws(StorageError) in try decodeSnapshot(raw) }
    }
}
