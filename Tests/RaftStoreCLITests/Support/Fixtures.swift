import Foundation

/// Paths to test data and scratch directories.
enum Fixtures {
    /// The package root, from this file's path (Tests/RaftStoreCLITests/Support/Fixtures.swift).
    static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }

    /// The WALs written by etcd 3.4's own Go code, with what etcd's ReadAll returned
    /// (`Tests/EtcdStorageTests/Fixtures/go-written`, see the README there).
    static var goWritten: String { packageRoot + "/Tests/EtcdStorageTests/Fixtures/go-written" }

    static func goWAL(_ name: String) -> String { goWritten + "/" + name + "/wal" }

    /// The fixture names from index.json.
    static let goFixtureNames: [String] = {
        struct Index: Decodable { var fixtures: [String] }
        let url = URL(fileURLWithPath: goWritten + "/index.json")
        return (try? JSONDecoder().decode(Index.self, from: Data(contentsOf: url)).fixtures) ?? []
    }()
}

/// A fresh temporary directory, removed by ``remove()``.
struct Scratch {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/raftstore-cli-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `path/name`.
    func file(_ name: String) -> String { path + "/" + name }

    /// Copies the directory `source` to `path/name` and returns the copy's path.
    func copy(_ source: String, as name: String) throws -> String {
        let destination = file(name)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
        return destination
    }

    func write(_ text: String, to name: String) throws -> String {
        let destination = file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: destination))
        return destination
    }
}
