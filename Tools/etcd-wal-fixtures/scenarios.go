package main

import (
	"fmt"
	"os"
	"path/filepath"

	"go.etcd.io/etcd/raft/raftpb"
)

// Node and cluster ids in the metadata of the etcd-shaped fixtures (the ids a default
// single-member etcd gets).
const (
	nodeID    uint64 = 0x8e9e05c52164694d
	clusterID uint64 = 0xcdf818194e3a8c32
)

// Error texts of etcd 3.4 (Docs/Compatibility.md).
const (
	errSnapshotNotFound = "wal: snapshot not found"
	errSnapshotMismatch = "wal: snapshot mismatch"
	errFileNotFound     = "wal: file not found"
	errSliceOutOfRange  = "wal: slice bounds out of range"
	errMetadataConflict = "wal: conflicting metadata found"
	errWALCRCMismatch   = "wal: crc mismatch"
	errRecordCRC        = "walpb: crc mismatch"
	errUnexpectedEOF    = "unexpected EOF"
)

func allScenarios() []scenario {
	return []scenario{
		singleSegment(),
		multiSegment(),
		purged(),
		missingSegment(),
		overwrite(),
		largeEntries(),
		confChanges(),
		snapshotAhead(),
		tornTail(),
		tornSector(),
		garbageAfterTail(),
		crcMismatchLastSegment(),
		crcMismatchOldSegment(),
		crcMismatchSegmentHeader(),
		indexGap(),
		metadataConflict(),
		unknownRecordType(),
		strayFiles(),
	}
}

// MARK: - Shapes real use produces

func buildSingleSegment(dir string) error {
	member := fmt.Sprintf(`{"id":%d,"peerURLs":["http://127.0.0.1:2380"],"name":"default"}`, nodeID)
	cc := raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: nodeID, Context: []byte(member)}
	x := create(dir, etcdMetadata(nodeID, clusterID))
	x.save(hs(1, 0, 1), raftpb.Entry{Index: 1, Term: 1, Type: raftpb.EntryConfChange, Data: mustMarshal(&cc)})
	x.save(hs(2, nodeID, 1), normal(2, 2, nil)) // the empty entry a new leader appends
	x.save(hs(2, nodeID, 2))                    // commit only: buffered, not synced
	x.save(hs(2, nodeID, 2), normal(3, 2, []byte("put foo = bar")), normal(4, 2, []byte{}))
	x.save(hs(2, nodeID, 4))
	return x.close()
}

func singleSegment() scenario {
	return scenario{
		name: "single-segment",
		description: "One segment as a fresh single-member etcd leaves it: the bootstrap confChange, the leader's " +
			"empty entry (nil data), an entry with empty non-nil data, commit-only HardState changes. Written with the " +
			"default 64,000,000-byte segment; its zero tail is cut (etcd replays it identically, checked).",
		truncateTail: true,
		build:        buildSingleSegment,
		markers:      []marker{{0, 0}, {0, 1}, {3, 2}},
		expect: append(append(both(marker{0, 0}, ""), both(marker{0, 1}, errSnapshotMismatch)...),
			expectation{marker{3, 2}, modeRead, errSnapshotNotFound},
			// etcd's write-mode ReadAll loses ErrSnapshotNotFound (Docs/OnDiskFormat.md, Replay step 4).
			expectation{marker{3, 2}, modeWrite, ""}),
	}
}

// termOf is the term of entry i in the multi-segment log: leaders change at 61 and 151.
func termOf(i uint64) uint64 {
	switch {
	case i <= 60:
		return 1
	case i <= 150:
		return 2
	}
	return 3
}

// buildMultiSegment writes 240 entries over three terms in batches of 1-7, with commit
// lagging one batch, commit-only saves, and a snapshot marker each time commit passes a
// multiple of 50. The last marker (235) is above the final commit (232), as a crash between
// saving a leader's snapshot and its HardState leaves it.
func buildMultiSegment(dir string) error {
	x := create(dir, etcdMetadata(nodeID, clusterID))
	batches := []int{1, 3, 5, 2, 7, 4, 6}
	var commit, nextSnap uint64 = 0, 50
	vote := uint64(1)
	for next, b := uint64(1), 0; next <= 240; b++ {
		n := uint64(batches[b%len(batches)])
		if next+n-1 > 240 {
			n = 241 - next
		}
		var ents []raftpb.Entry
		for i := next; i < next+n; i++ {
			if termOf(i) != termOf(next) {
				break
			}
			data := request(i, int(i%40))
			if i == 61 || i == 151 {
				data = nil // the new leader's empty entry
			}
			ents = append(ents, normal(i, termOf(i), data))
		}
		term := termOf(next)
		if next == 61 || next == 151 {
			vote = term // a new election: term and vote change first, synced on their own
			x.save(hs(term, vote, commit))
		}
		x.save(hs(term, vote, commit), ents...)
		next += uint64(len(ents))
		commit = next - 1
		if b%4 == 3 {
			x.save(hs(term, vote, commit))
		}
		if commit >= nextSnap {
			x.snapshot(nextSnap, termOf(nextSnap))
			nextSnap += 50
		}
	}
	x.save(hs(3, 3, 232))
	x.snapshot(235, 3)
	return x.close()
}

