package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"

	"go.etcd.io/etcd/raft/raftpb"
	"go.etcd.io/etcd/wal"
	"go.etcd.io/etcd/wal/walpb"
	"go.uber.org/zap"
)

// Mode names for the two ways etcd opens a WAL before ReadAll.
const (
	// modeRead is wal.OpenForRead: no locks, a torn last record is tolerated, and a missing
	// snapshot record is reported as ErrSnapshotNotFound.
	modeRead = "openForRead"
	// modeWrite is wal.Open, what etcd does on restart: a torn last record is an error (the
	// caller repairs), and ErrSnapshotNotFound is silently lost (Docs/OnDiskFormat.md, Replay step 4).
	modeWrite = "open"
)

// marker is a walpb.Snapshot without ConfState (3.4 has none).
type marker struct {
	Index uint64 `json:"index"`
	Term  uint64 `json:"term"`
}

type hardState struct {
	Term   uint64 `json:"term"`
	Vote   uint64 `json:"vote"`
	Commit uint64 `json:"commit"`
}

type dumpEntry struct {
	Index uint64  `json:"index"`
	Term  uint64  `json:"term"`
	Type  string  `json:"type"`
	Data  *string `json:"data"`
}

// replay is one ReadAll result in the `raftstore wal dump --json` shape, plus the snapshot
// marker it started from, the open modes that gave exactly this result, and where it failed.
type replay struct {
	Snapshot  marker      `json:"snapshot"`
	Modes     []string    `json:"modes"`
	Metadata  *string     `json:"metadata"`
	HardState hardState   `json:"hardState"`
	Entries   []dumpEntry `json:"entries"`
	Error     *string     `json:"error"`
	// ErrorAt is "open" when Open/OpenForRead failed (ReadAll never ran), "readAll" when
	// ReadAll returned the error, null without an error.
	ErrorAt *string `json:"errorAt"`
}

type validSnapshots struct {
	Snapshots []marker `json:"snapshots"`
	Error     *string  `json:"error"`
}

type segment struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// expected is a fixture's expected.json.
type expected struct {
	Name             string         `json:"name"`
	Description      string         `json:"description"`
	SegmentSizeBytes int64          `json:"segmentSizeBytes"`
	TailTruncated    bool           `json:"tailTruncated"`
	WALDir           string         `json:"walDir"`
	Files            []segment      `json:"files"`
	ValidSnapshots   validSnapshots `json:"validSnapshotEntries"`
	Replays          []replay       `json:"replays"`
}

var logger = zap.NewNop()

func b64(b []byte) *string {
	if b == nil {
		return nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s
}

func strp(s string) *string { return &s }

func entryTypeName(t raftpb.EntryType) string {
	switch t {
	case raftpb.EntryNormal:
		return "normal"
	case raftpb.EntryConfChange:
		return "confChange"
	case raftpb.EntryConfChangeV2:
		return "confChangeV2"
	}
	panic(fmt.Sprintf("entry type %d has no name in the dump format", t))
}

// readAll opens dir at snap the way mode says and returns etcd's ReadAll result. Write mode
// changes the directory (ZeroToEnd, spare 0.tmp), so it runs on a copy.
func readAll(dir string, snap marker, mode string) (r replay, err error) {
	r = replay{Snapshot: snap, Modes: []string{mode}, Entries: []dumpEntry{}}
	ws := walpb.Snapshot{Index: snap.Index, Term: snap.Term}
	var w *wal.WAL
	var openErr error
	if mode == modeWrite {
		tmp, err := os.MkdirTemp("", "etcd-wal-fixture-")
		if err != nil {
			return r, err
		}
		defer os.RemoveAll(tmp)
		copyDir := filepath.Join(tmp, "wal")
		if err := copyTree(dir, copyDir); err != nil {
			return r, err
		}
		w, openErr = wal.Open(logger, copyDir, ws)
	} else {
		w, openErr = wal.OpenForRead(logger, dir, ws)
	}
	if openErr != nil {
		r.Error, r.ErrorAt = strp(openErr.Error()), strp("open")
		return r, nil
	}
	defer w.Close()
	defer func() {
		// ReadAll panics on a record whose payload does not unmarshal; no fixture should
		// contain one, so a panic here is a generator bug.
		if p := recover(); p != nil {
			err = fmt.Errorf("ReadAll panicked from %v in mode %s: %v", snap, mode, p)
		}
	}()
	meta, st, ents, rerr := w.ReadAll()
	r.Metadata = b64(meta)
	r.HardState = hardState{Term: st.Term, Vote: st.Vote, Commit: st.Commit}
	for _, e := range ents {
		r.Entries = append(r.Entries, dumpEntry{Index: e.Index, Term: e.Term, Type: entryTypeName(e.Type), Data: b64(e.Data)})
	}
	if rerr != nil {
		r.Error, r.ErrorAt = strp(rerr.Error()), strp("readAll")
	}
	return r, nil
}

// replays runs ReadAll from every marker in both modes; a marker whose two results are equal
// gets one replay listing both modes.
func replays(dir string, markers []marker) ([]replay, error) {
	var out []replay
	for _, m := range markers {
		read, err := readAll(dir, m, modeRead)
		if err != nil {
			return nil, err
		}
		write, err := readAll(dir, m, modeWrite)
		if err != nil {
			return nil, err
		}
		write.Modes = read.Modes
		if reflect.DeepEqual(read, write) {
			read.Modes = []string{modeRead, modeWrite}
			out = append(out, read)
			continue
		}
		write.Modes = []string{modeWrite}
		out = append(out, read, write)
	}
	return out, nil
}

func validSnapshotEntries(dir string) validSnapshots {
	snaps, err := wal.ValidSnapshotEntries(logger, dir)
	v := validSnapshots{Snapshots: []marker{}}
	if err != nil {
		v.Error = strp(err.Error())
		return v
	}
	for _, s := range snaps {
		v.Snapshots = append(v.Snapshots, marker{Index: s.Index, Term: s.Term})
	}
	return v
}

func listFiles(dir string) ([]segment, error) {
	infos, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []segment
	for _, d := range infos {
		info, err := d.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, segment{Name: d.Name(), Size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func copyTree(src, dst string) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
