import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real etcd server on 127.0.0.1 with its own data directory and free ports, for the
/// compatibility tests; `etcdctl` talks to it. Self-contained on purpose (the WAL tests have their
/// own, fuller harness).
final class EtcdProcess {
    let binary: String
    let dataDirectory: String
    let logPath: String
    let clientURL: String
    private let peerURL: String
    private let snapshotCount: Int
    private var process: Process?

    /// etcd 3.4 from Debian (`etcd-server`), which `make test` installs.
    static let debianBinary = "/usr/bin/etcd"
    /// etcd 3.5, when `make test` fetched it (`ETCD35_BIN`).
    static var etcd35Binary: String? {
        ProcessInfo.processInfo.environment["ETCD35_BIN"].flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
    }

    static var etcdctlAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/etcdctl") }

    /// Starts etcd and waits until it serves requests.
    init(binary: String, dataDirectory: String, logPath: String, snapshotCount: Int = 10) throws {
        self.binary = binary
        self.dataDirectory = dataDirectory
        self.logPath = logPath
        self.snapshotCount = snapshotCount
        clientURL = "http://127.0.0.1:\(try Self.freePort())"
        peerURL = "http://127.0.0.1:\(try Self.freePort())"
        try start()
    }

    deinit {
        stop()
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--name", "node1", "--data-dir", dataDirectory, "--snapshot-count", "\(snapshotCount)",
            "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
            "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
            "--initial-cluster", "node1=\(peerURL)",
        ]
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning { throw EtcdError("etcd exited at start: \(self.log.suffix(2000))") }
            if let result = try? etcdctl(["endpoint", "health"]), result.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        stop()
        throw EtcdError("etcd did not become healthy: \(self.log.suffix(2000))")
    }

    /// Stops etcd with SIGTERM (as an operator would) and waits for it.
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    var snapDirectory: String { dataDirectory + "/member/snap" }

    @discardableResult
    func etcdctl(_ arguments: [String]) throws -> ProgramResult {
        try run("/usr/bin/etcdctl", ["--endpoints", clientURL, "--command-timeout", "10s"] + arguments, environment: ["ETCDCTL_API": "3"])
    }

    func put(_ key: String, _ value: String) throws {
        let result = try etcdctl(["put", key, value])
        guard result.status == 0 else { throw EtcdError("etcdctl put failed: \(result.error)") }
    }

    func get(_ key: String) throws -> String? {
        let result = try etcdctl(["get", key, "--print-value-only"])
        guard result.status == 0 else { throw EtcdError("etcdctl get failed: \(result.error)") }
        let value = result.output.trimmingCharacters(in: .newlines)
        return value.isEmpty ? nil : value
    }

    /// A TCP port nothing listens on now (the kernel's pick for port 0).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EtcdError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw EtcdError("bind failed") }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { throw EtcdError("getsockname failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct EtcdError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
