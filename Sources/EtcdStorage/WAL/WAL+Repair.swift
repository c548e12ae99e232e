import Logging
public import RaftStorage
import RaftFiles

/// What ``WAL/repair(at:codec:options:discardingDamage:)`` did.
public enum WALRepairOutcome: Hashable, Sendable {
    /// The last segment reads to its end; nothing was changed.
    case nothingToRepair
    /// The last segment was cut at `offset` (the start of its torn or truncated record),
    /// after copying it whole to `backup`.
    case truncated(path: String, offset: Int64, backup: String)
    /// Asked to discard damage: the damaged segment was cut where the report says, after
    /// copying it whole to `backup` (damage from the first byte of a segment after the first:
    /// the segment itself was renamed `backup`), and later segments were set aside, renamed
    /// `setAside` (in the report's order).
    case discardedDamage(WALDamageReport, backup: String, setAside: [String])
}

extension WAL {
    /// Cuts a torn or truncated record off the end of the last segment (etcd's `Repair`), or,
    /// when asked, the log from its first damaged record on.
    ///
    /// Without `discardingDamage` only the last segment is examined and only a torn tail
    /// (``RaftStorage/StorageError/Code/unexpectedEnd``, see Docs/Recovery.md for the rule)
    /// is repaired: the whole file is first copied to `<segment>.broken` (fsynced), then the
    /// segment is truncated to the start of the torn record and fsynced. Damage (a CRC
    /// mismatch, a record that does not decode, bytes written after the failure) is thrown:
    /// acknowledged records may lie after it.
    ///
    /// With `discardingDamage` (an operator's decision, after reading
    /// ``damageReport(at:codec:options:)``) the first damage anywhere in the WAL, a gap in the
    /// segments included, is cut off: its segment is copied to `<segment>.broken` and
    /// truncated at the damaged record (a segment damaged from its first byte, after the
    /// first, is renamed `<segment>.broken` instead), later segments are renamed
    /// `<name>.broken`; everything recorded from there on is lost. A name an earlier repair's
    /// copy holds is never replaced: `.broken.1`, `.broken.2`, ... follow
    /// (``WALRepairOutcome`` names the files).
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/locked`` when a writer holds the segment; the reader's
    ///   error when the damage is not a torn tail and `discardingDamage` is off.
    public static func repair(
        at directory: String, codec: Codec, options: WALOptions = WALOptions(), discardingDamage: Bool = false
    ) throws(StorageError) -> WALRepairOutcome {
        if discardingDamage, let report = try damageReport(at: directory, codec: codec, options: options) {
            return try discard(report, directory: directory, options: options)
        }
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
        let backup = fileSystem.setAsidePath(for: path)
        try fileSystem.writeFileAtomically(backup, try fileSystem.readFile(path), permissions: 0o600)
        try file.truncate(to: offset)
        try file.sync()
        options.logger.warning("repaired WAL tail", metadata: [
            "path": "\(path)", "offset": "\(offset)", "backup": "\(backup)", "cause": "\(damage.message)",
        ])
        return .truncated(path: path, offset: offset, backup: backup)
    }
}
