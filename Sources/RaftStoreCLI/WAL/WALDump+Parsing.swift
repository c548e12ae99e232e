#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import RaftStorage

extension WALDump {
    /// Parses a dump in the ``WALDump`` JSON shape and checks that it describes a log that can
    /// be written: entry indexes consecutive from the snapshot marker's index + 1, terms never
    /// decreasing and not below the marker's.
    ///
    /// Any input gives a dump or a ``StorageError``; nothing traps. This is the function
    /// `raftstore wal import` uses, callable on its own (for fuzzing).
    ///
    /// - Parameter path: named in errors.
    /// - Throws: ``StorageError/Code/corrupt`` naming the JSON path of the first problem
    ///   (`entries[3].data: not base64`).
    public static func parse(json bytes: [UInt8], path: String? = nil) throws(StorageError) -> WALDump {
        let document: JSONDocument
        do {
            document = try JSONDecoder().decode(JSONDocument.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw StorageError(.corrupt, "not a WAL dump: " + describe(error), path: path)
        } catch let error as StorageError {
            throw error.path == nil && path != nil ? error.at(path: path!) : error
        } catch {
            throw StorageError(.corrupt, "not a WAL dump: " + Format.oneLine("\(error)"), path: path)
        }
        let dump = document.dump
        do {
            try dump.checkSequence()
        } catch {
            throw path.map { error.at(path: $0) } ?? error
        }
        return dump
    }

    /// The rules a log obeys, which the WAL's writer does not check.
    func checkSequence() throws(StorageError) {
        let start = snapshot ?? .zero
        guard start.index != 0 || start.term == 0 else {
            throw StorageError(.corrupt, "snapshot: a marker at index 0 has term 0, not \(start.term)")
        }
        var previousTerm = start.term
        for (position, entry) in entries.enumerated() {
            let expected = start.index &+ 1 &+ UInt64(position)
            guard entry.index == expected else {
                let hint = position == 0 && snapshot == nil ? " (add \"snapshot\": {\"index\": \(entry.index &- 1), \"term\": T} for a dump that starts later)" : ""
                throw StorageError(.corrupt, "entries[\(position)].index is \(entry.index), expected \(expected)\(hint)")
            }
            guard entry.term >= previousTerm else {
                throw StorageError(.corrupt, "entries[\(position)].term \(entry.term) is below the term before it (\(previousTerm))")
            }
            previousTerm = entry.term
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context, _ key: (any CodingKey)? = nil) -> String {
            var text = ""
            for component in context.codingPath + (key.map { [$0] } ?? []) {
                if let index = component.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + component.stringValue
                }
            }
            return text.isEmpty ? "top level" : text
        }
        let detail: String
        switch error {
        case .typeMismatch(let type, let context):
            detail = "\(path(context)): expected \(expectation(type))"
        case .valueNotFound(let type, let context):
            detail = "\(path(context)): expected \(expectation(type)), found null"
        case .keyNotFound(let key, let context):
            detail = "\(path(context, key)): missing"
        case .dataCorrupted(let context):
            let underlying = context.underlyingError.map { ": \($0)" } ?? ""
            detail = "\(path(context)): \(context.debugDescription)\(underlying)"
        @unknown default:
            detail = "\(error)"
        }
        return Format.oneLine(detail)
    }

    private static func expectation(_ type: Any.Type) -> String {
        switch type {
        case is UInt64.Type: "an integer from 0 to 18446744073709551615"
        case is String.Type: "a string"
        default: "\(type)"
        }
    }
}

// MARK: - The JSON shape

private struct JSONDocument: Decodable {
    var snapshot: JSONMarker?
    var metadata: JSONBytes?
    var hardState: JSONHardState?
    var entries: [JSONEntry]?
    var error: String?

    var dump: WALDump {
        WALDump(
            snapshot: snapshot.map { SnapshotMarker(index: $0.index, term: $0.term) },
            metadata: metadata?.bytes,
            hardState: hardState.map { HardState(term: $0.term, vote: $0.vote, commit: $0.commit) } ?? .empty,
            entries: (entries ?? []).map { Entry(term: $0.term, index: $0.index, type: $0.type.type, data: $0.data?.bytes) },
            error: error)
    }
}

private struct JSONMarker: Decodable {
    var index: UInt64
    var term: UInt64
}

private struct JSONHardState: Decodable {
    var term: UInt64
    var vote: UInt64
    var commit: UInt64
}

private struct JSONEntry: Decodable {
    var index: UInt64
    var term: UInt64
    var type: JSONEntryType
    var data: JSONBytes?
}

/// Base64 text, decoded strictly.
private struct JSONBytes: Decodable {
    var bytes: [UInt8]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let bytes = Base64.decode(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not padded standard base64"))
        }
        self.bytes = bytes
    }
}

/// `"normal"`, `"confChange"`, `"confChangeV2"`, or the type's number.
private struct JSONEntryType: Decodable {
    var type: EntryType

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int32.self) {
            type = EntryType(rawValue: number)
            return
        }
        let name = try container.decode(String.self)
        switch name {
        case "normal": type = .normal
        case "confChange": type = .confChange
        case "confChangeV2": type = .confChangeV2
        default:
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "unknown entry type \"\(name.prefix(40))\" (normal, confChange, confChangeV2 or a number)"))
        }
    }
}
