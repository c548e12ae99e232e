// Command etcd-wal-fixtures writes WAL directories with etcd 3.4's own `wal` package and records
// what etcd's ReadAll and ValidSnapshotEntries return for them, so the Swift WAL can be checked
// against the real thing without Go at test time.
//
// Build it in GOPATH mode against Debian's etcd sources (package golang-etcd-server-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run . -out DIR
//
// With -dump DIR [-snap-index I -snap-term T] it prints etcd's replays of any WAL directory in
// the same JSON instead (handy to check what etcd makes of a WAL another writer produced).
//
// or `make fixtures` from the repository root. The output is deterministic: running it twice
// gives byte-identical files, so `git diff` after a regeneration shows real changes only.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"go.etcd.io/etcd/version"
)

func main() {
	out := flag.String("out", "", "directory to (re)create the fixtures in; everything in it but README.md is replaced")
	only := flag.String("only", "", "generate just the fixture with this name (for debugging)")
	dump := flag.String("dump", "", "instead of generating: print etcd's replays of this WAL directory as expected.json does")
	snapIndex := flag.Uint64("snap-index", 0, "with -dump: the snapshot marker's index")
	snapTerm := flag.Uint64("snap-term", 0, "with -dump: the snapshot marker's term")
	flag.Parse()
	if *dump != "" {
		rs, err := replays(*dump, []marker{{*snapIndex, *snapTerm}})
		if err != nil {
			fmt.Fprintln(os.Stderr, "etcd-wal-fixtures:", err)
			os.Exit(1)
		}
		out := struct {
			ValidSnapshots validSnapshots `json:"validSnapshotEntries"`
			Replays        []replay       `json:"replays"`
		}{validSnapshotEntries(*dump), rs}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Println(string(b))
		return
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: etcd-wal-fixtures -out DIR [-only NAME]")
		os.Exit(2)
	}
	if err := run(*out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "etcd-wal-fixtures:", err)
		os.Exit(1)
	}
}

// index is the top-level index.json: which fixtures exist and what made them.
type index struct {
	Generator  string   `json:"generator"`
	Command    string   `json:"command"`
	EtcdStorage    string   `json:"etcdWAL"`
	GoVersion  string   `json:"goVersion"`
	Encoding   string   `json:"encoding"`
	FixtureSet []string `json:"fixtures"`
}

func run(out, only string) error {
	scenarios := allScenarios()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if only == "" {
		if err := clean(out); err != nil {
			return err
		}
	}
	var names []string
	for _, s := range scenarios {
		if only != "" && s.name != only {
			continue
		}
		fmt.Fprintf(os.Stderr, "fixture %s\n", s.name)
		if err := generate(out, s); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		names = append(names, s.name)
	}
	if only != "" {
		if len(names) == 0 {
			return fmt.Errorf("no fixture named %q", only)
		}
		return nil
	}
	sort.Strings(names)
	idx := index{
		Generator: "Tools/etcd-wal-fixtures",
		Command:   "make fixtures",
		EtcdStorage:   "go.etcd.io/etcd/wal " + version.Version + " (Debian golang-etcd-server-dev, GOPATH mode)",
		GoVersion: runtime.Version(),
		Encoding: "metadata and entry data are standard base64 with padding; JSON null means the Go slice was nil " +
			"(the protobuf field was absent), \"\" means present but empty",
		FixtureSet: names,
	}
	return writeJSON(filepath.Join(out, "index.json"), idx)
}

// clean removes everything the generator made before, keeping the hand-written README.md.
func clean(out string) error {
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == "README.md" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(out, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(path string, v interface{}) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
