import RaftStoreCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

exit(RaftStoreMain.run(Array(CommandLine.arguments.dropFirst())))
