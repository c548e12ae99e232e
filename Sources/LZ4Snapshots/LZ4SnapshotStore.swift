public import Logging
public import RaftStorage
public import RaftFiles

/// Snapshots compressed with LZ4: one `<term>-<index>.snap.lz4` file each, a standard LZ4 frame
/// (independent 1 MiB blocks, XXH32 content checksum) around the codec's snapshot encoding.
///
/// With `ProtobufRecordCodec` the content is an etcd `.snap` file, so `lz4 -d x.snap.lz4` gives a
/// file etcd loads. Loads verify the frame's checksums and the codec's; a file that fails is
/// renamed `.broken` and the next older one tried. Saves are atomic and durable (temporary file,
/// fsync, rename, directory fsync). Snapshots of any size stream through a few block-sized buffers
/// with ``save(metadata:dataCount:writing:)`` and ``loadNewest(matching:receiving:)``; the
/// whole-``RaftStorage/Snapshot`` calls suit states that fit in memory.
///
/// Speed: a save of more than one block compresses two blocks at a time (the caller's thread and
/// a helper) while helpers checksum, write and fdatasync; a load decompresses on a helper while
/// the caller's thread reads, checksums and consumes (and decompresses the blocks the helper has
/// not reached). The helpers are short-lived threads at the caller's priority. On two cores a
/// save runs faster than `lz4 -b1` compresses and a load about as fast as it decompresses, all
/// checksums included (see `Docs/Performance.md`).
///
/// ```swift
/// let store = try LZ4SnapshotStore(directory: "/var/lib/app/snap", codec: ProtobufRecordCodec())
/// try store.save(snapshot)
/// let restored = try store.loadNewest(matching: walMarkers)
/// ```
///
/// Thread safety: every call may come from any thread; saves of different snapshots may run
/// concurrently.
public final class LZ4SnapshotStore<Codec: SnapshotCodec>: StreamingSnapshotStore {
    /// The file-name suffix of these snapshot files.
    public static var fileSuffix: String { ".snap.lz4" }
    /// How many snapshots ``retainNewest()`` keeps: etcd's `--max-snapshots` default.
    public static var defaultRetainedSnapshots: Int { 5 }

    /// The directory the snapshot files are in.
    public var directory: String { files.path }
    /// The codec of the compressed content.
    public let codec: Codec
    private let files: SnapshotDirectory

    /// Opens the snapshot directory `directory`, creating it (not its parents) if needed and
    /// removing temporary files left by a save that crashed.
    ///
    /// - Parameters:
    ///   - directory: the snapshot directory.
    ///   - codec: encodes the snapshot inside the frame; `ProtobufRecordCodec` for etcd's format.
    ///   - fileSystem: where all I/O goes.
    ///   - logger: receives a warning for each unrecognised file name and each file set aside.
    public init(
        directory: String,
        codec: Codec,
        fileSystem: any FileSystem = PosixFileSystem(),
        logger: Logger = Logger(label: "raftstore.lz4-snapshots")
    ) throws(StorageError) {
        self.codec = codec
        self.files = try SnapshotDirectory(
            path: directory, suffix: Self.fileSuffix, fileSystem: fileSystem,
            report: { event in
                logger.log(level: event.isWarning ? .warning : .info, "\(event.message)")
            })
    }

    /// The path of the file that holds (or would hold) the snapshot at `marker`.
    public func filePath(of marker: SnapshotMarker) -> String {
        files.filePath(of: marker)
    }

    // MARK: - SnapshotStore

    /// Stores `snapshot`, compressed, durably and atomically; does nothing for an empty snapshot
    /// (index 0). The content is exactly `codec.encodeSnapshot(snapshot)`.
    public func save(_ snapshot: Snapshot) throws(StorageError) {
        guard !snapshot.isEmpty else { return }
        // Compressed straight from the caller's data when the codec can frame it; else from a
        // full encoding.
        let parts: [[UInt8]]
        if let framing = codec.snapshotFraming(of: snapshot) {
            parts = [framing.prefix, snapshot.data ?? [], framing.suffix]
        } else {
            var content: [UInt8] = []
            codec.encodeSnapshot(snapshot, into: &content)
            parts = [content]
        }
        try files.write(snapshot.metadata.marker) { (file) throws(StorageError) in
            let frame = try LZ4FrameWriter(file: file, expectedContent: parts.reduce(0) { $0 + $1.count })
            for part in parts {
                try part.withRawBytes { (raw) throws(StorageError) in try frame.write(raw, isData: false) }
            }
            try frame.finish()
        }
    }

    /// The markers of the snapshot files, newest first; unrecognised names are skipped (and
    /// logged).
    public func list() throws(StorageError) -> [SnapshotMarker] {
        try files.markers()
    }

