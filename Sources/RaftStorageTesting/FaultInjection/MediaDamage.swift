public import RaftStorage
public import RaftFiles

/// Damage a disk does to data it already holds durably, which no crash makes: bytes that were
/// written and synced read back changed.
///
/// Apply it to a durable image on the simulated disk (``FaultInjectingFileSystem/damage(_:with:)``)
/// or to the bytes of a real file (``applied(to:)``), then check recovery with
/// ``LogMediaDamage`` or ``StorageMediaDamage``: it must return everything acknowledged, or
/// refuse with a damage error naming the file and an offset.
public enum MediaDamage: Sendable, Hashable, CustomStringConvertible {
    /// One bit of the byte at `offset` inverted (`bit` 0 is the least significant): bit rot.
    case flippedBit(offset: Int, bit: Int)
    /// The `sectorSize`-aligned sector holding `offset` reads as zeros, as far as the file
    /// reaches: a sector the drive lost.
    case zeroedSector(offset: Int, sectorSize: Int)
    /// One byte of the 8-byte little-endian length word at `offset` (a record's frame header, as
    /// etcd's WAL writes one) changed so that the word claims more or fewer bytes than the record
    /// holds.
    case lengthWord(offset: Int, LengthChange)

    /// How ``MediaDamage/lengthWord(offset:_:)`` changes the word.
    public enum LengthChange: Sendable, Hashable {
        /// 256 bytes more: its second byte one higher (the third, when the second is 0xFF).
        case larger
        /// 256 bytes fewer (its second byte one lower), or, for a word below 256, half as many
        /// (its first byte halved).
        case smaller
    }

    /// The codes a damage error may carry by default: ``RaftStorage/StorageError/Code/corrupt`` and
    /// ``RaftStorage/StorageError/Code/crcMismatch`` (not ``RaftStorage/StorageError/Code/unexpectedEnd``,
    /// which says "torn tail" and invites cutting it off).
    public static let damageCodes: Set<StorageError.Code> = [.corrupt, .crcMismatch]

    /// What kind of damage, without where: `flipped bit`, `zeroed sector`, `length word larger`
    /// or `length word smaller`.
    public var kind: String {
        switch self {
        case .flippedBit: "flipped bit"
        case .zeroedSector: "zeroed sector"
        case .lengthWord(_, .larger): "length word larger"
        case .lengthWord(_, .smaller): "length word smaller"
        }
    }

    /// The first byte the damage may change.
    public var firstByte: Int {
        switch self {
        case .flippedBit(let offset, _): offset
        case .zeroedSector(let offset, let sectorSize): offset / max(1, sectorSize) * max(1, sectorSize)
        case .lengthWord(let offset, _): offset
        }
    }

    /// The bytes of a file of `size` bytes the damage may change (empty when it misses the file).
    public func bytes(inFileOf size: Int) -> Range<Int> {
        let end: Int = switch self {
        case .flippedBit(let offset, _): offset + 1
        case .zeroedSector(_, let sectorSize): firstByte + max(1, sectorSize)
        case .lengthWord(let offset, _): offset + 8
        }
        let lower = min(max(0, firstByte), size)
        return lower..<min(max(lower, end), size)
    }

    /// `bytes` with the damage applied; the same bytes when it misses them (or they already read
    /// that way).
    public func applied(to bytes: [UInt8]) -> [UInt8] {
        var damaged = bytes
        switch self {
        case .flippedBit(let offset, let bit):
            guard offset >= 0, offset < bytes.count else { return bytes }
            damaged[offset] ^= UInt8(1) << UInt8(bit & 7)
        case .zeroedSector:
            let range = self.bytes(inFileOf: bytes.count)
            damaged.replaceSubrange(range, with: repeatElement(0, count: range.count))
        case .lengthWord(let offset, let change):
            guard offset >= 0, offset + 8 <= bytes.count else { return bytes }
            switch change {
            case .larger:
                let byte = bytes[offset + 1] < 0xFF ? offset + 1 : offset + 2
                if damaged[byte] < 0xFF { damaged[byte] += 1 }
            case .smaller:
                if bytes[offset + 1] > 0 {
                    damaged[offset + 1] -= 1
                } else {
                    damaged[offset] /= 2
                }
            }
        }
        return damaged
    }

