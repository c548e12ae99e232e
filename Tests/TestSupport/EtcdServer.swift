// A real etcd server for tests: started on 127.0.0.1 with free ports and a temporary data
// directory, driven with etcdctl, killed like a crash, restarted on the same directory.
//
// Part of TestSupport, the helpers the test targets share (see TemporaryDirectory.swift).

public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A harness failure with a message meant for the test log.
public struct EtcdHarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Which etcd release a test runs.
public enum EtcdVersion: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Debian's etcd-server / etcd-client 3.4 at /usr/bin, else an etcd 3.4 on PATH (override:
    /// `ETCD34_BIN`).
    case v3_4 = "3.4"
    /// etcd 3.5.1 from `make etcd35`, passed by `make test` as `ETCD35_BIN`.
    case v3_5 = "3.5"

    public var description: String { "etcd \(rawValue)" }
}

/// The etcd and etcdctl executables of one release.
public struct EtcdBinaries: Sendable {
    public var version: EtcdVersion
    public var etcd: String
    public var etcdctl: String
    /// What `etcd --version` printed first, e.g. "etcd Version: 3.5.1".
    public var versionLine: String

    /// Finds the binaries, or throws an error that says how to install them.
    ///
    /// Never returns something unusable: the file must be executable and report the expected
    /// version, so a test cannot silently run against the wrong etcd.
    public static func locate(_ version: EtcdVersion) throws -> EtcdBinaries {
        let environment = ProcessInfo.processInfo.environment
        switch version {
        case .v3_4:
            if let etcd = environment["ETCD34_BIN"] { return try locate(version, etcd: etcd) }
            // /usr/bin first (Debian's packages), then any etcd on PATH that reports 3.4.
            let onPath = (environment["PATH"] ?? "").split(separator: ":").map { String($0) + "/etcd" }
            var firstError: (any Error)?
            for etcd in ["/usr/bin/etcd"] + onPath.filter({ $0 != "/usr/bin/etcd" }) {
                do {
                    return try locate(version, etcd: etcd)
                } catch {
                    firstError = firstError ?? error
                }
            }
            throw firstError ?? EtcdHarnessError("\(version) is not installed")
        case .v3_5:
            return try locate(version, etcd: environment["ETCD35_BIN"] ?? PackagePaths.root + "/.build-etcd/etcd-3.5.1/etcd")
        }
    }

    /// Checks the binaries at `etcd` (etcdctl next to it) for `version`.
    public static func locate(_ version: EtcdVersion, etcd: String) throws -> EtcdBinaries {
        let hint = switch version {
        case .v3_4: "run `make test`, which installs Debian's etcd-server and etcd-client, or put etcd 3.4 on PATH, or set ETCD34_BIN"
        case .v3_5: "run `make test` (it downloads etcd 3.5.1 through `make etcd35` and passes ETCD35_BIN), or set ETCD35_BIN"
        }
        let etcdctl = (etcd as NSString).deletingLastPathComponent + "/etcdctl"
        for binary in [etcd, etcdctl] where !FileManager.default.isExecutableFile(atPath: binary) {
            throw EtcdHarnessError("\(version) is not installed: \(binary) is missing or not executable; \(hint)")
        }
        let output = try runTool(etcd, ["--version"], environment: [:], timeout: 20)
        let firstLine = output.stdout.split(separator: "\n").first.map(String.init) ?? ""
        guard output.status == 0, firstLine.contains("Version: \(version.rawValue).") else {
            throw EtcdHarnessError(
                "\(etcd) is not \(version): `--version` printed \(output.stdout + output.stderr); \(hint)")
        }
        // The exact release a run used goes into the test log: the 3.4 line comes from the
        // distribution's package, whose patch release differs between distributions.
        print("[etcd] \(version.rawValue) tests run \(etcd): \(firstLine)")
        return EtcdBinaries(version: version, etcd: etcd, etcdctl: etcdctl, versionLine: firstLine)
    }
}

/// One single-member etcd cluster on 127.0.0.1.
///
/// The server owns a temporary directory holding the data directory and etcd's log. ``shutdown()``
/// (also run on deinit) kills the process and removes the directory; call it in a `defer` so a
/// failing test leaves nothing behind.
public final class EtcdServer {
    public let binaries: EtcdBinaries
    /// The temporary directory this server owns.
    public let root: String
    /// etcd's `--data-dir`.
    public var dataDirectory: String { root + "/data" }
    public var walDirectory: String { dataDirectory + "/member/wal" }
    public var snapDirectory: String { dataDirectory + "/member/snap" }
    /// `--snapshot-count`: etcd writes a `.snap` file after this many applied entries.
    public let snapshotCount: Int
    private(set) var clientURL = ""
    private(set) var peerURL = ""
    private let logPath: String
    private var process: Process?
    private var logHandle: FileHandle?

