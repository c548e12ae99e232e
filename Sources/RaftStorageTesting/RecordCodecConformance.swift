import RaftStorage
public import RaftFiles

/// The conformance suite for ``RaftFiles/RecordCodec``s: random records and snapshots round-trip, the
/// checksum covers exactly the payload, and every single-bit flip and every truncation of an
/// encoded record either fails with a ``RaftStorage/StorageError`` or decodes to a well-formed record -
/// never a trap. A codec's fast paths are checked against its plain requirements: the frames
/// ``RaftFiles/RecordCodec/frameEntries(_:into:crc:byteBudget:)`` writes (when the codec
/// has that path) are byte for byte ``RaftFiles/RecordFraming``'s frames of what
/// ``RaftFiles/RecordCodec/encode(_:into:checksum:)`` writes, with the same CRC32C chain, and
/// ``RaftFiles/RecordCodec/decodeLogRecord(_:entryData:)`` reads what `decode` reads, with
/// and without entries' data.
///
/// It has the shape of every suite of the kit (see ``LogStoreConformance``): a factory of the
/// backend under test (here `makeCodec:`, called once per case), ``cases`` for
/// `@Test(arguments:)`, and ``run(_:fileID:filePath:line:column:)`` /
/// ``run(fileID:filePath:line:column:)``. A codec keeps nothing, so it has no `reopen:` or
/// `crash:` hook: each case has one run.
///
/// ```swift
/// static let suite = RecordCodecConformance(makeCodec: { ProtobufRecordCodec() }, storesSnapshotMembership: false)
///
/// @Test(arguments: suite.cases)
/// func conformance(_ testCase: RecordCodecConformance<ProtobufRecordCodec>.Case) throws {
///     try Self.suite.run(testCase)
/// }
/// ```
///
/// A decoded snapshot marker must equal the encoded one, membership included, unless the suite
/// is told that the codec does not store membership (`storesSnapshotMembership: false`, for
/// etcd 3.4's record format, whose `walpb.Snapshot` has no `conf_state`): then a decoded marker
/// must have the encoded index and term and no membership at all.
///
/// A codec without a ``RaftFiles/RecordCodec/formatName`` is etcd's plain format, so it must
/// decode records etcd wrote (golden records of etcd 3.4.23, 3.5 and 3.7).
///
/// Failed checks are reported through ``ConformanceReporting``: as issues of the running Swift
/// Testing test, at the line that called `run`, naming the suite, the codec type, the case and
/// the check that failed. From XCTest, run the suite inside
/// ``ConformanceReporting/withReporter(_:_:)``:
///
/// ```swift
/// try ConformanceReporting.withReporter({ issue in XCTFail("\(issue) (run from \(issue.caller))") }) {
///     try RecordCodecConformance(makeCodec: { MyCodec() }).run()
/// }
/// ```
public struct RecordCodecConformance<Codec: RecordCodec>: ConformanceSuite, Sendable {
    /// Returns the codec under test, once for each case.
    public let makeCodec: @Sendable () throws -> Codec
    /// Seeds the random records, so a failure can be reproduced.
    public let seed: UInt64
    /// Whether the codec stores a snapshot marker's ``RaftStorage/SnapshotMarker/confState``.
    public let storesSnapshotMembership: Bool

    /// A suite for the codecs `makeCodec` returns, with random records drawn from `seed`. Pass
    /// `storesSnapshotMembership: false` only for a codec whose format has no place for a
    /// snapshot marker's membership (etcd 3.4's, as `ProtobufRecordCodec()` writes it).
    public init(makeCodec: @escaping @Sendable () throws -> Codec, seed: UInt64 = 0x5EED, storesSnapshotMembership: Bool = true) {
        self.makeCodec = makeCodec
        self.seed = seed
        self.storesSnapshotMembership = storesSnapshotMembership
    }

    /// One named case.
    public struct Case: Sendable, CustomStringConvertible {
        /// The case's name, shown in test results and in every failure of the case.
        public let name: String
        let body: @Sendable (RecordCodecChecks<Codec>, CheckLocation) throws -> Void

        /// The name, shown in test results and as a test argument.
        public var description: String { name }
    }

    /// The cases this suite runs, in a stable order: every one. Pass them to
    /// `@Test(arguments:)` and each to ``run(_:fileID:filePath:line:column:)``.
    public var cases: [Case] { Self.allCases }

