import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process with its stdout read line by line under deadlines, killable at any moment.
public final class ChildProcess {
    private let process = Process()
    private let output = Pipe()
    private let input = Pipe()
    private let errors = Pipe()
    private var buffer: [UInt8] = []
    private var ended = false

    /// Starts `executable` with `arguments`.
    public init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardInput = input
        process.standardError = errors
        try process.run()
    }

    /// The built `CrashWorker` next to the test bundle (override: `RAFTSTORE_CRASH_WORKER`).
    public static var crashWorker: String {
        ProcessInfo.processInfo.environment["RAFTSTORE_CRASH_WORKER"] ?? PackagePaths.builtExecutable("CrashWorker")
    }

    /// The next line, or `nil` at the end of the output or when `deadline` passes first.
    public func readLine(until deadline: ContinuousClock.Instant) -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            guard !ended, fill(until: deadline) else { return nil }
        }
    }

    /// Every complete line already written, without waiting.
    public func readAvailableLines() -> [String] {
        var lines: [String] = []
        while let line = readLine(until: .now) { lines.append(line) }
        return lines
    }

    /// Reads more output; false when the deadline passed or the output ended.
    private func fill(until deadline: ContinuousClock.Instant) -> Bool {
        let fd = output.fileHandleForReading.fileDescriptor
        let remaining = deadline - .now
        let milliseconds = max(0, Int32(min(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000, 60_000)))
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count <= 0 {
            ended = true
            return false
        }
        buffer += chunk[..<count]
        return true
    }

    /// Lets the child run and kills it with SIGKILL at a random moment: one time in five within
    /// 30 ms of starting (while it creates, opens or repairs), otherwise within 60 ms of its
    /// first line (its "open" line: while it writes), however slow the machine. Returns every
    /// line it wrote.
    public func runUntilKilled(random: inout some RandomNumberGenerator) -> [String] {
        var lines: [String] = []
        if Int.random(in: 0..<5, using: &random) > 0, let open = readLine(until: .now + .seconds(60)) {
            lines.append(open)
        }
        let deadline = ContinuousClock.now + .milliseconds(Int.random(in: 0..<(lines.isEmpty ? 30 : 60), using: &random))
        while let line = readLine(until: deadline) { lines.append(line) }
        return lines + kill()
    }

    /// SIGKILL, then waits for the process to go; returns every line it wrote before dying.
    public func kill() -> [String] {
        _ = Glibc_kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        var lines: [String] = []
        while let line = readLine(until: .now + .seconds(5)) { lines.append(line) }
        return lines
    }

    /// Closes the child's stdin.
    public func closeInput() {
        try? input.fileHandleForWriting.close()
    }

    /// Waits for the process to exit and returns its status and stderr.
    public func wait() -> (status: Int32, stderr: String) {
        process.waitUntilExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, text)
    }

    deinit {
        if process.isRunning {
            _ = Glibc_kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

#if canImport(Glibc)
private func Glibc_kill(_ pid: pid_t, _ signal: Int32) -> Int32 { Glibc.kill(pid, signal) }
#else
private func Glibc_kill(_ pid: pid_t, _ signal: Int32) -> Int32 { Darwin.kill(pid, signal) }
#endif
