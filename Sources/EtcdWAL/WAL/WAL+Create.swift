public import RaftStorage

extension WAL {
    /// Whether `directory` holds a WAL (at least one segment file).
    public static func exists(at directory: String, fileSystem: any FileSystem = PosixFileSystem()) -> Bool {
        WALDirectory.exists(directory, fileSystem: fileSystem)
    }

    /// Creates a new WAL in `directory`, durable on return, and opens it for appending (etcd's
    /// `Create`, etcd-storage-spec 1.8.1).
    ///
    /// The first segment is built in `<directory>.tmp` (created 0700; files 0600): a crc record,
    /// the metadata and a snapshot record at (0, 0), preallocated to the segment size and
    /// fsynced; the temporary directory is fsynced, renamed to `directory`, and the parent
    /// directory fsynced. Missing parent directories are created.
    ///
    /// - Parameter metadata: opaque application data recorded at the start of every segment
    ///   (etcd stores its node and cluster id). With a codec that has a
    ///   ``RecordCodec/formatName``, the name is recorded in front of it.
    /// - Throws: ``StorageError/Code/alreadyExists`` when `directory` holds a WAL or other
    ///   files; ``StorageError/Code/invalidArgument`` when plain metadata starts with the codec
    ///   tag (see ``CodecTag``).
    public static func create(
        at directory: String, metadata: [UInt8]?, codec: Codec, options: WALOptions = WALOptions()
    ) throws(StorageError) -> WAL {
        let fileSystem = options.fileSystem
        let stored = try CodecTag.wrap(metadata, formatName: codec.formatName)
        if let info = try fileSystem.info(directory) {
            guard info.isDirectory else { throw StorageError(.alreadyExists, "wal: not a directory", path: directory) }
            let contents = try fileSystem.contentsOfDirectory(directory)
            guard contents.allSatisfy({ $0.hasSuffix(".tmp") }) else {
                throw StorageError(.alreadyExists, "wal: directory is not empty (\(contents.count) files)", path: directory)
            }
        }
        let temporary = directory + ".tmp"
        try removeDirectoryTree(temporary, fileSystem: fileSystem)
        try createDirectories(temporary, fileSystem: fileSystem)

        let first = SegmentName(sequence: 0, index: 0)
        let temporaryPath = fileSystem.join(temporary, first.fileName)
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
            try fileSystem.syncDirectory(temporary)
            if try fileSystem.info(directory) != nil { try removeDirectoryTree(directory, fileSystem: fileSystem) }
            try fileSystem.rename(temporary, to: directory)
            try fileSystem.syncDirectory(fileSystem.parentDirectory(of: directory))
            let path = fileSystem.join(directory, first.fileName)
            let reopened = try fileSystem.open(path, .readWrite, permissions: 0o600)
            writer.segments = [HeldSegment(name: first, file: reopened)]
            writer.tail = PageWriter(file: reopened, offset: writer.tail.flushedOffset)
            try reopened.lock(wait: false)
            try writer.prepareSpare()
        } catch {
            try? writer.close()
            try? file.close()
            throw error
        }
        return WAL(directory: directory, metadata: metadata, writer: writer)
    }

    /// Removes a directory holding only files (a leftover temporary directory).
    static func removeDirectoryTree(_ path: String, fileSystem: any FileSystem) throws(StorageError) {
        guard let info = try fileSystem.info(path) else { return }
        guard info.isDirectory else { return try fileSystem.removeFile(path) }
        for name in try fileSystem.contentsOfDirectory(path) {
            try removeDirectoryTree(fileSystem.join(path, name), fileSystem: fileSystem)
        }
        try fileSystem.removeDirectory(path)
    }

    /// Creates `path` (0700) and any missing parents.
    static func createDirectories(_ path: String, fileSystem: any FileSystem) throws(StorageError) {
        if try fileSystem.info(path) != nil { return }
        let parent = fileSystem.parentDirectory(of: path)
        if parent != path && parent != "." && parent != "/" { try createDirectories(parent, fileSystem: fileSystem) }
        try fileSystem.createDirectory(path, permissions: 0o700)
    }
}