    /// The newest snapshot whose (index, term) is one of `markers` and that reads and verifies;
    /// damaged files on the way are renamed `.broken`.
    public func loadNewest(matching markers: [SnapshotMarker]) throws(StorageError) -> Snapshot? {
        try load(matching: markers)
    }

    /// The newest snapshot that reads and verifies; damaged files on the way are renamed
    /// `.broken`.
    public func loadNewest() throws(StorageError) -> Snapshot? {
        try load(matching: nil)
    }

    /// Deletes all but the newest `count` snapshot files (at least one stays) and returns their
    /// markers; durable on return. Set-aside and unrecognised files are never deleted.
    @discardableResult
    public func retainNewest(_ count: Int) throws(StorageError) -> [SnapshotMarker] {
        try files.retainNewest(count)
    }

    /// Keeps the newest ``defaultRetainedSnapshots`` snapshots, as etcd's default
    /// `--max-snapshots` does, and returns the markers removed.
    @discardableResult
    public func retainNewest() throws(StorageError) -> [SnapshotMarker] {
        try files.retainNewest(Self.defaultRetainedSnapshots)
    }

    private func load(matching markers: [SnapshotMarker]?) throws(StorageError) -> Snapshot? {
        try files.loadNewest(matching: markers) { (file, marker) throws(StorageError) in
            let reader = try LZ4FrameReader(file: file)
            let snapshot: Snapshot
            if var decoder = codec.makeSnapshotDecoder(), let placed = try Self.loadPlaced(reader, decoder: &decoder) {
                snapshot = Snapshot(data: placed.data, metadata: placed.snapshot.metadata)
            } else if var decoder = codec.makeSnapshotDecoder() {
                var data: [UInt8] = []
                var contentOffset: Int64 = 0
                var reserved = false
                try reader.read { (content) throws(StorageError) in
                    try Self.decode(content, with: &decoder, at: &contentOffset) { (bytes) throws(StorageError) in
                        data.append(contentsOf: bytes)
                    }
                    if !reserved, let announced = decoder.announcedDataCount {
                        // Room for the announced size, but never more than the file could
                        // plausibly hold: a damaged size field must not allocate gigabytes.
                        data.reserveCapacity(min(announced, reader.fileSize.clampedMultiple(Self.reservedExpansion)))
                        reserved = true
                    }
                }
                let decoded = try Self.finish(&decoder, at: contentOffset)
                snapshot = Snapshot(data: decoded.dataCount == nil ? nil : data, metadata: decoded.metadata)
            } else {
                var content: [UInt8] = []
                try reader.read { (bytes) throws(StorageError) in content.append(contentsOf: bytes) }
                do throws(StorageError) {
                    snapshot = try codec.decodeSnapshot(content)
                } catch {
                    throw Self.contentError(error, at: error.offset ?? 0)
                }
            }
            try SnapshotDirectory.check(snapshot.metadata, against: marker)
            return snapshot
        }
    }

    // MARK: - Streaming

    /// Stores a snapshot whose `dataCount` data bytes `body` writes, compressed, durably and
    /// atomically, holding at most a few 1 MiB blocks in memory. Chunks of 1 MiB or more are
    /// compressed straight from the caller's memory.
    ///
    /// A codec that cannot stream (``RaftFiles/SnapshotCodec/makeSnapshotEncoder(metadata:dataCount:)``
    /// returns `nil`) makes this gather the data in memory and save it whole.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/invalidArgument`` for an empty snapshot (index 0) or when
    ///   `body` writes a different number of bytes; what `body` throws; I/O errors. Nothing is
    ///   stored when it throws.
    public func save(
        metadata: SnapshotMetadata,
        dataCount: Int,
        writing body: (SnapshotWriter) throws(StorageError) -> Void
    ) throws(StorageError) {
        guard metadata.index != 0 else {
            throw StorageError(.invalidArgument, "a snapshot at index 0 stands for no snapshot and is not stored")
        }
        guard let encoder = codec.makeSnapshotEncoder(metadata: metadata, dataCount: dataCount) else {
            return try saveGathering(metadata: metadata, dataCount: dataCount, writing: body)
        }
        let state = EncoderState(encoder)
        try files.write(metadata.marker) { (file) throws(StorageError) in
            let frame = try LZ4FrameWriter(file: file, expectedContent: dataCount) { state.encoder.update($0) }
            try state.encoder.prefix().withRawBytes { (raw) throws(StorageError) in try frame.write(raw, isData: false) }
            let writer = SnapshotWriter(dataCount: dataCount) { (chunk) throws(StorageError) in
                try frame.write(chunk, isData: true)
            }
            try writer.run(body)
            try frame.flushData()
            try state.encoder.suffix().withRawBytes { (raw) throws(StorageError) in try frame.write(raw, isData: false) }
            try frame.finish()
        }
    }

