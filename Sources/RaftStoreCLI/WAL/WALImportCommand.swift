import ArgumentParser
import EtcdStorage
import RaftStorage
import RaftFiles

/// `raftstore wal import DIR FILE.json [--codec etcd|lz4]`.
struct WALImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Create a new WAL from a dump in the 'wal dump --json' shape.",
        discussion: """
            The new WAL holds the dump's metadata, a snapshot record at "snapshot" (when given), the \
            entries and then the HardState, and is durable when the command returns. 'wal dump' of \
            it prints the same dump again, so dump and import copy any WAL and convert it between \
            codecs. FILE may be - for standard input.
            """
    )

    @Argument(help: "The WAL directory to create (it must not exist, or be empty).")
    var directory: String

    @Argument(help: "The dump to read (JSON), or - for standard input.")
    var file: String

    @Option(help: "The record codec to write with: etcd (readable by etcd) or lz4 (entry data above 8 KiB compressed).")
    var codec: WALCodecChoice = .etcd

    @Option(help: "Cut a new segment file at this many bytes.")
    var segmentSize: Int64 = 64_000_000

    func validate() throws {
        guard segmentSize >= 4096 else { throw ValidationError("--segment-size must be at least 4096") }
    }

    func run() throws {
        let bytes: [UInt8]
        if file == "-" {
            bytes = try StandardInput.readAll()
        } else {
            try Paths.requireFile(file)
            bytes = try storage { () throws(StorageError) in try Paths.fileSystem.readFile(file) }
        }
        if Paths.exists(directory) {
            try Paths.requireDirectory(directory)
            let contents = try storage { () throws(StorageError) in try Paths.fileSystem.contentsOfDirectory(directory) }
            guard contents.isEmpty else { throw CLIError.usage("\(directory) is not empty; import creates a new WAL") }
        }
        let dump = try storage { () throws(StorageError) in try WALDump.parse(json: bytes, path: file == "-" ? "<stdin>" : file) }
        let options = WALOptions(segmentSize: segmentSize, logger: LogCollector().logger)
        try storage { () throws(StorageError) in
            try codec.run(WALImportTask(directory: directory, dump: dump, options: options))
        }
        let out = TextSink()
        let range = dump.entries.first.map { " (\($0.index) to \(dump.entries.last!.index))" } ?? ""
        out.line("imported \(Format.count(dump.entries.count, "entry", "entries"))\(range) into \(directory) with the \(codec) codec")
        out.flush()
        if let error = dump.error {
            Console.note("the dump recorded a replay error; the WAL holds what was read before it: \(error)")
        }
    }
}

/// Writes a dump into a new WAL.
struct WALImportTask: WALCodecTask {
    var directory: String
    var dump: WALDump
    var options: WALOptions

    /// Entries per save: each save is one fsync, and segments are cut between saves.
    static let bytesPerSave = 4 << 20

    func run<Codec: RecordCodec>(codec: Codec) throws(StorageError) {
        let wal = try WAL<Codec>.create(at: directory, metadata: dump.metadata, codec: codec, options: options)
        do {
            if let snapshot = dump.snapshot, !snapshot.matches(.zero) {
                try wal.saveSnapshot(snapshot)
            }
            var batch: [Entry] = []
            var batchBytes = 0
            for entry in dump.entries {
                batch.append(entry)
                batchBytes += entry.encodedSize
                if batchBytes >= Self.bytesPerSave {
                    try wal.save(hardState: .empty, entries: batch)
                    batch.removeAll(keepingCapacity: true)
                    batchBytes = 0
                }
            }
            try wal.save(hardState: dump.hardState, entries: batch)
            try wal.sync()
        } catch {
            try? wal.close()
            throw error
        }
        try wal.close()
    }
}
