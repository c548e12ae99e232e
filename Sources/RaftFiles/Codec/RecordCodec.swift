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

/// How ``RecordCodec/decodeLogRecord(_:entryData:)`` treats an entry's data.
public enum EntryDataMode: Hashable, Sendable {
    /// Whole entries: the data is decoded and copied out of the record.
    case copy
    /// Index and term only: the data is neither copied nor decoded (the log still verifies the
    /// checksum that covers it).
    case skip
    /// Whole entries, as ``copy``, from bytes that lie inside `buffer`: an entry may refer to
    /// its data there (`Entry(term:index:type:data:in:)`) instead of copying it. Data a codec
    /// transforms (decompresses, for one) is the entry's own. A log passes this mode only to a
    /// codec whose ``RecordCodec/sharesEntryData`` is true.
    case share(EntryBuffer)
}

/// One record as a log reads it (``RecordCodec/decodeLogRecord(_:entryData:)``): the record,
/// or for an entry read without its data only its position, with what its writer stored to
/// verify it.
public struct DecodedLogRecord: Hashable, Sendable {
    /// What a record decoded to.
    public enum Body: Hashable, Sendable {
        /// An entry, data included (``EntryDataMode/copy``, ``EntryDataMode/share(_:)``).
        case entry(Entry)
        /// An entry read without its data (``EntryDataMode/skip``): its index and term.
        case entryIndexAndTerm(index: UInt64, term: UInt64)
        /// Any record but an entry; never ``LogRecord/entry(_:)``.
        case other(LogRecord)
    }

    /// The record.
    public var body: Body
    /// The checksum stored in the record (for ``LogRecord/crc(_:)`` the value itself), as
    /// ``DecodedRecord/checksum``.
    public var checksum: UInt32
    /// Where the record's payload lies in the decoded bytes, as ``DecodedRecord/payload``:
    /// the bytes the checksum covers, an entry's data included even when it was not copied.
    public var payload: Range<Int>

    /// A record read as `body`, with its stored checksum and the range of its payload.
    public init(body: Body, checksum: UInt32, payload: Range<Int>) {
        self.body = body
        self.checksum = checksum
        self.payload = payload
    }

    /// The whole record; `nil` for an entry read without its data.
    public var record: LogRecord? { body.record }
}

extension DecodedLogRecord.Body {
    /// The whole record; `nil` for an entry read without its data.
    public var record: LogRecord? {
        switch self {
        case .entry(let entry): .entry(entry)
        case .entryIndexAndTerm: nil
        case .other(let record): record
        }
    }
}

/// What ``RecordCodec/frameEntries(_:into:crc:byteBudget:)`` wrote.
public struct FramedEntries: Hashable, Sendable {
    /// How many entries, from the first, were framed.
    public var entryCount: Int
    /// How many bytes their frames take, from the start of the buffer (a multiple of 8).
    public var byteCount: Int
    /// How far into the buffer anything was stored: at least ``byteCount``, at most the
    /// buffer's size. The bytes between ``byteCount`` and this hold unspecified values; the
    /// rest of the buffer is unchanged.
    public var storedCount: Int
    /// When no entry was written although there was one: the room that takes the first one
    /// (more than the buffer had). Otherwise 0.
    public var neededCount: Int

    /// A result of `entryCount` entries in `byteCount` bytes, stores reaching `storedCount`,
    /// and the room the first entry needs when none fitted (`neededCount`, else 0).
    public init(entryCount: Int, byteCount: Int, storedCount: Int, neededCount: Int = 0) {
        self.entryCount = entryCount
        self.byteCount = byteCount
        self.storedCount = storedCount
        self.neededCount = neededCount
    }
}

