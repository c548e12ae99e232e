import RaftStorage
import RaftFiles

/// The engine's one writer: the current log file, where the next record goes, the files that
/// exist, and which writes are durable. Kept behind the engine's writer lock, which serialises
/// every write and is held across its I/O.
struct EngineWriter {
    let fileSystem: any FileSystem
    let directory: String
    let fileSize: Int64
    /// How far ahead of the records the current file is written with zeros
    /// (``LogEngine/Options/zeroFillAhead``; 0: not at all).
    let zeroWindow: Int64
    /// The current file, open for reading and writing.
    var file: any StorageFile
    /// The directory's lock file (held by the engine), which records the newest file.
    let lockFile: any StorageFile
    var fileNumber: UInt64
    /// Where the next record goes.
    var offset: Int64
    /// Through where the current file holds written bytes (records, then zeros written ahead
    /// of them: ``zeroAhead(of:)``).
    var zeroedThrough: Int64
    /// Every log file, oldest first; the last is the current one.
    var files: [UInt64]
    /// Writes numbered in order, and the newest known durable.
    var writeSequence: UInt64 = 0
    var durableSequence: UInt64 = 0
    /// Set by a failed write or sync: what reached the disk is unknown, so the engine refuses
    /// writes until it is opened again.
    var failure: StorageError?
    /// Every sync of the current file goes through it, the group-commit thread's too, so two
    /// never run at once and none runs after one failed (``RaftFiles/SyncGate``).
    let syncGate = SyncGate()

    func path(of number: UInt64) -> String {
        fileSystem.join(directory, LogFileFormat.fileName(number))
    }

    /// Throws `closed` once a write or sync failed.
    func checkUsable() throws(StorageError) {
        if let failure {
            throw StorageError(.closed, "the log engine refuses writes after a failed write or sync (\(failure)); open it again", path: directory)
        }
    }

    /// Runs `body`; a failure marks the writer unusable.
    mutating func guarded<Result>(_ body: (inout EngineWriter) throws(StorageError) -> Result) throws(StorageError) -> Result {
        try checkUsable()
        do throws(StorageError) {
            return try body(&self)
        } catch {
            recordFailure(error)
            throw error
        }
    }

