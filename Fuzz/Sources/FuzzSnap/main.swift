// etcd .snap loading (snappb{crc, data} around raftpb.Snapshot), whole and streamed through the
// streaming decoder in 61-byte reads: no trap, no hang, no allocation a length merely claims,
// the two loads agree, and a file that fails is set aside.
import EtcdStorage
import FuzzSnapshotSupport
import FuzzSupport
import Logging
import RaftStorage

let quiet = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

runFuzzer { bytes in
    checkLoaders(bytes, name: fuzzedName + ".snap") { fs in
        try EtcdSnapshotStore(directory: "/snap", fileSystem: fs, logger: quiet, readChunkSize: 61)
    }
}
