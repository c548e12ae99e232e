import ArgumentParser
import EtcdStorage
import RaftStorage

/// `raftstore inspect DIR`: an etcd member directory, or a multi-group log directory.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise an etcd member directory or a multi-group log directory: files, index ranges, HardStates, snapshots, problems.",
        discussion: """
            Reads <data-dir>/member/wal and <data-dir>/member/snap (or wal and snap directly inside \
            DATA_DIR) without changing anything, works out where etcd's restart would open the log \
            (the newest snapshot marker the commit covers that has a snapshot file), replays from \
            there, and lists every problem found. Exit code 1 when there is one. \
            Given a multi-group log directory (numbered <16 hex digits>.rlog files and LOCK), reads \
            it as opening the engine would, without the lock and without changing a byte, and \
            prints its files, every group (first and last index, HardState, snapshot marker, \
            entries, index memory), what opening would change, and the problems found: a torn \
            tail (which opening cuts off) or damage (which it refuses).
            """
    )

    @Argument(help: "etcd's --data-dir (or its member directory), or a multi-group log directory.")
    var dataDirectory: String

    func run() throws {
        if EngineDirectory.recognises(dataDirectory) {
            try EngineInspectReport.run(try EngineDirectory.inspect(dataDirectory))
            return
        }
        let member = try MemberDirectory.locate(dataDirectory)
        var report = InspectReport()
        let snapshots = SnapshotSection.read(member.snap, into: &report)
        WALSection.read(member.wal, snapshots: snapshots, into: &report)
        if let snapshots { SnapshotSection.verifyRestartSnapshot(snapshots, into: &report) }

        let out = TextSink()
        out.line("member directory \(member.path)")
        for section in report.sections {
            out.line()
            out.line(section.title)
            for (label, value) in section.rows {
                out.line("  \(Format.padRight(label, 11)) \(value)")
            }
        }
        out.line()
        for note in report.notes { out.line("note: \(note)") }
        if report.problems.isEmpty {
            out.line("problems: none")
        } else {
            out.line("problems: \(report.problems.count)")
            for problem in report.problems { out.line("  - \(problem)") }
        }
        out.flush()
        if let first = report.problems.first {
            throw CLIError.data(report.problems.count == 1 ? first : "\(first) (and \(Format.count(report.problems.count - 1, "more problem")), listed above)")
        }
    }
}

/// What `inspect` prints: titled sections of label/value rows, notes, and problems.
struct InspectReport {
    struct Section {
        var title: String
        var rows: [(String, String)] = []
    }

    var sections: [Section] = []
    var notes: [String] = []
    var problems: [String] = []
    /// Where a restart opens the WAL, once worked out.
    var restartMarker: SnapshotMarker?
}
