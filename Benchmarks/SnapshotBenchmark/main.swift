// Snapshot benchmark: LZ4SnapshotStore against `lz4 -b1` on the same 64 MiB
// JSON-like state, side by side in one run. Build and run in release:
//
//     swift run -c release SnapshotBenchmark [--size MiB] [--rounds N] [--dir DIR]
//
// or `make bench-snapshots`. Prints a Markdown table for Docs/Performance.md.
import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import RaftStorageTesting

struct Options {
    var size = 64 << 20
    var rounds = 5
    var iterations = 3
    var directory = FileManager.default.temporaryDirectory.path
    /// `save` or `load`: only repeat that (unsynced) for a profiler, and print nothing else.
    var profile: String?

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--size": size = Int(iterator.next() ?? "")! << 20
            case "--rounds": rounds = Int(iterator.next() ?? "")!
            case "--iterations": iterations = Int(iterator.next() ?? "")!
            case "--dir": directory = iterator.next()!
            case "--profile": profile = iterator.next()!
            default:
                print("usage: SnapshotBenchmark [--size MiB] [--rounds N] [--iterations N] [--dir DIR]")
                exit(2)
            }
        }
    }
}

/// Generated key/value records, one JSON object per line, like an application's state dump.
func jsonState(size: Int) -> [UInt8] {
    let words = ["alpha", "beta", "gamma", "delta", "raft", "leader", "follower", "term", "index", "commit",
                 "snapshot", "entry", "node", "cluster", "member", "region", "zone", "user", "order", "item",
                 "price", "status", "active", "pending"]
    var random = SplitMix(seed: 42)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(size + 256)
    var record = 0
    func word() -> String { words[Int(random.next() % UInt64(words.count))] }
    while bytes.count < size {
        let hex = String(random.next(), radix: 16)
        let line = """
            {"key":"/registry/\(word())/\(String(format: "%08d", record))","value":{"name":"\(word())-\(random.next() % 100_000)",\
            "status":"\(word())","count":\(random.next() % 1_000_000),"price":\(random.next() % 10_000).\(String(format: "%02d", random.next() % 100)),\
            "tags":["\(word())","\(word())"],"id":"\(String(repeating: "0", count: 16 - hex.count) + hex)"}}

            """
        bytes.append(contentsOf: line.utf8)
        record += 1
    }
    return Array(bytes.prefix(size))
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `lz4 -b1` on `path`: the fastest compression and decompression over its iterations, in MB/s
/// (10^6 bytes, as lz4 prints them), and its ratio.
func lz4Bench(_ path: String, iterations: Int) throws -> (compress: Double, decompress: Double, ratio: Double) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["lz4", "-b1", "-i\(iterations)", path]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    // The last progress line: "... :  67108864 ->  27012945 (2.484), 913.6 MB/s ,4620.3 MB/s"
    let last = output.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).last { $0.contains("MB/s ,") } ?? ""
    let numbers = last.split(whereSeparator: { " (),".contains($0) }).compactMap { Double($0) }
    guard numbers.count >= 5 else { throw BenchmarkError("cannot parse lz4 output: \(output.suffix(300))") }
    return (numbers[numbers.count - 2], numbers[numbers.count - 1], numbers[numbers.count - 3])
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func megabytesPerSecond(_ bytes: Int, _ seconds: Double) -> Double { Double(bytes) / seconds / 1e6 }

func machineDescription() -> String {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let memory = ProcessInfo.processInfo.physicalMemory >> 30
    let kernel = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    return "\(model), \(cores) cores, \(memory) GiB RAM, Linux \(kernel)"
}

let options = Options(CommandLine.arguments)
let state = jsonState(size: options.size)
let work = options.directory + "/snapshot-benchmark-\(getpid())"
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: work) }
let statePath = work + "/state.json"
try Data(state).write(to: URL(fileURLWithPath: statePath))

let store = try LZ4SnapshotStore(directory: work + "/snap", codec: ProtobufRecordCodec())
let unsynced = try LZ4SnapshotStore(directory: work + "/unsynced", codec: ProtobufRecordCodec(), fileSystem: SyncHookFileSystem.withoutSyncs())
let metadata = SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: 1_000_000, term: 5)
let snapshot = Snapshot(data: state, metadata: metadata)