    /// Writes `record` (its header's room, then its body: ``BatchCodec/encode(changes:entries:)``) at
    /// the end of the current file, starting a new file first when this one is full, and
    /// returns the file and the offset of the body. Fills in the header and pads `record` in
    /// place (no copy of the body). Not synced.
    mutating func append(record: inout [UInt8]) throws(StorageError) -> (file: UInt64, bodyOffset: Int64) {
        let bodyCount = record.count - LogFileFormat.recordHeaderSize
        guard bodyCount <= LogFileFormat.maxBodySize else {
            throw StorageError(.invalidArgument, "a write batch of \(bodyCount) bytes is larger than the \(LogFileFormat.maxBodySize) a record may hold")
        }
        let next = LogFileFormat.nextRecord(after: offset, bodyCount: bodyCount)
        if offset > Int64(LogFileFormat.headerSize) && next > fileSize {
            try guarded { (writer) throws(StorageError) in try writer.rotate() }
        }
        let start = offset
        let end = LogFileFormat.nextRecord(after: start, bodyCount: bodyCount)
        guard UInt64(end) < EntryPositions.offsetLimit else {
            throw StorageError(.invalidArgument, "log file \(path(of: fileNumber)) would grow past \(EntryPositions.offsetLimit) bytes")
        }
        let checksum = record.withUnsafeBytes { raw in CRC32C.update(0, UnsafeRawBufferPointer(rebasing: raw[LogFileFormat.recordHeaderSize...])) }
        record.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(bodyCount).littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: checksum.littleEndian, toByteOffset: 4, as: UInt32.self)
        }
        record.append(contentsOf: repeatElement(0, count: Int(end - start) - record.count))
        let bytes = record
        try guarded { (writer) throws(StorageError) in
            try bytes.withRawBytes { (raw) throws(StorageError) in try writer.file.write(raw, at: start) }
        }
        offset = end
        zeroedThrough = max(zeroedThrough, end)
        try zeroAhead(of: end)
        writeSequence += 1
        return (fileNumber, start + Int64(LogFileFormat.recordHeaderSize))
    }

    private static let zeros = [UInt8](repeating: 0, count: 256 << 10)

    /// When fewer than half a ``zeroWindow`` of written bytes is left after `end`, writes zeros
    /// over the next window (never past the file size at which the file is sealed), so the
    /// fdatasyncs that follow flush data only (``LogEngine/Options/zeroFillAhead``). Zeros after
    /// the last record are what recovery reads as the end of the records, so a crash that keeps
    /// any part of them changes nothing; they are cut when the file is sealed and when the
    /// engine is closed or opened.
    private mutating func zeroAhead(of end: Int64) throws(StorageError) {
        guard zeroWindow > 0, zeroedThrough - end < zeroWindow / 2 else { return }
        let stop = min(end + zeroWindow, fileSize)
        var position = zeroedThrough
        while position < stop {
            let count = Int(min(Int64(Self.zeros.count), stop - position))
            let at = position
            try guarded { (writer) throws(StorageError) in
                try Self.zeros.withRawBytes { (raw) throws(StorageError) in
                    try writer.file.write(UnsafeRawBufferPointer(rebasing: raw[..<count]), at: at)
                }
            }
            position += Int64(count)
        }
        zeroedThrough = max(zeroedThrough, position)
    }

    /// Cuts the zeros written ahead of the records, durably: before the file is sealed (its
    /// size is what the next file's header records) and when the engine closes.
    mutating func cutZerosAhead() throws(StorageError) {
        guard zeroedThrough > offset else { return }
        try guarded { (writer) throws(StorageError) in
            try writer.syncGate.sync(through: writer.writeSequence, evenIfDurable: true) { () throws(StorageError) in
                try writer.file.truncate(to: writer.offset)
                try writer.file.sync()
            }
        }
        zeroedThrough = offset
    }

    /// Makes every write so far durable.
    mutating func sync() throws(StorageError) {
        guard durableSequence < writeSequence else { return }
        let sequence = writeSequence
        try guarded { (writer) throws(StorageError) in try writer.syncGate.sync(through: sequence) { () throws(StorageError) in try writer.file.syncData() } }
        durableSequence = max(durableSequence, sequence)
    }

    /// Seals the current file (everything in it durable) and starts the next one.
    private mutating func rotate() throws(StorageError) {
        // A file number taken from a damaged or hostile directory may leave none to follow.
        guard fileNumber < .max else {
            throw StorageError(.corrupt, "no log file can follow \(LogFileFormat.fileName(fileNumber))", path: directory)
        }
        // Cutting the zeros fsyncs the file (data and size) itself; without them an fdatasync.
        if zeroedThrough > offset { try cutZerosAhead() } else { try sync() }
        durableSequence = writeSequence
        let number = fileNumber + 1
        let fresh = try Self.createFile(number, previousSize: offset, fileSystem: fileSystem, directory: directory)
        try? file.close()
        file = fresh
        fileNumber = number
        offset = Int64(LogFileFormat.headerSize)
        zeroedThrough = offset
        files.append(number)
        try guarded { (writer) throws(StorageError) in try Self.recordNewest(number, in: writer.lockFile) }
    }

    /// Records `number` as the newest file in the lock file, durably; only once that file is
    /// durably in place (``LogFileFormat/encodeNewest(_:)``).
    static func recordNewest(_ number: UInt64, in lockFile: any StorageFile) throws(StorageError) {
        try LogFileFormat.encodeNewest(number).withRawBytes { (raw) throws(StorageError) in try lockFile.write(raw, at: 0) }
        try lockFile.sync()
    }

    /// Creates log file `number` durably: its header is written to a temporary name, synced,
    /// renamed into place, and the directory synced; a crash leaves the whole file or none.
    static func createFile(_ number: UInt64, previousSize: Int64, fileSystem: any FileSystem, directory: String) throws(StorageError) -> any StorageFile {
        let path = fileSystem.join(directory, LogFileFormat.fileName(number))
        let temporary = path + LogFileFormat.temporarySuffix
        let header = LogFileFormat.encodeHeader(.init(fileNumber: number, previousSize: UInt64(previousSize)))
        let file = try fileSystem.open(temporary, [.read, .write, .create, .truncate], permissions: 0o600)
        do {
            try header.withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 0) }
            try file.sync()
            try fileSystem.rename(temporary, to: path)
            try fileSystem.syncDirectory(directory)
        } catch {
            try? file.close()
            // The header or the name may be only in the page cache now (and a failing open
            // has no writer to leave the note).
            leaveTailNotDurableNote(fileSystem: fileSystem, directory: directory)
            throw error
        }
        return file
    }
}
