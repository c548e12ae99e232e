#!/usr/bin/env python3
"""Lists the public symbols that have no doc comment of their own, and fails when there is one.

Reads the symbol graphs Tools/docs.sh collected. A symbol counts as documented when its own
declaration has a `///` comment; members that only implement a documented protocol requirement
(for example `Equatable.==` or a `LogStore` method) inherit its documentation and are skipped,
and so are the symbols listed in doc-coverage-baseline.txt (known gaps, being documented
elsewhere). Nothing is skipped for being obvious.
"""
import json
import pathlib
import sys

graphs = pathlib.Path(sys.argv[1])
baseline_path = pathlib.Path(__file__).with_name("doc-coverage-baseline.txt")
baseline = {
    line.strip()
    for line in (baseline_path.read_text().splitlines() if baseline_path.exists() else [])
    if line.strip() and not line.startswith("#")
}
seen_in_baseline = set()
missing = []
for path in sorted(graphs.glob("*.symbols.json")):
    graph = json.loads(path.read_text())
    module = graph["module"]["name"]
    # Symbols that implement a protocol requirement inherit the requirement's documentation.
    inherits = {
        relation["source"]
        for relation in graph.get("relationships", [])
        if relation["kind"] in ("requirementOf", "defaultImplementationOf")
        or (relation["kind"] == "memberOf" and relation.get("sourceOrigin"))
    }
    for symbol in graph["symbols"]:
        if symbol.get("accessLevel") not in ("public", "open"):
            continue
        if symbol.get("docComment"):
            continue
        if symbol["identifier"]["precise"] in inherits:
            continue
        location = symbol.get("location", {})
        uri = location.get("uri", "").split("/Sources/")[-1] if location else "?"
        line = location.get("position", {}).get("line", 0) + 1 if location else 0
        title = ".".join(symbol["pathComponents"])
        if f"{module}.{title}" in baseline:
            seen_in_baseline.add(f"{module}.{title}")
            continue
        missing.append(f"{uri}:{line}: {module}.{title} ({symbol['kind']['displayName']}) has no doc comment")

for entry in sorted(baseline - seen_in_baseline):
    print(f"note: {entry} is documented now; remove it from {baseline_path.name}")
for entry in missing:
    print(entry)
if missing:
    print(f"{len(missing)} public symbols without a doc comment", file=sys.stderr)
    sys.exit(1)
print(f"every public symbol has a doc comment ({len(seen_in_baseline)} known exceptions in {baseline_path.name})")
