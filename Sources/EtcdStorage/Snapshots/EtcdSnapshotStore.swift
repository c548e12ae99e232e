public import Logging
public import RaftStorage
public import RaftFiles

/// Snapshots as etcd's `snap` package keeps them: one `<term>-<index>.snap` file each, holding
/// `snappb.snapshot{crc, data}` around the marshaled `raftpb.Snapshot`, byte for byte what etcd
/// 3.4-3.6 write and read (Docs/OnDiskFormat.md, `.snap`).
///
/// Point it at an etcd member's `member/snap` directory to read etcd's snapshots, or let etcd read
/// the ones saved here. Differences from etcd, none visible to etcd:
/// - saves are atomic: a temporary file, fsync, rename, directory fsync (etcd writes in place and
///   does not fsync the directory, etcd #7149, #22340); stale temporary files are removed on open;
/// - ``loadNewest(matching:)`` chooses files by name and never opens newer files that do not
///   match, and checks that the snapshot inside agrees with its file name;
/// - a broken file's `.broken` name never replaces an older `.broken` file;
/// - streamed saves (``save(metadata:dataCount:writing:)``) put the CRC field after the data,
///   which protobuf allows and etcd reads.
///
/// etcd's other files in `member/snap` (`db`, `*.snap.db`, `db.tmp*`) are left alone.
///
/// Thread safety: every call may come from any thread; saves of different snapshots may run
/// concurrently.
public final class EtcdSnapshotStore: StreamingSnapshotStore {
    /// The file-name suffix of etcd's snapshot files.
    public static let fileSuffix = ".snap"
    /// How many snapshots ``retainNewest()`` keeps: etcd's `--max-snapshots` default.
    public static let defaultRetainedSnapshots = 5

    /// The directory the snapshot files are in.
    public var directory: String { files.path }
    /// The codec of the file content.
    public let codec = ProtobufRecordCodec()
    private let files: SnapshotDirectory
    private let readChunkSize: Int

    /// Opens the snapshot directory `directory`, creating it (not its parents) if needed and
    /// removing temporary files left by a save that crashed.
    ///
    /// - Parameters:
    ///   - directory: the snapshot directory (etcd: `<data-dir>/member/snap`).
    ///   - fileSystem: where all I/O goes.
    ///   - logger: receives a warning for each unrecognised file name and each file set aside.
    ///   - readChunkSize: the chunk size of streaming loads.
    public init(
        directory: String,
        fileSystem: any FileSystem = PosixFileSystem(),
        logger: Logger = Logger(label: "raftstore.etcd-snapshots"),
        readChunkSize: Int = 1 << 20
    ) throws(StorageError) {
        self.readChunkSize = max(1, readChunkSize)
        self.files = try SnapshotDirectory(
            path: directory, suffix: Self.fileSuffix, fileSystem: fileSystem,
            isForeign: { name in name == "db" || name.hasSuffix(".snap.db") || name.hasPrefix("db.tmp") },
            report: { event in
                logger.log(level: event.isWarning ? .warning : .info, "\(event.message)")
            })
    }

    /// The path of the file that holds (or would hold) the snapshot at `marker`.
    public func filePath(of marker: SnapshotMarker) -> String {
        files.filePath(of: marker)
    }

    // MARK: - SnapshotStore

    /// Stores `snapshot` as etcd writes it, durably and atomically; does nothing for an empty
    /// snapshot (index 0).
    public func save(_ snapshot: Snapshot) throws(StorageError) {
        guard !snapshot.isEmpty else { return }
        guard let framing = codec.snapshotFraming(of: snapshot) else { return }
        try files.write(snapshot.metadata.marker) { (file) throws(StorageError) in
            // etcd's bytes, written around the caller's data rather than from a copy of it.
            var offset: Int64 = 0
            for part in [framing.prefix, snapshot.data ?? [], framing.suffix] {
                try part.withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: offset) }
                offset += Int64(part.count)
            }
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
            let size = try file.size()
            var content = [UInt8](repeating: 0, count: Int(size))
            let count = try content.withMutableRawBytes { (raw) throws(StorageError) in try file.read(into: raw, at: 0) }
            guard count == content.count else {
                throw StorageError(.unexpectedEnd, "snapshot file shrank while being read", offset: Int64(count))
            }
            let snapshot = try codec.decodeSnapshot(content)
            try SnapshotDirectory.check(snapshot.metadata, against: marker)
            return snapshot
        }
    }

    // MARK: - Streaming

    /// Stores a snapshot whose `dataCount` data bytes `body` writes, durably and atomically,
    /// without holding the data in memory.
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
        try files.write(metadata.marker) { (file) throws(StorageError) in
            var encoder = EtcdSnapshotStreamEncoder(metadata: metadata, dataCount: dataCount)
            var offset: Int64 = 0
            func append(_ bytes: UnsafeRawBufferPointer) throws(StorageError) {
                try file.write(bytes, at: offset)
                offset += Int64(bytes.count)
            }
            try encoder.prefix().withRawBytes { (raw) throws(StorageError) in try append(raw) }
            let writer = SnapshotWriter(dataCount: dataCount) { (chunk) throws(StorageError) in
                encoder.update(chunk)
                try append(chunk)
            }
            try writer.run(body)
            try encoder.suffix().withRawBytes { (raw) throws(StorageError) in try append(raw) }
        }
    }

    /// Streams the newest readable snapshot matching `markers` (any, when `nil`) to `body` in
    /// chunks of at most `readChunkSize` bytes; see ``RaftStorage/StreamingSnapshotStore``.
    public func loadNewest(
        matching markers: [SnapshotMarker]?,
        receiving body: (SnapshotStreamEvent) throws(StorageError) -> Void
    ) throws(StorageError) -> SnapshotMetadata? {
        var receiverFailed = false
        let chunkSize = readChunkSize
        return try files.loadNewest(
            matching: markers,
            isDamage: { !receiverFailed && SnapshotDirectory.isDamage($0) }
        ) { (file, marker) throws(StorageError) in
            do throws(StorageError) {
                try body(.start(marker))
            } catch {
                receiverFailed = true
                throw error
            }
            var decoder = EtcdSnapshotStreamDecoder()
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            var offset: Int64 = 0
            while true {
                let count = try buffer.withMutableRawBytes { (raw) throws(StorageError) in try file.read(into: raw, at: offset) }
                if count == 0 { break }
                do throws(StorageError) {
                    try buffer.withRawBytes { (raw) throws(StorageError) in
                        try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[..<count])) { (data) throws(StorageError) in
                            do throws(StorageError) {
                                try body(.data(data))
                            } catch {
                                receiverFailed = true
                                throw error
                            }
                        }
                    }
                } catch where !receiverFailed && error.offset == nil {
                    throw error.at(path: file.path, offset: offset)
                }
                offset += Int64(count)
            }
            if offset == 0 { throw StorageError(.corrupt, "snap: empty snapshot", offset: 0) }
            let decoded = try decoder.finish()
            try SnapshotDirectory.check(decoded.metadata, against: marker)
            return decoded.metadata
        }
    }
}
