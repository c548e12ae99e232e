import Foundation
import RaftStorage
import RaftFiles

/// A WAL written by etcd 3.4's Go code, with what etcd's ReadAll and ValidSnapshotEntries
/// returned for it (`Fixtures/go-written`, made by `make fixtures`; see the README there).
struct GoFixture: Decodable, CustomStringConvertible {
    struct Marker: Decodable, Hashable {
        var index: UInt64
        var term: UInt64

        var snapshotMarker: SnapshotMarker { SnapshotMarker(index: index, term: term) }
    }

    struct JSONHardState: Decodable {
        var term: UInt64
        var vote: UInt64
        var commit: UInt64

        var hardState: HardState { HardState(term: term, vote: vote, commit: commit) }
    }

    struct JSONEntry: Decodable {
        var index: UInt64
        var term: UInt64
        var type: String
        /// Base64; `nil` for an absent payload (Go nil), `""` for an empty one.
        var data: String?
    }

    /// One ReadAll, in the `raftstore wal dump --json` shape plus marker, modes and stage.
    struct Replay: Decodable {
        var snapshot: Marker
        /// "openForRead" (wal.OpenForRead) and/or "open" (wal.Open, write mode).
        var modes: [String]
        var metadata: String?
        var hardState: JSONHardState
        var entries: [JSONEntry]
        /// etcd's error text, or nil.
        var error: String?
        /// "open" when Open/OpenForRead failed, "readAll" when ReadAll did.
        var errorAt: String?
    }

    struct ValidSnapshots: Decodable {
        var snapshots: [Marker]
        var error: String?
    }

    struct File: Decodable {
        var name: String
        var size: Int64
    }

    var name: String
    var description: String
    var segmentSizeBytes: Int64
    var tailTruncated: Bool
    var walDir: String
    var files: [File]
    var validSnapshotEntries: ValidSnapshots
    var replays: [Replay]

    /// The fixture's WAL directory (read it, never change it: open a copy for appending).
    var walPath: String { GoFixture.root + "/" + name + "/" + walDir }

    // MARK: - Loading

    /// `Tests/EtcdStorageTests/Fixtures/go-written`, found from this file's path.
    static var root: String {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        return url.path + "/Fixtures/go-written"
    }

    struct Index: Decodable {
        var fixtures: [String]
        var etcdWAL: String
    }

    static func loadIndex() throws -> Index {
        try JSONDecoder().decode(Index.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/index.json")))
    }

    /// The fixture names from index.json; empty when it cannot be read (a separate test
    /// requires it to load, so an unreadable index fails instead of running nothing).
    static let names: [String] = (try? loadIndex().fixtures) ?? []

    static func load(_ name: String) throws -> GoFixture {
        try JSONDecoder().decode(
            GoFixture.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/" + name + "/expected.json")))
    }
}

// MARK: - Converting the JSON to the package's types

enum FixtureDecodingError: Error, CustomStringConvertible {
    case badBase64(String)
    case unknownEntryType(String)

    var description: String {
        switch self {
        case .badBase64(let text): "not base64: \(text.prefix(40))"
        case .unknownEntryType(let name): "unknown entry type \(name)"
        }
    }
}

func decodeBase64(_ text: String?) throws -> [UInt8]? {
    guard let text else { return nil }
    guard let data = Data(base64Encoded: text) else { throw FixtureDecodingError.badBase64(text) }
    return [UInt8](data)
}

extension GoFixture.JSONEntry {
    func entry() throws -> Entry {
        let type: EntryType = switch self.type {
        case "normal": .normal
        case "confChange": .confChange
        case "confChangeV2": .confChangeV2
        default: throw FixtureDecodingError.unknownEntryType(self.type)
        }
        return Entry(term: term, index: index, type: type, data: try decodeBase64(data))
    }
}

extension GoFixture.Replay {
    func expectedEntries() throws -> [Entry] { try entries.map { try $0.entry() } }
    func expectedMetadata() throws -> [UInt8]? { try decodeBase64(metadata) }
}

/// The `StorageError` code this package gives for one of etcd 3.4's error texts (Docs/Compatibility.md).
func storageErrorCode(forEtcdError text: String) -> StorageError.Code? {
    switch text {
    case "wal: snapshot not found": .snapshotNotFound
    case "wal: snapshot mismatch": .snapshotMismatch
    case "wal: file not found": .notFound
    case "wal: conflicting metadata found": .metadataConflict
    case "wal: crc mismatch", "walpb: crc mismatch": .crcMismatch
    case "unexpected EOF": .unexpectedEnd
    // A gap between entry indexes, and a record of an unknown type: the data is corrupt.
    case "wal: slice bounds out of range": .corrupt
    case _ where text.hasPrefix("unexpected block type"): .corrupt
    default: nil
    }
}

/// A short description of where two entry lists first differ, for failure messages.
func entryDifference(_ actual: [Entry], _ expected: [Entry]) -> String {
    if actual.count != expected.count {
        return "\(actual.count) entries, expected \(expected.count) (first: \(actual.first?.description ?? "-"), "
            + "expected first: \(expected.first?.description ?? "-"))"
    }
    for (a, e) in zip(actual, expected) where a != e {
        let dataNote = a.data == e.data ? "" : " (data differs: \(a.data.map { "\($0.count) bytes" } ?? "nil") vs "
            + "\(e.data.map { "\($0.count) bytes" } ?? "nil"))"
        return "entry \(a) != expected \(e)\(dataNote)"
    }
    return "equal"
}
