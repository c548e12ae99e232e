public import RaftStorage
public import RaftFiles

extension LogEngine {
    /// Reads the engine in `directory` as opening it would (every file, every record, every
    /// group rebuilt), without changing anything: no lock is taken, every file is opened for
    /// reading only, and the torn tail opening would cut is reported, not cut.
    ///
    /// For tools that look at a directory, possibly while an engine has it open: the last
    /// record of a live engine may be mid-write then, and show as a torn tail.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/notFound`` when `directory` does not exist,
    ///   and I/O errors. What stops opening (damage, a group that cannot be rebuilt, a file
    ///   this code does not read) is not thrown: it is the inspection's ``EngineInspection/damage``.
    public static func inspect(directory: String, fileSystem: any FileSystem = PosixFileSystem()) throws(StorageError) -> EngineInspection {
        guard try fileSystem.info(directory)?.isDirectory == true else {
            throw StorageError(.notFound, "no engine directory", path: directory)
        }
        var numbers: [UInt64] = []
        var housekeeping: [EngineInspection.Housekeeping] = []
        var hasLockFile = false
        for name in try fileSystem.contentsOfDirectory(directory).sorted() {
            let path = fileSystem.join(directory, name)
            if let number = LogFileFormat.fileNumber(name) {
                numbers.append(number)
            } else if name.hasSuffix(LogFileFormat.fileExtension + LogFileFormat.temporarySuffix) {
                housekeeping.append(.init(kind: .temporaryFileRemoved, path: path))
            } else if name == LogFileFormat.lockFileName {
                hasLockFile = true
            } else if name == LogFileFormat.tailNotDurableName {
                housekeeping.append(.init(kind: .lastFileWrittenAgain, path: path))
            }
        }
        numbers.sort()
        var files: [EngineInspection.LogFile] = []
        for number in numbers {
            let path = fileSystem.join(directory, LogFileFormat.fileName(number))
            files.append(.init(number: number, path: path, size: try fileSystem.info(path)?.size ?? 0))
        }
        var recordedNewest: UInt64?
        if hasLockFile {
            let lock = try fileSystem.open(fileSystem.join(directory, LogFileFormat.lockFileName), .read, permissions: 0)
            defer { try? lock.close() }
            recordedNewest = try EngineRecovery.recordedNewest(in: lock)
        }
        do throws(StorageError) {
            try EngineRecovery.checkNewest(numbers, recorded: recordedNewest, directory: directory)
        } catch {
            return EngineInspection(
                directory: directory, hasLockFile: hasLockFile, files: files, recovered: nil, housekeeping: housekeeping,
                damage: error, fileSystem: fileSystem)
        }
        guard let last = numbers.last else {
            housekeeping.append(.init(kind: .firstFileCreated, path: fileSystem.join(directory, LogFileFormat.fileName(1))))
            return EngineInspection(
                directory: directory, hasLockFile: hasLockFile, files: [], recovered: nil, housekeeping: housekeeping, damage: nil,
                fileSystem: fileSystem)
        }
        do throws(StorageError) {
            let recovered = try EngineRecovery.recover(directory: directory, fileSystem: fileSystem, files: numbers, readOnly: true)
            if let zeros = recovered.zeroTail {
                housekeeping.append(.init(
                    kind: .zerosCut, path: fileSystem.join(directory, LogFileFormat.fileName(last)), offset: zeros.offset, bytes: zeros.count))
            }
            return EngineInspection(
                directory: directory, hasLockFile: hasLockFile, files: files, recovered: recovered, housekeeping: housekeeping,
                damage: nil, fileSystem: fileSystem)
        } catch where error.code != .io {
            // What the files hold stops opening; an I/O error says nothing about them.
            return EngineInspection(
                directory: directory, hasLockFile: hasLockFile, files: files, recovered: nil, housekeeping: housekeeping,
                damage: error, fileSystem: fileSystem)
        }
    }
}
