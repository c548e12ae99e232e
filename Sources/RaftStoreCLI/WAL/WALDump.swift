public import EtcdStorage
public import RaftStorage

/// What `raftstore wal dump --json` prints and `raftstore wal import` reads: a WAL's replay as
/// JSON.
///
/// ```json
/// {"metadata": "<base64>" | null, "hardState": {"term": N, "vote": N, "commit": N},
///  "entries": [{"index": N, "term": N, "type": "normal", "data": "<base64>" | null}, ...],
///  "error": null | "<message>"}
/// ```
///
/// - `metadata` and `data` are standard base64 with padding; `null` means absent (etcd's nil
///   slice, a protobuf field not written) and `""` present but empty. This is the convention
///   of the Go-written fixtures' `expected.json`, so dumps compare with them directly.
/// - `type` is `"normal"`, `"confChange"` or `"confChangeV2"`; an entry type this package does
///   not know is written as its number, and read back from either form.
/// - `entries` is what a replay from the snapshot marker returns (later records for an index
///   replace it and everything after it); `error` is the replay's error, with the entries read
///   before it still listed.
/// - A dump read from a snapshot marker other than (0, 0) starts with
///   `"snapshot": {"index": N, "term": N}`; `import` then starts the new WAL at that marker.
///   The key is optional on import and left out of dumps from (0, 0), which keeps those in
///   exactly the shape above.
///
/// Keys other than these are ignored on import, so a replay object from a fixture's
/// `expected.json` imports as is.
public struct WALDump: Hashable, Sendable {
    /// The snapshot marker the replay started at, when not (0, 0).
    public var snapshot: SnapshotMarker?
    /// The application's metadata, `nil` when absent.
    public var metadata: [UInt8]?
    /// The last HardState recorded.
    public var hardState: HardState
    /// The replayed entries.
    public var entries: [Entry]
    /// The replay's error, as one line, or `nil` when it read to the end.
    public var error: String?

    /// A dump with the given contents.
    public init(
        snapshot: SnapshotMarker? = nil, metadata: [UInt8]? = nil, hardState: HardState = .empty,
        entries: [Entry] = [], error: String? = nil
    ) {
        self.snapshot = snapshot
        self.metadata = metadata
        self.hardState = hardState
        self.entries = entries
        self.error = error
    }

    /// The dump of a replay.
    public init(_ replay: WALReplay) {
        self.init(
            snapshot: replay.start.matches(.zero) ? nil : SnapshotMarker(index: replay.start.index, term: replay.start.term),
            metadata: replay.metadata, hardState: replay.hardState, entries: replay.entries,
            error: replay.error.map { Format.oneLine($0.description) })
    }

    /// The JSON text, one entry per line, ending with a newline.
    public var json: String {
        let sink = TextSink(capturing: ())
        writeJSON(to: sink)
        sink.flush()
        return sink.capturedText
    }

    /// Streams the JSON text into `sink`.
    func writeJSON(to sink: TextSink) {
        sink.write("{")
        if let snapshot {
            sink.write("\"snapshot\": {\"index\": \(snapshot.index), \"term\": \(snapshot.term)}, ")
        }
        sink.write("\"metadata\": \(JSONText.bytes(metadata)), ")
        sink.write("\"hardState\": {\"term\": \(hardState.term), \"vote\": \(hardState.vote), \"commit\": \(hardState.commit)}, ")
        sink.write("\"entries\": [")
        for (position, entry) in entries.enumerated() {
            sink.write(position == 0 ? "\n" : ",\n")
            sink.write("{\"index\": \(entry.index), \"term\": \(entry.term), \"type\": \(Self.typeJSON(entry.type)), ")
            sink.write("\"data\": \(JSONText.bytes(entry.data))}")
        }
        sink.write(entries.isEmpty ? "], " : "\n], ")
        sink.write("\"error\": \(JSONText.optionalString(error))}\n")
    }

    static func typeJSON(_ type: EntryType) -> String {
        switch type {
        case .normal, .confChange, .confChangeV2: "\"\(type)\""
        default: String(type.rawValue)
        }
    }
}
