import RaftStorage
import RaftFiles

/// What one pass over the log files rebuilds: every group's state, the files, where the last
/// one's records end, and what opening cut.
struct RecoveredEngine {
    var groups = GroupTable()
    /// The log files, oldest first.
    var files: [UInt64] = []
    /// Where the next record goes in the last file.
    var end: Int64 = 0
    var actions: [RecoveryAction] = []
    /// Zeros after the last record of the last file (a write that never arrived), where they
    /// start and how many: cut without a report when opening, listed by an inspection.
    var zeroTail: (offset: Int64, count: Int64)?
}

/// Opening's one pass over the files (`Docs/OnDiskFormat.md`, "Recovery"): each record is
/// checked, decoded, and its groups' parts admitted and applied exactly as the write did.
///
/// Files must be numbered without gaps. Every file but the last must end exactly where the
/// next file's header says, every record in it intact. In the last file a record that cannot
/// be read is a torn write, cut off and reported, unless an intact record follows it, bytes
/// were written after it, or it reached the disk whole: then it is damage, and opening throws.
///
/// With `readOnly` (``LogEngine/inspect(directory:fileSystem:)``) the same pass opens every
/// file for reading only and cuts nothing: the cuts opening would make are returned as if made.
enum EngineRecovery {
    static func recover(directory: String, fileSystem: any FileSystem, files: [UInt64], readOnly: Bool = false) throws(StorageError) -> RecoveredEngine {
        var replay = Replay(fileSystem: fileSystem, directory: directory, readOnly: readOnly)
        var recovered = RecoveredEngine()
        recovered.files = files
        // The sealed files after the first are checked on the other core meanwhile.
        let precheck = ChecksumPrecheck(files: Array(files.dropFirst().dropLast()), directory: directory, fileSystem: fileSystem)
        defer { precheck.stop() }
        for (position, number) in files.enumerated() {
            if position > 0, number != files[position - 1] + 1 {
                throw StorageError(
                    .corrupt, "log file \(LogFileFormat.fileName(files[position - 1] + 1)) is missing (files must be numbered without gaps)",
                    path: directory)
            }
            let isLast = position == files.count - 1
            let nextHeader: LogFileFormat.Header? = isLast ? nil : try header(of: files[position + 1], fileSystem: fileSystem, directory: directory)
            let checked = precheck.takeOver(number)
            let (end, size, action) = try scan(
                number, isLast: isLast, sealedSize: nextHeader.map { Int64(clamping: $0.previousSize) }, checksumsChecked: checked, replay: &replay)
            if let action { recovered.actions.append(action) }
            if isLast {
                recovered.end = end
                if action == nil && size > end { recovered.zeroTail = (end, size - end) }
            }
        }
        try checkNoneMissing(files, oldestKept: replay.oldestKept, fileSystem: fileSystem, directory: directory)
        if let (group, error) = replay.broken.min(by: { $0.key < $1.key }) {
            throw StorageError(error.code, "group \(group) cannot be rebuilt: \(error.message)", path: error.path, offset: error.offset)
        }
        recovered.groups = replay.groups
        return recovered
    }

    /// The newest file the engine created must still be there: its lock file records the
    /// number (``LogFileFormat/encodeNewest(_:)``) once the file is durably in place, so a
    /// lost newest file, or a directory emptied of its files, is not taken for an engine that
    /// never wrote them.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` naming the missing files.
    static func checkNewest(_ files: [UInt64], recorded newest: UInt64?, directory: String) throws(StorageError) {
        guard let newest, (files.last ?? 0) < newest else { return }
        throw StorageError(
            .corrupt,
            "\(missing((files.last ?? 0) + 1...newest)): the engine created up to \(LogFileFormat.fileName(newest)) (its lock file records it), and the records written there would be lost",
            path: directory)
    }

    /// "log file … is missing", or "log files … to … are missing".
    private static func missing(_ numbers: ClosedRange<UInt64>) -> String {
        // Compared, not counted: a forged number makes the range longer than `Int` can count.
        numbers.lowerBound == numbers.upperBound
            ? "log file \(LogFileFormat.fileName(numbers.lowerBound)) is missing"
            : "log files \(LogFileFormat.fileName(numbers.lowerBound)) to \(LogFileFormat.fileName(numbers.upperBound)) are missing"
    }

    /// The newest file number `lockFile`'s content records, `nil` when it records none.
    static func recordedNewest(in lockFile: any StorageFile) throws(StorageError) -> UInt64? {
        guard try lockFile.size() == Int64(LogFileFormat.newestRecordSize) else { return nil }
        var bytes = [UInt8](repeating: 0, count: LogFileFormat.newestRecordSize)
        let read = try bytes.withMutableRawBytes { (raw) throws(StorageError) in try lockFile.read(into: raw, at: 0) }
        return LogFileFormat.decodeNewest(Array(bytes.prefix(read)))
    }

