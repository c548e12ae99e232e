import Foundation

/// A child process's report: one JSON line on its stdout, read back by the parent.
protocol JSONLine: Codable {}

extension JSONLine {
    /// The report as one JSON line.
    var json: String {
        (try? JSONEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The report a JSON line holds; `nil` for anything else.
    init?(json: String) {
        guard let report = try? JSONDecoder().decode(Self.self, from: Data(json.utf8)) else { return nil }
        self = report
    }
}
