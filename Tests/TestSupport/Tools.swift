// The outside programs some tests need (etcd 3.4 and 3.5 with their etcdctl, the lz4 command,
// Go), found once per test process, and the Swift Testing trait a test that needs one carries:
//
//     @Test(.requires(Tools.etcd35)) func etcdReadsOurWAL() throws { ... }
//
// A plain `swift test` on a machine without the tool skips such a test, with a comment naming
// the tool and the command that provides it. `make test` and CI set RAFTSTORE_REQUIRE_TOOLS=1:
// there a missing tool fails the test instead, saying what is missing, so a run that was meant
// to be complete cannot pass by skipping.

import Foundation
public import Testing

/// An outside program some tests need.
public struct Tool: Sendable, CustomStringConvertible {
    /// What the tool is, as messages name it, e.g. "etcd 3.5.1 (etcd and etcdctl)".
    public let name: String
    /// The command that provides the tool and runs the tests that need it, e.g. "`make test`".
    public let command: String
    /// Another way to get it, e.g. "`make etcd35` and set ETCD35_BIN".
    public let alternative: String
    /// Where it was found, or why it was not.
    private let found: Result<String, MissingTool>

    /// A tool named `name`, provided by `command` or `alternative`, looked up now with `locate`,
    /// which returns its path or throws why it is missing.
    public init(name: String, command: String = "`make test`", alternative: String, locate: () throws -> String) {
        self.name = name
        self.command = command
        self.alternative = alternative
        do {
            found = .success(try locate())
        } catch {
            found = .failure(MissingTool(description: "\(name) is missing: \(error)"))
        }
    }

    /// Whether the tool was found (and, for etcd, reports the expected release).
    public var isAvailable: Bool {
        if case .success = found { true } else { false }
    }

    /// Where the tool was found; `nil` when it is missing.
    public var path: String? { try? found.get() }

    /// Why the tool is missing: where it was looked for; `nil` when it was found.
    public var whyMissing: String? {
        if case .failure(let missing) = found { missing.description } else { nil }
    }

    /// The tool's name.
    public var description: String { name }
}

/// A test needs tools that are missing, in a run that requires them (`RAFTSTORE_REQUIRE_TOOLS=1`).
public struct MissingTool: Error, CustomStringConvertible {
    /// What is missing, where it was looked for, and how to get it.
    public let description: String
}

/// The tools the tests use, each looked up the first time it is used.
public enum Tools {
    /// The environment variable that turns a missing tool from a skip into a failure; `make test`
    /// and CI set it to `1`.
    public static let requireVariable = "RAFTSTORE_REQUIRE_TOOLS"

    /// Whether missing tools fail the tests that need them (`RAFTSTORE_REQUIRE_TOOLS=1`) rather
    /// than skip them.
    public static var required: Bool { ProcessInfo.processInfo.environment[requireVariable] == "1" }

    /// etcd 3.4 and its etcdctl: `ETCD34_BIN` when set, else /usr/bin/etcd (Debian's etcd-server
    /// and etcd-client), else an `etcd` on PATH that reports 3.4, etcdctl next to it.
    public static let etcd34 = Tool(
        name: "etcd 3.4 (etcd and etcdctl)",
        alternative: "`apt-get install etcd-server etcd-client`, or put etcd 3.4 on PATH, or set ETCD34_BIN",
        locate: { try EtcdBinaries.locate(.v3_4).etcd })

    /// etcd 3.5.1 and its etcdctl: `ETCD35_BIN` when set, else where `make etcd35` puts it
    /// (`.build-etcd/etcd-3.5.1/etcd`), etcdctl next to it.
    public static let etcd35 = Tool(
        name: "etcd 3.5.1 (etcd and etcdctl)",
        alternative: "`make etcd35` and set ETCD35_BIN",
        locate: { try EtcdBinaries.locate(.v3_5).etcd })

    /// The `lz4` command-line tool on PATH (Debian package `lz4`).
    public static let lz4 = Tool(
        name: "the lz4 command", alternative: "`apt-get install lz4`", locate: { try executableOnPath("lz4") })

    /// The Go toolchain's `go` on PATH (Debian package `golang-go`), which regenerates the
    /// etcd-written fixtures.
    public static let go = Tool(
        name: "the Go toolchain", command: "`make deps-go`", alternative: "`apt-get install golang-go`",
        locate: { try executableOnPath("go") })

    /// The etcd release `version`.
    public static func etcd(_ version: EtcdVersion) -> Tool {
        switch version {
        case .v3_4: etcd34
        case .v3_5: etcd35
        }
    }

    /// The comment a test that needs `tools` is skipped with: the tools, and the command that
    /// provides them, e.g. "needs etcd 3.5.1 (etcd and etcdctl): run `make test` (or `make etcd35`
    /// and set ETCD35_BIN)".
    public static func skipComment(for tools: [Tool]) -> String {
        "needs \(listing(tools)): \(howToGet(tools))"
    }

    /// "A", "A and B", "A, B and C".
    static func listing(_ tools: [Tool]) -> String {
        let names = tools.map(\.name)
        guard let last = names.last, names.count > 1 else { return names.joined() }
        return names.dropLast().joined(separator: ", ") + " and " + last
    }

    /// "run `make test` (or ...)": the commands that provide `tools`, and the other ways.
    static func howToGet(_ tools: [Tool]) -> String {
        let commands = tools.reduce(into: [String]()) { commands, tool in
            if !commands.contains(tool.command) { commands.append(tool.command) }
        }
        return "run \(commands.joined(separator: " and ")) (or \(tools.map(\.alternative).joined(separator: "; ")))"
    }

    /// Whether every one of `tools` is installed: `true` when they are, `false` when one is
    /// missing, unless missing tools are ``required``; then it throws ``MissingTool``, naming
    /// every missing one and how to get it.
    public static func checkInstalled(_ tools: [Tool]) throws -> Bool {
        let missing = tools.filter { !$0.isAvailable }
        if missing.isEmpty { return true }
        guard required else { return false }
        let reasons = missing.map { $0.whyMissing ?? "\($0.name) is missing" }
        throw MissingTool(
            description: "\(requireVariable)=1 and this test needs \(listing(missing)), which is not installed: "
                + "\(reasons.joined(separator: "; ")). To get it, \(howToGet(missing)).")
    }

    /// The path of the executable `name` in a directory of PATH.
    static func executableOnPath(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = String(directory) + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ToolLookupError(description: "no executable `\(name)` in any directory of PATH (\(path))")
    }
}

/// Why a tool was not found.
struct ToolLookupError: Error, CustomStringConvertible {
    var description: String
}

extension Trait where Self == ConditionTrait {
    /// Runs the test (or every test of the suite) only where `tools` are installed.
    ///
    /// Without them, a plain `swift test` skips it with a comment naming the tools and the command
    /// that provides them; with `RAFTSTORE_REQUIRE_TOOLS=1` (`make test`, CI) the test fails
    /// instead, with an issue saying what is missing.
    public static func requires(_ tools: Tool..., sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        .enabled(Comment(rawValue: Tools.skipComment(for: tools)), sourceLocation: sourceLocation) {
            try Tools.checkInstalled(tools)
        }
    }
}
