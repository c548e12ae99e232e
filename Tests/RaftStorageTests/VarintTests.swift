import RaftStorage
import Testing

/// Protobuf varints as every module of the package reads and writes them.
@Suite("Varints")
struct VarintTests {
    static let values: [UInt64] = [0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1F_FFFF, 0x20_0000, 1 << 35, UInt64(UInt32.max), .max - 1, .max]

    @Test func everyLengthReadsBackWhatWasWritten() {
        for value in Self.values {
            var bytes: [UInt8] = [0xAA]
            bytes.appendVarint(value)
            bytes.append(0x55)
            #expect(bytes.count == varintLength(value) + 2, "value \(value)")
            var offset = 1
            #expect(bytes.readVarint(at: &offset) == value, "value \(value)")
            #expect(offset == bytes.count - 1, "value \(value)")
            // Borrowed bytes and a slice that does not start at zero read the same.
            offset = 1
            #expect(bytes.withUnsafeBytes { raw in raw.readVarint(at: &offset) } == value, "value \(value)")
            offset = 1
            #expect(bytes[1...].readVarint(at: &offset) == value, "value \(value)")
        }
    }

    @Test func aVarintCutShortIsNil() {
        for value in Self.values where varintLength(value) > 1 {
            var bytes: [UInt8] = []
            bytes.appendVarint(value)
            for cut in 1..<bytes.count {
                var offset = 0
                #expect(Array(bytes[..<cut]).readVarint(at: &offset) == nil, "value \(value) cut at \(cut)")
            }
        }
        var offset = 0
        #expect([UInt8]().readVarint(at: &offset) == nil)
    }

    @Test func aVarintPastSixtyFourBitsIsNil() {
        var offset = 0
        #expect([UInt8](repeating: 0xFF, count: 10).readVarint(at: &offset) == nil)
        offset = 0
        #expect(([UInt8](repeating: 0x80, count: 10) + [0x00]).readVarint(at: &offset) == nil)
    }
}
