import EtcdStorage
import RaftStorage

/// The replay half of the benchmark, run in a child process (`bench --replay DIR`) so its
/// peak memory is its own.
enum BenchReplay {
    /// What the child prints: one JSON line.
    struct Report {
        var readSeconds: Double
        var entries: Int
        var lastIndex: UInt64

        var json: String {
            "{\"read_s\":\(JSONText.number(readSeconds)),\"entries\":\(entries),\"last_index\":\(lastIndex)}"
        }

        init(readSeconds: Double, entries: Int, lastIndex: UInt64) {
            self.readSeconds = readSeconds
            self.entries = entries
            self.lastIndex = lastIndex
        }

        /// Parses the child's line (only the fields this program writes).
        init?(json: String) {
            let trimmed = json.filter { $0 != "{" && $0 != "}" && $0 != "\"" && !$0.isWhitespace }
            var fields: [Substring: Substring] = [:]
            for pair in trimmed.split(separator: ",") {
                let parts = pair.split(separator: ":", maxSplits: 1)
                if parts.count == 2 { fields[parts[0]] = parts[1] }
            }
            func field(_ name: String) -> Substring? { fields[Substring(name)] }
            guard let seconds = field("read_s").flatMap({ Double($0) }),
                  let entries = field("entries").flatMap({ Int($0) }),
                  let lastIndex = field("last_index").flatMap({ UInt64($0) }) else { return nil }
            self.init(readSeconds: seconds, entries: entries, lastIndex: lastIndex)
        }
    }

    static func run(directory: String, mode: BenchReadMode, expectedEntries: Int) throws(CLIError) -> Report {
        try storage { () throws(StorageError) in
            let codec = ProtobufRecordCodec()
            let options = WALOptions(logger: LogCollector().logger)
            let stopwatch = Stopwatch()
            let replay: WALReplay
            switch mode {
            case .logStoreReopen:
                let log = try WALLogStore.open(at: directory, options: .init(wal: options))
                let first = try log.firstIndex()
                let firstEntries = try log.entries(in: first..<(first + 1))
                let seconds = stopwatch.seconds
                let last = try log.lastIndex()
                try log.close()
                guard firstEntries.count == 1, last == UInt64(expectedEntries) else {
                    throw StorageError(.corrupt, "reopened a log ending at \(last), wanted \(expectedEntries)", path: directory)
                }
                return Report(readSeconds: seconds, entries: Int(last), lastIndex: last)
            case .openForRead:
                replay = try WAL.read(at: directory, from: .zero, codec: codec, options: options)
                if let error = replay.error { throw error }
            case .open:
                let opened = try WAL.open(at: directory, from: .zero, codec: codec, options: options)
                replay = opened.replay
                try opened.wal.close()
            }
            let seconds = stopwatch.seconds
            guard replay.entries.count == expectedEntries, replay.lastIndex == UInt64(expectedEntries) else {
                throw StorageError(.corrupt, "replayed \(Format.count(replay.entries.count, "entry", "entries")), wanted \(Format.count(expectedEntries))", path: directory)
            }
            return Report(readSeconds: seconds, entries: replay.entries.count, lastIndex: replay.lastIndex)
        }
    }
}
