import RaftStorage
import RaftFiles

// After a failed fsync Linux may drop the dirty pages yet keep serving them from the page cache,
// and no later fsync writes them ("fsyncgate"). An engine opened again in the same boot would
// replay those bytes and append after them; a power failure would then leave a gap under
// records acknowledged later. So a failing engine leaves a note, and the next open writes the
// last file's bytes again and syncs them before anything is appended.

extension EngineWriter {
    /// Marks the writer unusable (the first failure is kept) and leaves the note for the next
    /// open. The note needs no fsync: it matters only until the machine restarts, and then the
    /// page cache is gone with the data.
    mutating func recordFailure(_ error: StorageError) {
        if failure == nil { Self.leaveTailNotDurableNote(fileSystem: fileSystem, directory: directory) }
        failure = failure ?? error
    }

    static func leaveTailNotDurableNote(fileSystem: any FileSystem, directory: String) {
        let path = fileSystem.join(directory, LogFileFormat.tailNotDurableName)
        if let note = try? fileSystem.open(path, [.write, .create], permissions: 0o600) { try? note.close() }
    }

    /// When an earlier engine failed in this directory: writes the first `end` bytes of the last
    /// file (`file`) again as the page cache serves them, cuts the file there, fsyncs it and the directory
    /// (a failed rotation may have left the file's name undurable), then removes the note.
    static func makeTailDurableAfterFailure(_ file: any StorageFile, through end: Int64, fileSystem: any FileSystem, directory: String) throws(StorageError) {
        let note = fileSystem.join(directory, LogFileFormat.tailNotDurableName)
        guard fileSystem.fileExists(note) else { return }
        try file.writeAgain(through: end)
        // Its size too, with a full fsync: the failure may have left a cut of the zeros written
        // ahead undurable, and once the file is sealed the next file's header records its size.
        try file.truncate(to: end)
        try file.sync()
        try fileSystem.syncDirectory(directory)
        try fileSystem.removeFile(note)
    }
}
