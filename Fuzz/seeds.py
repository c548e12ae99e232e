#!/usr/bin/env python3
"""Regenerates the small seed corpora in Corpus/ from the etcd-written WAL fixtures.

WALReplay seeds: a mode byte (0 = one segment, 1 = two segments with a 2-byte split point)
followed by segment bytes. RecordCodec seeds: the bodies of single framed records.
The .snap / .snap.lz4 / JSON seeds are written by the tests' fixtures (see Corpus/README.md).
"""
import hashlib, os, struct, sys

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "Tests", "EtcdStorageTests", "Fixtures", "go-written")

def seed(directory, data):
    path = os.path.join(here, "Corpus", directory)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

def segment(case, name):
    with open(os.path.join(fixtures, case, "wal", name), "rb") as f:
        return f.read().rstrip(b"\0")  # preallocated zeros add nothing but size

def records(data):
    offset = 0
    while offset + 8 <= len(data):
        word = struct.unpack_from("<Q", data, offset)[0]
        length = word & 0x00FFFFFFFFFFFFFF
        pad = (word >> 56) & 7 if word >> 63 else 0
        if length == 0:
            return
        yield data[offset + 8: offset + 8 + length]
        offset += 8 + length + pad

singles = [("single-segment", "0000000000000000-0000000000000000.wal"),
           ("unknown-record-type", "0000000000000000-0000000000000000.wal"),
           ("index-gap", "0000000000000000-0000000000000000.wal"),
           ("metadata-conflict", "0000000000000000-0000000000000000.wal"),
           ("conf-changes", "0000000000000000-0000000000000000.wal"),
           ("overwrite", "0000000000000001-0000000000000010.wal")]
for case, name in singles:
    data = segment(case, name)
    if len(data) <= 16384:
        seed("WALReplay", b"\0" + data)
    for body in list(records(data))[:8]:
        seed("RecordCodec", body)

first = segment("snapshot-ahead", "0000000000000000-0000000000000000.wal")
second = segment("snapshot-ahead", "0000000000000001-0000000000000065.wal")
seed("WALReplay", b"\1" + struct.pack(">H", len(first)) + first + second)
