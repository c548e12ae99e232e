import RaftFiles
import CCRC32C
import EtcdStorage
import Foundation

/// CRC32C throughput over `recordSize`-byte records, as the WAL checksums them: one call per
/// record, each continuing the previous result (the running CRC of a segment).
enum CRCBenchmark {
    struct Round {
        /// GB/s (10^9 bytes) of wall-clock time.
        var wall: Double
        /// GB/s of this thread's CPU time: what the code does per second it runs, whatever
        /// else the (shared) machine runs meanwhile.
        var cpu: Double
    }

    /// With `instructionsOnly`, the CRC instructions' three streams without the AVX-512 folds
    /// (the path of x86-64 CPUs without AVX-512).
    static func run(recordSize: Int, totalBytes: Int, rounds: Int, instructionsOnly: Bool = false) -> [Round] {
        let buffer = (0..<totalBytes).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        var results: [Round] = []
        var crc: UInt32 = 0
        buffer.withUnsafeBytes { raw in
            for _ in 0..<rounds {
                let cpuStart = threadCPUSeconds()
                let start = ContinuousClock.now
                var offset = 0
                while offset + recordSize <= raw.count {
                    let record = raw.baseAddress! + offset
                    crc = instructionsOnly ? ccrc32c_update_crc_instructions(crc, record, recordSize) : CRC32C.update(crc, UnsafeRawBufferPointer(start: record, count: recordSize))
                    offset += recordSize
                }
                let seconds = (ContinuousClock.now - start).seconds
                let cpu = threadCPUSeconds() - cpuStart
                results.append(Round(wall: Double(offset) / seconds / 1e9, cpu: Double(offset) / cpu / 1e9))
            }
        }
        // Keep the result alive so the loop is not optimised away.
        if crc == 0x1234_5678 { print("") }
        return results
    }

    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
