public import RaftFiles

extension LogEngine {
    /// How an engine stores its files.
    public struct Options: Sendable {
        /// Where every byte is read and written; ``RaftFiles/PosixFileSystem`` by default (tests
        /// pass a fault-injecting one).
        public var fileSystem: any FileSystem
        /// The size at which the current log file is sealed and a new one started (64 MiB by
        /// default). A record larger than this still goes whole into one file. At most 1 TiB.
        public var fileSize: Int64
        /// How far ahead of its records the current file is written with zeros, in bytes (1 MiB
        /// by default, never past ``fileSize``; 0 turns it off). An fdatasync after a write that
        /// grows the file must also write the file's new size and blocks; over bytes written
        /// before, it flushes only the data: about half the time on this project's test machine
        /// (`Docs/Performance.md`). Sealing a file and closing cut the zeros (each with an
        /// fsync), so sealed files end at their last record.
        public var zeroFillAhead: Int64

        /// Options; the defaults unless given.
        public init(fileSystem: any FileSystem = PosixFileSystem(), fileSize: Int64 = 64 << 20, zeroFillAhead: Int64 = 1 << 20) {
            self.fileSystem = fileSystem
            self.fileSize = fileSize
            self.zeroFillAhead = zeroFillAhead
        }
    }
}
