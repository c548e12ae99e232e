import Foundation
import RaftStorage
import Testing

/// The outcome of running a program.
struct ProgramResult {
    var status: Int32
    var output: String
    var error: String
}

/// Runs `executable` (a path, or a name looked up in PATH) with `arguments` and waits for it.
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> ProgramResult {
    let process = Process()
    if executable.contains("/") {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
    }
    if let environment { process.environment = environment }
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Read before waiting, so a full pipe cannot block the child.
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProgramResult(
        status: process.terminationStatus,
        output: String(decoding: outputData, as: UTF8.self),
        error: String(decoding: errorData, as: UTF8.self))
}

/// Deterministic, compressible bytes: words from a small vocabulary with counters mixed in,
/// roughly what a JSON or key-value state looks like to LZ4.
func compressibleBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    let words = ["alpha", "beta", "raft", "leader", "term", "index", "commit", "snapshot", "{\"key\":", "\"value\":", ",", "}\n"]
    var generator = Xorshift(seed: seed)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count + 32)
    while bytes.count < count {
        let next = generator.next()
        bytes.append(contentsOf: words[Int(next % UInt64(words.count))].utf8)
        if next & 0x30 == 0 { bytes.append(contentsOf: String(next >> 40, radix: 16).utf8) }
    }
    return Array(bytes.prefix(count))
}

/// Deterministic incompressible bytes.
func randomBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var generator = Xorshift(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    var index = 0
    while index < count {
        var word = generator.next()
        for _ in 0..<8 where index < count {
            bytes[index] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            index += 1
        }
    }
    return bytes
}

/// xorshift64, for reproducible test data.
struct Xorshift: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

/// Runs `body`, expecting a ``StorageError`` with `code`; returns it.
@discardableResult
func expectStorageError<R>(
    _ code: StorageError.Code,
    _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> R
) -> StorageError? {
    do {
        let result = try body()
        Issue.record("\(what): expected \(code), got \(result)", sourceLocation: sourceLocation)
        return nil
    } catch let error as StorageError {
        #expect(error.code == code, "\(what): expected \(code), got \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("\(what): expected a StorageError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