    /// Runs `testCase` for `caller`; see ``ConformanceSuite``.
    public func run(_ testCase: Case, caller: CheckLocation) throws {
        let seed = self.seed
        let storesSnapshotMembership = self.storesSnapshotMembership
        try ConformanceReporting.inRun(
            of: "RecordCodecConformance", backendType: "\(Codec.self)", testCase: testCase.name, run: .plain,
            make: makeCodec, name: { backendName($0) }
        ) { codec in
            let checks = RecordCodecChecks(codec: codec, seed: seed, storesSnapshotMembership: storesSnapshotMembership)
            do {
                try testCase.body(checks, caller)
            } catch {
                ConformanceReporting.recordThrown(error, caller: caller, step: CheckLocation())
            }
        }
    }

    /// Every case, in a stable order.
    static var allCases: [Case] {
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
                let snapshot = makeSnapshot(index: 9, term: 2)
                var encoded: [UInt8] = []
                suite.codec.encodeSnapshot(snapshot, into: &encoded)
                for bit in 0..<(encoded.count * 8) {
                    var damaged = encoded
                    damaged[bit / 8] ^= 1 << (bit % 8)
                    suite.checkSnapshotDecodesOrFails(damaged, original: snapshot, "snapshot with bit \(bit) flipped", location)
                }
                for length in 0..<encoded.count {
                    suite.checkSnapshotDecodesOrFails(Array(encoded[..<length]), original: snapshot, "snapshot cut to \(length) bytes", location)
                }
            },
            Case(name: "random bytes decode or fail cleanly") { suite, location in
                var random = SeededGenerator(seed: suite.seed ^ 0x1234)
                for _ in 0..<3000 {
                    let bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                    suite.checkDecodesOrFails(bytes, "random bytes \(bytes)", location)
                    suite.checkSnapshotDecodesOrFails(bytes, original: nil, "random bytes \(bytes)", location)
                }
            },
            Case(name: "a format name, when present, can be recorded; without one, etcd's records decode") { suite, location in
                if let name = suite.codec.formatName {
                    // A log records the name NUL-terminated in its metadata records, and compares
                    // it with the reading codec's.
                    suite.expect(!name.isEmpty, "formatName is empty", location)
                    suite.expect(!name.utf8.contains(0), "formatName \(name.debugDescription) contains a NUL byte", location)
                    suite.expect(suite.codec.formatName == name, "formatName changes from one call to the next", location)
                } else {
                    // No name means etcd's plain format: a log without a name may be etcd's own.
                    for golden in etcdRecords { suite.checkDecodesEtcdRecord(golden, location) }
                }
            },
            Case(name: "the entry write fast path frames entries exactly as encode does") { suite, location in
                suite.checkEntryFrames(location)
            },
            Case(name: "the read fast path reads what decode reads, with and without entry data") { suite, location in
                suite.checkLogRecordDecoding(location)
            },
        ]
    }
}

// MARK: - Checks

/// The codec one case of ``RecordCodecConformance`` runs on, with the suite's settings, and the
/// checks the cases make.
struct RecordCodecChecks<Codec: RecordCodec> {
    /// The codec under test.
    let codec: Codec
    /// Seeds the random records.
    let seed: UInt64
    /// Whether the codec stores a snapshot marker's membership.
    let storesSnapshotMembership: Bool
}

