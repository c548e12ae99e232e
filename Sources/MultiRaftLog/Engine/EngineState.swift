import RaftStorage
import RaftFiles

/// What readers see: every group's state, the files opened for reading, whether the engine is
/// closed. Behind the engine's view lock, which writers take only briefly (to check a batch,
/// then to publish it) and readers hold while they read entries back from the files (so a
/// purge cannot remove a file under a read).
struct EngineState {
    let fileSystem: any FileSystem
    let directory: String
    var groups: GroupTable
    /// Log files opened for reading, by number.
    var readers: [UInt64: any StorageFile] = [:]
    var closed = false

    init(fileSystem: any FileSystem, directory: String, groups: GroupTable) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.groups = groups
    }

    func path(of number: UInt64) -> String {
        fileSystem.join(directory, LogFileFormat.fileName(number))
    }

    /// Log file `number`, opened for reading once.
    mutating func reader(for number: UInt64) throws(StorageError) -> any StorageFile {
        if let file = readers[number] { return file }
        let file = try fileSystem.open(path(of: number), .read, permissions: 0)
        readers[number] = file
        return file
    }

    /// Closes and forgets the reader of file `number`.
    mutating func dropReader(_ number: UInt64) {
        if let file = readers.removeValue(forKey: number) { try? file.close() }
    }

    /// The `length` bytes at `location`, all of them.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` when the file ends before them.
    mutating func bytes(at location: EntryLocation) throws(StorageError) -> [UInt8] {
        let file = try reader(for: location.file)
        // Checked against the file's size before allocating: a location is trusted only as far
        // as the file backs it.
        let size = try file.size()
        guard location.offset <= UInt64(size), location.length <= UInt64(size) - location.offset else {
            throw StorageError(.corrupt, "entry bytes at \(location.offset) (\(location.length) bytes) lie past the end of the file", path: path(of: location.file), offset: Int64(clamping: location.offset))
        }
        var bytes = [UInt8](repeating: 0, count: Int(location.length))
        let read = try bytes.withMutableRawBytes { (raw) throws(StorageError) in try file.read(into: raw, at: Int64(location.offset)) }
        guard read == bytes.count else {
            throw StorageError(.corrupt, "entry bytes cut short", path: path(of: location.file), offset: Int64(clamping: location.offset))
        }
        return bytes
    }

    /// Puts the entries of `group` in `range` (which `slots` hold) on `page`, read back from
    /// the files and checked (``EntryCodec``), until the page is full. Entries lying back to
    /// back in one file are read with one call, up to ``readChunk`` bytes.
    mutating func readEntries(
        of group: UInt64, _ slots: EntryPositions, _ range: Range<UInt64>, into page: inout EntryPage
    ) throws(StorageError) {
        var index = range.lowerBound
        while index < range.upperBound && !page.isFull {
            let first = slots.location(at: index)
            var locations = [first]
            var span = first.length
            var next = index + 1
            while next < range.upperBound {
                let location = slots.location(at: next)
                guard location.file == first.file, location.offset == first.offset + span, span + location.length <= Self.readChunk else { break }
                locations.append(location)
                span += location.length
                next += 1
            }
            let bytes = try self.bytes(at: EntryLocation(file: first.file, offset: first.offset, length: span))
            var start = 0
            for (offset, location) in locations.enumerated() {
                let entryIndex = index + UInt64(offset)
                let entry = try EntryCodec.decode(
                    Array(bytes[start..<(start + Int(location.length))]), group: group, index: entryIndex,
                    expectedTerm: slots.term(at: entryIndex), path: path(of: location.file), offset: Int64(location.offset))
                guard page.add(entry) else { return }
                start += Int(location.length)
            }
            index = next
        }
    }

    /// The most bytes one read call takes for entries lying back to back.
    static let readChunk: UInt64 = 1 << 20
}