var multiSegmentMarkers = []marker{
	{0, 0}, {50, 1}, {100, 2}, {150, 2}, {200, 3}, {235, 3}, // every marker written
	{100, 1},  // wrong term
	{120, 2},  // no marker at 120
	{1000, 3}, // beyond the log
}

// multiSegmentSize gives the multi-segment log about ten segments.
const multiSegmentSize = 2048

func multiSegment() scenario {
	return scenario{
		name: "multi-segment",
		description: "240 entries over terms 1-3 with 2,048-byte segments (nine), batches of 1-7 entries, " +
			"commit lagging one batch, commit-only saves, term/vote changes, snapshot markers at 50, 100, 150, 200 and " +
			"235 (above the final commit 232, so ValidSnapshotEntries drops it). Later segments start with crc, " +
			"metadata and the last HardState.",
		segmentSize: multiSegmentSize,
		build:       buildMultiSegment,
		markers:     multiSegmentMarkers,
		expect: append(append(append(both(marker{0, 0}, ""), both(marker{150, 2}, "")...),
			both(marker{100, 1}, errSnapshotMismatch)...),
			expectation{marker{120, 2}, modeRead, errSnapshotNotFound}),
	}
}

// removeFirstSegments deletes the n oldest segments, as etcd's purge does once they are
// released.
func removeFirstSegments(dir string, n int) error {
	segs, err := segments(dir)
	if err != nil {
		return err
	}
	if len(segs) <= n {
		return fmt.Errorf("only %d segments", len(segs))
	}
	for _, s := range segs[:n] {
		if err := os.Remove(s); err != nil {
			return err
		}
	}
	return nil
}

func purged() scenario {
	return scenario{
		name: "purged",
		description: "multi-segment after etcd's purge removed the four oldest segments: replays start at a later " +
			"segment's crc record (adopted, not checked), and {0,0} or markers before the first kept segment fail to open.",
		segmentSize: multiSegmentSize,
		build: func(dir string) error {
			if err := buildMultiSegment(dir); err != nil {
				return err
			}
			return removeFirstSegments(dir, 4)
		},
		markers: multiSegmentMarkers,
		expect:  append(both(marker{0, 0}, errFileNotFound), both(marker{200, 3}, "")...),
	}
}

func missingSegment() scenario {
	return scenario{
		name: "missing-segment",
		description: "multi-segment with its fifth segment deleted: opening at a marker before the hole fails with a " +
			"sequence gap (ErrFileNotFound in 3.4); markers after it still replay.",
		segmentSize: multiSegmentSize,
		build: func(dir string) error {
			if err := buildMultiSegment(dir); err != nil {
				return err
			}
			segs, err := segments(dir)
			if err != nil {
				return err
			}
			return os.Remove(segs[4])
		},
		markers: multiSegmentMarkers,
		expect:  append(both(marker{0, 0}, errFileNotFound), both(marker{235, 3}, "")...),
	}
}

