import ArgumentParser
import EtcdStorage
import RaftStorage
import RaftFiles

/// `raftstore wal repair DIR [--discard-from-damage]`.
struct WALRepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Cut a torn write off the end of the WAL, or, when told to, the log from its first damage on.",
        discussion: """
            Without options, what a restart does with a torn tail: the last segment is copied whole to \
            <segment>.broken (fsynced), then truncated to the start of the torn record and fsynced. \
            Damage (a record written whole that no longer verifies, data after the failure, a \
            missing segment) is reported with exit code 1 and nothing is changed: acknowledged \
            records may lie after it. With --discard-from-damage the first damage is cut off \
            instead: what will be lost (entries, HardState, snapshot markers) is printed first, the \
            damaged segment is kept as <segment>.broken and later segments are renamed \
            <name>.broken. A copy an earlier repair left is never replaced: the new one is named \
            .broken.1, .broken.2, ... Fails with 'locked' while a writer has the WAL open.
            """
    )

    @Argument(help: "The WAL directory (etcd: <data-dir>/member/wal); given a data or member directory, the WAL inside it.")
    var directory: String

    @Flag(help: "Cut the log at its first damaged record, losing everything recorded after it.")
    var discardFromDamage = false

    func run() throws {
        let directory = try DataDirectories.wal(self.directory)
        let out = TextSink()
        // The whole WAL is read first, though a repair without the flag changes only the last
        // segment: damage anywhere, a missing segment included, is reported and nothing changed.
        let report = try storage { () throws(StorageError) in
            try WALCodecChoice.detect(in: directory).run(DamageReportTask(directory: directory))
        }
        if let report {
            guard discardFromDamage else { throw CLIError.data(WALProblem.describe(report.error, directory: directory)) }
            out.line("discarding from the damage on:")
            out.line(report.description)
            out.flush()
        }
        let outcome = try storage { () throws(StorageError) in
            try WALCodecChoice.detect(in: directory).run(RepairTask(directory: directory, discardingDamage: discardFromDamage))
        }
        switch outcome {
        case .nothingToRepair:
            out.line("nothing to repair: the WAL reads to its end")
        case .truncated(let path, let offset, let backup):
            out.line("repaired a torn tail: cut \(path) at offset \(offset); the whole segment was saved as \(backup)")
        case .discardedDamage(let report, let backup, let setAside):
            if report.setsSegmentAsideWhole {
                out.line("discarded: set aside \(report.path) whole as \(backup)")
            } else {
                out.line("discarded: cut \(report.path) at offset \(report.offset); the whole segment was saved as \(backup)")
            }
            for (later, renamed) in zip(report.laterSegments, setAside) { out.line("set aside: \(later) -> \(renamed)") }
        }
        out.flush()
    }

    private struct RepairTask: WALCodecTask {
        var directory: String
        var discardingDamage: Bool

        func run<Codec: RecordCodec>(codec: Codec) throws(StorageError) -> WALRepairOutcome {
            try WAL<Codec>.repair(
                at: directory, codec: codec, options: WALOptions(logger: LogCollector().logger), discardingDamage: discardingDamage)
        }
    }

    private struct DamageReportTask: WALCodecTask {
        var directory: String

        func run<Codec: RecordCodec>(codec: Codec) throws(StorageError) -> WALDamageReport? {
            try WAL<Codec>.damageReport(at: directory, codec: codec, options: WALOptions(logger: LogCollector().logger))
        }
    }
}
