package main

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.etcd.io/etcd/pkg/crc"
	"go.etcd.io/etcd/raft/raftpb"
	"go.etcd.io/etcd/wal/walpb"
)

// Record types, as the unexported constants in etcd 3.4's wal package.
const (
	metadataType int64 = 1
	entryType    int64 = 2
	stateType    int64 = 3
	crcType      int64 = 4
	snapshotType int64 = 5
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frame is one record as found in a segment file.
type frame struct {
	offset   int64 // of the length word
	recBytes int64
	padBytes int64
	record   walpb.Record
}

func (f frame) end() int64 { return f.offset + 8 + f.recBytes + f.padBytes }

// frames parses a segment's records up to the first zero length word or the end of the file,
// the way etcd's decoder frames them (Docs/OnDiskFormat.md, Record framing). It is only used on files etcd just wrote.
func frames(path string) ([]frame, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []frame
	off := int64(0)
	for off+8 <= int64(len(b)) {
		word := binary.LittleEndian.Uint64(b[off:])
		if word == 0 {
			break
		}
		recBytes := int64(word & 0x00FF_FFFF_FFFF_FFFF)
		padBytes := int64(0)
		if word&(1<<63) != 0 {
			padBytes = int64((word >> 56) & 7)
		}
		start := off + 8
		if start+recBytes+padBytes > int64(len(b)) {
			return nil, fmt.Errorf("%s: record at %d runs past the end", path, off)
		}
		var rec walpb.Record
		if err := rec.Unmarshal(b[start : start+recBytes]); err != nil {
			return nil, fmt.Errorf("%s: record at %d: %w", path, off, err)
		}
		out = append(out, frame{offset: off, recBytes: recBytes, padBytes: padBytes, record: rec})
		off = start + recBytes + padBytes
	}
	return out, nil
}

// segments returns the `.wal` files of dir in name order (full paths).
func segments(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("%s holds no segments", dir)
	}
	return names, nil
}

// truncateTail cuts the preallocated zeros after the last record of the last segment, which
// etcd reads the same way (a clean EOF at a frame boundary ends the file like a zero word).
func truncateTail(dir string) error {
	segs, err := segments(dir)
	if err != nil {
		return err
	}
	last := segs[len(segs)-1]
	fs, err := frames(last)
	if err != nil {
		return err
	}
	return os.Truncate(last, fs[len(fs)-1].end())
}

// rawWAL frames records by hand with etcd's walpb and crc packages, for the corrupt shapes
// the wal package cannot produce (conflicting metadata, unknown record types). The framing
// copies the encoder's (Docs/OnDiskFormat.md, Record framing): LE length word, 0x80|pad in the top byte, zero padding.
type rawWAL struct {
	buf []byte
	crc uint32
}

func (r *rawWAL) add(typ int64, data []byte) {
	if typ != crcType {
		h := crc.New(r.crc, castagnoli)
		h.Write(data)
		r.crc = h.Sum32()
	}
	r.frame(walpb.Record{Type: typ, Crc: r.crc, Data: data})
}

func (r *rawWAL) addCRC(value uint32) {
	r.frame(walpb.Record{Type: crcType, Crc: value})
}

func (r *rawWAL) frame(rec walpb.Record) {
	b, err := rec.Marshal()
	if err != nil {
		panic(err)
	}
	word := uint64(len(b))
	pad := (8 - len(b)%8) % 8
	if pad != 0 {
		word |= uint64(0x80|pad) << 56
	}
	var lenField [8]byte
	binary.LittleEndian.PutUint64(lenField[:], word)
	r.buf = append(r.buf, lenField[:]...)
	r.buf = append(r.buf, b...)
	r.buf = append(r.buf, make([]byte, pad)...)
}

func (r *rawWAL) addEntry(e raftpb.Entry) {
	b, err := e.Marshal()
	if err != nil {
		panic(err)
	}
	r.add(entryType, b)
}

func (r *rawWAL) addState(s raftpb.HardState) {
	b, err := s.Marshal()
	if err != nil {
		panic(err)
	}
	r.add(stateType, b)
}

func (r *rawWAL) addSnapshot(index, term uint64) {
	s := walpb.Snapshot{Index: index, Term: term}
	b, err := s.Marshal()
	if err != nil {
		panic(err)
	}
	r.add(snapshotType, b)
}

// writeFirstSegment writes the bytes as 0000000000000000-0000000000000000.wal in a new dir.
func (r *rawWAL) writeFirstSegment(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "0000000000000000-0000000000000000.wal"), r.buf, 0o600)
}

// flipByte XORs one byte of a file with mask.
func flipByte(path string, offset int64, mask byte) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], offset); err != nil {
		return err
	}
	b[0] ^= mask
	_, err = f.WriteAt(b[:], offset)
	return err
}

// zeroRange overwrites length bytes at offset with zeros (a lost sector).
func zeroRange(path string, offset, length int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt(make([]byte, length), offset)
	return err
}

// describeSegments is a short human summary used in generator errors.
func describeSegments(dir string) string {
	segs, _ := segments(dir)
	var parts []string
	for _, s := range segs {
		fs, _ := frames(s)
		parts = append(parts, fmt.Sprintf("%s:%d records", filepath.Base(s), len(fs)))
	}
	return strings.Join(parts, ", ")
}
