#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fresh temporary directories for `demo` and `bench`, and removing them afterwards.
enum TemporaryDirectory {
    /// Creates `<parent>/<prefix>XXXXXX` (mkdtemp); `parent` defaults to `$TMPDIR` or /tmp.
    static func create(prefix: String, in parent: String? = nil) throws(CLIError) -> String {
        let base = parent ?? (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
        var template = Array((base + "/" + prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else {
            let code = errno
            let message = "cannot create a directory in \(base): errno \(code)"
            // A parent that is not there is something not found (2); any other failure, 1.
            throw code == ENOENT || code == ENOTDIR ? CLIError.notFound(message) : CLIError.data(message)
        }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes `path` and everything below it; errors are ignored (best effort clean-up).
    static func remove(_ path: String) {
        guard let directory = opendir(path) else {
            unlink(path)
            return
        }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            var info = stat()
            if lstat(child, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
                remove(child)
            } else {
                unlink(child)
            }
        }
        closedir(directory)
        rmdir(path)
    }
}
