import RaftStorage
import RaftFiles

// The checks of a codec's fast paths against its plain requirements (see `RecordCodec`'s
// "Fast paths"): `frameEntries` must write `RecordFraming`'s frames of `encode`'s bytes
// with the same CRC32C chain and stop where its contract says, and `decodeLogRecord` must read
// what `decode` reads.

extension RecordCodecChecks {
    // MARK: - Write fast path

    /// What one call of the write fast path did: its result, the whole buffer afterwards (the
    /// part the codec was given, then a guard zone it was not), and the running CRC.
    struct FastRun {
        var written: FramedEntries
        var bytes: [UInt8]
        var crc: UInt32
    }

    /// The byte every buffer handed to the fast path is filled with, so stores show.
    static var sentinel: UInt8 { 0xA5 }

    /// Bytes after the buffer that the codec must leave alone.
    static var guardZone: Int { 64 }

    /// The plain path's frames of a run of entries: ``RaftFiles/RecordFraming``'s frames of
    /// `encode`'s records, the CRC32C chained from a start value.
    struct PlainFrames {
        /// Every frame, back to back.
        var bytes: [UInt8]
        /// `ends[k]`: the bytes the first `k` frames take.
        var ends: [Int]
        /// `crcs[k]`: the running CRC after the first `k` entries.
        var crcs: [UInt32]

        /// The size of entry `index`'s frame.
        func frameSize(_ index: Int) -> Int { ends[index + 1] - ends[index] }
    }

    func plainFrames(_ entries: [Entry], crc: UInt32) -> PlainFrames {
        var frames = PlainFrames(bytes: [], ends: [0], crcs: [crc])
        var running = crc
        for entry in entries {
            RecordFraming.append(.entry(entry), encodedBy: codec, crc: &running, to: &frames.bytes)
            frames.ends.append(frames.bytes.count)
            frames.crcs.append(running)
        }
        return frames
    }

