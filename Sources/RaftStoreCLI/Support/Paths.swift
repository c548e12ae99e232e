import RaftStorage
import RaftFiles

/// Checks on the paths a command is given; a missing path, or one of the wrong kind, exits
/// with code 2.
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
        guard let info else { throw .notFound("no such \(role): \(path)") }
        guard info.isDirectory else { throw .notFound("not a directory: \(path) (expected a \(role))") }
    }

    /// `path` must be an existing regular file.
    static func requireFile(_ path: String) throws(CLIError) {
        let info: FileInfo?
        do {
            info = try fileSystem.info(path)
        } catch {
            throw CLIError(error)
        }
        guard let info else { throw .notFound("no such file: \(path)") }
        guard !info.isDirectory else { throw .notFound("is a directory, not a file: \(path)") }
    }

    /// Whether something exists at `path`.
    static func exists(_ path: String) -> Bool {
        (try? fileSystem.info(path)) != nil
    }

    /// Whether a directory exists at `path`.
    static func isDirectory(_ path: String) -> Bool {
        (try? fileSystem.info(path))?.isDirectory == true
    }

    /// The directory holding `path` (`x/wal/` gives `x`; a bare name gives `.`).
    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.last == "/" { trimmed.removeLast() }
        return fileSystem.parentDirectory(of: String(trimmed))
    }

    static func join(_ directory: String, _ name: String) -> String {
        fileSystem.join(directory, name)
    }
}