    /// Prepares a server in a fresh temporary directory; ``start(timeout:)`` runs it.
    public init(_ binaries: EtcdBinaries, snapshotCount: Int = 25) throws {
        self.binaries = binaries
        self.snapshotCount = snapshotCount
        root = FileManager.default.temporaryDirectory.path + "/etcd-\(binaries.version.rawValue)-" + UUID().uuidString
        logPath = root + "/etcd.log"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw EtcdHarnessError("cannot create \(logPath)")
        }
    }

    deinit { shutdown() }

    public var isRunning: Bool { process?.isRunning ?? false }

    /// Starts etcd on the data directory (new or existing) and waits until it reports healthy.
    ///
    /// The first start picks two free ports; a restart reuses them, so the member's stored peer
    /// URL stays valid.
    /// - Throws: `EtcdHarnessError` with the tail of etcd's log when it exits or does not become
    ///   healthy within `timeout` seconds.
    public func start(timeout: Double = 30) throws {
        guard process == nil else { throw EtcdHarnessError("\(binaries.version) is already running") }
        if clientURL.isEmpty {
            let ports = try freePorts(2)
            clientURL = "http://127.0.0.1:\(ports[0])"
            peerURL = "http://127.0.0.1:\(ports[1])"
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        log.write("---- start \(Date()) ----\n".data(using: .utf8)!)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaries.etcd)
        process.arguments = [
            "--name", "default",
            "--data-dir", dataDirectory,
            "--listen-client-urls", clientURL,
            "--advertise-client-urls", clientURL,
            "--listen-peer-urls", peerURL,
            "--initial-advertise-peer-urls", peerURL,
            "--initial-cluster", "default=\(peerURL)",
            "--snapshot-count", String(snapshotCount),
            "--logger", "zap",
            "--log-outputs", "stderr",
        ]
        process.environment = toolEnvironment
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw EtcdHarnessError("cannot launch \(binaries.etcd): \(error)")
        }
        self.process = process
        logHandle = log

        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if !process.isRunning {
                let status = process.terminationStatus
                self.process = nil
                throw EtcdHarnessError(
                    "\(binaries.version) exited with status \(status) while starting on \(dataDirectory); log tail:\n\(logTail())")
            }
            if let health = try? etcdctl([
                "endpoint", "health", "--dial-timeout", "500ms", "--command-timeout", "1s",
            ], timeout: 5), health.status == 0 {
                return
            }
            if Date() > deadline {
                kill()
                throw EtcdHarnessError(
                    "\(binaries.version) did not become healthy within \(timeout) s on \(clientURL); log tail:\n\(logTail())")
            }
            usleep(100_000)
        }
    }

    /// Sends SIGKILL and waits for the process to end: a crash, nothing flushed by etcd.
    public func kill() {
        guard let process else { return }
        if process.isRunning {
            _ = sendSignal(SIGKILL, to: process.processIdentifier)
        }
        process.waitUntilExit()
        self.process = nil
        try? logHandle?.close()
        logHandle = nil
    }

    /// Sends SIGTERM and waits for a clean exit (at most `timeout` seconds, then SIGKILL).
    public func stop(timeout: Double = 20) {
        guard let process else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        kill()
    }

    /// Kills the process (if running) and removes the temporary directory. Idempotent.
    public func shutdown() {
        kill()
        try? FileManager.default.removeItem(atPath: root)
    }

    // MARK: - Client operations

    /// Puts every pair with `etcdctl put`, `concurrency` processes at a time; each returns only
    /// after etcd acknowledged it (committed and applied).
    public func put(_ pairs: [(key: String, value: String)], concurrency: Int = 4) throws {
        var start = 0
        while start < pairs.count {
            let chunk = pairs[start..<min(start + concurrency, pairs.count)]
            let running = try chunk.map { pair in
                try launchTool(binaries.etcdctl, ["--endpoints", clientURL, "put", pair.key, pair.value],
                               environment: toolEnvironment)
            }
            for (pair, tool) in zip(chunk, running) {
                let result = tool.finish()
                guard result.status == 0, result.stdout.hasPrefix("OK") else {
                    throw EtcdHarnessError(
                        "etcdctl put \(pair.key) failed (status \(result.status)): \(result.stdout)\(result.stderr)")
                }
            }
            start += concurrency
        }
    }

    /// Puts one key.
    public func put(_ key: String, _ value: String) throws {
        try put([(key: key, value: value)])
    }

    /// Every key with `prefix` and its value, read with one `etcdctl get --prefix -w json`.
    public func get(prefix: String) throws -> [String: String] {
        let result = try etcdctl(["get", "--prefix", prefix, "-w", "json"], timeout: 30)
        guard result.status == 0 else {
            throw EtcdHarnessError("etcdctl get --prefix \(prefix) failed (status \(result.status)): \(result.stderr)")
        }
        struct Response: Decodable {
            struct KeyValue: Decodable { var key: String; var value: String? }
            var kvs: [KeyValue]?
        }
        let response = try JSONDecoder().decode(Response.self, from: Data(result.stdout.utf8))
        var values: [String: String] = [:]
        for kv in response.kvs ?? [] {
            guard let key = Data(base64Encoded: kv.key).flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw EtcdHarnessError("etcdctl returned a key that is not base64 UTF-8: \(kv.key)")
            }
            let value = kv.value.flatMap { Data(base64Encoded: $0) }.flatMap { String(data: $0, encoding: .utf8) }
            values[key] = value ?? ""
        }
        return values
    }

    /// The value of one key, or nil when etcd does not have it.
    public func get(_ key: String) throws -> String? {
        try get(prefix: key)[key]
    }

    /// Runs etcdctl against this server.
    public func etcdctl(_ arguments: [String], timeout: Double = 30) throws -> ToolResult {
        try runTool(binaries.etcdctl, ["--endpoints", clientURL] + arguments, environment: toolEnvironment,
                    timeout: timeout)
    }

    // MARK: - On-disk state

    /// The `.snap` files in `member/snap`, as (term, index) parsed from their names, oldest first.
    public func snapFiles() throws -> [(term: UInt64, index: UInt64)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: snapDirectory)) ?? []
        return names.compactMap { name -> (term: UInt64, index: UInt64)? in
            guard name.hasSuffix(".snap") else { return nil }
            let parts = name.dropLast(5).split(separator: "-")
            guard parts.count == 2, let term = UInt64(parts[0], radix: 16), let index = UInt64(parts[1], radix: 16)
            else { return nil }
            return (term, index)
        }.sorted { ($0.index, $0.term) < ($1.index, $1.term) }
    }

    /// The `.wal` segment names in `member/wal`, sorted.
    public func walSegments() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: walDirectory).filter { $0.hasSuffix(".wal") }.sorted()
    }

    /// The last `lines` lines of etcd's log (all starts of this server).
    public func logTail(lines: Int = 40) -> String {
        guard let data = FileManager.default.contents(atPath: logPath), let text = String(data: data, encoding: .utf8)
        else { return "(no log at \(logPath))" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    private var toolEnvironment: [String: String] {
        ["PATH": "/usr/bin:/bin", "HOME": root, "ETCDCTL_API": "3"]
    }
}

// MARK: - Processes and ports

/// What a finished tool printed.
public struct ToolResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// A launched tool whose output is collected when it ends.
public struct RunningTool {
    public let process: Process
    public let stdout: Pipe
    public let stderr: Pipe

    /// Waits for the tool and returns what it printed.
    public func finish() -> ToolResult {
        // Read before waiting, so a chatty tool cannot block on a full pipe.
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ToolResult(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                          stderr: String(decoding: err, as: UTF8.self))
    }
}

public func launchTool(_ path: String, _ arguments: [String], environment: [String: String]) throws -> RunningTool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = environment
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = FileHandle.nullDevice
    do {
        try process.run()
    } catch {
        throw EtcdHarnessError("cannot launch \(path): \(error)")
    }
    return RunningTool(process: process, stdout: stdout, stderr: stderr)
}