    public var description: String {
        switch self {
        case .flippedBit(let offset, let bit): "bit \(bit) of the byte at offset \(offset) flipped"
        case .zeroedSector(let offset, let sectorSize): "the \(sectorSize)-byte sector at offset \(offset / max(1, sectorSize) * max(1, sectorSize)) zeroed"
        case .lengthWord(let offset, .larger): "the length word at offset \(offset) made larger"
        case .lengthWord(let offset, .smaller): "the length word at offset \(offset) made smaller"
        }
    }
}

/// One media-damage case: which file, what damage, and what recovery may return instead of
/// everything acknowledged.
public struct MediaDamageCase: Sendable, Hashable, CustomStringConvertible {
    /// The damaged file.
    public var path: String
    /// The damage.
    public var damage: MediaDamage
    /// Where, in words (for reports): "the tail file ..., last record (entry 41 ...)".
    public var position: String
    /// The snapshot the damaged file holds, for snapshot files.
    public var snapshot: SnapshotMarker?
    /// What a log may hold instead of everything acknowledged, when it reports that opening
    /// repaired a torn tail: the log without its damaged last record. Only damage confined to the
    /// final bytes written can pass for a torn write; `nil` everywhere else (everything, or an
    /// error).
    public var tornTailAlternative: AcknowledgedLog?

    /// A case damaging `path` with `damage` at `position`.
    public init(path: String, damage: MediaDamage, position: String, snapshot: SnapshotMarker? = nil, tornTailAlternative: AcknowledgedLog? = nil) {
        self.path = path
        self.damage = damage
        self.position = position
        self.snapshot = snapshot
        self.tornTailAlternative = tornTailAlternative
    }

    public var description: String { "\(damage.kind) at \(position): \(damage) in \(path)" }
}

/// What a media-damage check found, by outcome. Every case counts once in ``cases`` and once in
/// exactly one of the outcome counts (``unchanged`` counts in addition).
public struct MediaDamageReport: Sendable, Hashable, CustomStringConvertible {
    /// Cases checked.
    public var cases = 0
    /// Recovery returned everything acknowledged: every entry (index, term, data), the HardState
    /// (term, vote and commit), the newest snapshot with its data.
    public var recovered = 0
    /// (`Storage`) The damaged newest snapshot was set aside, an older one recovered, and every
    /// acknowledged entry after it returned.
    public var recoveredFromOlderSnapshot = 0
    /// (Snapshot store) The damaged snapshot did not load and its file was set aside.
    public var setAside = 0
    /// (Log) The damaged last record was cut off as a torn tail, with the repair reported.
    public var tornTailsCut = 0
    /// Recovery refused with a damage error naming the damaged file and an offset.
    public var errorsReported = 0
    /// The invariant broken: fewer entries, an older or other HardState, data never acknowledged,
    /// without an error.
    public var losses = 0
    /// Recovery failed, but not with a damage error naming the file and an offset.
    public var misreported = 0
    /// Damage that changed no byte (the bytes already read that way); checked like the others.
    public var unchanged = 0

    /// An empty report.
    public init() {}

    public var description: String {
        "\(cases) cases: \(recovered) recovered everything, \(recoveredFromOlderSnapshot) from an older snapshot, "
            + "\(setAside) set aside, \(tornTailsCut) torn tails cut, \(errorsReported) damage errors, "
            + "\(losses) losses, \(misreported) misreported (\(unchanged) unchanged)"
    }

    mutating func count(_ verdict: MediaDamageVerdict) {
        switch verdict {
        case .recovered: recovered += 1
        case .recoveredFromOlderSnapshot: recoveredFromOlderSnapshot += 1
        case .setAside: setAside += 1
        case .tornTailCut: tornTailsCut += 1
        case .reported: errorsReported += 1
        case .lost: losses += 1
        case .misreported: misreported += 1
        }
    }
}

