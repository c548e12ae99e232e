// Command etcd-go-bench runs the `raftstore bench` workloads against etcd 3.4's own `wal`
// package, so the Swift WAL can be compared with the original on the same machine in the same
// run. It prints the same JSON as `raftstore bench --json`, with "impl": "etcd-go".
//
//	etcd-go-bench [--entries N] [--size BYTES] [--batch B] [--no-fsync] [--dir DIR] [--json]
//	              [--read-mode openForRead|open]
//
// Write phase: wal.Create, then N entries of `size` bytes in batches of B, each batch one
// w.Save(HardState{Term: 1, Vote: 1, Commit: last index}, batch). With fsync (the default) every
// Save fdatasyncs, because it carries new entries (MustSync). --no-fsync calls
// SetUnsafeNoFsync, etcd's --unsafe-no-fsync: data still reaches the OS, fdatasync is skipped.
// write_s covers the Save calls and a final Sync; Create (which preallocates 64 MB) and Close
// are outside it.
//
// Read phase: a child process (this binary with --replay) opens the WAL and calls ReadAll;
// read_s covers open + ReadAll and read_peak_rss_bytes is the child's peak resident set
// (getrusage ru_maxrss), so the write phase's memory does not count. The child checks it got
// every entry back.
//
// MB are 10^6 bytes of entry payload (N x size), not file bytes.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"go.etcd.io/etcd/raft/raftpb"
	"go.etcd.io/etcd/wal"
	"go.etcd.io/etcd/wal/walpb"
	"go.uber.org/zap"
)

// result is the `raftstore bench --json` shape, plus the replay's memory and a few facts about
// the run that make numbers comparable.
type result struct {
	Impl             string  `json:"impl"`
	Entries          int     `json:"entries"`
	Size             int     `json:"size"`
	Batch            int     `json:"batch"`
	Fsync            bool    `json:"fsync"`
	WriteS           float64 `json:"write_s"`
	ReadS            float64 `json:"read_s"`
	WriteMBps        float64 `json:"write_MBps"`
	ReadMBps         float64 `json:"read_MBps"`
	WriteEntriesPerS float64 `json:"write_entries_per_s"`
	ReadEntriesPerS  float64 `json:"read_entries_per_s"`
	ReadPeakRSSBytes int64   `json:"read_peak_rss_bytes"`
	ReadMode         string  `json:"read_mode"`
	WALBytes         int64   `json:"wal_bytes"`
	Segments         int     `json:"segments"`
}

// replayReport is what the --replay child prints on stdout.
type replayReport struct {
	ReadS   float64 `json:"read_s"`
	Entries int     `json:"entries"`
	LastIdx uint64  `json:"last_index"`
}

var logger = zap.NewNop()

func main() {
	entries := flag.Int("entries", 100000, "number of entries to append")
	size := flag.Int("size", 100, "payload bytes per entry")
	batch := flag.Int("batch", 100, "entries per Save")
	noFsync := flag.Bool("no-fsync", false, "skip fdatasync (etcd's --unsafe-no-fsync)")
	dir := flag.String("dir", "", "directory to create the benchmark WAL in (default: the system temp directory); removed afterwards")
	asJSON := flag.Bool("json", false, "print one JSON object")
	readMode := flag.String("read-mode", "openForRead", "how the replay opens the WAL: openForRead, or open (write mode, as etcd's restart)")
	replay := flag.String("replay", "", "internal: replay the WAL in this directory and report (child process)")
	flag.Parse()

	if *replay != "" {
		if err := runReplay(*replay, *readMode, *entries); err != nil {
			fmt.Fprintln(os.Stderr, "etcd-go-bench replay:", err)
			os.Exit(1)
		}
		return
	}
	if *entries <= 0 || *size < 0 || *batch <= 0 || (*readMode != "openForRead" && *readMode != "open") {
		fmt.Fprintln(os.Stderr, "etcd-go-bench: --entries and --batch must be positive, --size not negative, --read-mode openForRead|open")
		os.Exit(2)
	}
	r, err := run(*entries, *size, *batch, !*noFsync, *dir, *readMode)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd-go-bench:", err)
		os.Exit(1)
	}
	if *asJSON {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
		return
	}
	fmt.Printf("etcd-go: %d entries x %d B, batches of %d, fsync %v\n", r.Entries, r.Size, r.Batch, r.Fsync)
	fmt.Printf("  write %.3f s  %.1f MB/s  %.0f entries/s\n", r.WriteS, r.WriteMBps, r.WriteEntriesPerS)
	fmt.Printf("  read  %.3f s  %.1f MB/s  %.0f entries/s  peak RSS %.1f MiB (%s)\n",
		r.ReadS, r.ReadMBps, r.ReadEntriesPerS, float64(r.ReadPeakRSSBytes)/(1<<20), r.ReadMode)
	fmt.Printf("  WAL   %d bytes in %d segments\n", r.WALBytes, r.Segments)
}

