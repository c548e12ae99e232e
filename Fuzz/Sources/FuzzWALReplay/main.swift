// The WAL frame decoder and replay: any bytes as one or two segment files are read (etcd's
// ReadAll), scanned for snapshot markers, and opened for writing with repair, without a trap,
// a hang or an allocation the bytes merely claim. Whatever opens must then take an append.
// A WAL the script below wrote and nothing damaged must open, and replay what was written.
//
// Input, by byte 0:
// - bit 1 clear: raw segments. Bit 0 chooses one segment (the rest of the input) or two (bytes
//   1-2 give the split point, the rest is split there).
// - bit 1 set: operations. The rest is a script of WAL writes (entries, HardStates, snapshot
//   markers, syncs) run through the real writer with 8 KiB segments, so every frame and CRC is
//   valid and replay's own logic is reached. Every write is one raft makes: entries follow the
//   log or replace uncommitted ones, terms and commit never go back and commit stays within the
//   log, markers name committed entries. The last 3 bytes then damage the last segment (an
//   offset and a byte to store there, or a cut when the byte is 0), unless bit 2 is set: then
//   the intact WAL must open without repair, and read and open must give back exactly what the
//   script wrote (a trap, `fatalError`, is the finding).
import EtcdStorage
import FuzzSupport
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting

let quiet = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

let first = "0000000000000000-0000000000000000.wal"
let second = "0000000000000001-0000000000000010.wal"

/// What a script wrote, by raft's rules: what an intact WAL must replay.
struct Written {
    /// One write, in the order made.
    enum Write {
        case entries([Entry])
        case marker(SnapshotMarker)
    }

    var metadata: [UInt8]
    /// Entry batches and snapshot markers (`WAL.create` records the marker at (0, 0)).
    var writes: [Write] = [.marker(.zero)]
    /// The last HardState saved that is not empty (an empty one is not recorded).
    var hardState = HardState.empty
    /// The log by raft's overwrite rule: `log[i - 1]` is the entry at index i.
    var log: [Entry] = []

    var lastIndex: UInt64 { UInt64(log.count) }
    var markers: [SnapshotMarker] { writes.compactMap { if case .marker(let marker) = $0 { marker } else { nil } } }

    func term(at index: UInt64) -> UInt64 { index == 0 ? 0 : log[Int(index - 1)].term }

    mutating func append(_ batch: [Entry]) {
        guard let first = batch.first else { return }
        log.removeSubrange(Int(first.index - 1)...)
        log += batch
        writes.append(.entries(batch))
    }

    /// What a replay from `start` that starts again at markers the log does not hold gives
    /// (`WALLogStore`'s open; Docs/Recovery.md): etcd's ReadAll rules over every write, entries at
    /// or below the boundary ignored but for the truncation they imply (which etcd's ReadAll
    /// skips too). Records in the segments such a replay skips are all at or
    /// below `start` (a segment is named after the highest index written before it), so reading
    /// every write gives the same. `nil` for a gap (which raft's writes never leave).
    func replay(from start: SnapshotMarker) -> (boundary: SnapshotMarker, entries: [Entry])? {
        var boundary = start
        var entries: [Entry] = []
        for write in writes {
            switch write {
            case .entries(let batch):
                for entry in batch {
                    guard entry.index > boundary.index else {
                        // Replaces every entry after it, which all lie after the boundary: raft
                        // discarded them, and a replay from the marker must not bring them back.
                        entries = []
                        continue
                    }
                    let slot = Int(entry.index - boundary.index - 1)
                    guard slot <= entries.count else { return nil }
                    entries.removeSubrange(slot...)
                    entries.append(entry)
                }
            case .marker(let marker):
                guard marker.index > boundary.index else { continue }
                let slot = Int(marker.index - boundary.index - 1)
                if slot >= entries.count || entries[slot].term != marker.term {
                    boundary = marker
                    entries = []
                }
            }
        }
        return (boundary, entries)
    }
}