// buildOverwrite replays raft paper Fig. 7 situations: a follower's uncommitted tail replaced
// by a new leader's entries, several times, once across a segment boundary.
func buildOverwrite(dir string) error {
	x := create(dir, etcdMetadata(nodeID, clusterID))
	var ents []raftpb.Entry
	for i := uint64(1); i <= 10; i++ {
		ents = append(ents, normal(i, 1, request(i, 60)))
	}
	x.save(hs(1, 1, 3), ents...)
	x.save(hs(2, 2, 5), normal(6, 2, request(6, 10)), normal(7, 2, request(7, 10)), normal(8, 2, request(8, 10)))
	x.save(hs(2, 2, 8), normal(9, 2, request(9, 10)), normal(10, 2, request(10, 10)))
	x.snapshot(8, 2)
	x.save(hs(3, 3, 8), normal(9, 3, nil))
	ents = nil
	for i := uint64(10); i <= 20; i++ {
		ents = append(ents, normal(i, 3, request(i, 120)))
	}
	x.save(hs(3, 3, 12), ents...) // flushes past the segment size: the next save cuts after itself
	x.save(hs(4, 1, 12), normal(13, 4, nil), normal(14, 4, request(14, 5)), normal(15, 4, request(15, 5)))
	x.save(hs(5, 2, 13), normal(14, 5, nil))
	x.save(hs(5, 2, 14), normal(15, 5, request(15, 1)), normal(16, 5, []byte{}))
	return x.close()
}

func overwrite() scenario {
	return scenario{
		name: "overwrite",
		description: "Entries replaced by later records at the same index (raft paper Fig. 7): 6-10 (term 1) by 6-8 " +
			"(term 2), 9-10 by 9 (term 3), 13-20 (term 3) by 13-15 (term 4), and 14-15 (in the first segment) by 14-16 " +
			"(term 5, in the second); a snapshot marker at 8 between them. 2,048-byte segments.",
		segmentSize: 2048,
		build:       buildOverwrite,
		markers:     []marker{{0, 0}, {8, 2}, {8, 1}, {9, 3}},
		expect:      append(append(both(marker{0, 0}, ""), both(marker{8, 2}, "")...), both(marker{8, 1}, errSnapshotMismatch)...),
	}
}

func largeEntries() scenario {
	return scenario{
		name: "large-entries",
		description: "Entries of exactly 1 MiB and of 1 MiB + 4097 bytes of data (records larger than etcd's 1 MiB " +
			"encoder buffer, each forcing a segment cut) between small ones, with 65,536-byte segments.",
		segmentSize: 65536,
		build: func(dir string) error {
			x := create(dir, etcdMetadata(nodeID, clusterID))
			x.save(hs(1, 1, 0), normal(1, 1, request(1, 3)))
			x.save(hs(1, 1, 1), normal(2, 1, bigPayload(2, 1<<20)))
			x.save(hs(1, 1, 2), normal(3, 1, request(3, 3)), normal(4, 1, bigPayload(4, 1<<20+4097)))
			x.save(hs(1, 1, 4), normal(5, 1, nil))
			return x.close()
		},
		markers: []marker{{0, 0}},
		expect:  both(marker{0, 0}, ""),
	}
}

func confChanges() scenario {
	return scenario{
		name: "conf-changes",
		description: "nil metadata (raftexample passes nil), confChange entries (add, add learner, update, remove), " +
			"confChangeV2 entries (joint with two changes and a context, auto-leave with empty non-nil data, nil data), " +
			"normal entries with nil and empty data, vote changes. 8,192-byte segments.",
		segmentSize: 8192,
		build: func(dir string) error {
			cc := func(index, term uint64, c raftpb.ConfChange) raftpb.Entry {
				return raftpb.Entry{Index: index, Term: term, Type: raftpb.EntryConfChange, Data: mustMarshal(&c)}
			}
			cc2 := func(index, term uint64, data []byte) raftpb.Entry {
				return raftpb.Entry{Index: index, Term: term, Type: raftpb.EntryConfChangeV2, Data: data}
			}
			joint := raftpb.ConfChangeV2{
				Transition: raftpb.ConfChangeTransitionJointExplicit,
				Changes: []raftpb.ConfChangeSingle{
					{Type: raftpb.ConfChangeAddNode, NodeID: 4},
					{Type: raftpb.ConfChangeAddLearnerNode, NodeID: 5},
				},
				Context: []byte("joint"),
			}
			x := create(dir, nil)
			x.save(hs(1, 0, 0),
				cc(1, 1, raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: 1, Context: []byte("n1")}),
				cc(2, 1, raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: 2, Context: []byte("n2")}),
				cc(3, 1, raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: 3}))
			x.save(hs(2, 1, 3), normal(4, 2, nil))
			x.save(hs(2, 1, 4), normal(5, 2, []byte{}), normal(6, 2, []byte("x")))
			x.save(hs(2, 1, 6), cc2(7, 2, mustMarshal(&joint)))
			x.save(hs(2, 1, 7), cc2(8, 2, mustMarshal(&raftpb.ConfChangeV2{})))
			x.snapshot(7, 2)
			x.save(hs(3, 2, 8), normal(9, 3, nil), cc2(10, 3, nil))
			x.save(hs(3, 2, 10),
				cc(11, 3, raftpb.ConfChange{Type: raftpb.ConfChangeAddLearnerNode, NodeID: 6}),
				cc(12, 3, raftpb.ConfChange{Type: raftpb.ConfChangeUpdateNode, NodeID: 2, Context: []byte("n2-new")}),
				cc(13, 3, raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode, NodeID: 3}))
			x.save(hs(3, 2, 13))
			return x.close()
		},
		markers: []marker{{0, 0}, {7, 2}},
		expect:  append(both(marker{0, 0}, ""), both(marker{7, 2}, "")...),
	}
}

