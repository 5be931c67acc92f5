import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The text encoding of a CSV file.
public enum CSVEncoding: String, Sendable {
    /// UTF-8 with a byte-order mark (Excel's "CSV UTF-8").
    case utf8BOM = "UTF-8 (BOM)"
    /// UTF-8 without a byte-order mark.
    case utf8 = "UTF-8"
    /// CP950/Big5, what Excel on Traditional-Chinese Windows writes by default.
    case cp950 = "CP950"
}

/// A streaming RFC 4180 CSV reader for UTF-8 (with or without BOM) and CP950 files.
///
/// The encoding is decided once for the file: a BOM means UTF-8; otherwise a file that is valid
/// UTF-8 throughout is UTF-8, and anything else is CP950. In a CP950 file a cell that still holds
/// undecodable bytes is reported through ``TableRow/undecodable`` so only that row fails.
/// Comma is the separator unless the first line has tabs and no commas.
public final class CSVReader: TableReader {
    public let url: URL
    public let encoding: CSVEncoding
    private let separator: UInt8
    static let chunkSize = 1 << 20
    static let maximumRecordBytes = 4 << 20

    public var formatDescription: String { "CSV（\(encoding.rawValue)）" }

    /// Bytes of the file not yet read by the running ``forEachRow(_:)``.
    public private(set) var bytesLeft: Int?

    public init(url: URL) throws {
        self.url = url
        let head = try Self.readHead(url)
        if head.starts(with: [0xEF, 0xBB, 0xBF]) {
            encoding = .utf8BOM
        } else {
            encoding = try Self.isValidUTF8(url) ? .utf8 : .cp950
        }
        let firstLine = head.prefix { $0 != 0x0A }
        separator = (firstLine.contains(0x09) && !firstLine.contains(0x2C)) ? 0x09 : 0x2C
    }

    private static func readHead(_ url: URL) throws -> [UInt8] {
        let h = FileHandle(fileDescriptor: try openRegularFile(url), closeOnDealloc: true)
        defer { try? h.close() }
        return [UInt8](h.readData(ofLength: 65536))
    }

