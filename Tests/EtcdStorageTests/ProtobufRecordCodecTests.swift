import EtcdStorage
import RaftStorage
import RaftFiles
import Testing

/// Encodes `record` with a checksum that continues `running` over the payload (the WAL's chain).
private func encode(_ record: LogRecord, codec: ProtobufRecordCodec = ProtobufRecordCodec(), running: inout UInt32) -> [UInt8] {
    var buffer: [UInt8] = []
    codec.encode(record, into: &buffer) { payload in
        running = CRC32C.update(running, payload)
        return running
    }
    return buffer
}

private func encode(_ record: LogRecord, codec: ProtobufRecordCodec = ProtobufRecordCodec()) -> [UInt8] {
    var running: UInt32 = 0
    return encode(record, codec: codec, running: &running)
}

/// The payload of an encoded record (its `data` field).
private func payload(_ record: LogRecord, codec: ProtobufRecordCodec = ProtobufRecordCodec()) throws -> [UInt8] {
    let encoded = encode(record, codec: codec)
    let decoded = try codec.decode(encoded)
    return Array(encoded[decoded.payload])
}

@Suite("ProtobufRecordCodec")
struct ProtobufRecordCodecTests {
    let codec = ProtobufRecordCodec()

    // MARK: Golden vectors: WAL records written by etcd 3.4.23 (Docs/OnDiskFormat.md, Records)

    @Test("records of a new WAL and its first save match etcd 3.4.23 (Docs/OnDiskFormat.md, Records)")
    func walGoldenRecords() throws {
        var running: UInt32 = 0
        #expect(encode(.crc(0), running: &running) == bytes("08 04 10 00"))
        #expect(encode(.metadata(Array("somedata".utf8)), running: &running) == bytes("08 01 10 85 d4 fd a0 07 1a 08 73 6f 6d 65 64 61 74 61"))
        #expect(running == 0x741F_6A05)
        #expect(encode(.snapshot(.zero), running: &running) == bytes("08 05 10 80 db 81 c1 01 1a 04 08 00 10 00"))
        #expect(running == 0x1820_6D80)
        #expect(encode(.entry(Entry(term: 1, index: 1, data: Array("hi".utf8))), running: &running) == bytes("080210948699f40f1a0a08001001180122026869"))
        #expect(encode(.entry(Entry(term: 1, index: 2)), running: &running) == bytes("08021090f5e6be091a06080010011802"))
        #expect(encode(.hardState(HardState(term: 1, vote: 1, commit: 1)), running: &running) == bytes("080310a297f5a6031a06080110011801"))
        #expect(encode(.snapshot(SnapshotMarker(index: 2, term: 1)), running: &running) == bytes("080510b5c2bafa011a0408021001"))
        #expect(running == 0x1F4E_A135)
    }

    @Test("metadata without data writes no data field, and the checksum still gets called")
    func metadataNil() throws {
        var calls = 0
        var buffer: [UInt8] = []
        codec.encode(.metadata(nil), into: &buffer) { payload in
            calls += 1
            #expect(payload.isEmpty)
            return 0
        }
        #expect(calls == 1)
        #expect(buffer == bytes("08 01 10 00"))
        #expect(try codec.decode(buffer).record == .metadata(nil))
        #expect(try codec.decode(bytes("08 01 10 00 1a 00")).record == .metadata([]))
    }

    // MARK: Golden vectors: raftpb messages as etcd 3.4 encodes them (Docs/OnDiskFormat.md, Records)

