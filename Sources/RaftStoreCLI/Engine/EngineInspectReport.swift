import MultiRaftLog
import RaftStorage

/// What `raftstore inspect` prints for a multi-group log directory: its files, its groups as
/// opening would rebuild them, what opening would change, and the problems found.
enum EngineInspectReport {
    /// Prints the summary of `inspection` and throws its problem, if any (exit code 1).
    static func run(_ inspection: EngineInspection) throws(CLIError) {
        let out = TextSink()
        out.line("multi-group log directory \(inspection.directory)")
        out.line()
        writeFiles(inspection, to: out)
        out.line()
        writeGroups(inspection, to: out)
        out.line()
        let changes = inspection.recoveryActions.map { "cut a torn tail: \($0.path ?? "") from offset \($0.offset ?? 0) (\(Format.count($0.bytesRemoved ?? 0, "byte")))" }
            + inspection.housekeeping.map(\.description)
        if inspection.damage != nil {
            out.line("opening     refuses the directory (below)")
        } else if changes.isEmpty {
            out.line("opening     changes nothing")
        } else {
            out.line("opening     " + changes.joined(separator: "\n            "))
        }
        out.line()
        if let problem = inspection.problem {
            out.line("problems: 1")
            out.line("  - \(problem)")
        } else {
            out.line("problems: none")
        }
        out.flush()
        if let problem = inspection.problem { throw CLIError.data(problem) }
    }

    private static func writeFiles(_ inspection: EngineInspection, to out: TextSink) {
        let total = inspection.files.reduce(Int64(0)) { $0 + $1.size }
        out.line("files       \(Format.count(inspection.files.count, "log file")), \(Format.bytes(total))"
            + (inspection.hasLockFile ? "; LOCK" : "; no LOCK file (no engine has opened it)"))
        for file in inspection.files {
            let name = file.path.split(separator: "/").last.map(String.init) ?? file.path
            out.line("            \(name)  \(Format.pad(Format.count(file.size), 14)) bytes")
        }
    }

    private static func writeGroups(_ inspection: EngineInspection, to out: TextSink) {
        guard inspection.damage == nil else {
            out.line("groups      not rebuilt: opening stops at the damage below")
            return
        }
        let entries = inspection.groups.reduce(UInt64(0)) { $0 + $1.entryCount }
        let indexBytes = inspection.groups.reduce(0) { $0 + $1.indexBytes }
        out.line("groups      \(Format.count(inspection.groups.count, "group")), \(Format.count(entries, "entry", "entries")), index \(Format.bytes(indexBytes)) in memory")
        guard !inspection.groups.isEmpty else { return }
        out.line("  \(Format.pad("GROUP", 8))  \(Format.pad("FIRST", 9))  \(Format.pad("LAST", 9))  \(Format.pad("ENTRIES", 9))  "
            + "\(Format.pad("INDEX", 9))  \(Format.padRight("HARDSTATE", 20))  SNAPSHOT")
        for group in inspection.groups {
            let hardState = "\(group.hardState.term)/\(group.hardState.vote)/\(group.hardState.commit)"
            out.line("  \(Format.pad(String(group.id), 8))  \(Format.pad(String(group.firstIndex), 9))  \(Format.pad(String(group.lastIndex), 9))  "
                + "\(Format.pad(Format.count(group.entryCount), 9))  \(Format.pad(Format.bytes(group.indexBytes), 9))  "
                + "\(Format.padRight(hardState, 20))  \(marker(group.snapshotMarker))")
        }
        out.line("  (HARDSTATE: term/vote/commit; INDEX: the bytes an open engine keeps in memory for the group's entries)")
    }

    /// A snapshot marker as `index 5, term 2`, or `none` for (0, 0).
    static func marker(_ marker: SnapshotMarker) -> String {
        marker.matches(.zero) ? "none" : "index \(marker.index), term \(marker.term)"
    }
}
