import Foundation

/// What etcd 3.4's ReadAll returned for a Go-written fixture (its `expected.json`), in the
/// `wal dump --json` shape.
struct GoExpectations: Decodable {
    struct Marker: Decodable, Hashable {
        var index: UInt64
        var term: UInt64
    }

    struct Replay: Decodable {
        var snapshot: Marker
        var modes: [String]
        var metadata: String?
        var hardState: DumpHardState
        var entries: [DumpEntry]
        var error: String?
        var errorAt: String?
    }

    struct ValidSnapshots: Decodable {
        var snapshots: [Marker]
        var error: String?
    }

    var name: String
    var validSnapshotEntries: ValidSnapshots
    var replays: [Replay]

    static func load(_ name: String) throws -> GoExpectations {
        let url = URL(fileURLWithPath: Fixtures.goWritten + "/" + name + "/expected.json")
        return try JSONDecoder().decode(GoExpectations.self, from: Data(contentsOf: url))
    }
}

/// `wal dump --json`, decoded independently of the tool's own parser.
struct DumpJSON: Decodable, Equatable {
    var snapshot: GoExpectations.Marker?
    var metadata: String?
    var hardState: DumpHardState
    var entries: [DumpEntry]
    var error: String?

    /// Decodes `text` and checks the key set is exactly the documented one.
    static func decode(_ text: String) throws -> DumpJSON {
        let data = Data(text.utf8)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ShapeError(description: "not a JSON object")
        }
        let keys = Set(object.keys).subtracting(["snapshot"])
        guard keys == ["metadata", "hardState", "entries", "error"] else {
            throw ShapeError(description: "dump keys are \(object.keys.sorted())")
        }
        for entry in object["entries"] as? [[String: Any]] ?? [] where Set(entry.keys) != ["index", "term", "type", "data"] {
            throw ShapeError(description: "entry keys are \(entry.keys.sorted())")
        }
        return try JSONDecoder().decode(DumpJSON.self, from: data)
    }

    struct ShapeError: Error, CustomStringConvertible {
        var description: String
    }
}

struct DumpHardState: Decodable, Equatable {
    var term: UInt64
    var vote: UInt64
    var commit: UInt64
}

struct DumpEntry: Decodable, Equatable {
    var index: UInt64
    var term: UInt64
    var type: String
    var data: String?
}
