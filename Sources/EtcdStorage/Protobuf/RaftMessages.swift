import RaftStorage

// raftpb and walpb messages as etcd 3.4's gogoproto code writes them (Docs/OnDiskFormat.md, Records;
// 3.2): fields in ascending number order, non-nullable scalars always written (zero too),
// nullable bytes only when non-nil, repeated scalars unpacked. Readers accept what any etcd
// version writes: missing fields are zero, unknown fields of every wire type are skipped,
// repeated uint64 fields may be packed, embedded messages that repeat are merged (proto rules).

// MARK: - Entry (raftpb.Entry: type=1 term=2 index=3 data=4)

// Entries are written by `EntryFrame` alone (the codec's one entry encoder) and read, when
// `CanonicalEntryRecord` does not take them, by `readEntry(copyingData:)` below.

extension Array where Element == UInt8 {
    mutating func appendHardState(_ state: HardState) {
        appendVarintField(1, state.term)
        appendVarintField(2, state.vote)
        appendVarintField(3, state.commit)
    }

    mutating func appendConfState(_ state: ConfState) {
        for voter in state.voters { appendVarintField(1, voter) }
        for learner in state.learners { appendVarintField(2, learner) }
        for voter in state.votersOutgoing { appendVarintField(3, voter) }
        for learner in state.learnersNext { appendVarintField(4, learner) }
        appendVarintField(5, state.autoLeave ? 1 : 0)
    }

    mutating func appendSnapshotMetadata(_ metadata: SnapshotMetadata) {
        appendMessageField(1) { $0.appendConfState(metadata.confState) }
        appendVarintField(2, metadata.index)
        appendVarintField(3, metadata.term)
    }

    mutating func appendSnapshot(_ snapshot: Snapshot) {
        if let data = snapshot.data { appendBytesField(1, data) }
        appendMessageField(2) { $0.appendSnapshotMetadata(snapshot.metadata) }
    }

    /// walpb.Snapshot: index=1 term=2 (always), conf_state=3 (3.5+, only when asked and set).
    mutating func appendWALSnapshot(_ marker: SnapshotMarker, includeConfState: Bool) {
        appendVarintField(1, marker.index)
        appendVarintField(2, marker.term)
        if includeConfState, let confState = marker.confState {
            appendMessageField(3) { $0.appendConfState(confState) }
        }
    }
}

extension ProtobufReader {
    /// A `raftpb.Entry`, every field checked; its data copied out when `copyingData`, else
    /// left `nil` (read for the index and term only).
    mutating func readEntry(copyingData: Bool) throws(StorageError) -> Entry {
        var entry = Entry(term: 0, index: 0)
        while let (field, wireType) = try readTag() {
            switch field {
            case 1: entry.type = EntryType(rawValue: Int32(truncatingIfNeeded: try readVarint(wireType: wireType, field: field, in: "Entry")))
            case 2: entry.term = try readVarint(wireType: wireType, field: field, in: "Entry")
            case 3: entry.index = try readVarint(wireType: wireType, field: field, in: "Entry")
            case 4:
                let data = try readLengthDelimited(wireType: wireType, field: field, in: "Entry")
                if copyingData { entry.data = copy(data) }
            default: try skipField(wireType: wireType, field: field)
            }
        }
        return entry
    }

    mutating func readHardState() throws(StorageError) -> HardState {
        var state = HardState()
        while let (field, wireType) = try readTag() {
            switch field {
            case 1: state.term = try readVarint(wireType: wireType, field: field, in: "HardState")
            case 2: state.vote = try readVarint(wireType: wireType, field: field, in: "HardState")
            case 3: state.commit = try readVarint(wireType: wireType, field: field, in: "HardState")
            default: try skipField(wireType: wireType, field: field)
            }
        }
        return state
    }

    mutating func readConfState(into state: inout ConfState) throws(StorageError) {
        while let (field, wireType) = try readTag() {
            switch field {
            case 1: try readRepeatedUInt64(wireType: wireType, field: field, in: "ConfState", into: &state.voters)
            case 2: try readRepeatedUInt64(wireType: wireType, field: field, in: "ConfState", into: &state.learners)
            case 3: try readRepeatedUInt64(wireType: wireType, field: field, in: "ConfState", into: &state.votersOutgoing)
            case 4: try readRepeatedUInt64(wireType: wireType, field: field, in: "ConfState", into: &state.learnersNext)
            case 5: state.autoLeave = try readVarint(wireType: wireType, field: field, in: "ConfState") != 0
            default: try skipField(wireType: wireType, field: field)
            }
        }
    }

    mutating func readSnapshotMetadata(into metadata: inout SnapshotMetadata) throws(StorageError) {
        while let (field, wireType) = try readTag() {
            switch field {
            case 1:
                var nested = subReader(try readLengthDelimited(wireType: wireType, field: field, in: "SnapshotMetadata"))
                try nested.readConfState(into: &metadata.confState)
            case 2: metadata.index = try readVarint(wireType: wireType, field: field, in: "SnapshotMetadata")
            case 3: metadata.term = try readVarint(wireType: wireType, field: field, in: "SnapshotMetadata")
            default: try skipField(wireType: wireType, field: field)
            }
        }
    }

    /// `raftpb.Snapshot` of a `.snap` file, with the streaming decoder's limits: one `data`
    /// field, no groups (see `ProtobufRecordCodec.decodeSnapshot`).
    mutating func readSnapshot() throws(StorageError) -> Snapshot {
        var snapshot = Snapshot()
        var sawData = false
        while let (field, wireType) = try readTag() {
            let start = position
            switch field {
            case 1:
                guard !sawData else { throw error("snap: a second data field in raftpb.Snapshot", at: start) }
                sawData = true
                snapshot.data = copy(try readLengthDelimited(wireType: wireType, field: field, in: "Snapshot"))
            case 2:
                var nested = subReader(try readLengthDelimited(wireType: wireType, field: field, in: "Snapshot"))
                try nested.readSnapshotMetadata(into: &snapshot.metadata)
            default: try skipNonGroupField(wireType: wireType, field: field, in: "raftpb.Snapshot")
            }
        }
        return snapshot
    }

    mutating func readWALSnapshot() throws(StorageError) -> SnapshotMarker {
        var marker = SnapshotMarker(index: 0, term: 0)
        while let (field, wireType) = try readTag() {
            switch field {
            case 1: marker.index = try readVarint(wireType: wireType, field: field, in: "walpb.Snapshot")
            case 2: marker.term = try readVarint(wireType: wireType, field: field, in: "walpb.Snapshot")
            case 3:
                var nested = subReader(try readLengthDelimited(wireType: wireType, field: field, in: "walpb.Snapshot"))
                var confState = marker.confState ?? ConfState()
                try nested.readConfState(into: &confState)
                marker.confState = confState
            default: try skipField(wireType: wireType, field: field)
            }
        }
        return marker
    }
}