// snapshotAhead: a follower receives a leader snapshot far ahead of its log (etcdserver 3.4.8+
// order: the WAL marker, then the HardState, then new entries), so the marker raises the index
// the next segment is named after.
func snapshotAhead() scenario {
	return scenario{
		name: "snapshot-ahead",
		description: "A follower with entries 1-20 (marker at 10) receives a leader snapshot at 100 (term 3) and " +
			"appends 101-115; markers at 105 (committed) and 113 (above the final commit 110). Replaying from {0,0} or " +
			"{10,1} hits the gap after 20 (ErrSliceOutOfRange; 3.4 keeps the HardState read so far). 1,024-byte segments; " +
			"segments cut after the snapshot are named after index 101 and up.",
		segmentSize: 1024,
		build: func(dir string) error {
			x := create(dir, etcdMetadata(nodeID, clusterID))
			var ents []raftpb.Entry
			for i := uint64(1); i <= 20; i++ {
				ents = append(ents, normal(i, 1, request(i, 0)))
			}
			x.save(hs(1, 1, 20), ents...)
			x.snapshot(10, 1)
			x.snapshot(100, 3)
			x.save(hs(3, 2, 100))
			ents = nil
			for i := uint64(101); i <= 110; i++ {
				ents = append(ents, normal(i, 3, request(i, 20)))
			}
			x.save(hs(3, 2, 100), ents...)
			x.save(hs(3, 2, 108))
			x.snapshot(105, 3)
			ents = nil
			for i := uint64(111); i <= 115; i++ {
				ents = append(ents, normal(i, 3, request(i, 20)))
			}
			x.save(hs(3, 2, 110), ents...)
			x.snapshot(113, 3)
			return x.close()
		},
		markers: []marker{{0, 0}, {10, 1}, {100, 3}, {105, 3}, {113, 3}, {100, 2}},
		expect: append(append(append(both(marker{0, 0}, errSliceOutOfRange), both(marker{100, 3}, "")...),
			both(marker{113, 3}, "")...), both(marker{100, 2}, errSnapshotMismatch)...),
	}
}

// MARK: - Damaged shapes (etcd-written, then damaged the way crashes and disks do)

// buildPlain writes 30 entries of about 240 bytes in batches of 3 into 4,096-byte segments,
// the last entry with a 3,000-byte payload so it spans whole 512-byte sectors and is the last
// record of the last segment.
func buildPlain(dir string) error {
	x := create(dir, etcdMetadata(nodeID, clusterID))
	for i := uint64(1); i <= 30; i += 3 {
		var ents []raftpb.Entry
		for j := i; j < i+3; j++ {
			data := request(j, 200)
			if j == 30 {
				data = bigPayload(j, 3000)
			}
			ents = append(ents, normal(j, 1, data))
		}
		if i == 28 {
			// The HardState goes first so that entry 30 is the segment's last record.
			x.save(hs(1, 1, i-1))
			x.save(raftpb.HardState{}, ents...)
			continue
		}
		x.save(hs(1, 1, i-1), ents...)
	}
	return x.close()
}

// lastFrames returns the path of the last segment and its records.
func lastFrames(dir string) (string, []frame, error) {
	segs, err := segments(dir)
	if err != nil {
		return "", nil, err
	}
	last := segs[len(segs)-1]
	fs, err := frames(last)
	return last, fs, err
}

func tornTail() scenario {
	return scenario{
		name: "torn-tail",
		description: "30 entries, 4,096-byte segments; the last segment is cut off in the middle of its last record " +
			"(a crash during the write). Read mode tolerates it; write mode (etcd's restart) reports unexpected EOF " +
			"and etcd would run Repair.",
		segmentSize: 4096,
		build: func(dir string) error {
			if err := buildPlain(dir); err != nil {
				return err
			}
			last, fs, err := lastFrames(dir)
			if err != nil {
				return err
			}
			f := fs[len(fs)-1]
			return os.Truncate(last, f.offset+8+f.recBytes/2)
		},
		markers: []marker{{0, 0}},
		expect: []expectation{
			{marker{0, 0}, modeRead, ""},
			{marker{0, 0}, modeWrite, errUnexpectedEOF},
		},
	}
}

