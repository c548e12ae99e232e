import ArgumentParser
import EtcdStorage
import RaftStorage
import RaftFiles

/// `raftstore wal verify DIR`.
struct WALVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every record, the CRC chain and the replay rules of a WAL.",
        discussion: """
            Reads every segment (records, CRC32C chain, metadata), finds the snapshot markers a \
            restart may open at, and replays from the newest of them (where a restart with that \
            snapshot opens) as etcd's ReadAll does. Exit \
            code 0 when the WAL is sound, 1 with the first problem otherwise. A torn tail (a \
            write a crash cut short) is cut off by a restart or 'raftstore wal repair'; damage \
            (data written, then changed) is refused by a restart and only cut by 'raftstore wal \
            repair --discard-from-damage'.
            """
    )

    @Argument(help: "The WAL directory (etcd: <data-dir>/member/wal); given a data or member directory, the WAL inside it.")
    var directory: String

    func run() throws {
        let directory = try DataDirectories.wal(self.directory)
        let collector = LogCollector()
        let check: WALCheck
        do {
            check = try WALCheck.run(directory: directory, logger: collector.logger)
        } catch where error.isDamage {
            throw CLIError.data(WALProblem.describe(error, directory: directory))
        } catch {
            throw CLIError(error)
        }
        let out = TextSink()
        for message in collector.messages { out.line("note: \(message)") }
        let replay = check.replay
        out.line("WAL \(directory): \(Format.count(check.segments.count, "segment")), \(check.codec) codec")
        out.line("valid snapshot markers: \(check.validMarkers.map(\.description).joined(separator: ", "))")
        if let first = replay.entries.first, let last = replay.entries.last {
            out.line("entries \(first.index) to \(last.index) after \(replay.start); HardState term \(replay.hardState.term), vote \(replay.hardState.vote), commit \(replay.hardState.commit)")
        } else {
            out.line("no entries after \(replay.start); HardState term \(replay.hardState.term), vote \(replay.hardState.vote), commit \(replay.hardState.commit)")
        }
        if let error = replay.error {
            out.flush()
            if error.code == .unexpectedEnd || error.isDamage { throw CLIError.data(WALProblem.describe(error, directory: directory)) }
            throw CLIError(error)
        }
        out.line("ok")
        out.flush()
    }
}
