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

        /// Options; the defaults unless given.
        public init(fileSystem: any FileSystem = PosixFileSystem(), fileSize: Int64 = 64 << 20) {
            self.fileSystem = fileSystem
            self.fileSize = fileSize
        }
    }
}