if let profile = options.profile {
    try unsynced.save(metadata: metadata, dataCount: state.count) { writer throws(StorageError) in try writer.write(state) }
    var fastest = Double.infinity
    for _ in 0..<(options.rounds * 10) where options.rounds > 0 {
        fastest = min(fastest, try seconds {
            switch profile {
            case "save":
                try unsynced.save(metadata: metadata, dataCount: state.count) { writer throws(StorageError) in try writer.write(state) }
            case "whole-load":
                _ = try unsynced.loadNewest()
            default:
                _ = try unsynced.loadNewest(matching: nil) { _ throws(StorageError) in }
            }
        })
    }
    // For A/B runs on a busy machine: the fastest iteration, on stderr.
    FileHandle.standardError.write(Data(String(format: "%@: fastest %.0f MB/s\n", profile, megabytesPerSecond(state.count, fastest)).utf8))
    exit(0)
}

var best = (lz4Compress: 0.0, lz4Decompress: 0.0, lz4Ratio: 0.0, save: 0.0, load: 0.0, wholeSave: 0.0, wholeLoad: 0.0, unsyncedSave: 0.0)
var fileSize = 0
for round in 1...options.rounds {
    let lz4 = try lz4Bench(statePath, iterations: options.iterations)
    best.lz4Compress = max(best.lz4Compress, lz4.compress)
    best.lz4Decompress = max(best.lz4Decompress, lz4.decompress)
    best.lz4Ratio = lz4.ratio
    for _ in 0..<options.iterations {
        // Streaming save from the caller's 64 MiB buffer: compressed straight from it, durable
        // (fsynced, renamed, directory fsynced) on return.
        let save = try seconds {
            try store.save(metadata: metadata, dataCount: state.count) { writer throws(StorageError) in try writer.write(state) }
        }
        best.save = max(best.save, megabytesPerSecond(state.count, save))
        let unsyncedSave = try seconds {
            try unsynced.save(metadata: metadata, dataCount: state.count) { writer throws(StorageError) in try writer.write(state) }
        }
        best.unsyncedSave = max(best.unsyncedSave, megabytesPerSecond(state.count, unsyncedSave))
        var received = 0
        let load = try seconds {
            _ = try store.loadNewest(matching: nil) { event throws(StorageError) in
                if case .data(let bytes) = event { received += bytes.count }
            }
        }
        precondition(received == state.count)
        best.load = max(best.load, megabytesPerSecond(state.count, load))
        let wholeSave = try seconds { try store.save(snapshot) }
        best.wholeSave = max(best.wholeSave, megabytesPerSecond(state.count, wholeSave))
        var loaded: Snapshot?
        let wholeLoad = try seconds { loaded = try store.loadNewest() }
        precondition(loaded?.data?.count == state.count)
        best.wholeLoad = max(best.wholeLoad, megabytesPerSecond(state.count, wholeLoad))
    }
    fileSize = Int((try FileManager.default.attributesOfItem(atPath: store.filePath(of: metadata.marker))[.size] as? NSNumber)?.intValue ?? 0)
    FileHandle.standardError.write(Data("round \(round): lz4 \(lz4.compress)/\(lz4.decompress) MB/s, best so far save \(Int(best.save)) load \(Int(best.load))\n".utf8))
}

func row(_ name: String, _ value: Double, _ reference: Double) -> String {
    String(format: "| %@ | %.0f MB/s | %.0f%% |", name, value, value / reference * 100)
}
print("Machine: \(machineDescription())")
print("State: \(state.count >> 20) MiB of generated JSON key/value records; best of \(options.rounds) rounds x \(options.iterations) iterations, lz4 -b1 -i\(options.iterations) in each round")
print("")
print("| what | speed | of lz4 -b1 |")
print("| --- | --- | --- |")
print(String(format: "| `lz4 -b1` compression | %.0f MB/s | 100%% |", best.lz4Compress))
print(row("streaming save (`save(metadata:dataCount:writing:)`, durable)", best.save, best.lz4Compress))
print(row("whole save (`save(_:)`, durable)", best.wholeSave, best.lz4Compress))
print(row("streaming save without any fsync (diagnostic)", best.unsyncedSave, best.lz4Compress))
print(String(format: "| `lz4 -b1` decompression | %.0f MB/s | 100%% |", best.lz4Decompress))
print(row("streaming load (`loadNewest(matching:receiving:)`, all checksums)", best.load, best.lz4Decompress))
print(row("whole load (`loadNewest()`, into a new array)", best.wholeLoad, best.lz4Decompress))
print("")
print(String(format: "Compression ratio: %.3f (file %d bytes for %d bytes of state); lz4 -b1: %.3f", Double(state.count) / Double(fileSize), fileSize, state.count, best.lz4Ratio))
