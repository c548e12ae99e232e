import Dispatch
import RaftFiles
import RaftStorage
import Synchronization

/// Checks the record checksums of sealed log files on another core while opening replays the
/// files before them, so recovery uses both cores.
///
/// The replay asks for each file as it reaches it (``takeOver(_:)``): a file found intact is
/// replayed without checking checksums again; any other file (not reached yet, or with a bad
/// record) is replayed with every check, so what opening finds and reports is exactly what a
/// replay alone finds. Files the replay has reached are skipped here, so the two never both
/// read a file.
final class ChecksumPrecheck: Sendable {
    /// One file's state. The background thread moves it from pending to checking, then to
    /// intact or not intact; the replay moves a pending file to taken (then nobody checks it
    /// ahead of the replay).
    private final class Verdict: Sendable {
        static let pending: UInt8 = 0, checking: UInt8 = 1, taken: UInt8 = 2, intact: UInt8 = 3, notIntact: UInt8 = 4
        let state = Atomic<UInt8>(Verdict.pending)
        /// Signalled when a check the background started is finished.
        let checked = DispatchSemaphore(value: 0)
    }

    private let verdicts: [UInt64: Verdict]
    private let stopped = Atomic<Bool>(false)

    /// Starts checking `files` (sealed, in the replay's order) on a background thread.
    init(files: [UInt64], directory: String, fileSystem: any FileSystem) {
        verdicts = Dictionary(uniqueKeysWithValues: files.map { ($0, Verdict()) })
        guard !files.isEmpty else { return }
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            for number in files {
                guard !stopped.load(ordering: .relaxed), let verdict = verdicts[number] else { return }
                // When the replay got here first, it checks the file itself.
                guard verdict.state.compareExchange(expected: Verdict.pending, desired: Verdict.checking, ordering: .acquiringAndReleasing).exchanged else { continue }
                let intact = Self.checksumsMatch(fileSystem.join(directory, LogFileFormat.fileName(number)), fileSystem: fileSystem)
                verdict.state.store(intact ? Verdict.intact : Verdict.notIntact, ordering: .releasing)
                verdict.checked.signal()
            }
        }
    }

    /// The replay reaches file `number`: whether every record's checksum in it was found to
    /// match. A file not started yet is the replay's to check (`false` at once); one being
    /// checked is waited for, since the replay would only do the same work.
    func takeOver(_ number: UInt64) -> Bool {
        guard let verdict = verdicts[number] else { return false }
        let (exchanged, original) = verdict.state.compareExchange(expected: Verdict.pending, desired: Verdict.taken, ordering: .acquiringAndReleasing)
        if exchanged { return false }
        if original == Verdict.checking { verdict.checked.wait() }
        return verdict.state.load(ordering: .acquiring) == Verdict.intact
    }

    /// Stops checking files not started yet (the replay is done or failed).
    func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Whether every record of the file at `path` has a matching checksum up to where its
    /// records end; any problem, even one opening would report, is `false`.
    private static func checksumsMatch(_ path: String, fileSystem: any FileSystem) -> Bool {
        do throws(StorageError) {
            let file = try fileSystem.open(path, .read, permissions: 0)
            defer { try? file.close() }
            var scanner = RecordScanner(file: file, path: path, size: try file.size())
            var offset = Int64(LogFileFormat.headerSize)
            while true {
                switch try scanner.record(at: offset) {
                case .record(_, let next): offset = next
                case .end: return true
                case .bad: return false
                }
            }
        } catch {
            return false
        }
    }
}
