import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting

/// Engines on simulated disks, so a crash drops what was not synced.
enum EngineFixtures {
    static let directory = "/data/engine"
    /// The group the conformance cases run on; its neighbours share the engine.
    static let group: UInt64 = 2
    static let neighbours: [UInt64] = [1, 3]

    /// Small files, so rotations happen inside the suites' workloads.
    static func options(_ fileSystem: FaultInjectingFileSystem, fileSize: Int64 = 8 * 1024) -> LogEngine.Options {
        LogEngine.Options(fileSystem: fileSystem, fileSize: fileSize)
    }

    /// A new engine on a new simulated disk.
    static func newEngine(fileSize: Int64 = 8 * 1024) throws -> LogEngine {
        try LogEngine(directory: directory, options: options(FaultInjectingFileSystem(), fileSize: fileSize))
    }

    /// The simulated disk an engine is on.
    static func fileSystem(of engine: LogEngine) throws -> FaultInjectingFileSystem {
        guard let fileSystem = engine.options.fileSystem as? FaultInjectingFileSystem else {
            throw StorageError(.invalidArgument, "the engine is not on a simulated disk")
        }
        return fileSystem
    }

    /// The neighbours' entries, written (durably) before each case.
    static func neighbourEntries(_ group: UInt64) -> [Entry] {
        (1...UInt64(20)).map { Entry(term: 1, index: $0, data: Array("neighbour \(group) entry \($0)".utf8)) }
    }

    /// A new engine whose neighbour groups hold entries; returns the case's group's log.
    static func newGroupLog() throws -> GroupLog {
        let engine = try newEngine()
        var batch = WriteBatch()
        for neighbour in neighbours {
            batch.save(hardState: HardState(term: 1, vote: neighbour, commit: 10), entries: neighbourEntries(neighbour), for: neighbour)
        }
        try engine.write(batch, sync: true)
        return engine.log(for: group)
    }

    /// Opens `engine`'s directory again on the same disk (the engine must be closed or
    /// abandoned by a crash), and checks the neighbours survived.
    static func reopenEngine(_ engine: LogEngine) throws -> LogEngine {
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        for neighbour in neighbours {
            let log = reopened.log(for: neighbour)
            let entries = try log.entries(in: 1..<21)
            guard entries == neighbourEntries(neighbour) else {
                throw StorageError(.invariantViolation, "neighbour group \(neighbour) lost its entries")
            }
        }
        return reopened
    }

    /// A clean restart: the suite closed the view; this closes the engine and opens it again.
    static func reopen(_ log: GroupLog) throws -> GroupLog {
        try log.engine.close()
        return try reopenEngine(log.engine).log(for: log.groupID)
    }

    /// A power failure: everything not synced is lost, the engine is opened again without
    /// being closed.
    static func crash(_ log: GroupLog) throws -> GroupLog {
        try fileSystem(of: log.engine).crash(.dropUnsynced)
        return try reopenEngine(log.engine).log(for: log.groupID)
    }
}
