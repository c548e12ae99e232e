import Foundation
import TestSupport
import Testing

/// The harness itself: it runs the real binaries and reports missing ones clearly.
@Suite("EtcdServer harness", .serialized)
struct EtcdServerTests {
    @Test("etcd 3.4: start, put, get, SIGKILL, restart on the same directory", .requires(Tools.etcd34))
    func lifecycle34() throws {
        try lifecycle(.v3_4)
    }

    @Test("etcd 3.5: start, put, get, SIGKILL, restart on the same directory", .requires(Tools.etcd35))
    func lifecycle35() throws {
        try lifecycle(.v3_5)
    }

    private func lifecycle(_ version: EtcdVersion) throws {
        let server = try EtcdServer(EtcdBinaries.locate(version))
        defer { server.shutdown() }
        try server.start()
        try server.put([(key: "a", value: "1"), (key: "b", value: "2")])
        #expect(try server.get("a") == "1")
        server.kill()
        #expect(!server.isRunning)
        try server.start()
        #expect(try server.get(prefix: "") == ["a": "1", "b": "2"])
        #expect(try server.get("missing") == nil)
        #expect(try !server.walSegments().isEmpty)
    }
}

@Suite("EtcdServer harness: missing binaries")
struct EtcdBinariesTests {
    @Test("a missing etcd fails with an error that says to run make test", arguments: EtcdVersion.allCases)
    func missingBinary(version: EtcdVersion) {
        let error = #expect(throws: EtcdHarnessError.self) {
            try EtcdBinaries.locate(version, etcd: "/nonexistent/etcd")
        }
        #expect(error?.description.contains("make test") == true)
        #expect(error?.description.contains("/nonexistent/etcd") == true)
    }

    @Test("a binary of the wrong release is refused", .requires(Tools.etcd34))
    func wrongVersion() throws {
        let v34 = try EtcdBinaries.locate(.v3_4)
        #expect(throws: EtcdHarnessError.self) { try EtcdBinaries.locate(.v3_5, etcd: v34.etcd) }
    }
}

/// The tool traits: what a plain `swift test` skips, and what a run that requires the tools is
/// told. They need no tool themselves.
@Suite("Tool traits")
struct ToolTraitTests {
    @Test("the skip comment names the tools and the command that provides them")
    func skipComment() {
        #expect(Tools.skipComment(for: [Tools.etcd35]) == "needs etcd 3.5.1 (etcd and etcdctl): run `make test` (or `make etcd35` and set ETCD35_BIN)")
        let both = Tools.skipComment(for: [Tools.lz4, Tools.etcd34])
        #expect(both.hasPrefix("needs the lz4 command and etcd 3.4 (etcd and etcdctl): run `make test` (or "), "\(both)")
    }

    @Test("a tool is either found, with a path, or missing, with where it was looked for")
    func availability() {
        for tool in [Tools.etcd34, Tools.etcd35, Tools.lz4, Tools.go] {
            #expect(tool.isAvailable == (tool.path != nil) && tool.isAvailable == (tool.whyMissing == nil), "\(tool)")
        }
        #expect(Tools.etcd(.v3_4).name == Tools.etcd34.name && Tools.etcd(.v3_5).name == Tools.etcd35.name)
    }

    @Test("where tools are required, a missing one is an error naming it; otherwise a skip")
    func missingTool() throws {
        let missing = Tool(name: "a tool no machine has", alternative: "nothing", locate: { throw EtcdHarnessError("never installed") })
        #expect(!missing.isAvailable && missing.whyMissing?.contains("never installed") == true)
        if Tools.required {
            let error = #expect(throws: MissingTool.self) { try Tools.checkInstalled([missing]) }
            #expect(error?.description.contains(missing.name) == true, "\(String(describing: error))")
        } else {
            #expect(try Tools.checkInstalled([missing]) == false)
        }
    }
}