extension RecordCodecChecks {
    /// Reports `message` as a failed check of the run started at `caller`, naming this kit's
    /// line that called it (leave `fileID`, `filePath`, `line` and `column` to their defaults).
    func fail(
        _ message: String, _ caller: CheckLocation,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) {
        ConformanceReporting.record(message, caller: caller, step: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column))
    }

    /// Reports `message` unless `condition` holds; see ``fail(_:_:fileID:filePath:line:column:)``.
    /// Returns `condition`.
    @discardableResult
    func expect(
        _ condition: Bool, _ message: @autoclosure () -> String, _ caller: CheckLocation,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) -> Bool {
        if !condition { fail(message(), caller, fileID: fileID, filePath: filePath, line: line, column: column) }
        return condition
    }

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

    func checkRoundTrip(_ record: LogRecord, _ location: CheckLocation) {
        let encoded = encode(record)
        let isCRC: Bool
        if case .crc = record { isCRC = true } else { isCRC = false }
        expect(encoded.checksumCalls == (isCRC ? 0 : 1), "\(record): checksum closure called \(encoded.checksumCalls) times", location)
        do {
            let decoded = try codec.decode(encoded.bytes)
            expect(sameRecord(decoded.record, record), "\(record): decoded as \(decoded.record)", location)
            expect(decoded.checksum == encoded.checksum, "\(record): checksum \(decoded.checksum), expected \(encoded.checksum)", location)
            if decoded.payload.lowerBound >= 0 && decoded.payload.upperBound <= encoded.bytes.count {
                expect(Array(encoded.bytes[decoded.payload]) == encoded.payload, "\(record): payload range \(decoded.payload) is not the checksummed bytes", location)
            } else {
                fail("\(record): payload range \(decoded.payload) outside \(encoded.bytes.count) bytes", location)
            }
        } catch {
            fail("\(record): decoding its own encoding failed: \(error)", location)
        }
    }

    func checkSnapshotRoundTrip(_ snapshot: Snapshot, _ location: CheckLocation) {
        var bytes: [UInt8] = []
        codec.encodeSnapshot(snapshot, into: &bytes)
        do {
            let decoded = try codec.decodeSnapshot(bytes)
            expect(decoded == snapshot, "snapshot \(snapshot.metadata) decoded as \(decoded.metadata)", location)
        } catch {
            fail("snapshot \(snapshot.metadata): decoding its own encoding failed: \(error)", location)
        }
    }

    /// Decoding must throw a data error or give a record that is well formed: its payload range
    /// lies inside the input and encoding it again decodes to the same record. The read fast
    /// path must agree with `decode` on the same bytes.
    func checkDecodesOrFails(_ bytes: [UInt8], _ what: @autoclosure () -> String, _ location: CheckLocation) {
        do {
            let decoded = try codec.decode(bytes)
            let inside = decoded.payload.lowerBound >= 0 && decoded.payload.upperBound <= bytes.count
            expect(inside, "\(what()): payload range \(decoded.payload) outside \(bytes.count) bytes", location)
            let again = encode(decoded.record)
            let redecoded = try codec.decode(again.bytes)
            expect(sameRecord(redecoded.record, decoded.record), "\(what()): decoded \(decoded.record) does not re-encode to itself", location)
        } catch {
            expect(dataErrorCodes.contains(error.code), "\(what()): unexpected error code \(error)", location)
        }
        checkFastDecoding(bytes, what(), location)
    }

    /// Decoding a snapshot must throw a data error or give a snapshot: the `original` that was
    /// damaged into `bytes` (a snapshot carries its own checksum, so damage it lets through
    /// must not have changed it), or for bytes that were never a snapshot, one that encodes
    /// again to itself.
    func checkSnapshotDecodesOrFails(_ bytes: [UInt8], original: Snapshot?, _ what: @autoclosure () -> String, _ location: CheckLocation) {
        let decoded: Snapshot
        do {
            decoded = try codec.decodeSnapshot(bytes)
        } catch {
            expect(dataErrorCodes.contains(error.code), "\(what()): unexpected error code \(error)", location)
            return
        }
        if let original {
            expect(decoded == original, "\(what()): decoded as \(decoded.metadata) with \(decoded.data?.count ?? -1) data bytes, not as the snapshot that was damaged", location)
            return
        }
        var again: [UInt8] = []
        codec.encodeSnapshot(decoded, into: &again)
        do {
            let redecoded = try codec.decodeSnapshot(again)
            expect(redecoded == decoded, "\(what()): decoded \(decoded.metadata) does not re-encode to itself", location)
        } catch {
            fail("\(what()): decoded \(decoded.metadata), whose encoding does not decode: \(error)", location)
        }
    }

    /// Whether `decoded` is `original` as this codec gives it back: equal, except that a codec
    /// that does not store membership gives a snapshot marker back without any.
    func sameRecord(_ decoded: LogRecord, _ original: LogRecord) -> Bool {
        guard !storesSnapshotMembership, case .snapshot(let got) = decoded, case .snapshot(let want) = original else {
            return decoded == original
        }
        return got == SnapshotMarker(index: want.index, term: want.term)
    }

    /// A record etcd wrote decodes to the record, the checksum and the payload range etcd's
    /// reader uses.
    func checkDecodesEtcdRecord(_ golden: EtcdRecord, _ location: CheckLocation) {
        do {
            let decoded = try codec.decode(golden.bytes)
            expect(decoded.record == golden.record, "etcd's \(golden.record) decoded as \(decoded.record)", location)
            expect(decoded.checksum == golden.checksum, "etcd's \(golden.record): checksum \(decoded.checksum), stored \(golden.checksum)", location)
            expect(decoded.payload == golden.payload, "etcd's \(golden.record): payload \(decoded.payload), etcd's CRC covers \(golden.payload)", location)
        } catch {
            fail("etcd's \(golden.record) does not decode: \(error)", location)
        }
        checkFastDecoding(golden.bytes, "etcd's \(golden.record)", location)
    }
}