    @Test("raftpb encodings match etcd 3.4.23 (Docs/OnDiskFormat.md, Records)")
    func raftpbGolden() throws {
        #expect(try payload(.entry(Entry(term: 1, index: 2, data: Array("hi".utf8)))) == bytes("08 00 10 01 18 02 22 02 68 69"))
        #expect(try payload(.entry(Entry(term: 1, index: 2))) == bytes("08 00 10 01 18 02"))
        #expect(try payload(.entry(Entry(term: 1, index: 2, data: []))) == bytes("08 00 10 01 18 02 22 00"))
        #expect(try payload(.entry(Entry(term: 300, index: 100_000, type: .confChange, data: [0xAA]))) == bytes("08 01 10 ac 02 18 a0 8d 06 22 01 aa"))
        #expect(try payload(.hardState(HardState(term: 1, vote: 2, commit: 3))) == bytes("08 01 10 02 18 03"))
        #expect(try payload(.hardState(HardState())) == bytes("08 00 10 00 18 00"))
        #expect(try payload(.snapshot(SnapshotMarker(index: 10, term: 2))) == bytes("08 0a 10 02"))
        let withConf = SnapshotMarker(index: 10, term: 2, confState: ConfState(voters: [1]))
        #expect(try payload(.snapshot(withConf)) == bytes("08 0a 10 02"), "3.4 bytes by default")
        #expect(try payload(.snapshot(withConf), codec: ProtobufRecordCodec(writesSnapshotConfState: true)) == bytes("08 0a 10 02 1a 04 08 01 28 00"))
    }

    @Test("a ConfState in a snapshot record is read (etcd 3.5+), packed or not")
    func confStateRead() throws {
        let record = encode(.snapshot(SnapshotMarker(index: 10, term: 2, confState: ConfState(voters: [1, 2, 3], learners: [4]))),
                            codec: ProtobufRecordCodec(writesSnapshotConfState: true))
        let decoded = try codec.decode(record)
        #expect(decoded.record == .snapshot(SnapshotMarker(index: 10, term: 2, confState: ConfState(voters: [1, 2, 3], learners: [4]))))
        #expect(Array(record[decoded.payload]) == bytes("08 0a 10 02 1a 0a 08 01 08 02 08 03 10 04 28 00"))
        // Packed voters (0a 03 01 02 03), learners unpacked, auto_leave true.
        let packed = bytes("08 05 10 00 1a 0d 08 0a 10 02 1a 07 0a 03 01 02 03 28 01")
        #expect(try codec.decode(packed).record == .snapshot(SnapshotMarker(index: 10, term: 2, confState: ConfState(voters: [1, 2, 3], autoLeave: true))))
    }

    @Test("an entry without a Type field (etcd 3.7+) is a normal entry")
    func missingEntryType() throws {
        let record = bytes("08 02 10 00 1a 06 10 05 18 07 22 00")
        #expect(try codec.decode(record).record == .entry(Entry(term: 5, index: 7, type: .normal, data: [])))
    }

    @Test("unknown fields of every wire type are skipped")
    func unknownFields() throws {
        // Entry with unknown field 9 as varint, fixed64, bytes, fixed32 and a group (tag 0x4b / 0x4c).
        let entry = bytes("08 01 10 05 48 96 01 18 07 49 0102030405060708 4a 02 aa bb 4d 01020304 4b 50 01 52 01 ff 4c 22 01 7a")
        var record = bytes("08 02 10 00 1a")
        record.append(UInt8(entry.count))
        record += entry
        record += bytes("78 01") // unknown field 15 in walpb.Record
        #expect(try codec.decode(record).record == .entry(Entry(term: 5, index: 7, type: .confChange, data: [0x7A])))
    }

    @Test("round trips keep nil versus empty data, negative types and large values")
    func roundTrips() throws {
        let records: [LogRecord] = [
            .entry(Entry(term: 1, index: 1)),
            .entry(Entry(term: 1, index: 1, data: [])),
            .entry(Entry(term: .max, index: .max, type: EntryType(rawValue: -1), data: Array(repeating: 7, count: 300))),
            .entry(Entry(term: 2, index: 3, type: .confChangeV2, data: [1, 2, 3])),
            .hardState(HardState(term: .max, vote: 3, commit: 1 << 40)),
            .snapshot(SnapshotMarker(index: 5, term: 6)),
            .metadata([]),
            .metadata(Array(repeating: 1, count: 200)),
            .crc(0xFFFF_FFFF),
        ]
        for record in records {
            var running: UInt32 = 0
            let encoded = encode(record, running: &running)
            let decoded = try codec.decode(encoded)
            #expect(decoded.record == record)
            if case .crc(let value) = record {
                #expect(decoded.checksum == value)
            } else {
                #expect(decoded.checksum == running)
                #expect(CRC32C.update(0, Array(encoded[decoded.payload])) == running)
            }
        }
    }

