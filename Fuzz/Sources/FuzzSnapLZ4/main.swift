// .snap.lz4 loading (an LZ4 frame with XXH32 checksums around etcd's .snap encoding), whole and
// streamed: no trap, no hang, no allocation a frame header merely claims, the two loads agree,
// and a file that fails is set aside.
import EtcdStorage
import FuzzSnapshotSupport
import FuzzSupport
import LZ4Snapshots
import Logging
import RaftStorage

let quiet = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

runFuzzer { bytes in
    checkLoaders(bytes, name: fuzzedName + ".snap.lz4") { fs in
        try LZ4SnapshotStore(directory: "/snap", codec: ProtobufRecordCodec(), fileSystem: fs, logger: quiet)
    }
}