    /// Files before the oldest one found must have been removed by a purge: the newest purge
    /// record names the oldest file kept (each is synced before its purge removes a file, and
    /// a purge that removes the file holding it writes a newer one first). Without one, the
    /// log must start at file 1, unless its oldest file is of format version 1, which wrote no
    /// purge records. A file older than the purge records say is left from a purge a crash
    /// interrupted: it is read as before, and the next purge removes it.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` naming the missing files: the groups
    ///   whose records only they held would otherwise be gone without a word.
    private static func checkNoneMissing(_ files: [UInt64], oldestKept: UInt64?, fileSystem: any FileSystem, directory: String) throws(StorageError) {
        guard let first = files.first else { return }
        let expected: UInt64
        if let oldestKept {
            expected = oldestKept
        } else if try header(of: first, fileSystem: fileSystem, directory: directory).version > 1 {
            expected = 1
        } else {
            return
        }
        guard first > expected else { return }
        throw StorageError(
            .corrupt,
            "\(missing(expected...(first - 1))): no purge record found accounts for them, and the records of the groups they held would be lost",
            path: directory)
    }

    /// The header of file `number`, checked against its name.
    static func header(of number: UInt64, fileSystem: any FileSystem, directory: String) throws(StorageError) -> LogFileFormat.Header {
        let path = fileSystem.join(directory, LogFileFormat.fileName(number))
        let file = try fileSystem.open(path, .read, permissions: 0)
        defer { try? file.close() }
        var bytes = [UInt8](repeating: 0, count: LogFileFormat.headerSize)
        let read = try bytes.withMutableRawBytes { (raw) throws(StorageError) in try file.read(into: raw, at: 0) }
        let header = try LogFileFormat.decodeHeader(Array(bytes.prefix(read)), path: path)
        guard header.fileNumber == number else {
            throw StorageError(.corrupt, "log file header says it is file \(header.fileNumber)", path: path, offset: 16)
        }
        return header
    }

    /// Replays one file; returns where its records end, the file's size as found, and the cut
    /// made (or, read-only, the cut opening would make), if any.
    private static func scan(
        _ number: UInt64, isLast: Bool, sealedSize: Int64?, checksumsChecked: Bool, replay: inout Replay
    ) throws(StorageError) -> (end: Int64, size: Int64, action: RecoveryAction?) {
        let fileSystem = replay.fileSystem
        let path = fileSystem.join(replay.directory, LogFileFormat.fileName(number))
        _ = try header(of: number, fileSystem: fileSystem, directory: replay.directory)
        let cuts = isLast && !replay.readOnly
        let file = try fileSystem.open(path, cuts ? .readWrite : .read, permissions: 0)
        defer { try? file.close() }
        let size = try file.size()
        guard UInt64(size) < EntryPositions.offsetLimit else {
            throw StorageError(.unsupported, "log file of \(size) bytes is larger than this engine reads", path: path)
        }
        if let sealedSize, sealedSize != size {
            throw StorageError(.corrupt, "sealed log file is \(size) bytes, the next file's header says \(sealedSize)", path: path, offset: min(size, sealedSize))
        }
        var scanner = RecordScanner(file: file, path: path, size: size, checksChecksums: !checksumsChecked)
        var offset = Int64(LogFileFormat.headerSize)
        while true {
            switch try scanner.record(at: offset) {
            case .record(let body, let next):
                try scanner.withBuffer { (raw) throws(StorageError) in
                    try replay.replay(UnsafeRawBufferPointer(rebasing: raw[body]), file: number, recordOffset: offset, recordEnd: next, path: path)
                }
                offset = next
            case .end:
                guard isLast else {
                    guard offset == size else {
                        throw StorageError(.corrupt, "zeros where the sealed log file's records should go on", path: path, offset: offset)
                    }
                    return (offset, size, nil)
                }
                // Zeros after the last record (a write that never arrived): nothing to report.
                if cuts && size > offset {
                    try file.truncate(to: offset)
                    try file.sync()
                }
                return (offset, size, nil)
            case .bad(let error, let lengthFits):
                // In a sealed file nothing can be torn: even a length past the end is damage.
                guard isLast else { throw error.code == .unexpectedEnd ? StorageError(.corrupt, error.message, path: error.path, offset: error.offset) : error }
                if let intact = try scanner.intactRecord(after: offset) {
                    throw StorageError(
                        error.code == .unexpectedEnd ? .corrupt : error.code,
                        "\(error.message), and an intact record follows at offset \(intact): damage, not a torn write", path: path, offset: offset)
                }
                if lengthFits, try scanner.looksWhole(at: offset) {
                    throw StorageError(.crcMismatch, "\(error.message) in a record that reached the disk whole: damage, not a torn write", path: path, offset: offset)
                }
                // A torn write is the last thing in the file: bytes written after the bad
                // record (whose headers may be damaged too) mean damage.
                if lengthFits, let end = try scanner.recordEnd(at: offset), !(try scanner.isZero(from: end)) {
                    throw StorageError(.crcMismatch, "\(error.message), and bytes were written after the record: damage, not a torn write", path: path, offset: offset)
                }
                if cuts {
                    try file.truncate(to: offset)
                    try file.sync()
                }
                let action = RecoveryAction(
                    .tornTailCut, path: path, offset: offset, bytesRemoved: size - offset,
                    detail: "a write cut short at the end of the log (\(error.message)); it was never acknowledged")
                return (offset, size, action)
            }
        }
    }
}

