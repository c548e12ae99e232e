import Logging
import Synchronization

/// Keeps the warnings a backend logs (ignored files, repairs) so a command can report them as
/// findings instead of letting them interleave with its output.
final class LogCollector: Sendable {
    private let lines = Mutex<[String]>([])

    /// A logger that records into this collector.
    var logger: Logger {
        Logger(label: "raftstore.cli") { _ in Handler(collector: self) }
    }

    /// What was logged, one line each: the message and its metadata. A line logged again
    /// (the same file noticed by each of several passes over a directory) is kept once.
    var messages: [String] {
        let all = lines.withLock { $0 }
        var seen = Set<String>()
        return all.filter { seen.insert($0).inserted }
    }

    fileprivate func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    private struct Handler: LogHandler {
        let collector: LogCollector
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            if let extra = event.metadata { merged.merge(extra) { $1 } }
            let details = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            collector.append(Format.oneLine("\(event.message)" + (details.isEmpty ? "" : " (\(details))")))
        }
    }
}
