public import RaftStorage
public import Testing

/// The conformance suite for ``RaftStorage/RecordCodec``s: random records and snapshots round-trip, the
/// checksum covers exactly the payload, and every single-bit flip and every truncation of an
/// encoded record either fails with a ``RaftStorage/StorageError`` or decodes to a well-formed record -
/// never a trap.
///
/// ```swift
/// @Test(arguments: RecordCodecConformance<ProtobufRecordCodec>.cases)
/// func conformance(_ testCase: RecordCodecConformance<ProtobufRecordCodec>.Case) throws {
///     try RecordCodecConformance(codec: ProtobufRecordCodec()).run(testCase)
/// }
/// ```
///
/// A snapshot marker's membership may be dropped by a codec that does not store it (etcd
/// 3.4's format); when a codec returns one, it must be the one encoded.
public struct RecordCodecConformance<Codec: RecordCodec>: Sendable {
    /// The codec under test.
    public let codec: Codec
    /// Seeds the random records, so a failure can be reproduced.
    public let seed: UInt64

    /// A suite for `codec`, with random records drawn from `seed`.
    public init(codec: Codec, seed: UInt64 = 0x5EED) {
        self.codec = codec
        self.seed = seed
    }

    /// One named case.
    public struct Case: Sendable, CustomTestStringConvertible, CustomStringConvertible {
        /// The case's name, shown in test results.
        public let name: String
        let body: @Sendable (RecordCodecConformance<Codec>, SourceLocation) throws -> Void

        public var testDescription: String { name }
        public var description: String { name }
    }

    /// Runs one case; issues are recorded at `sourceLocation`.
    public func run(_ testCase: Case, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try testCase.body(self, sourceLocation)
    }

    /// Runs every case in turn.
    public func run(sourceLocation: SourceLocation = #_sourceLocation) throws {
        for testCase in Self.cases { try run(testCase, sourceLocation: sourceLocation) }
    }

    /// Every case, in a stable order.
    public static var cases: [Case] {
        [
            Case(name: "random records round trip") { suite, location in
                var random = SeededGenerator(seed: suite.seed)
                for _ in 0..<2000 {
                    suite.checkRoundTrip(randomRecord(using: &random), location)
                }
            },
            Case(name: "edge values round trip") { suite, location in
                for record in edgeRecords() { suite.checkRoundTrip(record, location) }
            },
            Case(name: "random snapshots round trip") { suite, location in
                var random = SeededGenerator(seed: suite.seed ^ 0xABCD)
                for _ in 0..<300 {
                    suite.checkSnapshotRoundTrip(randomSnapshot(using: &random), location)
                }
                suite.checkSnapshotRoundTrip(Snapshot(), location)
                suite.checkSnapshotRoundTrip(Snapshot(data: [], metadata: SnapshotMetadata(index: 1, term: 1)), location)
                suite.checkSnapshotRoundTrip(
                    Snapshot(data: [UInt8](repeating: 0xA5, count: 3 << 20), metadata: SnapshotMetadata(index: .max, term: .max)), location)
            },
            Case(name: "every bit flip of a record decodes or fails cleanly") { suite, location in
                for record in sampleRecords() {
                    let encoded = suite.encode(record).bytes
                    for bit in 0..<(encoded.count * 8) {
                        var damaged = encoded
                        damaged[bit / 8] ^= 1 << (bit % 8)
                        suite.checkDecodesOrFails(damaged, "\(record) with bit \(bit) flipped", location)
                    }
                }
            },
            Case(name: "every truncation of a record decodes or fails cleanly") { suite, location in
                for record in sampleRecords() {
                    let encoded = suite.encode(record).bytes
                    for length in 0..<encoded.count {
                        suite.checkDecodesOrFails(Array(encoded[..<length]), "\(record) cut to \(length) bytes", location)
                    }
                }
            },
            Case(name: "damaged snapshots decode or fail cleanly") { suite, location in
                var encoded: [UInt8] = []
                suite.codec.encodeSnapshot(makeSnapshot(index: 9, term: 2), into: &encoded)
                for bit in 0..<(encoded.count * 8) {
                    var damaged = encoded
                    damaged[bit / 8] ^= 1 << (bit % 8)
                    suite.checkSnapshotDecodesOrFails(damaged, "snapshot with bit \(bit) flipped", location)
                }
                for length in 0..<encoded.count {
                    suite.checkSnapshotDecodesOrFails(Array(encoded[..<length]), "snapshot cut to \(length) bytes", location)
                }
            },
            Case(name: "random bytes decode or fail cleanly") { suite, location in
                var random = SeededGenerator(seed: suite.seed ^ 0x1234)
                for _ in 0..<3000 {
                    let bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                    suite.checkDecodesOrFails(bytes, "random bytes \(bytes)", location)
                    suite.checkSnapshotDecodesOrFails(bytes, "random bytes \(bytes)", location)
                }
            },
            Case(name: "a format name, when present, is not empty") { suite, location in
                if let name = suite.codec.formatName {
                    #expect(!name.isEmpty, "formatName is empty", sourceLocation: location)
                }
            },
        ]
    }
}

