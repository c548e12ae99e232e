#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn`, its standard output on a pipe, so the parent
/// can read its lines, kill it, and learn its peak memory from `wait4` (Foundation's `Process`
/// offers neither the rusage nor a signal other than SIGTERM).
final class ChildProcess {
    let pid: pid_t
    private let output: Int32
    private var pending: [UInt8] = []
    private var ended = false

    /// How a child ended.
    struct Exit {
        /// The exit code, when it exited.
        var code: Int32?
        /// The signal that killed it, when one did.
        var signal: Int32?
        /// Peak resident set size in bytes (`ru_maxrss`).
        var peakRSSBytes: Int64
    }

    /// Starts `path` with `arguments` (without the program name); standard error is shared,
    /// standard input is /dev/null; standard output goes to /dev/null when `discardingOutput`.
    init(_ path: String, _ arguments: [String], discardingOutput: Bool = false) throws(CLIError) {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw .data("cannot create a pipe: errno \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        if discardingOutput {
            posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0)
        } else {
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], STDOUT_FILENO)
        }
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        posix_spawn_file_actions_addclose(&actions, pipeEnds[1])
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, path, &actions, nil, argv, environ)
        close(pipeEnds[1])
        guard status == 0 else {
            close(pipeEnds[0])
            throw .data("cannot start \(path): errno \(status)")
        }
        pid = child
        output = pipeEnds[0]
    }

    deinit { close(output) }

    /// The next line the child printed (without the newline), or `nil` at the end of its output.
    func readLine() -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            if ended {
                guard !pending.isEmpty else { return nil }
                defer { pending.removeAll() }
                return String(decoding: pending, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 14)
            let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                ended = true
            } else {
                pending += chunk[0..<count]
            }
        }
    }

    /// Everything the child prints from now on.
    func readToEnd() -> String {
        var lines: [String] = []
        while let line = readLine() { lines.append(line) }
        return lines.joined(separator: "\n")
    }

    /// Sends `signal` (SIGKILL: a crash, nothing flushed).
    func send(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits for the child to end.
    func wait() -> Exit {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        #if os(Linux)
        let peak = Int64(usage.ru_maxrss) * 1024  // KiB on Linux
        #else
        let peak = Int64(usage.ru_maxrss)  // bytes on Darwin
        #endif
        // The <sys/wait.h> macros are not imported into Swift.
        let signal = status & 0x7F
        if signal == 0 {
            return Exit(code: (status >> 8) & 0xFF, signal: nil, peakRSSBytes: peak)
        }
        return Exit(code: nil, signal: signal, peakRSSBytes: peak)
    }

    /// The path of the running executable, to start another copy of it.
    static var currentExecutable: String {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 { return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        #endif
        return CommandLine.arguments[0]
    }
}