/// Runs a tool to completion; a tool still running after `timeout` seconds is killed and reported.
public func runTool(_ path: String, _ arguments: [String], environment: [String: String], timeout: Double) throws
    -> ToolResult
{
    let tool = try launchTool(path, arguments, environment: environment)
    let pid = tool.process.processIdentifier
    let watchdog = DispatchWorkItem { _ = sendSignal(SIGKILL, to: pid) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    let result = tool.finish()
    watchdog.cancel()
    if tool.process.terminationReason == .uncaughtSignal, result.status == SIGKILL {
        throw EtcdHarnessError("\(path) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
    }
    return result
}

/// `count` distinct free TCP ports on 127.0.0.1, found by binding port 0 (all held open until
/// every one is chosen, so they differ).
public func freePorts(_ count: Int) throws -> [Int] {
    var sockets: [Int32] = []
    defer { for fd in sockets { close(fd) } }
    var ports: [Int] = []
    for _ in 0..<count {
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw EtcdHarnessError("socket() failed: errno \(errno)") }
        sockets.append(fd)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw EtcdHarnessError("cannot bind a free port on 127.0.0.1: errno \(errno)") }
        ports.append(Int(UInt16(bigEndian: address.sin_port)))
    }
    return ports
}

/// The C library's kill(2), named apart because `EtcdServer.kill()` shadows `kill` in the class.
private func sendSignal(_ signal: Int32, to pid: pid_t) -> Int32 {
    kill(pid, signal)
}