// MARK: - Checks

extension RecordCodecConformance {
    struct Encoded {
        var bytes: [UInt8]
        var payload: [UInt8]
        var checksum: UInt32
        var checksumCalls: Int
    }

    /// Encodes `record` with a checksum that is a function of the payload's content.
    func encode(_ record: LogRecord) -> Encoded {
        var bytes: [UInt8] = []
        var payload: [UInt8] = []
        var calls = 0
        var checksum: UInt32 = 0
        codec.encode(record, into: &bytes) { raw in
            calls += 1
            payload = Array(raw)
            checksum = fnv1a(raw)
            return checksum
        }
        if case .crc(let value) = record { checksum = value }
        return Encoded(bytes: bytes, payload: payload, checksum: checksum, checksumCalls: calls)
    }

    func checkRoundTrip(_ record: LogRecord, _ location: SourceLocation) {
        let encoded = encode(record)
        let isCRC: Bool
        if case .crc = record { isCRC = true } else { isCRC = false }
        #expect(encoded.checksumCalls == (isCRC ? 0 : 1), "\(record): checksum closure called \(encoded.checksumCalls) times", sourceLocation: location)
        do {
            let decoded = try codec.decode(encoded.bytes)
            #expect(sameRecord(decoded.record, record), "\(record): decoded as \(decoded.record)", sourceLocation: location)
            #expect(decoded.checksum == encoded.checksum, "\(record): checksum \(decoded.checksum), expected \(encoded.checksum)", sourceLocation: location)
            if decoded.payload.lowerBound >= 0 && decoded.payload.upperBound <= encoded.bytes.count {
                #expect(Array(encoded.bytes[decoded.payload]) == encoded.payload, "\(record): payload range \(decoded.payload) is not the checksummed bytes", sourceLocation: location)
            } else {
                Issue.record("\(record): payload range \(decoded.payload) outside \(encoded.bytes.count) bytes", sourceLocation: location)
            }
        } catch {
            Issue.record("\(record): decoding its own encoding failed: \(error)", sourceLocation: location)
        }
    }

    func checkSnapshotRoundTrip(_ snapshot: Snapshot, _ location: SourceLocation) {
        var bytes: [UInt8] = []
        codec.encodeSnapshot(snapshot, into: &bytes)
        do {
            let decoded = try codec.decodeSnapshot(bytes)
            #expect(decoded == snapshot, "snapshot \(snapshot.metadata) decoded as \(decoded.metadata)", sourceLocation: location)
        } catch {
            Issue.record("snapshot \(snapshot.metadata): decoding its own encoding failed: \(error)", sourceLocation: location)
        }
    }

    /// Decoding must throw a data error or give a record that is well formed: its payload range
    /// lies inside the input and encoding it again decodes to the same record.
    func checkDecodesOrFails(_ bytes: [UInt8], _ what: @autoclosure () -> String, _ location: SourceLocation) {
        do {
            let decoded = try codec.decode(bytes)
            let inside = decoded.payload.lowerBound >= 0 && decoded.payload.upperBound <= bytes.count
            #expect(inside, "\(what()): payload range \(decoded.payload) outside \(bytes.count) bytes", sourceLocation: location)
            let again = encode(decoded.record)
            let redecoded = try codec.decode(again.bytes)
            #expect(sameRecord(redecoded.record, decoded.record), "\(what()): decoded \(decoded.record) does not re-encode to itself", sourceLocation: location)
        } catch {
            #expect(dataErrorCodes.contains(error.code), "\(what()): unexpected error code \(error)", sourceLocation: location)
        }
    }

