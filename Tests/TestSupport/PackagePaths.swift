import Foundation

/// Where the package's sources and its built executables are, for tests that read the
/// repository's files or start one of the package's executables as a child process.
public enum PackagePaths {
    /// The package root, found from this file's path (Tests/TestSupport/PackagePaths.swift).
    public static var root: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// The path of the package's executable `name` built next to the running tests (`swift build
    /// --build-tests` builds both; so do `make test` and `make sanitize`): in the directory of the
    /// test process's executable (on Darwin, the one holding the `.xctest` bundle), else in
    /// `.build/debug`. The first of those that holds an executable `name`, or the first of all
    /// when none does, so an error names where it was looked for.
    public static func builtExecutable(_ name: String) -> String {
        var directories: [URL] = []
        #if os(Linux)
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        #endif
        directories.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent())
        directories.append(URL(fileURLWithPath: root).appendingPathComponent(".build/debug"))
        let candidates = directories.map { directory in
            var directory = directory
            // On Darwin the test bundle's executable sits inside <name>.xctest/Contents/MacOS.
            while directory.path.contains(".xctest") { directory.deleteLastPathComponent() }
            return directory.appendingPathComponent(name).path
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }
}