    /// The encoder, shared with the frame writer's lane, which calls `update` while the caller's
    /// thread waits for it.
    private final class EncoderState: @unchecked Sendable {
        var encoder: any SnapshotStreamEncoder
        init(_ encoder: any SnapshotStreamEncoder) { self.encoder = encoder }
    }

    private func saveGathering(
        metadata: SnapshotMetadata,
        dataCount: Int,
        writing body: (SnapshotWriter) throws(StorageError) -> Void
    ) throws(StorageError) {
        var data: [UInt8] = []
        data.reserveCapacity(dataCount)
        let writer = SnapshotWriter(dataCount: dataCount) { (chunk) throws(StorageError) in data.append(contentsOf: chunk) }
        try writer.run(body)
        try save(Snapshot(data: data, metadata: metadata))
    }

    /// Streams the newest readable snapshot matching `markers` (any, when `nil`) to `body`, in
    /// pieces of up to 256 KiB; see ``RaftStorage/StreamingSnapshotStore``. Every checksum (the frame's and the
    /// codec's) is verified before the metadata is returned.
    ///
    /// A codec that cannot stream (``RaftFiles/SnapshotCodec/makeSnapshotDecoder()`` returns `nil`) makes
    /// this decompress the whole content into memory first.
    public func loadNewest(
        matching markers: [SnapshotMarker]?,
        receiving body: (SnapshotStreamEvent) throws(StorageError) -> Void
    ) throws(StorageError) -> SnapshotMetadata? {
        var receiverFailed = false
        func receive(_ event: SnapshotStreamEvent) throws(StorageError) {
            do throws(StorageError) {
                try body(event)
            } catch {
                receiverFailed = true
                throw error
            }
        }
        return try files.loadNewest(
            matching: markers,
            isDamage: { !receiverFailed && SnapshotDirectory.isDamage($0) }
        ) { (file, marker) throws(StorageError) in
            try receive(.start(marker))
            let reader = try LZ4FrameReader(file: file)
            guard var decoder = codec.makeSnapshotDecoder() else {
                var content: [UInt8] = []
                try reader.read { (bytes) throws(StorageError) in content.append(contentsOf: bytes) }
                let snapshot: Snapshot
                do throws(StorageError) {
                    snapshot = try codec.decodeSnapshot(content)
                } catch {
                    throw Self.contentError(error, at: error.offset ?? 0)
                }
                try SnapshotDirectory.check(snapshot.metadata, against: marker)
                if let data = snapshot.data {
                    try data.withRawBytes { (raw) throws(StorageError) in try receive(.data(raw)) }
                }
                return snapshot.metadata
            }
            var contentOffset: Int64 = 0
            try reader.read { (content) throws(StorageError) in
                try Self.decode(content, with: &decoder, at: &contentOffset) { (bytes) throws(StorageError) in
                    try receive(.data(bytes))
                }
            }
            let decoded = try Self.finish(&decoder, at: contentOffset)
            try SnapshotDirectory.check(decoded.metadata, against: marker)
            return decoded.metadata
        }
    }

    /// How many times the file size a whole load reserves up front for the announced data;
    /// data that compresses better grows the array as it arrives.
    static var reservedExpansion: Int64 { 16 }

    // MARK: - Content errors

    /// Runs the codec's decoder over decompressed content, placing its errors in the content.
    static func decode(
        _ content: UnsafeRawBufferPointer,
        with decoder: inout any SnapshotStreamDecoder,
        at contentOffset: inout Int64,
        data: (UnsafeRawBufferPointer) throws(StorageError) -> Void
    ) throws(StorageError) {
        var dataFailed = false
        do throws(StorageError) {
            try decoder.decode(content) { (bytes) throws(StorageError) in
                do throws(StorageError) {
                    try data(bytes)
                } catch {
                    dataFailed = true
                    throw error
                }
            }
        } catch where !dataFailed {
            throw contentError(error, at: error.offset ?? contentOffset)
        }
        contentOffset += Int64(content.count)
    }

    static func finish(_ decoder: inout any SnapshotStreamDecoder, at contentOffset: Int64) throws(StorageError) -> StreamedSnapshot {
        do throws(StorageError) {
            return try decoder.finish()
        } catch {
            throw contentError(error, at: error.offset ?? contentOffset)
        }
    }

    /// A codec error moved into the decompressed content: its offset is not a file offset, so
    /// it goes into the message and the file offset is left unset.
    private static func contentError(_ error: StorageError, at contentOffset: Int64) -> StorageError {
        StorageError(error.code, "\(error.message) (at offset \(contentOffset) of the decompressed content)")
    }
}

extension Int64 {
    /// `self * factor` as an `Int`, saturating instead of overflowing.
    func clampedMultiple(_ factor: Int64) -> Int {
        let (product, overflow) = multipliedReportingOverflow(by: factor)
        return overflow || product > Int64(Int.max) ? Int.max : Int(product)
    }
}
