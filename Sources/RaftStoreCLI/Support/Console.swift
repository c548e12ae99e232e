#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Buffered text output to a file descriptor (standard output by default), or into memory for
/// tests. Large dumps go out in 64 KiB writes instead of one `print` per line.
final class TextSink {
    private let descriptor: Int32?
    private var buffer: [UInt8] = []
    /// What was written, when capturing.
    private(set) var captured: [UInt8] = []

    /// Writes to `descriptor`.
    init(descriptor: Int32 = STDOUT_FILENO) {
        self.descriptor = descriptor
        buffer.reserveCapacity(1 << 16)
    }

    /// Keeps everything in ``captured``.
    init(capturing: Void) {
        descriptor = nil
    }

    deinit { flush() }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    func line(_ text: String = "") {
        write(text)
        write("\n")
    }

    /// Writes out what is buffered. When the reader of a pipe goes away (`raftstore wal dump |
    /// head`), SIGPIPE ends the process quietly, as it does `cat`.
    func flush() {
        guard !buffer.isEmpty else { return }
        guard let descriptor else {
            captured += buffer
            buffer.removeAll(keepingCapacity: true)
            return
        }
        buffer.withUnsafeBytes { raw in writeFully(descriptor, raw) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// The captured output as text.
    var capturedText: String { String(decoding: captured, as: UTF8.self) }
}

/// Standard error and terminal facts.
enum Console {
    /// Writes one line to standard error, unbuffered.
    static func error(_ text: String) {
        let line = Array((text + "\n").utf8)
        line.withUnsafeBytes { raw in writeFully(STDERR_FILENO, raw) }
    }

    /// Notes for the user kept until the command ends (``note(_:)``).
    private static let notes = Mutex<[String]>([])

    /// Keeps a note for standard error, e.g. which directory a command read when it was given
    /// another. ``RaftStoreMain/run(_:)`` prints the notes when the command succeeds, one
    /// `raftstore: note:` line each, and appends them to the error line when it fails, so a
    /// failure stays one line.
    static func note(_ text: String) {
        notes.withLock { $0.append(text) }
    }

    /// The notes kept so far, oldest first; they are forgotten.
    static func takeNotes() -> [String] {
        notes.withLock { (kept) -> [String] in
            let taken = kept
            kept.removeAll()
            return taken
        }
    }

    /// Whether standard error is a terminal: progress lines go there, and only then.
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Overwrites the current terminal line on standard error (no newline).
    static func progress(_ text: String) {
        let line = Array(("\r\u{1B}[K" + text).utf8)
        line.withUnsafeBytes { raw in writeFully(STDERR_FILENO, raw) }
    }

    /// Clears the progress line.
    static func endProgress() {
        progress("")
    }
}

/// write(2) until everything is out; gives up silently on an error (a full disk, a closed
/// descriptor): output is best effort, the exit code carries the result.
func writeFully(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress else { return }
    var offset = 0
    while offset < bytes.count {
        let written = write(descriptor, base + offset, bytes.count - offset)
        if written < 0 {
            if errno == EINTR { continue }
            return
        }
        offset += written
    }
}