func run(n, size, batch int, fsync bool, parent, readMode string) (result, error) {
	r := result{Impl: "etcd-go", Entries: n, Size: size, Batch: batch, Fsync: fsync, ReadMode: readMode}
	base, err := os.MkdirTemp(parent, "etcd-go-bench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(base)
	walDir := filepath.Join(base, "wal")

	if r.WriteS, err = write(walDir, n, size, batch, fsync); err != nil {
		return r, err
	}
	if r.WALBytes, r.Segments, err = walSize(walDir); err != nil {
		return r, err
	}

	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	cmd := exec.Command(self, "--replay", walDir, "--read-mode", readMode, "--entries", fmt.Sprint(n))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return r, fmt.Errorf("replay child: %w", err)
	}
	var rep replayReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return r, fmt.Errorf("replay child printed %q: %w", out, err)
	}
	usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return r, errors.New("no rusage for the replay child")
	}
	r.ReadS = rep.ReadS
	r.ReadPeakRSSBytes = usage.Maxrss * 1024 // Linux reports KiB

	payloadMB := float64(n) * float64(size) / 1e6
	r.WriteMBps = payloadMB / r.WriteS
	r.ReadMBps = payloadMB / r.ReadS
	r.WriteEntriesPerS = float64(n) / r.WriteS
	r.ReadEntriesPerS = float64(n) / r.ReadS
	return r, nil
}

// write appends the entries and returns the seconds the Save calls and the final Sync took.
func write(dir string, n, size, batch int, fsync bool) (float64, error) {
	w, err := wal.Create(logger, dir, []byte("etcd-go-bench"))
	if err != nil {
		return 0, err
	}
	if !fsync {
		w.SetUnsafeNoFsync()
	}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i*131 + 7)
	}
	ents := make([]raftpb.Entry, 0, batch)
	start := time.Now()
	for next := 1; next <= n; {
		ents = ents[:0]
		for ; next <= n && len(ents) < batch; next++ {
			ents = append(ents, raftpb.Entry{Term: 1, Index: uint64(next), Type: raftpb.EntryNormal, Data: payload})
		}
		st := raftpb.HardState{Term: 1, Vote: 1, Commit: uint64(next - 1)}
		if err := w.Save(st, ents); err != nil {
			w.Close()
			return 0, err
		}
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return 0, err
	}
	elapsed := time.Since(start).Seconds()
	return elapsed, w.Close()
}

func runReplay(dir, mode string, want int) error {
	start := time.Now()
	var w *wal.WAL
	var err error
	if mode == "open" {
		w, err = wal.Open(logger, dir, walpb.Snapshot{})
	} else {
		w, err = wal.OpenForRead(logger, dir, walpb.Snapshot{})
	}
	if err != nil {
		return err
	}
	_, _, ents, err := w.ReadAll()
	elapsed := time.Since(start).Seconds()
	if err != nil {
		return err
	}
	if len(ents) != want || ents[len(ents)-1].Index != uint64(want) {
		return fmt.Errorf("replayed %d entries, wanted %d", len(ents), want)
	}
	rep := replayReport{ReadS: elapsed, Entries: len(ents), LastIdx: ents[len(ents)-1].Index}
	w.Close()
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	return nil
}

func walSize(dir string) (int64, int, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil {
		return 0, 0, err
	}
	var total int64
	for _, n := range names {
		info, err := os.Stat(n)
		if err != nil {
			return 0, 0, err
		}
		total += info.Size()
	}
	return total, len(names), nil
}