/// How a durable log's records become bytes (and, as a ``SnapshotCodec``, whole snapshots).
///
/// The log owns framing (lengths, padding, alignment; ``RecordFraming``) and the checksum
/// chain; the codec owns the bytes inside a frame, and writes whole frames only in its entry
/// fast path, ``frameEntries(_:into:crc:byteBudget:)``, where the framing and the chain
/// (CRC32C) are part of the contract. Backends: `ProtobufRecordCodec` (byte-for-byte etcd) and the
/// compressing decorator `LZ4RecordCodec`.
///
/// ## Implementation requirements
///
/// `RaftStorageTesting.RecordCodecConformance` checks every rule below.
///
/// - ``decode(_:)`` of what ``encode(_:into:checksum:)`` wrote gives back the same record,
///   and the checksum the closure returned; and the ``SnapshotCodec`` requirements hold.
/// - Decoding any bytes (flipped bits, truncation, garbage) either throws a ``RaftStorage/StorageError``
///   (``RaftStorage/StorageError/Code/corrupt`` or ``RaftStorage/StorageError/Code/crcMismatch``) or returns a
///   well-formed value; it never traps, and whatever a length field claims, no single
///   allocation is larger than 4 times the input's size or 1 MiB + 64 KiB, whichever is more
///   (data that really decompresses to more takes its decompressed size). This package's codecs
///   are measured against that bound on hostile input (`AllocationBoundTests`).
/// - ``encode(_:into:checksum:)`` calls `checksum` exactly once, with the record's payload,
///   except for ``LogRecord/crc(_:)`` records, which carry their own value.
/// - Codecs whose logs another codec must refuse (because it would misread them) have a
///   ``formatName``; a log stores it and refuses to open with a codec of another name.
/// - ``frameEntries(_:into:crc:byteBudget:)``, when not `nil`, writes for each entry it
///   takes exactly the frame ``RecordFraming/append(_:encodedBy:crc:to:)`` appends for
///   `.entry(entry)` (``encode(_:into:checksum:)``'s bytes, framed, the CRC32C chain continued),
///   stops where its documentation says, and stores nothing past what it reports.
/// - ``decodeLogRecord(_:entryData:)`` gives what ``decode(_:)`` gives (record, checksum, payload
///   range; with ``EntryDataMode/skip`` an entry's index and term only) for every input `decode`
///   accepts, and with ``EntryDataMode/copy`` throws exactly when `decode` throws.
///
/// ## Fast paths
///
/// A log calls ``frameEntries(_:into:crc:byteBudget:)`` once per run of entries and
/// ``decodeLogRecord(_:entryData:)`` once per record it reads. Their defaults are correct for
/// every codec: no write fast path (`nil`, so the log frames ``encode(_:into:checksum:)``'s
/// bytes record by record) and ``decode(_:)`` for reading. A codec implements them to encode
/// entries straight into the log's buffer and to read entries without copying what is not
/// wanted; `RaftStorageTesting.RecordCodecConformance` checks them against the plain
/// requirements.
public protocol RecordCodec: SnapshotCodec {
    /// The name a log written with this codec records, or `nil` for etcd's plain format.
    var formatName: String? { get }

    /// Appends the encoding of `record` to `buffer`. `checksum` receives the payload and returns
    /// the value to store with it (the log's running checksum).
    func encode(_ record: LogRecord, into buffer: inout [UInt8], checksum: (UnsafeRawBufferPointer) -> UInt32)

