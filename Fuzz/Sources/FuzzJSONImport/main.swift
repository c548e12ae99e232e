// `raftstore wal import`'s JSON parsing (WALDump.parse): any bytes give a dump or an error, and a
// dump prints (WALDump.json) to JSON that parses back to the same dump.
import FuzzSupport
import RaftStoreCLI

runFuzzer { bytes in
    guard let dump = try? WALDump.parse(json: Array(bytes)) else { return }
    var again: WALDump?
    do {
        again = try WALDump.parse(json: Array(dump.json.utf8))
    } catch {
        require(false, "a parsed dump prints JSON that does not parse: \(error)")
    }
    var expected = dump
    expected.error = again?.error
    require(again == expected, "a parsed dump does not survive printing and parsing again")
}
