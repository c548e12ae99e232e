import RaftFiles
import CCRC32C
import EtcdStorage
import Testing

@Suite("CRC32C")
struct CRC32CTests {
    @Test("check value 0xE3069283 on every path", arguments: CRC32C.Implementation.allCases)
    func checkValue(_ implementation: CRC32C.Implementation) {
        #expect(CRC32C.update(0, Array("123456789".utf8), using: implementation) == 0xE306_9283)
    }

    @Test("the empty input leaves the value unchanged", arguments: CRC32C.Implementation.allCases)
    func empty(_ implementation: CRC32C.Implementation) {
        #expect(CRC32C.update(0, [], using: implementation) == 0)
        #expect(CRC32C.update(0x1234_5678, [], using: implementation) == 0x1234_5678)
    }

    @Test("this x86-64 or aarch64 machine has CRC instructions")
    func hardwarePresent() {
        #if arch(x86_64) || arch(arm64)
        // Every machine this project runs on has them; if this fails, the fast path is off.
        #expect(CRC32C.hardwareAvailable)
        #endif
    }

    /// The best path folds inputs of 384 bytes and more with AVX-512 when the CPU has it
    /// (`ccrc32c_vector_folding_available`), so the CRC-instruction streams that other CPUs use for
    /// them are checked on their own as well.
    @Test("hardware, CRC-instruction-only and portable paths agree on many lengths and alignments")
    func pathsAgree() {
        var generator = SeededBytes(seed: 42)
        let data = generator.bytes(3 * 8192 * 2 + 4096)
        // Every length up to 1,200 (single-stream records, three streams over the tail, the
        // carry-less shift for 5 to 8,192 bytes, one to four 256-byte vector folds and what they
        // leave), then around each block boundary.
        var lengths = Array(0...1200)
        lengths += [3071, 3072, 3073, 4095, 4096, 4097, 4200, 8191, 8192, 8193, 9000, 24575, 24576, 24577, 30000, 3 * 8192 * 2]
        data.withUnsafeBytes { raw in
            for length in lengths {
                for alignment in 0..<8 where alignment + length <= raw.count {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[alignment..<(alignment + length)])
                    let portable = CRC32C.update(0xDEAD_BEEF, slice, using: .portable)
                    #expect(CRC32C.update(0xDEAD_BEEF, slice, using: .best) == portable, "length \(length) alignment \(alignment)")
                    #expect(ccrc32c_update_crc_instructions(0xDEAD_BEEF, slice.baseAddress, length) == portable,
                            "CRC instructions only, length \(length) alignment \(alignment)")
                }
            }
        }
    }

    @Test("chaining equals one call over the concatenation (Go's crc32.Update)")
    func chaining() {
        var generator = SeededBytes(seed: 7)
        let data = generator.bytes(50_000)
        let whole = CRC32C.update(0, data)
        for split in [0, 1, 7, 8, 100, 4096, 24_577, 49_999, 50_000] {
            let first = CRC32C.update(0, Array(data[..<split]))
            #expect(CRC32C.update(first, Array(data[split...])) == whole)
            let portableFirst = CRC32C.update(0, Array(data[..<split]), using: .portable)
            #expect(CRC32C.update(portableFirst, Array(data[split...]), using: .portable) == whole)
        }
        // etcd's known value: "meta" then walpb.Snapshot{0,0} gives 0x1f5de272.
        #expect(CRC32C.update(CRC32C.update(0, Array("meta".utf8)), [0x08, 0x00, 0x10, 0x00]) == 0x1F5D_E272)
    }

    @Test("a record's CRC from zero, joined onto the running CRC, equals continuing it (the write path's two passes)")
    func wordsAndCombine() {
        var generator = SeededBytes(seed: 11)
        let data = generator.bytes(20_000)
        let header = generator.bytes(16)
        var low: UInt64 = 0
        var high: UInt64 = 0
        for (index, byte) in header.enumerated() {
            if index < 8 { low |= UInt64(byte) << (8 * UInt64(index)) } else { high |= UInt64(byte) << (8 * UInt64(index - 8)) }
        }
        // Around the single-stream limit (512), the carry-less shift's table (8,192) and past it.
        for wordLength in [0, 3, 8, 11, 16] {
            for length in [0, 1, 5, 100, 511, 512, 4096, 8176, 8177, 8192, 20_000] {
                let bytes = Array(data[..<length])
                let record = Array(header[..<wordLength]) + bytes
                let own = bytes.withUnsafeBytes { ccrc32c_words(low, high, wordLength, $0.baseAddress, length) }
                #expect(own == CRC32C.update(0, record), "words \(wordLength) length \(length)")
                let wrapped = bytes.withUnsafeBytes { CRC32C.checksum(words: low, high, count: wordLength, followedBy: $0) }
                #expect(wrapped == own, "words \(wordLength) length \(length)")
                let running: UInt32 = 0x1F5D_E272
                #expect(ccrc32c_combine(running, own, wordLength + length) == CRC32C.update(running, record),
                        "words \(wordLength) length \(length)")
            }
        }
    }
}
