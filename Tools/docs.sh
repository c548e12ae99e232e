#!/bin/sh
# Builds the DocC documentation of every library module into one archive, with warnings as
# errors, without the swift-docc-plugin (no dependency to fetch, and a broken link fails the run): symbol graphs from
# `swift package dump-symbol-graph`, then one `docc convert` over all of them, so a doc comment in
# one module can link to another's symbols as ``RaftStorage/StorageError``. Then checks that every
# public symbol has a doc comment of its own (Tools/doc-coverage.py).
#
#   Tools/docs.sh            # writes .build/docs/raftstore.doccarchive (guides from Docs/raftstore.docc)
set -eu
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
MODULES="RaftStorage RaftFiles MemoryStore EtcdStorage MultiRaftLog LZ4Snapshots LZ4Codec RaftStorageTesting RaftStoreCLI KeyValueStateMachine"
OUT=.build/docs
GRAPHS=$OUT/symbol-graphs

$SWIFT package dump-symbol-graph --minimum-access-level public >/dev/null
SOURCE=$($SWIFT build --show-bin-path)/../symbolgraph
rm -rf "$OUT"
mkdir -p "$GRAPHS"
for module in $MODULES; do
	cp "$SOURCE/$module.symbols.json" "$GRAPHS/"
	# Extensions a module declares on another module's types.
	for extension in "$SOURCE/$module"@*.symbols.json; do
		[ -e "$extension" ] && cp "$extension" "$GRAPHS/"
	done
done
docc convert Docs/raftstore.docc \
	--additional-symbol-graph-dir "$GRAPHS" \
	--fallback-display-name raftstore \
	--fallback-bundle-identifier org.raftstore \
	--output-path "$OUT/raftstore.doccarchive" \
	--warnings-as-errors
python3 Tools/doc-coverage.py "$GRAPHS"
