import RaftStorage
import RaftFiles

/// Where `raftstore bench --groups` keeps its data: the engine's log files in the data
/// directory, or each group's WAL in `group-<n>` under it.
enum GroupBenchFiles {
    static func walDirectory(_ directory: String, group: Int) -> String {
        Paths.fileSystem.join(directory, "group-\(group)")
    }

    /// The files `cat` reads and their sizes: the engine's `.rlog` files, or every WAL's
    /// segments.
    static func list(_ directory: String, separateWALs: Bool) throws(StorageError) -> (count: Int, bytes: Int64, paths: [String]) {
        let fileSystem = Paths.fileSystem
        var directories = [directory]
        if separateWALs {
            directories = try fileSystem.contentsOfDirectory(directory).sorted().filter { $0.hasPrefix("group-") }.map { fileSystem.join(directory, $0) }
        }
        var paths: [String] = []
        var bytes: Int64 = 0
        for folder in directories {
            for name in try fileSystem.contentsOfDirectory(folder).sorted() where name.hasSuffix(separateWALs ? ".wal" : ".rlog") {
                let path = fileSystem.join(folder, name)
                paths.append(path)
                bytes += try fileSystem.info(path)?.size ?? 0
            }
        }
        return (paths.count, bytes, paths)
    }
}
