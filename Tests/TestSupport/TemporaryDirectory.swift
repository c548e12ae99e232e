// TestSupport: the helpers the test targets share - temporary directories, whole-file reads and
// writes, where the package and its built executables are, real etcd servers (EtcdServer.swift),
// and the outside tools some tests need with the trait that skips or fails them (Tools.swift).
// Self-contained on purpose: Foundation, the C library and Swift Testing only, nothing from this
// package, so every test target can depend on it whatever it tests.

import Foundation

/// A fresh, empty directory under the system's temporary directory, for one test.
///
/// Nothing removes it by itself: call ``remove()`` in a `defer`, or use
/// ``withTemporaryDirectory(_:_:)``, which does.
///
/// ```swift
/// let directory = TemporaryDirectory("wal")
/// defer { directory.remove() }
/// let log = try WALLogStore.open(at: directory.file("wal"))
/// ```
public struct TemporaryDirectory: Sendable {
    /// The directory's absolute path.
    public let path: String

    /// Creates `<temporary directory>/raftstore-<label>-<UUID>`; `label` says which tests made
    /// it, for whoever finds one left behind. Stops the test process when the directory cannot
    /// be created: no test can run without it.
    public init(_ label: String = "test") {
        path = FileManager.default.temporaryDirectory.path + "/raftstore-\(label)-" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            fatalError("cannot create the temporary directory \(path): \(error)")
        }
    }

    /// Deletes the directory and everything in it; a directory already gone is fine.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The path of `name` inside the directory (`name` may hold slashes).
    public func file(_ name: String) -> String { path + "/" + name }

    /// The names in the directory, sorted; empty when it cannot be read.
    public func names() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// Copies the file or directory `source` to `name` inside the directory; returns the copy's path.
    public func copy(_ source: String, as name: String) throws -> String {
        let destination = file(name)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
        return destination
    }

    /// Writes `text` as UTF-8 to the file `name` inside the directory; returns its path.
    public func write(_ text: String, to name: String) throws -> String {
        let destination = file(name)
        try writeBytes(Array(text.utf8), to: destination)
        return destination
    }
}

/// Runs `body` with a new ``TemporaryDirectory`` (see ``TemporaryDirectory/init(_:)`` for
/// `label`), and removes the directory when `body` returns or throws.
public func withTemporaryDirectory<Result>(_ label: String = "test", _ body: (TemporaryDirectory) throws -> Result) rethrows -> Result {
    let directory = TemporaryDirectory(label)
    defer { directory.remove() }
    return try body(directory)
}
