public import RaftStorage

extension WALDump {
    /// Parses a dump in the ``WALDump`` JSON shape and checks that it describes a log that can
    /// be written: entry indexes consecutive from the snapshot marker's index + 1, terms never
    /// decreasing and not below the marker's.
    ///
    /// Any input gives a dump or a ``RaftStorage/StorageError``; nothing traps, and no single
    /// allocation is larger than 8 times the input's size or 1 MiB + 64 KiB, whichever is more
    /// (the parser's arrays take 8 bytes for each element of at least 2 input bytes, and double as
    /// they grow). This is the function `raftstore wal import` uses, callable on its own (for
    /// fuzzing).
    ///
    /// - Parameters:
    ///   - bytes: the JSON text.
    ///   - path: the file it came from, named in errors.
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` naming the byte offset of a JSON syntax error,
    ///   or the JSON path of the first value that does not fit (`entries[3].data: not base64`).
    public static func parse(json bytes: [UInt8], path: String? = nil) throws(StorageError) -> WALDump {
        do {
            let dump = try decode(JSONParser.parse(bytes))
            try dump.checkSequence()
            return dump
        } catch {
            throw path.map { error.at(path: $0) } ?? error
        }
    }

    private static func decode(_ value: JSONValue) throws(StorageError) -> WALDump {
        let document = try JSONField.object(value, "top level")
        var dump = WALDump()
        if let marker = document["snapshot"], marker != .null {
            let fields = try JSONField.object(marker, "snapshot")
            dump.snapshot = SnapshotMarker(
                index: try JSONField.uint64(fields["index"], "snapshot.index"),
                term: try JSONField.uint64(fields["term"], "snapshot.term"))
        }
        dump.metadata = try JSONField.bytes(document["metadata"], "metadata")
        if let state = document["hardState"], state != .null {
            let fields = try JSONField.object(state, "hardState")
            dump.hardState = HardState(
                term: try JSONField.uint64(fields["term"], "hardState.term"),
                vote: try JSONField.uint64(fields["vote"], "hardState.vote"),
                commit: try JSONField.uint64(fields["commit"], "hardState.commit"))
        }
        switch document["entries"] {
        case nil, .null?: break
        case .array(let elements)?:
            // Not reserved up front: `[0,0,...]` would reserve an entry (32 bytes) for every two
            // input bytes before the first element is refused; a valid entry takes 20 or more.
            for (position, element) in elements.enumerated() {
                let path = "entries[\(position)]"
                let fields = try JSONField.object(element, path)
                dump.entries.append(Entry(
                    term: try JSONField.uint64(fields["term"], path + ".term"),
                    index: try JSONField.uint64(fields["index"], path + ".index"),
                    type: try JSONField.entryType(fields["type"], path + ".type"),
                    data: try JSONField.bytes(fields["data"], path + ".data")))
            }
        case let other?:
            throw JSONField.mismatch("entries", "an array", other)
        }
        switch document["error"] {
        case nil, .null?: break
        case .string(let text)?: dump.error = text
        case let other?: throw JSONField.mismatch("error", "a string or null", other)
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
                let hint = position == 0 && snapshot == nil
                    ? " (a dump that starts later needs \"snapshot\": {\"index\": \(entry.index &- 1), \"term\": T})" : ""
                throw StorageError(.corrupt, "entries[\(position)].index is \(entry.index), expected \(expected)\(hint)")
            }
            guard entry.term >= previousTerm else {
                throw StorageError(.corrupt, "entries[\(position)].term \(entry.term) is below the term before it (\(previousTerm))")
            }
            previousTerm = entry.term
        }
    }
}

/// Reading typed fields out of parsed JSON, with errors that name the field.
enum JSONField {
    static func mismatch(_ path: String, _ expected: String, _ found: JSONValue?) -> StorageError {
        StorageError(.corrupt, "not a WAL dump: \(path): expected \(expected), found \(found?.kind ?? "nothing")")
    }

    static func object(_ value: JSONValue, _ path: String) throws(StorageError) -> [String: JSONValue] {
        guard case .object(let fields) = value else { throw mismatch(path, "an object", value) }
        return fields
    }

    static func uint64(_ value: JSONValue?, _ path: String) throws(StorageError) -> UInt64 {
        guard case .number(let text)? = value, let number = UInt64(text) else {
            throw mismatch(path, "an integer from 0 to 18446744073709551615", value)
        }
        return number
    }

    /// Base64 text, `null` (or a missing key) for absent bytes.
    static func bytes(_ value: JSONValue?, _ path: String) throws(StorageError) -> [UInt8]? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?:
            guard let bytes = Base64.decode(text) else {
                throw StorageError(.corrupt, "not a WAL dump: \(path): not padded standard base64")
            }
            return bytes
        case let other?: throw mismatch(path, "base64 text or null", other)
        }
    }

    /// `"normal"`, `"confChange"`, `"confChangeV2"`, or the type's number.
    static func entryType(_ value: JSONValue?, _ path: String) throws(StorageError) -> EntryType {
        switch value {
        case .string("normal")?: return .normal
        case .string("confChange")?: return .confChange
        case .string("confChangeV2")?: return .confChangeV2
        case .number(let text)?:
            guard let raw = Int32(text) else { throw mismatch(path, "an entry type", value) }
            return EntryType(rawValue: raw)
        case .string(let name)?:
            throw StorageError(.corrupt, "not a WAL dump: \(path): unknown entry type \"\(name.prefix(40))\" (normal, confChange, confChangeV2 or a number)")
        default:
            throw mismatch(path, "an entry type", value)
        }
    }
}
