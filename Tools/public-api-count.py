#!/usr/bin/env python3
"""Counts each module's public and open declarations from `swift package dump-symbol-graph`.

    swift package dump-symbol-graph --minimum-access-level public
    python3 Tools/public-api-count.py "$(swift build --show-bin-path)/../symbolgraph" RaftStorage RaftFiles ...

A module's count includes the extensions it declares on other modules' types (its
`Module@Other.symbols.json` graphs). Docs/Architecture.md records the counts.
"""
import json
import pathlib
import sys

graphs = pathlib.Path(sys.argv[1])
for module in sys.argv[2:]:
    total = 0
    for path in [graphs / f"{module}.symbols.json", *sorted(graphs.glob(f"{module}@*.symbols.json"))]:
        if not path.exists():
            continue
        graph = json.loads(path.read_text())
        total += sum(1 for symbol in graph["symbols"] if symbol.get("accessLevel") in ("public", "open"))
    print(f"{module}\t{total}")