/// Reads, scans and opens the WAL in `/wal`; whatever opens must take an append and keep it.
/// With `intact`, the WAL the script wrote, untouched: it must read and open cleanly and give
/// back what was written.
func check(_ fs: FaultInjectingFileSystem, intact written: Written? = nil) {
    let options = WALOptions(fileSystem: fs, segmentSize: 16 * 1024, logger: quiet)
    let codec = ProtobufRecordCodec()

    if let written {
        checkReplay(of: written, options: options)
    } else {
        _ = try? WAL.read(at: "/wal", from: .zero, codec: codec, options: options)
        _ = try? WAL.verify(at: "/wal", from: .zero, codec: codec, options: options)
        _ = try? WAL.validSnapshotMarkers(at: "/wal", codec: codec, options: options)
    }

    // Open for writing as a node would (repairing a torn tail once); what opens must continue.
    let store: WALLogStore<ProtobufRecordCodec>
    do {
        store = try WALLogStore.open(at: "/wal", codec: codec, options: .init(wal: options, retainedSegments: nil))
    } catch {
        // Damaged bytes may be refused (a StorageError, as the typed throw says); a WAL the
        // script wrote may not.
        if written != nil { fatalError("a WAL written by the script, undamaged, does not open: \(error)") }
        return
    }
    if let written { checkOpened(store, against: written) }
    do {
        let next = try store.lastIndex() + 1
        let term = max(try store.hardState().term, try store.term(at: next - 1), 1)
        try store.append([Entry(term: term, index: next, data: [1, 2, 3])])
        try store.close()
        let reopened = try WALLogStore.open(at: "/wal", codec: codec, options: .init(wal: options, retainedSegments: nil))
        let kept = try reopened.entries(in: next..<(next + 1))
        require(kept == [Entry(term: term, index: next, data: [1, 2, 3])], "an entry appended after opening was not kept: \(kept)")
        try reopened.close()
    } catch {
        require(false, "a WAL that opened does not continue: \(error)")
    }
}

/// etcd's ReadAll from (0, 0), Verify and ValidSnapshotEntries of the intact WAL: every entry
/// by raft's overwrite rule, the last HardState and every marker, in order.
func checkReplay(of written: Written, options: WALOptions) {
    let codec = ProtobufRecordCodec()
    let valid = written.markers.filter { $0.index <= written.hardState.commit }
    do {
        let replay = try WAL.read(at: "/wal", from: .zero, codec: codec, options: options)
        if let error = replay.error { fatalError("the script's intact WAL reads with an error: \(error)") }
        guard replay.entries == written.log else {
            fatalError("the intact WAL replays entries \(summary(replay.entries)), the script wrote \(summary(written.log))")
        }
        guard replay.hardState == written.hardState else {
            fatalError("the intact WAL replays HardState \(replay.hardState), the script saved \(written.hardState) last")
        }
        guard replay.snapshots.elementsEqual(written.markers, by: { $0.matches($1) }) else {
            fatalError("the intact WAL replays snapshot markers \(replay.snapshots), the script recorded \(written.markers)")
        }
        guard (replay.metadata ?? []) == written.metadata else {
            fatalError("the intact WAL replays metadata \(String(describing: replay.metadata)), the script wrote \(written.metadata)")
        }
        let verified = try WAL.verify(at: "/wal", from: .zero, codec: codec, options: options)
        guard verified == written.hardState else { fatalError("verify of the intact WAL gives \(verified), the script saved \(written.hardState)") }
        let markers = try WAL.validSnapshotMarkers(at: "/wal", codec: codec, options: options)
        guard markers.elementsEqual(valid, by: { $0.matches($1) }) else {
            fatalError("the intact WAL's valid snapshot markers are \(markers), the script's committed ones \(valid)")
        }
    } catch {
        fatalError("reading the script's intact WAL failed: \(error)")
    }
}

/// The log store opened on the intact WAL: no repair, the last HardState, every committed
/// marker, and from the newest of them (etcd's restart rule) the entries ReadAll gives.
func checkOpened(_ store: WALLogStore<ProtobufRecordCodec>, against written: Written) {
    let valid = written.markers.filter { $0.index <= written.hardState.commit }
    do {
        guard store.recoveryActions.isEmpty else { fatalError("opening the script's intact WAL repaired it: \(store.recoveryActions)") }
        let hardState = try store.hardState()
        guard hardState == written.hardState else { fatalError("the opened WAL holds HardState \(hardState), the script saved \(written.hardState) last") }
        let markers = try store.snapshotMarkers()
        guard markers.elementsEqual(valid, by: { $0.matches($1) }) else {
            fatalError("the opened WAL lists markers \(markers), the script's committed ones are \(valid)")
        }
        guard let start = valid.last,
            let expected = written.replay(from: start)
        else { return }
        let firstIndex = try store.firstIndex(), lastIndex = try store.lastIndex()
        let expectedLast = expected.boundary.index + UInt64(expected.entries.count)
        guard firstIndex == expected.boundary.index + 1, lastIndex == expectedLast else {
            fatalError(
                "the opened WAL (opened at \(start)) has first index \(firstIndex) and last index \(lastIndex); "
                    + "the script's writes give \(expected.boundary.index + 1) and \(expectedLast)")
        }
        if lastIndex >= firstIndex {
            let entries = try store.entries(in: firstIndex..<(lastIndex + 1))
            guard entries == expected.entries else {
                fatalError("the opened WAL holds entries \(summary(entries)), the script's writes give \(summary(expected.entries))")
            }
        }
    } catch {
        fatalError("reading the opened intact WAL failed: \(error)")
    }
}

