import Foundation
import TestSupport
import Testing

/// Runs the built `raftstore` executable, as a user would: the exit code and both outputs.
struct RaftStoreTool {
    struct Result: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String

        var stderrLines: [Substring] { stderr.split(separator: "\n") }

        var description: String { "exit \(status), stdout \(stdout.prefix(2000).debugDescription), stderr \(stderr.debugDescription)" }
    }

    /// The executable next to the test bundle (`swift build --build-tests` builds both).
    static let path = PackagePaths.builtExecutable("raftstore")

    /// Runs `raftstore arguments...`, feeding `input` on standard input.
    static func run(_ arguments: [String], input: Data? = nil, timeout: Double = 120) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ToolMissing(description: "\(path) is missing: build with `swift build --build-tests` (make test does)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            // Write from another thread so a large input cannot dead-lock against full output pipes.
            let writer = stdin.fileHandleForWriting
            Thread.detachNewThread {
                writer.write(input)
                try? writer.close()
            }
        }
        let watchdog = DispatchWorkItem { process.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        // Both pipes drain concurrently, so neither can fill up and block the tool.
        let group = DispatchGroup()
        nonisolated(unsafe) var errorData = Data()
        group.enter()
        DispatchQueue.global().async {
            errorData = stderr.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        watchdog.cancel()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
            stderr: String(decoding: errorData, as: UTF8.self))
    }

    struct ToolMissing: Error, CustomStringConvertible {
        var description: String
    }
}

/// Checks the rules every failing run must follow: the expected exit code, exactly one line
/// on standard error starting with `raftstore:`, and no trace of a crash.
func expectFailure(
    _ result: RaftStoreTool.Result, status: Int32, mentioning fragments: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.status == status, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stderrLines.count == 1, "one error line expected: \(result)", sourceLocation: sourceLocation)
    #expect(result.stderr.hasPrefix("raftstore: "), "\(result)", sourceLocation: sourceLocation)
    for crashSign in ["Fatal error", "Stack dump", "backtrace", "Illegal instruction", "Segmentation"] {
        #expect(!result.stderr.contains(crashSign), "\(result)", sourceLocation: sourceLocation)
    }
    for fragment in fragments {
        #expect(result.stderr.contains(fragment), "error should mention \(fragment): \(result)", sourceLocation: sourceLocation)
    }
}
