import ArgumentParser
import MultiRaftLog
import RaftStorage

/// `raftstore engine dump --group G DIR [--json]`.
struct EngineDumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print one group of a multi-group log: its HardState, snapshot marker and entries.",
        discussion: """
            Rebuilds the group as opening the engine would, without changing anything, and reads \
            its entries back from the log files, checking each one. A table by default; --json \
            prints the shape 'raftstore wal dump --json' prints and 'raftstore wal import' reads \
            (its "snapshot" is where the group's log starts), so a group converts to an etcd WAL. \
            A torn tail is reported after the dump, with exit code 1; damage prints nothing.
            """
    )

    @Argument(help: "The multi-group log directory (it holds <16 hex digits>.rlog files and LOCK).")
    var directory: String

    @Option(help: "The group to print.")
    var group: UInt64

    @Flag(help: "Print JSON: {\"snapshot\", \"metadata\", \"hardState\", \"entries\", \"error\"}.")
    var json = false

    func run() throws {
        let inspection = try EngineDirectory.inspect(directory)
        if let damage = inspection.damage { throw CLIError(damage) }
        guard let summary = inspection.groups.first(where: { $0.id == group }) else {
            let known = inspection.groups.prefix(20).map { String($0.id) }.joined(separator: ", ")
            throw CLIError.notFound("group \(group) holds nothing in \(directory)"
                + (known.isEmpty ? " (no group does)" : " (groups: \(known)\(inspection.groups.count > 20 ? ", ..." : ""))"))
        }
        let entries = try EngineEntries.all(of: summary, in: inspection)
        let problem = inspection.problem
        let out = TextSink()
        if json {
            let boundary = summary.boundary.matches(.zero) ? nil : summary.boundary
            WALDump(snapshot: boundary, hardState: summary.hardState, entries: entries, error: problem).writeJSON(to: out)
        } else {
            out.line("group \(group) of \(directory): log after \(summary.boundary), \(Format.count(inspection.files.count, "log file"))")
            out.line("HardState: term \(summary.hardState.term), vote \(summary.hardState.vote), commit \(summary.hardState.commit)")
            out.line("snapshot:  \(EngineInspectReport.marker(summary.snapshotMarker))"
                + (summary.recordedMarkers.count > 1 ? " (markers recorded: \(summary.recordedMarkers.map(\.description).joined(separator: ", ")))" : ""))
            out.line()
            WALTable.writeEntries(entries, after: summary.boundary, to: out)
        }
        out.flush()
        if let problem { throw CLIError.data(problem) }
    }
}

/// Reading a group's entries back from an inspected engine.
enum EngineEntries {
    /// The most bytes one read returns: a group is read in pages this large.
    static let pageBytes: UInt64 = 4 << 20

    /// Every entry of `group`, read back and checked.
    static func all(of group: EngineInspection.Group, in inspection: EngineInspection) throws(CLIError) -> [Entry] {
        var entries: [Entry] = []
        try forEachPage(of: group, in: inspection) { entries += $0 }
        return entries
    }

    /// Calls `body` with every entry of `group` in order, a page at a time.
    static func forEachPage(
        of group: EngineInspection.Group, in inspection: EngineInspection, _ body: ([Entry]) -> Void
    ) throws(CLIError) {
        var next = group.firstIndex
        while next <= group.lastIndex {
            let page = try storage { () throws(StorageError) in
                try inspection.entries(of: group.id, in: next..<(group.lastIndex + 1), maxBytes: pageBytes)
            }
            guard let last = page.last else { break }
            body(page)
            next = last.index + 1
        }
    }
}