    func checkSnapshotDecodesOrFails(_ bytes: [UInt8], _ what: @autoclosure () -> String, _ location: SourceLocation) {
        do {
            _ = try codec.decodeSnapshot(bytes)
        } catch {
            #expect(dataErrorCodes.contains(error.code), "\(what()): unexpected error code \(error)", sourceLocation: location)
        }
    }
}

/// The codes a decoder may report for bad bytes.
let dataErrorCodes: Set<StorageError.Code> = [.corrupt, .crcMismatch, .unexpectedEnd]

/// Records are the same, except that a codec may drop a snapshot marker's membership.
func sameRecord(_ decoded: LogRecord, _ original: LogRecord) -> Bool {
    guard case .snapshot(let got) = decoded, case .snapshot(let want) = original else { return decoded == original }
    return got.matches(want) && (got.confState == nil || got.confState == want.confState)
}

func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var hash: UInt32 = 0x811C_9DC5
    for byte in bytes { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
    return hash
}

// MARK: - Generators

func randomBytes(_ count: Int, using random: inout SeededGenerator) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
}

/// A number spread over every varint length.
func randomNumber(using random: inout SeededGenerator) -> UInt64 {
    random.next() >> UInt64.random(in: 0...63, using: &random)
}

func randomData(using random: inout SeededGenerator) -> [UInt8]? {
    switch Int.random(in: 0..<10, using: &random) {
    case 0: nil
    case 1: []
    case 2: randomBytes(Int.random(in: 128...40_000, using: &random), using: &random)
    default: randomBytes(Int.random(in: 1...100, using: &random), using: &random)
    }
}

func randomConfState(using random: inout SeededGenerator) -> ConfState {
    func ids() -> [UInt64] { (0..<Int.random(in: 0...4, using: &random)).map { _ in randomNumber(using: &random) } }
    return ConfState(voters: ids(), learners: ids(), votersOutgoing: ids(), learnersNext: ids(), autoLeave: Bool.random(using: &random))
}

func randomRecord(using random: inout SeededGenerator) -> LogRecord {
    switch Int.random(in: 0..<5, using: &random) {
    case 0: .metadata(randomData(using: &random))
    case 1:
        .entry(Entry(
            term: randomNumber(using: &random), index: randomNumber(using: &random),
            type: EntryType(rawValue: [0, 0, 0, 1, 2].randomElement(using: &random)!), data: randomData(using: &random)))
    case 2:
        .hardState(HardState(term: randomNumber(using: &random), vote: randomNumber(using: &random), commit: randomNumber(using: &random)))
    case 3:
        .snapshot(SnapshotMarker(
            index: randomNumber(using: &random), term: randomNumber(using: &random),
            confState: Bool.random(using: &random) ? randomConfState(using: &random) : nil))
    default: .crc(UInt32.random(in: 0...UInt32.max, using: &random))
    }
}

func randomSnapshot(using random: inout SeededGenerator) -> Snapshot {
    Snapshot(
        data: randomData(using: &random),
        metadata: SnapshotMetadata(confState: randomConfState(using: &random), index: randomNumber(using: &random), term: randomNumber(using: &random)))
}

func edgeRecords() -> [LogRecord] {
    [
        .metadata(nil), .metadata([]), .metadata([0]),
        .entry(Entry(term: 0, index: 0)), .entry(Entry(term: .max, index: .max, type: .confChangeV2, data: [])),
        .entry(Entry(term: 1, index: 1, type: EntryType(rawValue: 7), data: [1, 2, 3])),
        .entry(Entry(term: 1, index: 2, data: [UInt8](repeating: 0, count: 1 << 20))),
        .hardState(HardState()), .hardState(HardState(term: .max, vote: .max, commit: .max)),
        .snapshot(.zero), .snapshot(SnapshotMarker(index: .max, term: .max)),
        .snapshot(SnapshotMarker(index: 10, term: 2, confState: ConfState(voters: [1], autoLeave: true))),
        .crc(0), .crc(.max),
    ]
}

/// Small records of every kind, for exhaustive bit flips and truncations.
func sampleRecords() -> [LogRecord] {
    [
        .metadata(Array("meta".utf8)),
        .entry(Entry(term: 3, index: 300, type: .confChange, data: Array("payload".utf8))),
        .entry(Entry(term: 1, index: 2)),
        .hardState(HardState(term: 4, vote: 2, commit: 200)),
        .snapshot(SnapshotMarker(index: 10, term: 2, confState: ConfState(voters: [1, 2], learners: [3]))),
        .crc(0xDEAD_BEEF),
    ]
}
