import Foundation
import TestSupport
import Testing

/// The harness itself: it runs the real binaries and reports missing ones clearly.
@Suite("EtcdServer harness", .serialized)
struct EtcdServerTests {
    @Test("start, put, get, SIGKILL, restart on the same directory", arguments: EtcdVersion.allCases)
    func lifecycle(version: EtcdVersion) throws {
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

    @Test("a binary of the wrong release is refused")
    func wrongVersion() throws {
        let v34 = try EtcdBinaries.locate(.v3_4)
        #expect(throws: EtcdHarnessError.self) { try EtcdBinaries.locate(.v3_5, etcd: v34.etcd) }
    }
}
