// Command etcd-snap-fixtures writes `.snap` files with etcd 3.4's own `snap` package
// (Snapshotter.SaveSnap) and records what they hold, so the Swift snapshot stores are checked
// against the real thing without Go at test time. With -read FILE it prints what etcd's snap.Read
// makes of any `.snap` file instead (to check a file this package wrote, for example a streamed
// one with the CRC field last).
//
// Build it in GOPATH mode against Debian's etcd sources (package golang-etcd-server-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run . -out DIR
//	GO111MODULE=off GOPATH=/usr/share/gocode go run . -read FILE
//
// or `make snap-fixtures` from the repository root. The output is deterministic.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.etcd.io/etcd/etcdserver/api/snap"
	"go.etcd.io/etcd/raft/raftpb"
	"go.uber.org/zap"
)

// fixture is one snapshot and what the Swift test expects to decode from its file.
type fixture struct {
	File           string   `json:"file"`
	Index          uint64   `json:"index"`
	Term           uint64   `json:"term"`
	Voters         []uint64 `json:"voters"`
	Learners       []uint64 `json:"learners"`
	VotersOutgoing []uint64 `json:"votersOutgoing"`
	LearnersNext   []uint64 `json:"learnersNext"`
	AutoLeave      bool     `json:"autoLeave"`
	// Data is the snapshot data as text; DataPattern, when > 0, means byte i is (i*31+7)&0xff
	// for that many bytes instead. DataNil marks an absent data field.
	Data        string `json:"data"`
	DataPattern int    `json:"dataPattern"`
	DataNil     bool   `json:"dataNil"`
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}

func fixtures() []fixture {
	return []fixture{
		{Index: 10, Term: 2, Voters: []uint64{1}, Data: "xy"},
		{Index: 11, Term: 2, Voters: []uint64{1, 2, 3}, Learners: []uint64{4, 5}, DataNil: true},
		{Index: 12, Term: 3, Voters: []uint64{1, 2, 3}, Data: ""},
		{Index: 300, Term: 7, Voters: []uint64{1, 2, 4}, VotersOutgoing: []uint64{1, 2, 3}, LearnersNext: []uint64{3}, AutoLeave: true, Data: "{\"Root\":{}}"},
		{Index: 100000, Term: 9, Voters: []uint64{1}, DataPattern: 100000},
		{Index: 1<<63 + 5, Term: 1<<62 + 1, Voters: []uint64{1<<64 - 1}, Data: "max"},
	}
}

func main() {
	out := flag.String("out", "", "directory to (re)create the fixtures in")
	read := flag.String("read", "", "instead: print what etcd's snap.Read makes of this .snap file")
	flag.Parse()
	if *read != "" {
		s, err := snap.Read(zap.NewNop(), *read)
		if err != nil {
			fmt.Fprintln(os.Stderr, "snap.Read:", err)
			os.Exit(1)
		}
		cs := s.Metadata.ConfState
		fmt.Printf("{\"index\":%d,\"term\":%d,\"voters\":%v,\"dataLength\":%d,\"dataNil\":%v}\n",
			s.Metadata.Index, s.Metadata.Term, cs.Voters, len(s.Data), s.Data == nil)
		return
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: etcd-snap-fixtures -out DIR | -read FILE")
		os.Exit(2)
	}
	entries, _ := os.ReadDir(*out)
	for _, e := range entries {
		if e.Name() != "README.md" {
			os.Remove(filepath.Join(*out, e.Name()))
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		panic(err)
	}
	s := snap.New(zap.NewNop(), *out)
	list := fixtures()
	for i := range list {
		f := &list[i]
		var data []byte
		switch {
		case f.DataNil:
		case f.DataPattern > 0:
			data = pattern(f.DataPattern)
		default:
			data = []byte(f.Data)
		}
		snapshot := raftpb.Snapshot{
			Data: data,
			Metadata: raftpb.SnapshotMetadata{
				ConfState: raftpb.ConfState{
					Voters: f.Voters, Learners: f.Learners, VotersOutgoing: f.VotersOutgoing,
					LearnersNext: f.LearnersNext, AutoLeave: f.AutoLeave,
				},
				Index: f.Index,
				Term:  f.Term,
			},
		}
		if err := s.SaveSnap(snapshot); err != nil {
			panic(err)
		}
		f.File = fmt.Sprintf("%016x-%016x.snap", f.Term, f.Index)
		// Check etcd reads back what it wrote, as a guard on the fixture itself.
		back, err := snap.Read(zap.NewNop(), filepath.Join(*out, f.File))
		if err != nil || back.Metadata.Index != f.Index || len(back.Data) != len(data) {
			panic(fmt.Sprintf("etcd cannot read its own %s: %v", f.File, err))
		}
	}
	encoded, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "expected.json"), append(encoded, '\n'), 0o644); err != nil {
		panic(err)
	}
	fmt.Println("wrote", len(list), "snapshots to", strings.TrimSuffix(*out, "/"))
}