    // MARK: Snapshots (.snap files, Docs/OnDiskFormat.md, .snap)

    @Test(".snap content matches etcd's 24-byte golden file and decodes back")
    func snapGolden() throws {
        let snapshot = Snapshot(data: Array("xy".utf8), metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 10, term: 2))
        var buffer: [UInt8] = []
        codec.encodeSnapshot(snapshot, into: &buffer)
        #expect(buffer == bytes("08 ce ff da d5 0a 12 10 0a 02 78 79 12 0a 0a 04 08 01 28 00 10 0a 18 02"))
        #expect(try codec.decodeSnapshot(buffer) == snapshot)
        var empty: [UInt8] = []
        codec.encodeSnapshot(Snapshot(), into: &empty)
        #expect(Array(empty.suffix(10)) == bytes("12 08 0a 02 28 00 10 00 18 00"))
    }

    @Test("snapshot decoding follows etcd's empty-snapshot and CRC rules")
    func snapRules() throws {
        // No bytes, crc 0 even with data (etcd quirk) and no data field are all etcd's "empty snapshot".
        for hex in ["", "08 00 12 02 0a 00", "08 05"] {
            let error = #expect(throws: StorageError.self, "\(hex.debugDescription)") { try codec.decodeSnapshot(bytes(hex)) }
            #expect(error?.code == .corrupt, "\(hex.debugDescription): \(String(describing: error))")
            #expect(error?.message == "snap: empty snapshot", "\(hex.debugDescription): \(String(describing: error))")
            #expect(error?.offset == 0, "\(hex.debugDescription): \(String(describing: error))")
        }
        var golden = bytes("08 ce ff da d5 0a 12 10 0a 02 78 79 12 0a 0a 04 08 01 28 00 10 0a 18 02")
        golden[10] ^= 1
        do {
            _ = try codec.decodeSnapshot(golden)
            Issue.record("a flipped bit was accepted")
        } catch {
            #expect(error.code == .crcMismatch)
            #expect(error.offset == 8)
        }
    }

    // MARK: Hostile input

    @Test("a length claiming far more than the input is an error with the offset, not an allocation")
    func hugeLength() {
        // walpb.Record with data length 2^55.
        let record = bytes("08 02 10 00 1a 80 80 80 80 80 80 80 40")
        do {
            _ = try codec.decode(record)
            Issue.record("accepted")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.offset == 5)
        }
    }

    @Test("malformed records are corrupt, never a trap", arguments: [
        "08", // truncated varint
        "08 ff ff ff ff ff ff ff ff ff ff 01", // varint too long
        "00", // field 0
        "0f", // wire type 7
        "0c", // end group without start
        "0b", // unterminated group
        "09 01 02", // truncated fixed64
        "0a 05 01", // length past the end
        "08 09 10 00", // unknown record type 9
        "08 02 10 00 1a 02 12 00", // Entry term with wire type 2
        "08 02 10 00 1a 01 08", // Entry truncated inside
    ])
    func malformed(_ hex: String) {
        #expect(throws: StorageError.self) { try codec.decode(bytes(hex)) }
    }

    @Test("every truncation and every single bit flip of a record is corrupt or decodes to what its bytes say")
    func fuzzSmall() throws {
        // Both records are written with the membership, so a decoded marker re-encodes whole.
        let writer = ProtobufRecordCodec(writesSnapshotConfState: true)
        let entry = Entry(term: 3, index: 99, type: .confChange, data: Array(0..<40))
        let records: [(record: LogRecord, empty: LogRecord)] = [
            (.entry(entry), .entry(Entry(term: 0, index: 0))),
            (.snapshot(SnapshotMarker(index: 10, term: 2, confState: ConfState(voters: [1, 2], learners: [3]))), .snapshot(.zero)),
        ]
        for (record, empty) in records {
            let original = encode(record, codec: writer)
            let decoded = try codec.decode(original)
            #expect(decoded.record == record)
            // The layout: 08 <type> 10 <crc varint> 1a <length varint> <payload to the end>.
            let crcBytes = 3..<(3 + varintLength(UInt64(decoded.checksum)))
            let dataTag = crcBytes.upperBound
            try #require(original[dataTag] == 0x1A && decoded.payload.upperBound == original.count, "layout of \(record)")

            // A strict prefix decodes only when it ends before the data field: then it is the
            // record's type with no payload (and no crc, or the whole crc); anything else is corrupt.
            for length in 0..<original.count {
                let expected: DecodedRecord? = switch length {
                case 2: DecodedRecord(record: empty, checksum: 0, payload: 0..<0)
                case dataTag: DecodedRecord(record: empty, checksum: decoded.checksum, payload: 0..<0)
                default: nil
                }
                let got = decodeOrCorrupt(Array(original[..<length]), reencodingWith: writer, "\(record) cut to \(length) bytes")
                #expect(got == expected, "\(record) cut to \(length) bytes")
            }

            for bit in 0..<(original.count * 8) {
                let (position, mask) = (bit / 8, UInt8(1) << (bit % 8))
                var flipped = original
                flipped[position] ^= mask
                let what = "\(record) with bit \(bit) flipped"
                let got = decodeOrCorrupt(flipped, reencodingWith: writer, what)
                if case .entry(var changed) = record, position >= original.count - 40 {
                    // A bit of the entry's data: the record decodes with that bit flipped (the CRC is
                    // the WAL's to check, not the codec's).
                    changed.data![position - (original.count - 40)] ^= mask
                    #expect(got == DecodedRecord(record: .entry(changed), checksum: decoded.checksum, payload: decoded.payload), "\(what)")
                } else if crcBytes.contains(position) && bit % 8 != 7 {
                    // A value bit of the stored crc: the same record with that bit of the checksum
                    // flipped (bits past 32 are dropped, as etcd's uint32 field drops them).
                    let shift = 7 * (position - crcBytes.lowerBound) + bit % 8
                    let checksum = shift < 32 ? decoded.checksum ^ (1 << UInt32(shift)) : decoded.checksum
                    #expect(got == DecodedRecord(record: record, checksum: checksum, payload: decoded.payload), "\(what)")
                }
                // A WAL record is not a .snap file: that needs a data field whose CRC32C is the crc field.
                let error = #expect(throws: StorageError.self, "\(what) as a .snap") { try codec.decodeSnapshot(flipped) }
                if let error {
                    #expect(error.code == .corrupt || error.code == .crcMismatch, "\(what) as a .snap: \(error)")
                    #expect(error.offset.map { (0...Int64(flipped.count)).contains($0) } == true, "\(what) as a .snap: \(error)")
                }
            }
        }
    }

    @Test("the fast paths write etcd's golden entry frames and read them back (RecordFraming's length words)")
    func fastPathsGolden() throws {
        // The entries of the first save of a new WAL (etcd 3.4.23), after its crc, metadata and
        // snapshot records: the running CRC there is 0x18206D80.
        let entries = [Entry(term: 1, index: 1, data: Array("hi".utf8)), Entry(term: 1, index: 2)]
        let records = [bytes("080210948699f40f1a0a08001001180122026869"), bytes("08021090f5e6be091a06080010011802")]
        // 20 bytes padded by 4 (top byte 0x84), 16 bytes unpadded (top byte 0).
        var golden: [UInt8] = []
        for record in records { record.withUnsafeBytes { RecordFraming.append(frameOf: $0, to: &golden) } }
        #expect(golden[0..<8] == [20, 0, 0, 0, 0, 0, 0, 0x84])
        #expect(golden[32..<40] == [16, 0, 0, 0, 0, 0, 0, 0])
        #expect(golden.count == 32 + 24)
        let word = RecordFraming.decode(lengthWord: 0x8400_0000_0000_0014)
        #expect(word.length == 20 && word.padding == 4)

        var plainCRC: UInt32 = 0x1820_6D80
        var plain: [UInt8] = []
        for entry in entries { RecordFraming.append(.entry(entry), encodedBy: codec, crc: &plainCRC, to: &plain) }
        #expect(plain == golden)
        #expect(plainCRC == 0x97D9_BA90)

        var crc: UInt32 = 0x1820_6D80
        var buffer = [UInt8](repeating: 0xFF, count: 256)
        let result = buffer.withUnsafeMutableBytes { raw in
            entries.withUnsafeBufferPointer { entries in codec.frameEntries(entries, into: raw, crc: &crc, byteBudget: .max) }
        }
        let written = try #require(result)
        #expect(written.entryCount == 2 && written.byteCount == golden.count && written.neededCount == 0)
        #expect(Array(buffer[0..<written.byteCount]) == golden)
        #expect(crc == 0x97D9_BA90)

        // Read back: the one decoder, whole or index and term only, as decode reads them.
        for (record, entry) in zip(records, entries) {
            let decoded = try codec.decode(record)
            #expect(decoded.record == .entry(entry))
            let whole = try record.withUnsafeBytes { raw in try codec.decodeLogRecord(raw, entryData: .copy) }
            let position = try record.withUnsafeBytes { raw in try codec.decodeLogRecord(raw, entryData: .skip) }
            #expect(whole == DecodedLogRecord(body: .entry(entry), checksum: decoded.checksum, payload: 10..<record.count))
            #expect(position == DecodedLogRecord(body: .entryIndexAndTerm(index: entry.index, term: entry.term), checksum: decoded.checksum, payload: 10..<record.count))
        }
        // Every other record is `other`, with decode's checksum and payload.
        var running: UInt32 = 0
        for record: LogRecord in [.crc(0), .metadata(Array("somedata".utf8)), .snapshot(.zero), .hardState(HardState(term: 1, vote: 1, commit: 1))] {
            let encoded = encode(record, running: &running)
            let decoded = try codec.decode(encoded)
            let read = try encoded.withUnsafeBytes { raw in try codec.decodeLogRecord(raw, entryData: .skip) }
            #expect(read == DecodedLogRecord(body: .other(record), checksum: decoded.checksum, payload: decoded.payload))
        }
    }

    /// Decodes `bytes`: an error must be ``StorageError/Code/corrupt`` at an offset inside them
    /// (the codec's only error), and a decoded record must lie inside them and encode again to
    /// the same record and checksum. Returns the record, or `nil` for an error.
    private func decodeOrCorrupt(_ bytes: [UInt8], reencodingWith writer: ProtobufRecordCodec, _ what: String) -> DecodedRecord? {
        let decoded: DecodedRecord
        do {
            decoded = try codec.decode(bytes)
        } catch {
            #expect(error.code == .corrupt, "\(what): \(error)")
            #expect(error.offset.map { (0...Int64(bytes.count)).contains($0) } == true, "\(what): \(error)")
            return nil
        }
        #expect(decoded.payload.lowerBound >= 0 && decoded.payload.upperBound <= bytes.count, "\(what): payload \(decoded.payload)")
        var again: [UInt8] = []
        writer.encode(decoded.record, into: &again) { _ in decoded.checksum }
        do {
            let redecoded = try codec.decode(again)
            #expect(redecoded.record == decoded.record && redecoded.checksum == decoded.checksum, "\(what): \(decoded.record) re-encodes as \(redecoded.record)")
        } catch {
            Issue.record("\(what): \(decoded.record) does not decode after encoding again: \(error)")
        }
        return decoded
    }
}

/// The number of bytes of `value` as a protobuf varint.
private func varintLength(_ value: UInt64) -> Int {
    var count = 1
    var rest = value >> 7
    while rest != 0 {
        count += 1
        rest >>= 7
    }
    return count
}