/// Entries as `index:term/size`, for messages.
func summary(_ entries: [Entry]) -> String {
    "[" + entries.map { "\($0.index):\($0.term)/\($0.data?.count ?? -1)" }.joined(separator: " ") + "]"
}

/// Runs a script of writes through the WAL writer and returns what it wrote; then damages the
/// last segment unless `intact`.
func writeScript(_ script: UnsafeRawBufferPointer, to fs: FaultInjectingFileSystem, intact: Bool) -> Written {
    let options = WALOptions(fileSystem: fs, segmentSize: 8192, logger: quiet)
    var written = Written(metadata: Array(script.prefix(3)))
    // At most 600 script bytes: longer scripts only repeat what shorter ones reach, slowly.
    var cursor = script.dropLast(3).dropFirst(3).prefix(600)
    func next() -> UInt64 {
        guard let byte = cursor.first else { return 0 }
        cursor = cursor.dropFirst()
        return UInt64(byte)
    }
    do {
        // Nothing can make these fail: the disk is healthy, and the writes are raft's.
        let wal = try WAL.create(at: "/wal", metadata: written.metadata, codec: ProtobufRecordCodec(), options: options)
        while !cursor.isEmpty {
            switch next() % 5 {
            case 0, 1:
                // After the last entry, or replacing uncommitted ones (never a gap).
                let back = min(next() % 8, written.lastIndex - written.hardState.commit)
                let start = written.lastIndex + 1 - back
                let count = next() % 8
                let term = max(written.term(at: start - 1), 1) + next() % 2
                let size = Int(next()) * 4
                let entries = (0..<count).map { offset in
                    Entry(term: term, index: start + offset, data: [UInt8](repeating: UInt8(truncatingIfNeeded: start + offset + term), count: size))
                }
                try wal.save(hardState: .empty, entries: entries)
                written.append(entries)
            case 2:
                // Terms and commit never go back, commit stays within the log, a vote stays for its term.
                let previous = written.hardState
                let term = previous.term + next() % 2
                let proposed = next() % 3
                let vote = term == previous.term && previous.vote != 0 ? previous.vote : proposed
                let commit = min(written.lastIndex, previous.commit + next() % 4)
                let state = HardState(term: term, vote: vote, commit: commit)
                try wal.save(hardState: state, entries: [])
                if !state.isEmpty { written.hardState = state }
            case 3:
                // A snapshot of a committed entry.
                let commit = written.hardState.commit
                let index = commit == 0 ? 0 : commit - next() % commit
                let marker = SnapshotMarker(index: index, term: written.term(at: index))
                try wal.saveSnapshot(marker)
                written.writes.append(.marker(marker))
            default:
                try wal.sync()
            }
        }
        try wal.close()
    } catch {
        fatalError("a script of raft's writes failed on a healthy disk: \(error)")
    }
    guard !intact, script.count >= 3, let names = try? fs.contentsOfDirectory("/wal"),
        let last = names.filter({ $0.hasSuffix(".wal") }).sorted().last,
        let bytes = fs.contents(of: "/wal/" + last), !bytes.isEmpty
    else { return written }
    let tail = script.suffix(3)
    let offset = (Int(tail[tail.startIndex]) << 8 | Int(tail[tail.startIndex + 1])) % bytes.count
    let value = tail[tail.startIndex + 2]
    var damaged = bytes
    if value == 0 { damaged.removeSubrange(offset...) } else { damaged[offset] ^= value }
    fs.setContents(of: "/wal/" + last, to: damaged)
    return written
}

runFuzzer { input in
    guard let mode = input.first else { return }
    let fs = FaultInjectingFileSystem()
    var files: [(String, UnsafeRawBufferPointer)] = []
    if mode & 1 == 0 {
        files = [(first, UnsafeRawBufferPointer(rebasing: input.dropFirst()))]
    } else {
        guard input.count >= 3 else { return }
        let rest = UnsafeRawBufferPointer(rebasing: input.dropFirst(3))
        let split = (Int(input[1]) << 8 | Int(input[2])) % (rest.count + 1)
        files = [(first, UnsafeRawBufferPointer(rebasing: rest[..<split])), (second, UnsafeRawBufferPointer(rebasing: rest[split...]))]
    }
    if mode & 2 != 0 {
        let intact = mode & 4 != 0
        let written = writeScript(UnsafeRawBufferPointer(rebasing: input.dropFirst()), to: fs, intact: intact)
        check(fs, intact: intact ? written : nil)
        return
    }
    do {
        try fs.createDirectory("/wal", permissions: 0o700)
        for (name, bytes) in files {
            let file = try fs.open("/wal/" + name, [.write, .create], permissions: 0o600)
            try file.write(bytes, at: 0)
            try file.close()
        }
    } catch {
        require(false, "setting up the in-memory file system failed: \(error)")
    }
    check(fs)
}
