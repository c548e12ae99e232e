public import RaftStorage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

// Written against libc directly: swift-system has no fsync, fdatasync, fallocate or file locks,
// and the core module stays free of dependencies.

/// The real file system, through POSIX calls.
///
/// - Durability: ``StorageFile/syncData()`` is `fdatasync` and ``StorageFile/sync()`` is
///   `fsync` on Linux; on Darwin both use `F_FULLFSYNC`, because plain `fsync` there does not
///   flush the drive's cache (etcd does the same).
/// - Locks: open-file-description locks (`F_OFD_SETLK`) on Linux, which conflict even between
///   two opens in one process, so a second writer in the same process is refused too; `flock`
///   elsewhere or where OFD locks are unsupported. A lock ends when the file is closed. A lock
///   held elsewhere is retried for about 40 ms before ``RaftStorage/StorageError/Code/locked`` is reported.
public struct PosixFileSystem: FileSystem {
    /// The process's own file system.
    public init() {}

    public func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        var flags: Int32 = O_CLOEXEC
        switch (options.contains(.read), options.contains(.write)) {
        case (_, false): flags |= O_RDONLY
        case (false, true): flags |= O_WRONLY
        case (true, true): flags |= O_RDWR
        }
        if options.contains(.create) { flags |= O_CREAT }
        if options.contains(.exclusive) { flags |= O_EXCL }
        if options.contains(.truncate) { flags |= O_TRUNC }
        let fd = retryingOnInterrupt { systemOpen(path, flags, mode_t(permissions)) }
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ENOENT: throw StorageError(.notFound, "no such file", path: path, errno: code)
            case EEXIST: throw StorageError(.alreadyExists, "file exists", path: path, errno: code)
            default: throw StorageError.systemCall("open", path: path, errno: code)
            }
        }
        return PosixFile(fd: fd, path: path)
    }

    public func rename(_ source: String, to destination: String) throws(StorageError) {
        guard systemRename(source, destination) == 0 else {
            throw StorageError(.io, "rename to \(destination) failed", path: source, errno: errno)
        }
    }

    public func removeFile(_ path: String) throws(StorageError) {
        guard unlink(path) == 0 else {
            let code = errno
            if code == ENOENT { throw StorageError(.notFound, "no such file", path: path, errno: code) }
            throw StorageError.systemCall("unlink", path: path, errno: code)
        }
    }

    public func createDirectory(_ path: String, permissions: UInt32) throws(StorageError) {
        guard mkdir(path, mode_t(permissions)) == 0 else {
            let code = errno
            if code == EEXIST, let info = try info(path), info.isDirectory { return }
            if code == ENOENT { throw StorageError(.notFound, "parent directory does not exist", path: path, errno: code) }
            throw StorageError.systemCall("mkdir", path: path, errno: code)
        }
    }

    public func removeDirectory(_ path: String) throws(StorageError) {
        guard rmdir(path) == 0 else { throw StorageError.systemCall("rmdir", path: path) }
    }

    public func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] {
        guard let directory = opendir(path) else {
            let code = errno
            if code == ENOENT { throw StorageError(.notFound, "no such directory", path: path, errno: code) }
            throw StorageError.systemCall("opendir", path: path, errno: code)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        let fd = retryingOnInterrupt { systemOpen(path, O_RDONLY | O_CLOEXEC, 0) }
        guard fd >= 0 else { throw StorageError.systemCall("open directory", path: path) }
        defer { _ = Glibc_close(fd) }
        guard fullSync(fd) == 0 else { throw StorageError.systemCall("fsync directory", path: path) }
    }

    public func info(_ path: String) throws(StorageError) -> FileInfo? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw StorageError.systemCall("stat", path: path, errno: code)
        }
        return FileInfo(size: Int64(status.st_size), isDirectory: (status.st_mode & S_IFMT) == S_IFDIR)
    }
}

#if os(Linux)
// Glibc's headers declare these only with _GNU_SOURCE, which the Swift module does not set.
private let seekData: Int32 = 3
private let seekHole: Int32 = 4
#else
private let seekData: Int32 = SEEK_DATA
private let seekHole: Int32 = SEEK_HOLE
#endif

/// An open POSIX file descriptor.
final class PosixFile: StorageFile {
    let path: String
    /// The descriptor, -1 once closed. An atomic rather than a lock: every `pwrite` and
    /// `fdatasync` reads it and only `close()` changes it, so a lock would add one
    /// acquisition per system call to the save path for nothing.
    private let descriptor: Atomic<Int32>

    init(fd: Int32, path: String) {
        self.descriptor = Atomic(fd)
        self.path = path
    }

    deinit {
        let fd = descriptor.load(ordering: .acquiring)
        if fd >= 0 { _ = Glibc_close(fd) }
    }

    private func fd() throws(StorageError) -> Int32 {
        let fd = descriptor.load(ordering: .acquiring)
        guard fd >= 0 else { throw StorageError(.closed, "file is closed", path: path) }
        return fd
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int {
        let fd = try fd()
        var done = 0
        while done < buffer.count {
            let count = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw StorageError.systemCall("pread", path: path, offset: offset + Int64(done))
            }
            if count == 0 { break }
            done += count
        }
        return done
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {
        let fd = try fd()
        var done = 0
        while done < bytes.count {
            let count = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw StorageError.systemCall("pwrite", path: path, offset: offset + Int64(done))
            }
            done += count
        }
    }

