/// The "writing: N of M entries" line of a benchmark's write phase on stderr, at most four
/// times a second, and only when `shows` (stderr is a terminal).
struct WriteProgress {
    let shows: Bool
    let total: Int
    private var last = Stopwatch()

    init(shows: Bool, total: Int) {
        self.shows = shows
        self.total = total
    }

    /// `written` entries are written so far.
    mutating func update(_ written: Int) {
        guard shows, last.seconds > 0.25 else { return }
        last = Stopwatch()
        Console.progress("writing: \(Format.count(written)) of \(Format.count(total, "entry", "entries"))")
    }
}
