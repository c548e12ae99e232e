/// One benchmark result, in the JSON shape of `Benchmarks/etcd-go` (same keys, same order).
struct BenchResult {
    var entries: Int
    var size: Int
    var batch: Int
    var fsync: Bool
    var writeSeconds: Double
    var readSeconds: Double
    var readPeakRSSBytes: Int64
    var readMode: BenchReadMode
    var walBytes: Int64
    var segments: Int

    /// 10^6 bytes of entry payload.
    var payloadMB: Double { Double(entries) * Double(size) / 1e6 }
    var writeMBps: Double { payloadMB / writeSeconds }
    var readMBps: Double { payloadMB / readSeconds }
    var writeEntriesPerSecond: Double { Double(entries) / writeSeconds }
    var readEntriesPerSecond: Double { Double(entries) / readSeconds }

    /// One line, compact, as Go's `json.Marshal` prints it.
    var json: String {
        let fields: [(String, String)] = [
            ("impl", "\"raftstore\""),
            ("entries", String(entries)),
            ("size", String(size)),
            ("batch", String(batch)),
            ("fsync", String(fsync)),
            ("write_s", JSONText.number(writeSeconds)),
            ("read_s", JSONText.number(readSeconds)),
            ("write_MBps", JSONText.number(writeMBps)),
            ("read_MBps", JSONText.number(readMBps)),
            ("write_entries_per_s", JSONText.number(writeEntriesPerSecond)),
            ("read_entries_per_s", JSONText.number(readEntriesPerSecond)),
            ("read_peak_rss_bytes", String(readPeakRSSBytes)),
            ("read_mode", "\"\(readMode.rawValue)\""),
            ("wal_bytes", String(walBytes)),
            ("segments", String(segments)),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    func writeText(to out: TextSink) {
        out.line("raftstore: \(Format.count(entries, "entry", "entries")) x \(size) B, batches of \(batch), fsync \(fsync)")
        out.line("  write \(Format.fixed(writeSeconds, 3)) s  \(Format.fixed(writeMBps, 1)) MB/s  \(Format.count(Int(writeEntriesPerSecond))) entries/s")
        out.line("  read  \(Format.fixed(readSeconds, 3)) s  \(Format.fixed(readMBps, 1)) MB/s  \(Format.count(Int(readEntriesPerSecond))) entries/s  "
            + "peak RSS \(Format.bytes(readPeakRSSBytes)) (\(readMode.rawValue))")
        out.line("  WAL   \(Format.count(walBytes, "byte")) in \(Format.count(segments, "segment"))")
    }
}
