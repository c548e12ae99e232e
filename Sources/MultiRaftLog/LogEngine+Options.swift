public import RaftFiles

extension LogEngine {
    /// How an engine stores its files.
    public struct Options: Sendable {
        /// Where every byte is read and written; ``RaftFiles/PosixFileSystem`` by default (tests
        /// pass a fault-injecting one).
        public var fileSystem: any FileSystem
        /// The size at which the current log file is sealed and a new one started (64 MiB by
        /// default). A record larger than this still goes whole into one file. At most 1 TiB.
        /// The current file is written with zeros up to 1 MiB ahead of its records (never past
        /// this size), so fdatasyncs flush data only; sealing and closing cut them.
        public var fileSize: Int64

        /// Options; the defaults unless given.
        public init(fileSystem: any FileSystem = PosixFileSystem(), fileSize: Int64 = 64 << 20) {
            self.fileSystem = fileSystem
            self.fileSize = fileSize
        }
    }
}
