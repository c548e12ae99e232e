import ArgumentParser
import MultiRaftLog
import RaftStorage

/// `raftstore engine verify DIR`.
struct EngineVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every record of every log file and every group's entries.",
        discussion: """
            Reads every log file as opening the engine would (headers, record checksums, the \
            structure of every batch, every group rebuilt), without changing anything, then reads \
            every entry of every group back and checks its own checksum. Exit code 0 when \
            everything is sound; 1 with the file and offset of the first damage, or for a torn \
            tail (a write a crash cut short, never acknowledged), which opening the engine cuts \
            off; nothing before it is lost.
            """
    )

    @Argument(help: "The multi-group log directory (it holds <16 hex digits>.rlog files and LOCK).")
    var directory: String

    func run() throws {
        let inspection = try EngineDirectory.inspect(directory)
        if let damage = inspection.damage { throw CLIError(damage) }
        var entries: UInt64 = 0
        var bytes = 0
        for group in inspection.groups {
            try EngineEntries.forEachPage(of: group, in: inspection) { page in
                entries += UInt64(page.count)
                bytes += page.reduce(0) { $0 + ($1.data?.count ?? 0) }
            }
        }
        let out = TextSink()
        let size = inspection.files.reduce(Int64(0)) { $0 + $1.size }
        out.line("multi-group log \(directory): \(Format.count(inspection.files.count, "log file")) (\(Format.bytes(size))), "
            + "\(Format.count(inspection.groups.count, "group"))")
        out.line("read back \(Format.count(entries, "entry", "entries")) (\(Format.bytes(bytes)) of data), every checksum ok")
        for change in inspection.housekeeping { out.line("note: opening \(change)") }
        out.flush()
        if let problem = inspection.problem { throw CLIError.data(problem) }
        out.line("ok")
        out.flush()
    }
}