    /// With `SEEK_DATA` and `SEEK_HOLE`: ext4, XFS and tmpfs skip blocks never written,
    /// preallocated ones included, so the zero tail of a preallocated segment is not read.
    /// A file system without them reports the whole file as data, which is still correct.
    func dataRanges(in range: Range<Int64>) throws(StorageError) -> [Range<Int64>] {
        let fd = try fd()
        var ranges: [Range<Int64>] = []
        var position = range.lowerBound
        while position < range.upperBound {
            let data = lseek(fd, off_t(position), seekData)
            if data < 0 {
                if errno == ENXIO { break }  // no data at or after `position`
                return ranges + [position..<range.upperBound]  // not supported here: read it all
            }
            let start = Int64(data)
            guard start < range.upperBound else { break }
            let hole = lseek(fd, off_t(start), seekHole)
            let end = hole < 0 ? range.upperBound : min(Int64(hole), range.upperBound)
            guard end > start else { return ranges + [start..<range.upperBound] }
            ranges.append(start..<end)
            position = end
        }
        return ranges
    }

    func size() throws(StorageError) -> Int64 {
        var status = stat()
        guard fstat(try fd(), &status) == 0 else { throw StorageError.systemCall("fstat", path: path) }
        return Int64(status.st_size)
    }

    func truncate(to size: Int64) throws(StorageError) {
        let fd = try fd()
        guard retryingOnInterrupt({ ftruncate(fd, off_t(size)) }) == 0 else {
            throw StorageError.systemCall("ftruncate", path: path, offset: size)
        }
    }

    func preallocate(to size: Int64) throws(StorageError) {
        guard size > 0 else { return }
        let fd = try fd()
        #if os(Linux)
        // posix_fallocate returns the error instead of setting errno. File systems without
        // fallocate, and tmpfs returning EINTR (etcd #3335, #5558), fall back to ftruncate.
        let result = posix_fallocate(fd, 0, off_t(size))
        if result == 0 { return }
        if result != EOPNOTSUPP && result != EINVAL && result != EINTR && result != ENOSYS {
            throw StorageError.systemCall("fallocate", path: path, offset: size, errno: result)
        }
        #endif
        if try self.size() < size { try truncate(to: size) }
    }

    func sync() throws(StorageError) {
        guard fullSync(try fd()) == 0 else { throw StorageError.systemCall("fsync", path: path) }
    }

    func syncData() throws(StorageError) {
        let fd = try fd()
        #if os(Linux)
        guard retryingOnInterrupt({ fdatasync(fd) }) == 0 else { throw StorageError.systemCall("fdatasync", path: path) }
        #else
        guard fullSync(fd) == 0 else { throw StorageError.systemCall("fsync", path: path) }
        #endif
    }

    func lock(wait: Bool) throws(StorageError) {
        // A child process being spawned elsewhere in this process shares every open file
        // description between its fork and its exec, and with it the lock of a file just closed
        // here. A few short retries let such a child finish starting instead of reporting a
        // second writer that does not exist.
        var attempt = 0
        while true {
            do {
                return try lockOnce(wait: wait)
            } catch where error.code == .locked && !wait && attempt < 20 {
                attempt += 1
                usleep(2_000)
            }
        }
    }

    private func lockOnce(wait: Bool) throws(StorageError) {
        let fd = try fd()
        #if os(Linux)
        var request = flock()
        request.l_type = Int16(F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        let command = wait ? ofdSetLockWait : ofdSetLock
        let result = retryingOnInterrupt { fcntl(fd, command, &request) }
        if result == 0 { return }
        let code = errno
        if code == EAGAIN || code == EACCES {
            throw StorageError(.locked, "file already locked", path: path, errno: code)
        }
        guard code == EINVAL else { throw StorageError.systemCall("fcntl(F_OFD_SETLK)", path: path, errno: code) }
        // Kernels before 3.15 lack OFD locks: fall back to flock, as etcd does.
        #endif
        let operation = LOCK_EX | (wait ? 0 : LOCK_NB)
        guard retryingOnInterrupt({ flock(fd, operation) }) == 0 else {
            let code = errno
            if code == EWOULDBLOCK { throw StorageError(.locked, "file already locked", path: path, errno: code) }
            throw StorageError.systemCall("flock", path: path, errno: code)
        }
    }

    func close() throws(StorageError) {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        guard fd >= 0 else { return }
        // close is not retried on EINTR: on Linux the descriptor is gone either way.
        guard Glibc_close(fd) == 0 else { throw StorageError.systemCall("close", path: path) }
    }
}

#if os(Linux)
/// `F_OFD_SETLK` and `F_OFD_SETLKW` from <fcntl.h>; Glibc's Swift module leaves them out
/// because they need `_GNU_SOURCE`.
private let ofdSetLock: Int32 = 37
private let ofdSetLockWait: Int32 = 38
#endif

/// fsync, or on Darwin the F_FULLFSYNC that actually reaches the platter.
private func fullSync(_ fd: Int32) -> Int32 {
    #if canImport(Darwin)
    if fcntl(fd, F_FULLFSYNC) == 0 { return 0 }
    #endif
    return retryingOnInterrupt { fsync(fd) }
}

private func retryingOnInterrupt(_ call: () -> Int32) -> Int32 {
    while true {
        let result = call()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    #if canImport(Darwin)
    Darwin.open(path, flags, mode)
    #else
    Glibc.open(path, flags, mode)
    #endif
}

private func systemRename(_ source: String, _ destination: String) -> Int32 {
    #if canImport(Darwin)
    Darwin.rename(source, destination)
    #else
    Glibc.rename(source, destination)
    #endif
}

@inline(__always)
private func Glibc_close(_ fd: Int32) -> Int32 {
    #if canImport(Darwin)
    Darwin.close(fd)
    #else
    Glibc.close(fd)
    #endif
}