    /// Reads the file in chunks with `read(2)`, calling `body` with each chunk.
    public static func readChunks(_ url: URL, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let fd = try openRegularFile(url)
        defer { close(fd) }
        let buf = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: chunkSize)
        defer { buf.deallocate() }
        while true {
            let n = read(fd, buf.baseAddress, chunkSize)
            if n < 0 { if errno == EINTR { continue }; throw TableFileError.io("讀取失敗") }
            if n == 0 { return }
            try body(UnsafeBufferPointer(rebasing: buf[0..<n]))
        }
    }

    /// Opens a file for reading only if it is a regular file: never through a symbolic link
    /// (`O_NOFOLLOW`), and never waiting on a FIFO or a device (`O_NONBLOCK`, then `fstat`).
    public static func openRegularFile(_ url: URL) throws -> Int32 {
        let fd = Glibc.open(url.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw TableFileError.io(errno == ELOOP ? "是符號連結，不是檔案" : "無法開啟") }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw TableFileError.io("不是一般檔案")
        }
        return fd
    }

    /// Whether the whole file is well-formed UTF-8 (streamed; stops at the first bad byte).
    static func isValidUTF8(_ url: URL) throws -> Bool {
        var pending = 0 // continuation bytes still expected
        var valid = true
        struct Stop: Error {}
        do {
            try readChunks(url) { chunk in
                var i = 0
                let n = chunk.count
                let words = UnsafeRawPointer(chunk.baseAddress!)
                while i < n {
                    let b = chunk[i]
                    if pending > 0 {
                        guard b & 0xC0 == 0x80 else { valid = false; throw Stop() }
                        pending -= 1
                    } else if b < 0x80 {
                        // ASCII fast path: eight bytes at a time.
                        while i + 8 <= n && words.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
                        if i < n && chunk[i] >= 0x80 { continue }
                    } else if b & 0xE0 == 0xC0 && b >= 0xC2 {
                        pending = 1
                    } else if b & 0xF0 == 0xE0 {
                        // A whole three-byte sequence (every CJK character) at once when it is
                        // within the chunk.
                        if i + 2 < n {
                            guard chunk[i + 1] & 0xC0 == 0x80 && chunk[i + 2] & 0xC0 == 0x80 else { valid = false; throw Stop() }
                            i += 3
                            continue
                        }
                        pending = 2
                    } else if b & 0xF8 == 0xF0 && b <= 0xF4 {
                        pending = 3
                    } else {
                        valid = false; throw Stop()
                    }
                    i += 1
                }
            }
        } catch is Stop {}
        return valid && pending == 0
    }

    public func forEachRow(_ body: (TableRow) throws -> Void) throws {
        let decoder = encoding == .cp950 ? try CP950Decoder() : nil
        var cells: [String] = []
        var undecodable: Set<Int> = []
        try forEachRecord { record in
            cells.removeAll(keepingCapacity: true)
            undecodable.removeAll(keepingCapacity: true)
            for i in 0..<record.count {
                let field = record[i]
                if let decoder {
                    if let s = decoder.decode(ArraySlice(field)) { cells.append(s) } else { undecodable.insert(i); cells.append("") }
                } else {
                    cells.append(String(decoding: field, as: UTF8.self))
                }
            }
            let row = TableRow(number: record.number, cells: cells, undecodable: undecodable)
            if !row.isBlank { try body(row) }
        }
    }

    public var handsOverBytes: Bool { encoding != .cp950 }

    /// A UTF-8 file's cells straight from the bytes read, with no `String` made; a CP950 file's
    /// as decoded (``TableReader/forEachRowBytes(_:)``'s default).
    public func forEachRowBytes(_ body: (TableRowBytes) throws -> Void) throws {
        guard encoding != .cp950 else { return try forEachRowBytesDecoded(body) }
        try forEachRecord { record in
            if !record.isBlank { try body(record) }
        }
    }

    /// Parses the file into records, calling `body` with each one's fields' raw bytes and its
    /// number (a record holding line breaks in quotes counts once), blank records included.
    private func forEachRecord(_ body: (TableRowBytes) throws -> Void) throws {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.chunkSize * 2)
        var recordStart = 0
        var rowNumber = 0
        var skippedBOM = encoding != .utf8BOM
        let sep = separator
        // The current record's cells. A record without quotes is passed over the buffer itself:
        // where each cell starts and ends in it (a copy of every cell cost a `memmove` call per
        // cell). Once a quoted cell comes up, the record's cells are copied, unquoted, one after
        // another into `fields`, with where each ends.
        var fields: [UInt8] = []
        var starts: [Int] = []
        var ends: [Int] = []

        /// Parses complete records from `buffer`, leaving an incomplete one for the next chunk.
        func parseRecords(atEnd: Bool) throws {
            // Over the buffer's memory: the scan runs once per byte of the file.
            try buffer.withUnsafeBufferPointer { buf in
            let n = buf.count
            func field(_ from: Int, _ to: Int) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: buf[from..<to]) }
            outer: while recordStart < n {
                fields.removeAll(keepingCapacity: true)
                starts.removeAll(keepingCapacity: true)
                ends.removeAll(keepingCapacity: true)
                var copying = false
                var i = recordStart
                var recordDone = false
                while !recordDone {
                    if i < n && buf[i] == 0x22 {
                        if !copying {
                            // The cells so far, copied: from here on they go into `fields`.
                            for c in starts.indices {
                                fields.append(contentsOf: field(starts[c], ends[c]))
                                ends[c] = fields.count
                            }
                            copying = true
                        }
                        // Quoted field.
                        var j = i + 1
                        while true {
                            guard j < n else {
                                if atEnd { throw TableFileError.unterminatedQuote(row: rowNumber + 1) }
                                break outer
                            }
                            if buf[j] == 0x22 {
                                if j + 1 < n && buf[j + 1] == 0x22 { fields.append(0x22); j += 2; continue }
                                if j + 1 >= n && !atEnd { break outer }
                                j += 1
                                break
                            }
                            fields.append(buf[j])
                            j += 1
                        }
                        // Anything between the closing quote and the separator is kept, as spreadsheets do.
                        var k = j
                        while k < n && buf[k] != sep && buf[k] != 0x0A { k += 1 }
                        if k == n && !atEnd { break outer }
                        var tailEnd = k
                        if tailEnd > j && buf[tailEnd - 1] == 0x0D { tailEnd -= 1 }
                        fields.append(contentsOf: field(j, tailEnd))
                        ends.append(fields.count)
                        i = k
                    } else {
                        var k = i
                        while k < n && buf[k] != sep && buf[k] != 0x0A { k += 1 }
                        if k == n && !atEnd { break outer }
                        var end = k
                        if end > i && buf[end - 1] == 0x0D && (k == n || buf[k] == 0x0A) { end -= 1 }
                        if copying {
                            fields.append(contentsOf: field(i, end))
                            ends.append(fields.count)
                        } else {
                            starts.append(i)
                            ends.append(end)
                        }
                        i = k
                    }
                    if i >= n { recordDone = true; i = n }
                    else if buf[i] == 0x0A { recordDone = true; i += 1 }
                    else {
                        i += 1 // separator
                        if i == n && atEnd {
                            // A last, empty cell after a final separator.
                            if copying { ends.append(fields.count) } else { starts.append(n); ends.append(n) }
                            recordDone = true
                        }
                    }
                }
                rowNumber += 1
                recordStart = i
                if copying {
                    try fields.withUnsafeBufferPointer { f in
                        try ends.withUnsafeBufferPointer { e in try body(TableRowBytes(number: rowNumber, bytes: f, ends: e)) }
                    }
                } else {
                    try starts.withUnsafeBufferPointer { st in
                        try ends.withUnsafeBufferPointer { e in
                            try body(TableRowBytes(number: rowNumber, bytes: buf, starts: st, ends: e))
                        }
                    }
                }
            }
            if n - recordStart > Self.maximumRecordBytes { throw TableFileError.unterminatedQuote(row: rowNumber + 1) }
            }
        }

        var left = fileSize(of: url)
        bytesLeft = left
        try Self.readChunks(url) { chunk in
            // A text file holds no NUL byte: one anywhere refuses the file, as one in its first
            // bytes does (``TableFile/open(_:limits:)``), instead of being kept inside a cell.
            if memchr(chunk.baseAddress!, 0, chunk.count) != nil { throw TableFileError.notASpreadsheet("含有 NUL 位元組的二進位檔") }
            left = max(0, left - chunk.count)
            bytesLeft = left
            if recordStart > 0 {
                buffer.removeSubrange(0..<recordStart)
                recordStart = 0
            }
            buffer.append(contentsOf: chunk)
            if !skippedBOM, buffer.count >= 3 {
                if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { recordStart = 3 }
                skippedBOM = true
            }
            try parseRecords(atEnd: false)
        }
        try parseRecords(atEnd: true)
        if rowNumber == 0 { throw TableFileError.empty }
    }
}