func tornSector() scenario {
	return scenario{
		name: "torn-sector",
		description: "Like torn-tail, but the file keeps its length and one whole 512-byte sector inside the last " +
			"record (entry 30) is zero: etcd's torn-write test classifies it as unexpected EOF, not a CRC error.",
		segmentSize: 4096,
		build: func(dir string) error {
			if err := buildPlain(dir); err != nil {
				return err
			}
			last, fs, err := lastFrames(dir)
			if err != nil {
				return err
			}
			f := fs[len(fs)-1]
			sector := (f.offset + 8 + 511) / 512 * 512
			if sector+512 > f.offset+8+f.recBytes {
				return fmt.Errorf("last record too short for a whole sector")
			}
			return zeroRange(last, sector, 512)
		},
		markers: []marker{{0, 0}},
		expect: []expectation{
			{marker{0, 0}, modeRead, ""},
			{marker{0, 0}, modeWrite, errUnexpectedEOF},
		},
	}
}

func garbageAfterTail() scenario {
	return scenario{
		name: "garbage-after-tail",
		description: "Non-zero bytes 64 bytes after the last record, behind a zero length word (a torn write that " +
			"reached a later sector, etcd #6515): the zero word ends the segment, so both modes replay every entry.",
		segmentSize: 4096,
		build: func(dir string) error {
			if err := buildPlain(dir); err != nil {
				return err
			}
			last, fs, err := lastFrames(dir)
			if err != nil {
				return err
			}
			f, err := os.OpenFile(last, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte("\x10\x00\x00\x00\x00\x00\x00\x00garbage!garbage!"), fs[len(fs)-1].end()+64)
			return err
		},
		markers: []marker{{0, 0}},
		expect:  both(marker{0, 0}, ""),
	}
}

// flipInEntry flips the last data byte of the entry record at position pick among the entry
// records of segment number seg (negative counts from the end).
func flipInEntry(dir string, seg, pick int) error {
	segs, err := segments(dir)
	if err != nil {
		return err
	}
	if seg < 0 {
		seg += len(segs)
	}
	fs, err := frames(segs[seg])
	if err != nil {
		return err
	}
	var entries []frame
	for _, f := range fs {
		if f.record.Type == entryType {
			entries = append(entries, f)
		}
	}
	if pick >= len(entries) {
		return fmt.Errorf("segment %d has %d entry records", seg, len(entries))
	}
	f := entries[pick]
	// Data is the record's last field, so the record's last byte is the payload's last byte.
	return flipByte(segs[seg], f.offset+8+f.recBytes-1, 0x01)
}

func crcMismatchLastSegment() scenario {
	return scenario{
		name: "crc-mismatch-last-segment",
		description: "One bit flipped in the first entry record of the last segment, which is not its last record " +
			"(bit rot, etcd #11220): a record CRC error in both modes, not a torn write.",
		segmentSize: 4096,
		build: func(dir string) error {
			if err := buildPlain(dir); err != nil {
				return err
			}
			return flipInEntry(dir, -1, 0)
		},
		markers: []marker{{0, 0}},
		expect:  both(marker{0, 0}, errRecordCRC),
	}
}

func crcMismatchOldSegment() scenario {
	return scenario{
		name:        "crc-mismatch-old-segment",
		description: "One bit flipped in the second entry record of the first segment: a record CRC error in both modes.",
		segmentSize: 4096,
		build: func(dir string) error {
			if err := buildPlain(dir); err != nil {
				return err
			}
			return flipInEntry(dir, 0, 1)
		},
		markers: []marker{{0, 0}},
		expect:  both(marker{0, 0}, errRecordCRC),
	}
}

