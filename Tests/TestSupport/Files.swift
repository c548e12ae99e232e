import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file operation of the test helpers failed.
public struct TestFileError: Error, CustomStringConvertible {
    /// What failed, with the path and the errno.
    public var description: String

    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// The whole contents of the file at `path`.
public func readBytes(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Replaces the contents of the file at `path` with `bytes`, creating it (mode 0600) when it
/// does not exist. The file is written in place (the same inode, as a disk that damages a file
/// would change it) and not synced: tests that write thousands of damaged files stay fast, and
/// what they write is read back by the same machine.
public func writeBytes(_ bytes: [UInt8], to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { throw TestFileError("cannot open \(path) for writing: errno \(errno)") }
    defer { _ = close(fd) }
    try bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw TestFileError("cannot write \(path): errno \(errno)")
            }
            offset += written
        }
    }
}
