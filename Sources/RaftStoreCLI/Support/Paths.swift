import RaftStorage
import RaftFiles

/// Checks on the paths a command is given; a missing path is a usage error (exit code 2).
enum Paths {
    static let fileSystem = PosixFileSystem()

    /// `path` must be an existing directory.
    static func requireDirectory(_ path: String, _ role: String = "directory") throws(CLIError) {
        let info: FileInfo?
        do {
            info = try fileSystem.info(path)
        } catch {
            throw CLIError(error)
        }
        guard let info else { throw .usage("no such \(role): \(path)") }
        guard info.isDirectory else { throw .usage("not a directory: \(path)") }
    }

    /// `path` must be an existing regular file.
    static func requireFile(_ path: String) throws(CLIError) {
        let info: FileInfo?
        do {
            info = try fileSystem.info(path)
        } catch {
            throw CLIError(error)
        }
        guard let info else { throw .usage("no such file: \(path)") }
        guard !info.isDirectory else { throw .usage("is a directory, not a file: \(path)") }
    }

    /// Whether something exists at `path`.
    static func exists(_ path: String) -> Bool {
        (try? fileSystem.info(path)) != nil
    }

    static func join(_ directory: String, _ name: String) -> String {
        fileSystem.join(directory, name)
    }
}