    /// Decodes one record that fills `bytes` exactly. The caller verifies the checksum.
    func decode(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> DecodedRecord

    /// Writes framed entry records for a run of `entries`, in order, straight into `buffer`,
    /// continuing the log's running checksum; `nil` (the default) when the codec has no such
    /// fast path, and the log then frames ``encode(_:into:checksum:)``'s bytes record by record.
    ///
    /// Whether the result is `nil` depends on the codec only, never on the arguments: a codec
    /// with a fast path returns a value for every call, even with no entries or no room.
    ///
    /// Contract, when not `nil`:
    ///
    /// - The frames of `entries[0..<entryCount]` fill `buffer[0..<byteCount]`, back to back,
    ///   each byte for byte what ``RecordFraming/append(_:encodedBy:crc:to:)`` appends for
    ///   `.entry(entry)`: a length word, the bytes ``encode(_:into:checksum:)`` writes for the
    ///   entry when its `checksum` closure continues the running CRC32C over the payload and
    ///   returns the new value (`CRC32C.update`), and zero padding to a multiple of 8. `crc`
    ///   is the running CRC32C before the first entry and, on return, after the last one
    ///   written (unchanged when none was).
    /// - It stops after the first frame that brings `byteCount` to `byteBudget` or more (so at
    ///   most one entry is written when `byteBudget` is 0 or less), and before an entry whose
    ///   frame might not fit in the rest of `buffer`. It may stop for room only when that
    ///   entry's frame and 64 more bytes do not fit: a codec may need that much slack for wide
    ///   stores. Otherwise it writes every entry.
    /// - It never stores outside `buffer`. Bytes from `byteCount` up to `storedCount` may have
    ///   been overwritten with unspecified values; bytes from `storedCount` on are unchanged.
    /// - When `entries` is not empty and not even the first entry fits, `entryCount`,
    ///   `byteCount` and `storedCount` are 0 and `neededCount`, larger than `buffer.count`, is
    ///   room that certainly takes it: a call with a buffer of `neededCount` bytes writes at
    ///   least that entry. Otherwise `neededCount` is 0.
    ///
    /// - Parameters:
    ///   - entries: the entries to frame, from the first.
    ///   - buffer: where the frames go, from its start; its contents on entry do not matter.
    ///   - crc: the running CRC32C, continued over each payload written.
    ///   - byteBudget: how many bytes of frames are enough: no frame is started once that many
    ///     have been written.
    func frameEntries(
        _ entries: UnsafeBufferPointer<Entry>, into buffer: UnsafeMutableRawBufferPointer, crc: inout UInt32, byteBudget: Int
    ) -> FramedEntries?

    /// Decodes one record that fills `bytes` exactly (the bytes between a frame's length word
    /// and its padding), for a log reading its records; the caller verifies the checksum.
    ///
    /// The default calls ``decode(_:)``. Whatever `entryData` says, the result's
    /// ``DecodedLogRecord/checksum`` and ``DecodedLogRecord/payload`` are those `decode(_:)`
    /// gives (the payload range covers an entry's data even when it is not copied), and a
    /// record that is not an entry is ``DecodedLogRecord/Body/other(_:)`` with the record
    /// `decode(_:)` gives. An entry is:
    ///
    /// - with ``EntryDataMode/copy``, ``DecodedLogRecord/Body/entry(_:)`` with the entry
    ///   `decode(_:)` gives, data included; decoding throws exactly when `decode(_:)` does;
    /// - with ``EntryDataMode/share(_:)``, the same, the data possibly left in the buffer;
    /// - with ``EntryDataMode/skip``, ``DecodedLogRecord/Body/entryIndexAndTerm(index:term:)``
    ///   with its index and term, the data neither copied nor transformed. Decoding may then
    ///   accept an entry whose data `decode(_:)` would reject (the data is still covered by
    ///   the checksum the caller verifies), and otherwise throws when `decode(_:)` does.
    ///
    /// - Throws: what `decode(_:)` throws for bytes that are not a record.
    func decodeLogRecord(_ bytes: UnsafeRawBufferPointer, entryData: EntryDataMode) throws(StorageError) -> DecodedLogRecord

    /// Whether ``decodeLogRecord(_:entryData:)`` takes ``EntryDataMode/share(_:)`` (false by
    /// default): a log reads entries in that mode, their data left in the chunks it read, only
    /// from a codec that says so, and otherwise with ``EntryDataMode/copy``.
    var sharesEntryData: Bool { get }
}

extension RecordCodec {
    public var formatName: String? { nil }

    /// False: a codec written before ``EntryDataMode/share(_:)`` existed is never given it.
    public var sharesEntryData: Bool { false }

    /// No write fast path: `nil`, so the log frames ``encode(_:into:checksum:)``'s bytes record
    /// by record.
    public func frameEntries(
        _ entries: UnsafeBufferPointer<Entry>, into buffer: UnsafeMutableRawBufferPointer, crc: inout UInt32, byteBudget: Int
    ) -> FramedEntries? {
        nil
    }

    /// ``decode(_:)``, with an entry reduced to its index and term for ``EntryDataMode/skip``.
    public func decodeLogRecord(_ bytes: UnsafeRawBufferPointer, entryData: EntryDataMode) throws(StorageError) -> DecodedLogRecord {
        let decoded = try decode(bytes)
        switch decoded.record {
        case .entry(let entry) where entryData == .skip:
            return DecodedLogRecord(body: .entryIndexAndTerm(index: entry.index, term: entry.term), checksum: decoded.checksum, payload: decoded.payload)
        case .entry(let entry):
            return DecodedLogRecord(body: .entry(entry), checksum: decoded.checksum, payload: decoded.payload)
        default:
            return DecodedLogRecord(body: .other(decoded.record), checksum: decoded.checksum, payload: decoded.payload)
        }
    }

    /// Decodes one record from an array.
    public func decode(_ bytes: [UInt8]) throws(StorageError) -> DecodedRecord {
        try bytes.withRawBytes { (raw) throws(StorageError) in try decode(raw) }
    }
}
