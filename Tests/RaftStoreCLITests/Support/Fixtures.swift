import Foundation
import TestSupport

/// Paths to test data.
enum Fixtures {
    /// The WALs written by etcd 3.4's own Go code, with what etcd's ReadAll returned
    /// (`Tests/EtcdStorageTests/Fixtures/go-written`, see the README there).
    static var goWritten: String { PackagePaths.root + "/Tests/EtcdStorageTests/Fixtures/go-written" }

    static func goWAL(_ name: String) -> String { goWritten + "/" + name + "/wal" }

    /// The fixture names from index.json.
    static let goFixtureNames: [String] = {
        struct Index: Decodable { var fixtures: [String] }
        let url = URL(fileURLWithPath: goWritten + "/index.json")
        return (try? JSONDecoder().decode(Index.self, from: Data(contentsOf: url)).fixtures) ?? []
    }()
}
