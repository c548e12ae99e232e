import EtcdStorage
import MultiRaftLog
import RaftStorage

/// The read half of `raftstore bench --groups`, in a child process: opens the engine (or every
/// group's WAL) and reads every entry back (`openForRead`), or stops at the first read
/// (`logStoreReopen`: what a restart waits for before it can serve reads), checking each group
/// holds what was written.
enum GroupBenchReplay {
    static func run(directory: String, groups: Int, separateWALs: Bool, mode: BenchReadMode, expectedEntries: Int) throws(CLIError) -> BenchReplay.Report {
        if separateWALs { OpenFileLimit.raise(to: groups * 2 + 256) }
        let readsAll = mode != .logStoreReopen
        return try storage { () throws(StorageError) in
            let stopwatch = Stopwatch()
            var logs: [any LogStore] = []
            var engine: LogEngine?
            defer {
                for log in logs { try? log.close() }
                try? engine?.close()
            }
            let used = min(groups, expectedEntries)
            if separateWALs {
                let options = WALLogStore<ProtobufRecordCodec>.Options(wal: WALOptions(logger: LogCollector().logger))
                for group in 1...used {
                    logs.append(try WALLogStore.open(at: GroupBenchFiles.walDirectory(directory, group: group), options: options))
                }
            } else {
                let opened = try LogEngine(directory: directory)
                engine = opened
                logs = (1...used).map { opened.log(for: UInt64($0)) }
            }
            var entries = 0
            var lastIndex: UInt64 = 0
            for (position, log) in logs.enumerated() {
                let expected = UInt64(GroupBenchWorkload.count(of: position + 1, groups: groups, entries: expectedEntries))
                let last = try log.lastIndex()
                guard last == expected else {
                    throw StorageError(.corrupt, "group \(position + 1) ends at \(last), \(expected) were written", path: directory)
                }
                guard readsAll else {
                    // The reopen stops at the first read that returns.
                    guard try log.entries(in: 1..<2).first?.index == 1 else {
                        throw StorageError(.corrupt, "group \(position + 1) has no first entry", path: directory)
                    }
                    return BenchReplay.Report(readSeconds: stopwatch.seconds, entries: expectedEntries, lastIndex: last)
                }
                let read = try log.entries(in: 1..<(last + 1))
                guard read.count == Int(last), read.last?.index == last else {
                    throw StorageError(.corrupt, "group \(position + 1) read back \(read.count) entries, \(last) were written", path: directory)
                }
                entries += read.count
                lastIndex = max(lastIndex, last)
            }
            let seconds = stopwatch.seconds
            guard entries == expectedEntries else {
                throw StorageError(.corrupt, "read back \(entries) entries, \(expectedEntries) were written", path: directory)
            }
            return BenchReplay.Report(readSeconds: seconds, entries: entries, lastIndex: lastIndex)
        }
    }
}
