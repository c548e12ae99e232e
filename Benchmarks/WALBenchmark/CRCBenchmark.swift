import EtcdWAL
import Foundation

/// CRC32C throughput over `recordSize`-byte records, as the WAL checksums them: one call per
/// record, each continuing the previous result (the running CRC of a segment).
enum CRCBenchmark {
    /// GB/s (10^9 bytes) of each round.
    static func run(recordSize: Int, totalBytes: Int, rounds: Int) -> [Double] {
        let buffer = (0..<totalBytes).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        var results: [Double] = []
        var crc: UInt32 = 0
        buffer.withUnsafeBytes { raw in
            for _ in 0..<rounds {
                let start = ContinuousClock.now
                var offset = 0
                while offset + recordSize <= raw.count {
                    crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + recordSize)]))
                    offset += recordSize
                }
                let seconds = (ContinuousClock.now - start).seconds
                results.append(Double(offset) / seconds / 1e9)
            }
        }
        // Keep the result alive so the loop is not optimised away.
        if crc == 0x1234_5678 { print("") }
        return results
    }
}