    /// Calls the write fast path on `entries[first...]` with a buffer of `bufferSize` bytes
    /// (followed by a guard zone), `byteBudget` and the running CRC `crc`.
    func fastRun(_ entries: [Entry], from first: Int, bufferSize: Int, byteBudget: Int, crc: UInt32) -> FastRun? {
        var bytes = [UInt8](repeating: Self.sentinel, count: bufferSize + Self.guardZone)
        var running = crc
        let codec = self.codec
        let written = bytes.withUnsafeMutableBytes { raw in
            entries.withUnsafeBufferPointer { entries in
                codec.frameEntries(
                    UnsafeBufferPointer(rebasing: entries[first...]), into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<bufferSize]),
                    crc: &running, byteBudget: byteBudget)
            }
        }
        guard let written else { return nil }
        return FastRun(written: written, bytes: bytes, crc: running)
    }

    /// Checks one call of the write fast path on `entries[first...]` against the plain frames
    /// of all of `entries` (`plain`); returns its result when it is usable to go on from.
    @discardableResult
    func checkFastRun(
        _ entries: [Entry], from first: Int, plain: PlainFrames, bufferSize: Int, byteBudget: Int, _ what: String, _ caller: CheckLocation
    ) -> FramedEntries? {
        let context = "\(what), entries \(first)..<\(entries.count), buffer of \(bufferSize) bytes, byte budget \(byteBudget)"
        guard let run = fastRun(entries, from: first, bufferSize: bufferSize, byteBudget: byteBudget, crc: plain.crcs[first]) else {
            fail("\(context): frameEntries returned nil, though it returned a value for another call", caller)
            return nil
        }
        let written = run.written
        let remaining = entries.count - first
        guard written.entryCount >= 0, written.entryCount <= remaining else {
            fail("\(context): entryCount \(written.entryCount) is not within 0...\(remaining)", caller)
            return nil
        }
        let count = written.entryCount
        let end = first + count
        let expectedBytes = plain.ends[end] - plain.ends[first]
        var usable = expect(
            written.byteCount == expectedBytes,
            "\(context): \(count) entries framed in \(written.byteCount) bytes; encode's frames of them take \(expectedBytes)", caller)
        usable = expect(
            run.crc == plain.crcs[end],
            "\(context): running CRC \(hex(run.crc)) after \(count) entries; encode's records chain to \(hex(plain.crcs[end]))", caller) && usable
        if written.byteCount == expectedBytes && expectedBytes <= bufferSize,
           let offset = firstDifference(run.bytes[0..<expectedBytes], plain.bytes[plain.ends[first]..<plain.ends[end]])
        {
            // Name the entry whose frame differs.
            let entry = (first..<end).first { plain.ends[$0 + 1] - plain.ends[first] > offset } ?? first
            fail(
                "\(context): the frame of entry #\(entry) (\(describe(entries[entry]))) differs from encode's at byte "
                    + "\(offset - (plain.ends[entry] - plain.ends[first])) of the frame: \(run.bytes[offset]) instead of "
                    + "\(plain.bytes[plain.ends[first] + offset])",
                caller)
            usable = false
        }
        usable = expect(
            written.storedCount >= written.byteCount && written.storedCount <= bufferSize,
            "\(context): storedCount \(written.storedCount) is not within byteCount \(written.byteCount)...\(bufferSize)", caller) && usable
        // Past what the codec says it stored (the next 4 KiB of the buffer) and after the
        // buffer, every byte is as it was.
        let storedEnd = max(0, min(written.storedCount, bufferSize))
        for range in [storedEnd..<min(storedEnd + 4096, bufferSize), bufferSize..<run.bytes.count] {
            if let changed = range.first(where: { run.bytes[$0] != Self.sentinel }) {
                fail("\(context): byte \(changed) changed, past storedCount \(written.storedCount)\(changed >= bufferSize ? ", outside the buffer" : "")", caller)
                usable = false
                break
            }
        }
        if count == 0 {
            expect(written.byteCount == 0 && written.storedCount == 0, "\(context): nothing written, but byteCount \(written.byteCount), storedCount \(written.storedCount)", caller)
            guard remaining > 0 else {
                expect(written.neededCount == 0, "\(context): no entries, but neededCount \(written.neededCount)", caller)
                return usable ? written : nil
            }
            let frame = plain.frameSize(first)
            expect(
                frame + 64 > bufferSize,
                "\(context): wrote nothing, but the first entry's frame (\(frame) bytes) and 64 bytes of slack fit", caller)
            usable = expect(
                written.neededCount > bufferSize && written.neededCount >= frame,
                "\(context): wrote nothing and asks for \(written.neededCount) bytes of room; its frame takes \(frame)", caller) && usable
        } else {
            expect(written.neededCount == 0, "\(context): wrote \(count) entries, but neededCount is \(written.neededCount)", caller)
            expect(
                count == 1 || plain.ends[end - 1] - plain.ends[first] < byteBudget,
                "\(context): framed entry #\(end - 1) after its frames had reached the byte budget", caller)
            if count < remaining {
                let frame = plain.frameSize(end)
                let room = bufferSize - written.byteCount
                expect(
                    written.byteCount >= byteBudget || frame + 64 > room,
                    "\(context): stopped after \(count) entries below the byte budget, with \(room) bytes of room for a frame of \(frame)",
                    caller)
            }
        }
        return usable ? written : nil
    }

    /// Frames `entries` with the fast path the way a log does - a buffer of `bufferSize` bytes
    /// and `byteBudget` per call, a buffer of the room asked for when an entry does not fit -
    /// checking every call.
    func checkFastRuns(_ entries: [Entry], plain: PlainFrames, bufferSize: Int, byteBudget: Int, _ what: String, _ caller: CheckLocation) {
        var first = 0
        while first < entries.count {
            guard let written = checkFastRun(entries, from: first, plain: plain, bufferSize: bufferSize, byteBudget: byteBudget, what, caller) else {
                return
            }
            if written.entryCount > 0 {
                first += written.entryCount
                continue
            }
            // The room asked for (bounded, so a codec asking for absurd room fails instead).
            let limit = 4 * plain.frameSize(first) + (1 << 20)
            guard written.neededCount <= limit else {
                fail("\(what): entry #\(first)'s frame takes \(plain.frameSize(first)) bytes, but the codec asks for \(written.neededCount)", caller)
                return
            }
            guard let retried = checkFastRun(
                entries, from: first, plain: plain, bufferSize: written.neededCount, byteBudget: byteBudget, what + " (room asked for)", caller)
            else { return }
            guard retried.entryCount > 0 else {
                fail("\(what): entry #\(first) does not fit in the \(written.neededCount) bytes the codec asked for", caller)
                return
            }
            first += retried.entryCount
        }
    }

    /// The write fast path, when the codec has one, frames awkward entries exactly as the plain
    /// path does, in one call and in calls stopped by the budget or by the room.
    func checkEntryFrames(_ caller: CheckLocation) {
        // A call with nothing: `nil` for a codec without the fast path, else an empty result.
        guard let empty = fastRun([], from: 0, bufferSize: 0, byteBudget: 0, crc: 7) else {
            // No fast path: every other call must say so too.
            let entries = [Entry(term: 1, index: 1, data: [1, 2, 3])]
            expect(
                fastRun(entries, from: 0, bufferSize: 4096, byteBudget: 4096, crc: 0) == nil,
                "frameEntries returned nil with no entries, but a value with some: whether it is nil must not depend on the arguments",
                caller)
            return
        }
        expect(
            empty.written == FramedEntries(entryCount: 0, byteCount: 0, storedCount: 0) && empty.crc == 7,
            "frameEntries with no entries and no room gave \(empty.written), running CRC \(empty.crc) from 7", caller)

        let entries = awkwardEntries()
        for start: UInt32 in [0, 0xDEAD_BEEF] {
            let plain = plainFrames(entries, crc: start)
            let whole = plain.bytes.count + 64 * entries.count + 64
            let what = "CRC from \(hex(start))"
            // Everything in one call.
            if let written = checkFastRun(entries, from: 0, plain: plain, bufferSize: whole, byteBudget: .max, what, caller) {
                expect(written.entryCount == entries.count, "\(what): one call with room for all wrote \(written.entryCount) of \(entries.count) entries", caller)
            }
            // Runs stopped by the budget, by the room, or by both; entries larger than the
            // buffer get the room they ask for.
            let configurations: [(bufferSize: Int, byteBudget: Int)] = [
                (256 << 10, 4096), (4096, 1024), (1000, Int.max), (64 << 10, 0), (300, 200), (8 << 10, -5), (96, 96),
            ]
            for configuration in configurations {
                checkFastRuns(entries, plain: plain, bufferSize: configuration.bufferSize, byteBudget: configuration.byteBudget, what, caller)
            }
            // A buffer that ends inside an entry's frame, and one just too small for it.
            for index in stride(from: 1, to: entries.count, by: 7) {
                let frame = plain.frameSize(index)
                for bufferSize in [plain.ends[index] + frame / 2, plain.ends[index] + frame + 63, plain.ends[index] + frame + 64] {
                    checkFastRun(entries, from: 0, plain: plain, bufferSize: bufferSize, byteBudget: .max, what, caller)
                }
            }
        }
    }

    // MARK: - Read fast path

    /// The read fast path, in both entry data modes, against `decode`: for every record kind
    /// (edge values, small samples, awkward entries, random records, and etcd's records for a
    /// codec of etcd's plain format). Damaged records are checked by the bit-flip, truncation
    /// and random-bytes cases.
    func checkLogRecordDecoding(_ caller: CheckLocation) {
        var records = edgeRecords() + sampleRecords() + awkwardEntries().map { LogRecord.entry($0) }
        var random = SeededGenerator(seed: seed ^ 0xFA57)
        for _ in 0..<500 { records.append(randomRecord(using: &random)) }
        for record in records {
            checkFastDecoding(encode(record).bytes, "\(describe(record))", caller)
        }
        if codec.formatName == nil {
            for golden in etcdRecords { checkFastDecoding(golden.bytes, "etcd's \(golden.record)", caller) }
        }
    }

    /// ``RaftFiles/RecordCodec/decodeLogRecord(_:entryData:)`` of `bytes`, in every mode the
    /// codec takes (for ``RaftFiles/EntryDataMode/share(_:)`` the bytes lie inside the buffer,
    /// after others),
    /// agrees with `decode`: the same checksum, payload range and record (an entry's index and
    /// term only without its data); and it throws, with a data error, when `decode` does,
    /// except that without entry data it may accept an entry whose data `decode` rejects.
    func checkFastDecoding(_ bytes: [UInt8], _ what: @autoclosure () -> String, _ caller: CheckLocation) {
        let codec = self.codec
        let plain = Result { () throws(StorageError) in try codec.decode(bytes) }
        let buffer = EntryBuffer(capacity: bytes.count + 3) { raw in
            ([0xA5, 0xA5, 0xA5] + bytes).withUnsafeBytes { raw.copyMemory(from: $0) }
            return bytes.count + 3
        }
        for mode in [EntryDataMode.copy, .skip] + (codec.sharesEntryData ? [.share(buffer)] : []) {
            let fast = Result { () throws(StorageError) in
                if case .share = mode { return try codec.decodeLogRecord(UnsafeRawBufferPointer(rebasing: buffer.bytes[3...]), entryData: mode) }
                return try bytes.withRawBytes { (raw) throws(StorageError) in try codec.decodeLogRecord(raw, entryData: mode) }
            }
            switch (plain, fast) {
            case (.success(let decoded), .success(let read)):
                expect(read.checksum == decoded.checksum, "\(what()): decodeLogRecord(\(mode)) checksum \(read.checksum), decode's \(decoded.checksum)", caller)
                if case .crc = decoded.record {} else {
                    expect(read.payload == decoded.payload, "\(what()): decodeLogRecord(\(mode)) payload \(read.payload), decode's \(decoded.payload)", caller)
                }
                switch (decoded.record, read.body, mode) {
                case (.entry(let entry), .entry(let got), .copy), (.entry(let entry), .entry(let got), .share):
                    expect(got == entry, "\(what()): decodeLogRecord(\(mode)) gives \(describe(got)), decode \(describe(entry))", caller)
                case (.entry(let entry), .entryIndexAndTerm(let index, let term), .skip):
                    expect(
                        index == entry.index && term == entry.term,
                        "\(what()): decodeLogRecord(.skip) gives index \(index) term \(term), decode \(describe(entry))", caller)
                case (.entry(let entry), _, _):
                    fail("\(what()): decode gives \(describe(entry)), decodeLogRecord(\(mode)) \(describe(read.body))", caller)
                case (let record, .other(let got), _):
                    expect(got == record, "\(what()): decodeLogRecord(\(mode)) gives \(got), decode \(record)", caller)
                case (let record, _, _):
                    fail("\(what()): decode gives \(record), decodeLogRecord(\(mode)) \(describe(read.body))", caller)
                }
            case (.failure, .failure(let error)):
                expect(dataErrorCodes.contains(error.code), "\(what()): decodeLogRecord(\(mode)): unexpected error code \(error)", caller)
            case (.success(let decoded), .failure(let error)):
                fail("\(what()): decode gives \(decoded.record), but decodeLogRecord(\(mode)) throws \(error)", caller)
            case (.failure(let error), .success(let read)):
                if mode == .skip, case .entryIndexAndTerm = read.body { continue }
                fail("\(what()): decode throws \(error), but decodeLogRecord(\(mode)) gives \(describe(read.body))", caller)
            }
        }
    }
}

