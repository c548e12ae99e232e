public import RaftStorage
public import RaftFiles

extension WAL {
    /// Whether `directory` holds a WAL (at least one segment file).
    public static func exists(at directory: String, fileSystem: any FileSystem = PosixFileSystem()) -> Bool {
        WALDirectory.exists(directory, fileSystem: fileSystem)
    }

    /// Creates a new WAL in `directory`, durable on return, and opens it for appending (etcd's
    /// `Create`, Docs/OnDiskFormat.md, Writing, syncing and cutting).
    ///
    /// The first segment (a crc record, the metadata and a snapshot record at (0, 0),
    /// preallocated to the segment size) is written to a temporary file in `directory` and
    /// fdatasynced (not under ``WALOptions/unsafeNoSync``), then renamed to its segment name, and the directory (created 0700, with missing
    /// parents) and its parent are fsynced. A crash at any point leaves either no segment, which
    /// counts as no WAL (the next create starts over), or the complete first segment.
    ///
    /// etcd builds the first segment in a sibling directory `<directory>.tmp` and renames the
    /// directory; renaming one file gives the same guarantee without a second directory.
    ///
    /// - Parameters:
    ///   - directory: the WAL directory; created with missing parents when it does not exist.
    ///   - metadata: opaque application data recorded at the start of every segment
    ///     (etcd stores its node and cluster id). With a codec that has a
    ///     ``RaftFiles/RecordCodec/formatName``, the name is recorded in front of it.
    ///   - codec: the record encoding; `ProtobufRecordCodec` for etcd's.
    ///   - options: I/O, segment size, sync mode, logging and metrics.
    /// - Throws: ``RaftStorage/StorageError/Code/alreadyExists`` when `directory` holds a WAL or other
    ///   files; ``RaftStorage/StorageError/Code/invalidArgument`` when plain metadata starts with the codec
    ///   tag (see `Docs/OnDiskFormat.md`).
    public static func create(
        at directory: String, metadata: [UInt8]?, codec: Codec, options: WALOptions = WALOptions()
    ) throws(StorageError) -> WAL {
        let writer = try createWriter(at: directory, metadata: metadata, codec: codec, options: options)
        return WAL(directory: directory, metadata: metadata, writer: writer)
    }

    /// ``create(at:metadata:codec:options:)``'s work: the new WAL's writer, ready to append.
    static func createWriter(
        at directory: String, metadata: [UInt8]?, codec: Codec, options: WALOptions
    ) throws(StorageError) -> WALWriter<Codec> {
        let fileSystem = options.fileSystem
        let stored = try CodecTag.wrap(metadata, formatName: codec.formatName)
        if let info = try fileSystem.info(directory) {
            guard info.isDirectory else { throw StorageError(.alreadyExists, "wal: not a directory", path: directory) }
            let contents = try fileSystem.contentsOfDirectory(directory)
            guard contents.allSatisfy({ $0.hasSuffix(".tmp") }) else {
                throw StorageError(.alreadyExists, "wal: directory is not empty (\(contents.count) files)", path: directory)
            }
        }
        try createDirectories(directory, fileSystem: fileSystem)

        let first = SegmentName(sequence: 0, index: 0)
        let temporaryPath = fileSystem.join(directory, first.fileName + ".tmp")
        if fileSystem.fileExists(temporaryPath) { try fileSystem.removeFile(temporaryPath) }
        let file = try fileSystem.open(temporaryPath, [.readWrite, .create, .exclusive], permissions: 0o600)
        var writer = WALWriter(
            directory: directory, codec: codec, options: options, instruments: WALInstruments(factory: options.metricsFactory),
            segments: [HeldSegment(name: first, file: file)], tail: PageWriter(file: file, offset: 0),
            crc: 0, highestIndex: 0, storedMetadata: stored, lastState: .empty, syncedState: .empty)
        do {
            try file.lock(wait: false)
            try file.preallocate(to: options.segmentSize)
            try WALWriter.writeHeader(into: &writer.tail, codec: codec, crc: &writer.crc, metadata: stored, state: .empty)
            try writer.saveSnapshot(.zero)
            try file.close()
            let path = fileSystem.join(directory, first.fileName)
            try fileSystem.rename(temporaryPath, to: path)
            try fileSystem.syncDirectory(directory)
            let reopened = try fileSystem.open(path, .readWrite, permissions: 0o600)
            writer.segments = [HeldSegment(name: first, file: reopened)]
            writer.tail = PageWriter(file: reopened, offset: writer.tail.flushedOffset, writtenThrough: writer.tail.writtenThrough)
            try reopened.lock(wait: false)
            try writer.prepareSpare()
        } catch {
            try? writer.close()
            try? file.close()
            throw error
        }
        return writer
    }

    /// Creates `path` (0700) and any missing parents, each made durable by an fsync of the
    /// directory that holds it. Directories that exist are fsynced in their parent too: an
    /// earlier attempt may have created them and failed before its fsync.
    static func createDirectories(_ path: String, fileSystem: any FileSystem) throws(StorageError) {
        let parent = fileSystem.parentDirectory(of: path)
        if parent != path && parent != "." && parent != "/" { try createDirectories(parent, fileSystem: fileSystem) }
        if try fileSystem.info(path) == nil { try fileSystem.createDirectory(path, permissions: 0o700) }
        try fileSystem.syncDirectory(parent)
    }
}