/// The outcome of one case.
enum MediaDamageVerdict {
    case recovered
    case recoveredFromOlderSnapshot
    case setAside
    case tornTailCut
    case reported
    case lost(String)
    case misreported(String)

    var problem: String? {
        switch self {
        case .lost(let problem): "lost without an error: \(problem)"
        case .misreported(let problem): "failed without locating the damage: \(problem)"
        default: nil
        }
    }

    /// A failure of recovery for `damaged`: a damage error (one of `codes`) naming the file and
    /// an offset, or a problem.
    static func judging(_ error: any Error, _ damaged: MediaDamageCase, codes: Set<StorageError.Code>) -> Self {
        guard let error = error as? StorageError else { return .misreported("\(error) is not a StorageError") }
        var wrong: [String] = []
        if !codes.contains(error.code) { wrong.append("\(error.code) is not a damage code") }
        if !names(error.path, damaged.path) { wrong.append("it names \(error.path ?? "no file"), not the damaged file") }
        if error.offset == nil { wrong.append("it gives no offset") }
        return wrong.isEmpty ? .reported : .misreported("\(error): " + wrong.joined(separator: "; "))
    }

    /// Whether `reported` names the file at `path`.
    static func names(_ reported: String?, _ path: String) -> Bool {
        guard let reported else { return false }
        func normal(_ path: String) -> String { "/" + path.split(separator: "/").filter { $0 != "." }.joined(separator: "/") }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return normal(reported) == normal(path) || normal(reported).hasSuffix("/" + name)
    }
}

/// One record of a log file, where it lies: what ``LogMediaDamage/cases(records:sectorSize:)``
/// aims damage at (map a WAL's `WALRecordInfo` to it).
public struct StoredRecord: Sendable, Hashable {
    /// The file holding it.
    public var path: String
    /// Where its frame starts (its length word, for etcd's WAL).
    public var offset: Int
    /// The frame's size: length word, record and padding.
    public var size: Int
    /// The record.
    public var record: LogRecord

    /// A record of `size` bytes at `offset` of `path`.
    public init(path: String, offset: Int, size: Int, record: LogRecord) {
        self.path = path
        self.offset = offset
        self.size = size
        self.record = record
    }

    /// The record in a few words, for reports.
    var summary: String {
        switch record {
        case .entry(let entry): "entry \(entry.index)"
        case .hardState(let state): "\(state)"
        case .snapshot(let marker): "snapshot marker \(marker)"
        case .metadata: "metadata"
        case .crc: "crc"
        }
    }
}

/// What a log acknowledged as durable: its entries, by index, as raft keeps them (an entry
/// replaces the one at its index and every later one), and its last HardState.
public struct AcknowledgedLog: Sendable, Hashable, CustomStringConvertible {
    /// The entries, by index.
    public private(set) var entries: [UInt64: Entry] = [:]
    /// The last non-empty HardState saved.
    public private(set) var hardState = HardState()

    /// Nothing acknowledged yet.
    public init() {}

    /// What `records` say, in order: entries by raft's rule, the last HardState; other records
    /// are skipped.
    public init(replaying records: some Sequence<LogRecord>) {
        for record in records {
            switch record {
            case .entry(let entry): saved(hardState: .empty, entries: [entry])
            case .hardState(let state): saved(hardState: state, entries: [])
            case .metadata, .snapshot, .crc: break
            }
        }
    }

    /// The lowest index held, or `nil` when there is no entry.
    public var firstIndex: UInt64? { entries.keys.min() }
    /// The highest index held (0 when there is no entry).
    public var lastIndex: UInt64 { entries.keys.max() ?? 0 }

    /// Records a save that was acknowledged as durable.
    public mutating func saved(hardState: HardState, entries new: [Entry]) {
        if let first = new.first?.index { entries = entries.filter { $0.key < first } }
        for entry in new { entries[entry.index] = entry }
        if !hardState.isEmpty { self.hardState = hardState }
    }

    public var description: String {
        (firstIndex.map { "entries \($0)...\(lastIndex)" } ?? "no entries") + ", \(hardState)"
    }