/// The codes a decoder may report for bad bytes.
let dataErrorCodes: Set<StorageError.Code> = [.corrupt, .crcMismatch, .unexpectedEnd]

/// A `walpb.Record` as etcd wrote it, with what it holds.
struct EtcdRecord {
    var bytes: [UInt8]
    var record: LogRecord
    /// The crc field.
    var checksum: UInt32
    /// The `data` field's bytes, which the CRC covers.
    var payload: Range<Int>
}

/// Records etcd wrote (the first records of a new WAL and of its first save, as etcd 3.4.23
/// writes them, checksums chained; Docs/OnDiskFormat.md, "What each segment starts with"), a snapshot record with membership as etcd 3.5 writes it
/// (packed voters, auto_leave), and an entry without a Type field as etcd 3.7 writes it.
let etcdRecords: [EtcdRecord] = [
    EtcdRecord(bytes: hexBytes("08 04 10 00"), record: .crc(0), checksum: 0, payload: 0..<0),
    EtcdRecord(
        bytes: hexBytes("08 01 10 85 d4 fd a0 07 1a 08 73 6f 6d 65 64 61 74 61"), record: .metadata(Array("somedata".utf8)),
        checksum: 0x741F_6A05, payload: 10..<18),
    EtcdRecord(bytes: hexBytes("08 05 10 80 db 81 c1 01 1a 04 08 00 10 00"), record: .snapshot(.zero), checksum: 0x1820_6D80, payload: 10..<14),
    EtcdRecord(
        bytes: hexBytes("08 02 10 94 86 99 f4 0f 1a 0a 08 00 10 01 18 01 22 02 68 69"),
        record: .entry(Entry(term: 1, index: 1, data: Array("hi".utf8))), checksum: 0xFE86_4314, payload: 10..<20),
    EtcdRecord(
        bytes: hexBytes("08 02 10 90 f5 e6 be 09 1a 06 08 00 10 01 18 02"), record: .entry(Entry(term: 1, index: 2)),
        checksum: 0x97D9_BA90, payload: 10..<16),
    EtcdRecord(
        bytes: hexBytes("08 03 10 a2 97 f5 a6 03 1a 06 08 01 10 01 18 01"), record: .hardState(HardState(term: 1, vote: 1, commit: 1)),
        checksum: 0x34DD_4BA2, payload: 10..<16),
    EtcdRecord(
        bytes: hexBytes("08 05 10 b5 c2 ba fa 01 1a 04 08 02 10 01"), record: .snapshot(SnapshotMarker(index: 2, term: 1)),
        checksum: 0x1F4E_A135, payload: 10..<14),
    EtcdRecord(
        bytes: hexBytes("08 05 10 00 1a 0d 08 0a 10 02 1a 07 0a 03 01 02 03 28 01"),
        record: .snapshot(SnapshotMarker(index: 10, term: 2, confState: ConfState(voters: [1, 2, 3], autoLeave: true))),
        checksum: 0, payload: 6..<19),
    EtcdRecord(
        bytes: hexBytes("08 02 10 00 1a 06 10 05 18 07 22 00"), record: .entry(Entry(term: 5, index: 7, type: .normal, data: [])),
        checksum: 0, payload: 6..<12),
]

/// Bytes from hex digits; spaces are ignored.
func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8.filter { $0 != UInt8(ascii: " ") })
    return stride(from: 0, to: digits.count - 1, by: 2).map { at in UInt8(hexDigit(digits[at]) << 4 | hexDigit(digits[at + 1])) }
}

private func hexDigit(_ character: UInt8) -> UInt8 {
    switch character {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
    default: preconditionFailure("not a lowercase hex digit: \(character)")
    }
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