func crcMismatchSegmentHeader() scenario {
	return scenario{
		name: "crc-mismatch-segment-header",
		description: "multi-segment with the crc record that starts the third segment off by one: replaying across it " +
			"gives the chain check's ErrCRCMismatch (\"wal: crc mismatch\"); starting at that segment adopts the bad value " +
			"and the next record fails its own CRC (\"walpb: crc mismatch\"); starting later is unaffected.",
		segmentSize: multiSegmentSize,
		build: func(dir string) error {
			if err := buildMultiSegment(dir); err != nil {
				return err
			}
			segs, err := segments(dir)
			if err != nil {
				return err
			}
			fs, err := frames(segs[2])
			if err != nil {
				return err
			}
			if fs[0].record.Type != crcType {
				return fmt.Errorf("segment does not start with a crc record")
			}
			// The record is `08 04 10 <crc varint>`: flipping bit 0 of the varint's first byte
			// changes the value by one and keeps its length.
			return flipByte(segs[2], fs[0].offset+8+3, 0x01)
		},
		// 70 selects the damaged segment itself as the first one read.
		markers: append(append([]marker{}, multiSegmentMarkers...), marker{70, 2}),
		expect: append(append(both(marker{0, 0}, errWALCRCMismatch), both(marker{70, 2}, errRecordCRC)...),
			both(marker{235, 3}, "")...),
	}
}

func indexGap() scenario {
	return scenario{
		name: "index-gap",
		description: "Entries 1-3 and then 5, saved through etcd's own Save (which does not check contiguity): " +
			"ReadAll stops with ErrSliceOutOfRange and, in 3.4, still returns the HardState read before it.",
		build: func(dir string) error {
			x := create(dir, etcdMetadata(nodeID, clusterID))
			x.save(hs(1, 1, 3), normal(1, 1, request(1, 0)), normal(2, 1, request(2, 0)), normal(3, 1, request(3, 0)))
			x.save(hs(1, 1, 3), normal(5, 1, request(5, 0)))
			return x.close()
		},
		truncateTail: true,
		markers:      []marker{{0, 0}},
		expect:       both(marker{0, 0}, errSliceOutOfRange),
	}
}

// MARK: - Hand-framed with etcd's walpb and crc packages (shapes the wal API cannot write)

func metadataConflict() scenario {
	return scenario{
		name: "metadata-conflict",
		description: "Hand-framed with etcd's walpb and crc packages (valid CRC chain): metadata \"node-a\", entry 1, " +
			"a HardState, then a second metadata record \"node-b\" and entry 2: ErrMetadataConflict.",
		build: func(dir string) error {
			var r rawWAL
			r.addCRC(0)
			r.add(metadataType, []byte("node-a"))
			r.addSnapshot(0, 0)
			r.addEntry(normal(1, 1, []byte("x")))
			r.addState(hs(1, 1, 1))
			r.add(metadataType, []byte("node-b"))
			r.addEntry(normal(2, 1, []byte("y")))
			return r.writeFirstSegment(dir)
		},
		markers: []marker{{0, 0}},
		expect:  both(marker{0, 0}, errMetadataConflict),
	}
}

func unknownRecordType() scenario {
	return scenario{
		name: "unknown-record-type",
		description: "Hand-framed with etcd's walpb and crc packages (valid CRC chain): a record of type 9 after " +
			"entry 1 and a HardState: ReadAll fails with \"unexpected block type 9\"; ValidSnapshotEntries ignores it.",
		build: func(dir string) error {
			var r rawWAL
			r.addCRC(0)
			r.add(metadataType, etcdMetadata(nodeID, clusterID))
			r.addSnapshot(0, 0)
			r.addEntry(normal(1, 1, []byte("x")))
			r.addState(hs(1, 1, 1))
			r.add(9, []byte("future"))
			r.addEntry(normal(2, 1, []byte("y")))
			return r.writeFirstSegment(dir)
		},
		markers: []marker{{0, 0}},
		expect:  both(marker{0, 0}, "unexpected block type 9"),
	}
}

func strayFiles() scenario {
	return scenario{
		name: "stray-files",
		description: "single-segment plus files etcd leaves or ignores in a WAL directory: a leftover spare 0.tmp " +
			"(shortened to 4 KiB of zeros), a .wal.broken copy from Repair, and an unrelated notes.txt. All are ignored.",
		truncateTail: true,
		build: func(dir string) error {
			if err := buildSingleSegment(dir); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "0.tmp"), make([]byte, 4096), 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "0000000000000000-0000000000000000.wal.broken"),
				[]byte("\x04\x00\x00\x00\x00\x00\x00\x84\x08\x04\x10\x00\x00\x00\x00\x00"), 0o600); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a segment\n"), 0o600)
		},
		markers: []marker{{0, 0}},
		expect:  both(marker{0, 0}, ""),
	}
}
