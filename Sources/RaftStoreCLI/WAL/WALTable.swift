import EtcdStorage
import RaftStorage

/// The readable form of a replay: a header, then one line per entry.
enum WALTable {
    static func write(_ replay: WALReplay, codec: WALCodecChoice, directory: String, to out: TextSink) {
        out.line("WAL \(directory): \(Format.count(replay.segments.count, "segment")), \(codec) codec, read from snapshot \(replay.start)")
        out.line("metadata:  " + metadataSummary(replay.metadata))
        out.line("HardState: term \(replay.hardState.term), vote \(replay.hardState.vote), commit \(replay.hardState.commit)")
        out.line()
        writeEntries(replay.entries, after: replay.start, to: out)
    }

    /// The entry table: a header, one line per entry (index, term, type, data size and a
    /// preview), and a count; `start` is what the entries follow, for an empty table.
    static func writeEntries(_ entries: [Entry], after start: SnapshotMarker, to out: TextSink) {
        out.line("\(Format.pad("INDEX", 10))  \(Format.pad("TERM", 8))  \(Format.padRight("TYPE", 12))  \(Format.pad("SIZE", 9))  DATA")
        for entry in entries {
            let size = entry.data.map { String($0.count) } ?? "-"
            let data = entry.data.map { Format.preview($0) } ?? "(none)"
            out.line("\(Format.pad(String(entry.index), 10))  \(Format.pad(String(entry.term), 8))  "
                + "\(Format.padRight(entry.type.description, 12))  \(Format.pad(size, 9))  \(data)")
        }
        out.line()
        if let first = entries.first, let last = entries.last {
            out.line("\(Format.count(entries.count, "entry", "entries")), \(first.index) to \(last.index)")
        } else {
            out.line("no entries after \(start)")
        }
    }

    static func metadataSummary(_ metadata: [UInt8]?) -> String {
        guard let metadata else { return "(none)" }
        let hex = Format.hex(metadata.prefix(32)) + (metadata.count > 32 ? "..." : "")
        return Format.count(metadata.count, "byte") + (metadata.isEmpty ? "" : "  \(hex)")
    }
}