// MARK: - Entries

/// Entries around every boundary an entry encoder has: types of every varint length,
/// negative ones included; terms and indexes from 0 to `UInt64.max` (varints of one to ten
/// bytes); data absent, empty, short, around 128 and 16 KiB, large (300,000 bytes); field
/// headers just within and just past 16 bytes.
private func awkwardEntries() -> [Entry] {
    var random = SeededGenerator(seed: 0xE17)
    let types: [Int32] = [0, 1, 2, 127, 128, -1, -2, .min, .max, 1 << 30, 16_384]
    let numbers: [UInt64] = [
        0, 1, 127, 128, 16_383, 16_384, (1 << 28) - 1, 1 << 28, (1 << 35) - 1, 1 << 35, 1 << 42, 1 << 49, 1 << 56, 1 << 63, .max,
    ]
    let sizes: [Int?] = [nil, 0, 1, 7, 8, 9, 100, 127, 128, 1000, 4096, 16_383, 16_384, 70_000]
    var entries: [Entry] = []
    for position in 0..<64 {
        let size = sizes[(position * 5) % sizes.count]
        entries.append(Entry(
            term: numbers[position % numbers.count], index: numbers[(position * 7 + 3) % numbers.count],
            type: EntryType(rawValue: types[position % types.count]),
            data: size.map { randomBytes($0, using: &random) }))
    }
    // Five-byte type, term and index: 18 bytes of field headers without data, 20 with a length.
    entries.append(Entry(term: 1 << 34, index: (1 << 34) + 1, type: EntryType(rawValue: 1 << 30)))
    entries.append(Entry(term: 1 << 34, index: (1 << 34) + 2, type: EntryType(rawValue: 1 << 30), data: []))
    // Field headers (data length included) of exactly 16 bytes, and of 17.
    entries.append(Entry(term: 1 << 21, index: 1 << 21, type: EntryType(rawValue: 1 << 20), data: [7]))
    entries.append(Entry(term: 1 << 28, index: 1 << 21, type: EntryType(rawValue: 1 << 20), data: [7]))
    // A large compressible payload (a three-byte length varint, larger than most buffers the
    // checks hand out), and a large random one.
    entries.append(Entry(term: 3, index: 9, data: [UInt8](repeating: 0x5A, count: 300_000)))
    entries.append(Entry(term: 3, index: 10, type: .confChangeV2, data: randomBytes(20_000, using: &random)))
    return entries
}

