import RaftStorage

// The LZ4 frame format (lz4/doc/lz4_Frame_format.md, version 1.6.x): a header, blocks each
// prefixed by a little-endian 32-bit size (top bit: stored uncompressed), an end mark of 0, and
// an optional XXH32 of the content. This store writes frames `lz4 -d` reads and reads what the
// `lz4` tool writes (independent or linked blocks, with or without block and content checksums
// and content size), but no dictionaries and no concatenated or skippable frames.

/// The parsed header of an LZ4 frame.
struct LZ4FrameHeader: Hashable {
    static let magic: UInt32 = 0x184D_2204
    /// The block size this store writes (block maximum size id 6). The `lz4` tool writes 4 MiB
    /// blocks; 1 MiB ones cut the load pipeline's fill, drain and page faults to a quarter at a
    /// ratio within 0.1% (Docs/Performance.md). Both read the same.
    static let defaultBlockSize = 1 << 20
    /// The longest header: magic, FLG, BD, content size, dictionary id, header checksum.
    static let maxSize = 4 + 2 + 8 + 4 + 1
    /// The size field's flag for a block stored uncompressed.
    static let uncompressedFlag: UInt32 = 0x8000_0000
    /// Linked blocks may refer back this far into earlier blocks.
    static let linkedWindow = 64 << 10

    var independentBlocks: Bool
    var blockChecksums: Bool
    var contentSize: UInt64?
    var contentChecksum: Bool
    var blockMaxSize: Int
    /// Bytes the header takes in the file.
    var size: Int

    /// The header this store writes: independent 1 MiB blocks, content checksum, no content size.
    static let written: [UInt8] = {
        // FLG: version 01, independent blocks, content checksum. BD: block maximum size id 6.
        var bytes: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0b0110_0100, 0b0110_0000]
        let check = bytes[4...].withUnsafeBytes { XXH32.hash($0) }
        bytes.append(UInt8(truncatingIfNeeded: check >> 8))
        return bytes
    }()

    /// Parses the header at the start of `bytes`, which hold the first bytes of a file
    /// (at most ``maxSize`` are looked at).
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` for anything but an LZ4 frame header this reader
    ///   supports; ``RaftStorage/StorageError/Code/unexpectedEnd`` when `bytes` end inside it.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> LZ4FrameHeader {
        guard bytes.count >= 4 else {
            throw StorageError(.unexpectedEnd, "file ends inside the LZ4 frame magic number", offset: Int64(bytes.count))
        }
        let magic = bytes.loadLittleEndianUInt32(at: 0)
        guard magic == Self.magic else {
            throw StorageError(.corrupt, "not an LZ4 frame: magic number 0x\(String(magic, radix: 16))", offset: 0)
        }
        guard bytes.count >= 7 else {
            throw StorageError(.unexpectedEnd, "file ends inside the LZ4 frame header", offset: Int64(bytes.count))
        }
        let flags = bytes[4]
        let descriptor = bytes[5]
        guard flags >> 6 == 1 else {
            throw StorageError(.corrupt, "unsupported LZ4 frame version \(flags >> 6)", offset: 4)
        }
        guard flags & 0b10 == 0, descriptor & 0b1000_1111 == 0 else {
            throw StorageError(.corrupt, "reserved bits set in the LZ4 frame header", offset: 4)
        }
        guard flags & 1 == 0 else {
            throw StorageError(.corrupt, "the LZ4 frame needs a dictionary, which snapshots never use", offset: 4)
        }
        let sizeID = Int(descriptor >> 4)
        guard sizeID >= 4 else {
            throw StorageError(.corrupt, "invalid LZ4 block maximum size id \(sizeID)", offset: 5)
        }
        let hasContentSize = flags & 0b1000 != 0
        let size = 7 + (hasContentSize ? 8 : 0)
        guard bytes.count >= size else {
            throw StorageError(.unexpectedEnd, "file ends inside the LZ4 frame header", offset: Int64(bytes.count))
        }
        let expected = UInt8(truncatingIfNeeded: XXH32.hash(UnsafeRawBufferPointer(rebasing: bytes[4..<(size - 1)])) >> 8)
        guard bytes[size - 1] == expected else {
            throw StorageError(.crcMismatch, "LZ4 frame header checksum mismatch", offset: Int64(size - 1))
        }
        return LZ4FrameHeader(
            independentBlocks: flags & 0b10_0000 != 0,
            blockChecksums: flags & 0b1_0000 != 0,
            contentSize: hasContentSize ? bytes.loadLittleEndianUInt64(at: 6) : nil,
            contentChecksum: flags & 0b100 != 0,
            blockMaxSize: 1 << (8 + 2 * sizeID),
            size: size)
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadLittleEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func loadLittleEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

extension UnsafeRawBufferPointer {
    /// The bytes as liblz4's `const char *`.
    var cChars: UnsafePointer<CChar>? { baseAddress?.assumingMemoryBound(to: CChar.self) }
}

extension UnsafeMutableRawBufferPointer {
    /// The bytes as liblz4's `char *`.
    var mutableCChars: UnsafeMutablePointer<CChar>? { baseAddress?.assumingMemoryBound(to: CChar.self) }

    @inline(__always)
    func storeLittleEndian(_ value: UInt32, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }
}
