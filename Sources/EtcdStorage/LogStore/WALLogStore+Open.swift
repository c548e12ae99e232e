public import RaftStorage

extension WALLogStore {
    /// Opens (or creates) the WAL log in `directory`; the same as
    /// ``init(directory:codec:options:)``.
    public static func open(at directory: String, codec: Codec, options: Options = Options()) throws(StorageError) -> WALLogStore {
        try WALLogStore(directory: directory, codec: codec, options: options)
    }
}

extension WALLogStore where Codec == ProtobufRecordCodec {
    /// Opens (or creates) an etcd-compatible WAL log in `directory`, with etcd 3.4's record
    /// encoding.
    ///
    /// ```swift
    /// let log = try WALLogStore.open(at: "data/member/wal")
    /// ```
    public static func open(at directory: String, options: Options = Options()) throws(StorageError) -> WALLogStore {
        try WALLogStore(directory: directory, codec: ProtobufRecordCodec(), options: options)
    }
}