/// The offset of the first byte where `a` and `b` (of the same length) differ, or `nil`.
private func firstDifference(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int? {
    a.withUnsafeBufferPointer { (a) -> Int? in
        b.withUnsafeBufferPointer { (b) -> Int? in
            let count = min(a.count, b.count)
            // Word by word first: these are the frames of whole runs of entries.
            var offset = 0
            while offset + 8 <= count,
                UnsafeRawPointer(a.baseAddress! + offset).loadUnaligned(as: UInt64.self)
                    == UnsafeRawPointer(b.baseAddress! + offset).loadUnaligned(as: UInt64.self)
            {
                offset += 8
            }
            while offset < count, a[offset] == b[offset] { offset += 1 }
            return offset < count ? offset : (a.count == b.count ? nil : count)
        }
    }
}

/// An entry without its data bytes, which can be large.
private func describe(_ entry: Entry) -> String {
    "Entry(term: \(entry.term), index: \(entry.index), type: \(entry.type.rawValue), data: \(entry.dataCount.map { "\($0) bytes" } ?? "nil"))"
}

/// A record, entries without their data bytes.
private func describe(_ record: LogRecord) -> String {
    if case .entry(let entry) = record { return describe(entry) }
    return "\(record)"
}

/// What the read fast path gave, entries without their data bytes.
private func describe(_ body: DecodedLogRecord.Body) -> String {
    switch body {
    case .entry(let entry): "entry \(describe(entry))"
    case .entryIndexAndTerm(let index, let term): "entry index \(index) term \(term) without data"
    case .other(let record): "\(describe(record)) (as a record that is not an entry)"
    }
}

/// `value` as eight hex digits.
private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
