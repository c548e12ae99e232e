import Logging
public import RaftStorage

/// What ``WAL/repair(at:codec:options:)`` did.
public enum WALRepairOutcome: Hashable, Sendable {
    /// The last segment reads to its end; nothing was changed.
    case nothingToRepair
    /// The last segment was cut at `offset` (the start of its torn or truncated record),
    /// after copying it whole to `backup`.
    case truncated(path: String, offset: Int64, backup: String)
}

extension WAL {
    /// Cuts a torn or truncated record off the end of the last segment (etcd's `Repair`,
    /// etcd-storage-spec 1.12.3).
    ///
    /// Only the last segment is examined and only an ``RaftStorage/StorageError/Code/unexpectedEnd``
    /// there is repaired: the whole file is first copied to `<segment>.broken` (fsynced), then
    /// the segment is truncated to the start of the bad record and fsynced. Anything else
    /// (a CRC mismatch in the middle, a corrupt record, an earlier segment) is thrown: it is
    /// damage a repair must not paper over. Call it at most once per open, after opening
    /// failed with `unexpectedEnd`.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/locked`` when a writer holds the segment; the reader's
    ///   error when the damage is not a torn tail.
    public static func repair(
        at directory: String, codec: Codec, options: WALOptions = WALOptions()
    ) throws(StorageError) -> WALRepairOutcome {
        let fileSystem = options.fileSystem
        let names = try WALDirectory.segments(in: directory, fileSystem: fileSystem, logger: options.logger)
        guard let last = names.last else { throw StorageError(.notFound, "wal: file not found (no segments)", path: directory) }
        let path = fileSystem.join(directory, last.fileName)
        let file = try fileSystem.open(path, .readWrite, permissions: 0o600)
        defer { try? file.close() }
        try file.lock(wait: false)
        var reader = RecordReader(codec: codec, fileSystem: fileSystem, paths: [path])
        reader.entryBodies = .metadata
        let damage: StorageError
        do throws(StorageError) {
            while try reader.next() != nil {}
            return .nothingToRepair
        } catch {
            damage = error
        }
        guard damage.code == .unexpectedEnd, let offset = damage.offset else { throw damage }
        let backup = path + ".broken"
        try fileSystem.writeFileAtomically(backup, try fileSystem.readFile(path), permissions: 0o600)
        try file.truncate(to: offset)
        try file.sync()
        options.logger.warning("repaired WAL tail", metadata: [
            "path": "\(path)", "offset": "\(offset)", "backup": "\(backup)", "cause": "\(damage.message)",
        ])
        return .truncated(path: path, offset: offset, backup: backup)
    }
}
