package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"go.etcd.io/etcd/raft/raftpb"
	"go.etcd.io/etcd/wal"
	"go.etcd.io/etcd/wal/walpb"
)

// scenario is one fixture: how to write it and which snapshot markers to replay from.
type scenario struct {
	name        string
	description string
	// segmentSize is wal.SegmentSizeBytes while writing (and the preallocation of each segment).
	segmentSize int64
	// truncateTail cuts the last segment's preallocated zeros after checking that etcd replays
	// the truncated directory exactly like the original.
	truncateTail bool
	build        func(dir string) error
	markers      []marker
	// expect states the intent: for these (marker, mode) pairs the replay must end with this
	// error (or none), so a change in etcd's behaviour or in the builder cannot go unnoticed.
	expect []expectation
}

type expectation struct {
	marker marker
	mode   string
	err    string // "" means no error
}

func generate(out string, s scenario) error {
	dir := filepath.Join(out, s.name, "wal")
	if err := os.RemoveAll(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	size := s.segmentSize
	if size == 0 {
		size = 64 * 1000 * 1000
	}
	saved := wal.SegmentSizeBytes
	wal.SegmentSizeBytes = size
	defer func() { wal.SegmentSizeBytes = saved }()

	if err := s.build(dir); err != nil {
		return err
	}
	rs, err := replays(dir, s.markers)
	if err != nil {
		return err
	}
	valid := validSnapshotEntries(dir)
	if s.truncateTail {
		if err := truncateTail(dir); err != nil {
			return err
		}
		after, err := replays(dir, s.markers)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(rs, after) || !reflect.DeepEqual(valid, validSnapshotEntries(dir)) {
			return fmt.Errorf("etcd replays the WAL differently once its zero tail is cut")
		}
	}
	for _, x := range s.expect {
		if err := checkExpectation(rs, x); err != nil {
			return fmt.Errorf("%v (segments: %s)", err, describeSegments(dir))
		}
	}
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	e := expected{
		Name:             s.name,
		Description:      s.description,
		SegmentSizeBytes: size,
		TailTruncated:    s.truncateTail,
		WALDir:           "wal",
		Files:            files,
		ValidSnapshots:   valid,
		Replays:          rs,
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	return writeJSON(filepath.Join(out, s.name, "expected.json"), e)
}

func checkExpectation(rs []replay, x expectation) error {
	for _, r := range rs {
		if r.Snapshot != x.marker {
			continue
		}
		for _, m := range r.Modes {
			if m != x.mode {
				continue
			}
			got := ""
			if r.Error != nil {
				got = *r.Error
			}
			if got != x.err {
				return fmt.Errorf("replay from %+v in mode %s: error %q, builder intended %q", x.marker, x.mode, got, x.err)
			}
			return nil
		}
	}
	return fmt.Errorf("no replay from %+v in mode %s", x.marker, x.mode)
}

// both expects the same outcome in both open modes.
func both(m marker, err string) []expectation {
	return []expectation{{m, modeRead, err}, {m, modeWrite, err}}
}

// MARK: - Writing through etcd's wal package

// writer wraps *wal.WAL and keeps the first error, so builders read as a sequence of calls.
type writer struct {
	w   *wal.WAL
	err error
}

func create(dir string, metadata []byte) *writer {
	w, err := wal.Create(logger, dir, metadata)
	return &writer{w: w, err: err}
}

func (x *writer) save(hs raftpb.HardState, ents ...raftpb.Entry) {
	if x.err == nil {
		x.err = x.w.Save(hs, ents)
	}
}

func (x *writer) snapshot(index, term uint64) {
	if x.err == nil {
		x.err = x.w.SaveSnapshot(walpb.Snapshot{Index: index, Term: term})
	}
}

func (x *writer) close() error {
	if x.err != nil {
		if x.w != nil {
			x.w.Close()
		}
		return x.err
	}
	return x.w.Close()
}

func hs(term, vote, commit uint64) raftpb.HardState {
	return raftpb.HardState{Term: term, Vote: vote, Commit: commit}
}

func normal(index, term uint64, data []byte) raftpb.Entry {
	return raftpb.Entry{Index: index, Term: term, Type: raftpb.EntryNormal, Data: data}
}

// etcdMetadata is what etcdserver stores as WAL metadata: etcdserverpb.Metadata{NodeID,
// ClusterID}, both fields always encoded (proto2 non-nullable uint64).
func etcdMetadata(nodeID, clusterID uint64) []byte {
	b := []byte{0x08}
	b = binary.AppendUvarint(b, nodeID)
	b = append(b, 0x10)
	return binary.AppendUvarint(b, clusterID)
}

// request imitates a small etcd proposal payload.
func request(index uint64, extra int) []byte {
	s := fmt.Sprintf("put key-%05d = value-%05d ", index, index)
	for i := 0; i < extra; i++ {
		s += string(rune('a' + (int(index)+i)%26))
	}
	return []byte(s)
}

// bigPayload is n deterministic bytes that compress well in git but still tell every
// position apart: a repeating alphabet with a position stamp every 4 KiB.
func bigPayload(seed uint64, n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[(i+int(seed))%len(alphabet)]
	}
	for off := 0; off < n; off += 4096 {
		copy(b[off:], fmt.Sprintf("[entry %d offset %d]", seed, off))
	}
	return b
}

func mustMarshal(m interface{ Marshal() ([]byte, error) }) []byte {
	b, err := m.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}