    /// How `found` (entries from `first` through `last`, and `state`) falls short of this, or
    /// `nil` when it holds exactly what was acknowledged from `from` on (every entry when
    /// `from` is `nil`).
    func shortfall(first: UInt64, last: UInt64, entries found: [Entry], state: HardState, from: UInt64? = nil) -> String? {
        var problems: [String] = []
        if state != hardState {
            problems.append(hardStateRegression(from: hardState, to: state) ?? "HardState \(state), acknowledged \(hardState)")
        }
        let required = max(from ?? 0, firstIndex ?? 0)
        if firstIndex != nil, lastIndex >= required, first > required {
            problems.append("the log starts at \(first): acknowledged entries \(required)...\(first - 1) are gone")
        }
        if last != lastIndex { problems.append("lastIndex \(last), acknowledged \(lastIndex)") }
        if let wrong = found.first(where: { $0.index >= required && entries[$0.index] != $0 }) {
            problems.append("entry \(wrong.index) reads \(wrong), acknowledged \(entries[wrong.index].map(String.init(describing:)) ?? "nothing")")
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
}

/// What a `Storage` acknowledged: its log and every snapshot saved, by (index, term).
public struct AcknowledgedStorage: Sendable, Hashable {
    /// The entries and HardState.
    public var log = AcknowledgedLog()
    /// The data of each snapshot saved, by (index, term) without membership.
    public private(set) var snapshots: [SnapshotMarker: [UInt8]?] = [:]

    /// Nothing acknowledged yet.
    public init() {}

    /// Records a save that was acknowledged as durable.
    public mutating func saved(hardState: HardState, entries: [Entry]) {
        log.saved(hardState: hardState, entries: entries)
    }

    /// Records a snapshot saved (by `Storage.createSnapshot(at:confState:data:)`, say).
    public mutating func snapshotSaved(_ snapshot: Snapshot) {
        guard !snapshot.isEmpty else { return }
        snapshots[snapshotKey(snapshot.metadata.marker)] = snapshot.data
    }

    /// The newest snapshot saved, ``RaftStorage/SnapshotMarker/zero`` when none was.
    public var newestSnapshot: SnapshotMarker { snapshots.keys.max() ?? .zero }
}

/// A marker without its membership, to compare markers by position.
func snapshotKey(_ marker: SnapshotMarker) -> SnapshotMarker { SnapshotMarker(index: marker.index, term: marker.term) }

extension FaultInjectingFileSystem {
    /// Applies `damage` to the file at `path`, durably and behind every open file's back, as a
    /// failing disk would; returns whether any byte changed (`false` also when there is no such
    /// file).
    @discardableResult
    public func damage(_ path: String, with damage: MediaDamage) -> Bool {
        guard let bytes = contents(of: path) else { return false }
        let damaged = damage.applied(to: bytes)
        guard damaged != bytes else { return false }
        setContents(of: path, to: damaged)
        return true
    }

    /// A new file system holding this one's directories and files as they read now, every byte
    /// and every name durable, with no open files, locks or faults: the disk of a machine that
    /// shut down cleanly, to damage and recover as often as needed.
    public func durableCopy() throws(StorageError) -> FaultInjectingFileSystem {
        let copy = FaultInjectingFileSystem()
        try copyTree("/", into: copy)
        return copy
    }

    private func copyTree(_ directory: String, into copy: FaultInjectingFileSystem) throws(StorageError) {
        for name in try contentsOfDirectory(directory).sorted() {
            let path = directory == "/" ? "/" + name : directory + "/" + name
            guard let found = try self.info(path) else { continue }
            if found.isDirectory {
                try copy.createDirectory(path, permissions: permissions(of: path) ?? 0o700)
                try copyTree(path, into: copy)
            } else {
                let file = try copy.open(path, [.write, .create], permissions: permissions(of: path) ?? 0o600)
                try file.close()
                copy.setContents(of: path, to: contents(of: path) ?? [])
            }
        }
        try copy.syncDirectory(directory)
    }
}