/// The groups as the records so far build them, and the groups a record could not be applied
/// to (their files before it are gone; a later base record or removal makes them whole again).
struct Replay {
    let fileSystem: any FileSystem
    let directory: String
    /// Whether the files are only read (an inspection): nothing is cut.
    let readOnly: Bool
    var groups = GroupTable()
    var broken: [UInt64: StorageError] = [:]
    /// Where the records read so far end, by file.
    var fileEnds: [UInt64: Int64] = [:]
    /// The highest oldest file kept that a purge record read so far names.
    var oldestKept: UInt64?

    init(fileSystem: any FileSystem, directory: String, readOnly: Bool) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.readOnly = readOnly
    }

    /// Replays the record at `recordOffset` of `file`, whose checked body is `body`, part by part.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` when the body breaks the format (a
    ///   part that decodes but does not apply only breaks its group).
    mutating func replay(_ body: UnsafeRawBufferPointer, file: UInt64, recordOffset: Int64, recordEnd: Int64, path: String) throws(StorageError) {
        // A base refers to bytes before it, or copies them into itself.
        fileEnds[file] = recordEnd
        var parts = try RecordBodyReader(body, file: file, bodyOffset: recordOffset + Int64(LogFileFormat.recordHeaderSize), path: path)
        if let kept = parts.oldestKept { oldestKept = max(oldestKept ?? 0, kept) }
        while let (group, flags) = try parts.next() {
            if BatchCodec.isRun(flags) {
                try replayRun(flags, of: group, from: &parts, file: file, recordOffset: recordOffset, path: path)
            } else {
                apply(try parts.readPart(flags, group: group), to: group, file: file, recordOffset: recordOffset, path: path)
            }
        }
    }

    /// The common part, entries and a HardState, replayed as it is read.
    private mutating func replayRun(
        _ flags: UInt8, of group: UInt64, from parts: inout RecordBodyReader, file: UInt64, recordOffset: Int64, path: String
    ) throws(StorageError) {
        if !broken.isEmpty, broken[group] != nil {
            try parts.skipRun(flags)
            return
        }
        let refused: StorageError?
        // In place, looked up once: a copy of the group out of the dictionary would share its
        // index arrays, and its first append would copy them whole.
        if let existing = try groups.withExisting(group, { (state) throws(StorageError) in try state.replayRun(flags, from: &parts) }) {
            refused = existing
        } else {
            var state = GroupState(historyStart: file)
            refused = try state.replayRun(flags, from: &parts)
            if refused == nil { groups[group] = state }
        }
        if let refused {
            broken[group] = StorageError(refused.code, "record does not apply (\(refused.message))", path: path, offset: recordOffset)
        }
    }

    private mutating func apply(_ part: BatchCodec.DecodedPart, to group: UInt64, file: UInt64, recordOffset: Int64, path: String) {
        switch part {
        case .base(let base):
            if let bad = base.entries.first(where: { !holds($0.location) }) {
                broken[group] = StorageError(
                    .corrupt, "base record refers to bytes that are not there (file \(bad.location.file), offset \(bad.location.offset))",
                    path: path, offset: recordOffset)
                return
            }
            broken[group] = nil
            groups.update(group, startingIn: file) { $0.apply(base, file: file) }
        case .change(let change, let entries, let locations):
            if change.remove { broken[group] = nil }
            guard broken[group] == nil else { return }
            do throws(StorageError) {
                let dropped = try (groups[group] ?? GroupState(historyStart: file)).admit(change, entries: entries[...])
                groups.update(group, startingIn: file) {
                    $0.apply(change, kept: entries[dropped...], locations: locations[dropped...], file: file)
                }
                if change.isRemovalOnly { groups[group] = nil }
            } catch {
                broken[group] = StorageError(error.code, "record does not apply (\(error.message))", path: path, offset: recordOffset)
            }
        }
    }

    /// Whether a location lies within the records read so far.
    private func holds(_ location: EntryLocation) -> Bool {
        guard let end = fileEnds[location.file], location.offset <= UInt64(end) else { return false }
        return location.length <= UInt64(end) - location.offset
    }
}

extension GroupChange {
    /// A removal and nothing else: the group is gone afterwards.
    var isRemovalOnly: Bool {
        guard remove else { return false }
        var rest = self
        rest.remove = false
        return rest.isEmpty
    }
}
