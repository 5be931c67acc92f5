import CXLSXWriterTuning
import CXLSXWriter
import Foundation

/// Why a workbook could not be written.
public struct WorkbookError: Error, CustomStringConvertible {
    public var description: String
}

/// A spreadsheet the desk writes (活頁簿: decision workbooks, school reports, roster templates),
/// written by libxlsxwriter, whose output is checked against files Excel writes.
///
/// The desk's terms only: sheets of rows, cell formats, dropdown columns, locked sheets, frozen
/// headers, filters and one column chart. Rows of a sheet are written in ascending order and the
/// cells of a row in ascending columns (what constant-memory mode needs); settings can come at
/// any time. Everything is held by libxlsxwriter until ``data()`` writes the file, in a folder of
/// its own that only the desk's user can read, and returns its bytes.
public final class Workbook {
    /// A cell format, made by ``format(_:)`` of the same workbook.
    public struct Format {
        let pointer: UnsafeMutablePointer<lxw_format>
    }

    /// What a format sets.
    public struct FormatOptions: Sendable {
        public var bold = false
        public var fontColor: UInt32? = nil
        public var background: UInt32? = nil
        public var wrap = false
        /// Whether the cell stays editable on a locked sheet.
        public var unlocked = false
        public init(bold: Bool = false, fontColor: UInt32? = nil, background: UInt32? = nil, wrap: Bool = false, unlocked: Bool = false) {
            self.bold = bold
            self.fontColor = fontColor
            self.background = background
            self.wrap = wrap
            self.unlocked = unlocked
        }
    }

    /// The workbook's own folder (owner-only), removed with the workbook.
    let folder: URL
    private let file: URL
    private var book: UnsafeMutablePointer<lxw_workbook>?
    private var sheets: [WorkbookSheet] = []
    /// C strings that libxlsxwriter keeps pointers to until the workbook is closed.
    private var kept: [UnsafeMutablePointer<CChar>] = []
    var firstError: String?

    /// Where workbooks are written before their bytes are read: the folder `DEFERMENT_SCRATCH`
    /// names, else `/dev/shm` (memory, so personal data never reaches a disk and no inode is
    /// churned per workbook) when it is there, else the temporary folder.
    static let scratchFolder: String = {
        if let chosen = ProcessInfo.processInfo.environment["DEFERMENT_SCRATCH"], !chosen.isEmpty { return chosen }
        return access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()
    }()

    /// The scratch folders of desks killed while writing a workbook, removed once per process
    /// before its first workbook: they hold the rows written so far, and nothing else would.
    private static let abandonedRemoved: Void = { removeAbandoned(in: scratchFolder) }()

    /// Removes the workbook folders in `folder` whose process is gone (a folder's name carries
    /// its process id); returns their names. Only real folders of this user, named exactly as
    /// ``init(constantMemory:)`` names them, are touched: the rest may be anyone's.
    @discardableResult
    static func removeAbandoned(in folder: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var removed: [String] = []
        for name in names.sorted() {
            guard let pid = scratchOwner(name), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = folder + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == getuid() else { continue }
            if (try? FileManager.default.removeItem(atPath: path)) != nil { removed.append(name) }
        }
        return removed
    }

    /// The process id in a workbook folder's name (`deferment-workbook-<pid>-` and six letters or
    /// digits), or `nil` for any other name.
    static func scratchOwner(_ name: String) -> pid_t? {
        guard name.hasPrefix(DEFERMENT_WORKBOOK_FOLDER_PREFIX) else { return nil }
        let parts = name.utf8.dropFirst(DEFERMENT_WORKBOOK_FOLDER_PREFIX.utf8.count).split(separator: UInt8(ascii: "-"),
                                                                                           omittingEmptySubsequences: false)
        guard parts.count == 2, (1...9).contains(parts[0].count), parts[0].allSatisfy({ (0x30...0x39).contains($0) }),
              parts[1].count == 6, parts[1].allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0 & 0xDF) }),
              let pid = pid_t(String(decoding: parts[0], as: UTF8.self)), pid > 0 else { return nil }
        return pid
    }

    /// A new, empty workbook.
    /// - Parameter constantMemory: rows go to a temporary file as they are written instead of
    ///   staying in memory (for sheets of many rows; strings are then stored in the cells).
    public init(constantMemory: Bool = false) throws {
        _ = Self.abandonedRemoved
        var template = Array((Self.scratchFolder + "/" + DEFERMENT_WORKBOOK_FOLDER_PREFIX + "\(getpid())-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw WorkbookError(description: "cannot make a temporary folder: \(String(cString: strerror(errno)))")
        }
        folder = URL(fileURLWithPath: String(cString: made))
        file = folder.appendingPathComponent("book.xlsx")
        var options = lxw_workbook_options()
        options.constant_memory = constantMemory ? 1 : 0
        options.use_zip64 = 1
        let tmp = strdup(folder.path)!
        kept.append(tmp)
        options.tmpdir = tmp
        book = workbook_new_opt(file.path, &options)
        guard book != nil else {
            try? FileManager.default.removeItem(at: folder)
            throw WorkbookError(description: "libxlsxwriter could not start a workbook")
        }
    }

    deinit {
        if let book { lxw_workbook_free(book) }
        kept.forEach { free($0) }
        try? FileManager.default.removeItem(at: folder)
    }

    /// Adds a format.
    public func format(_ o: FormatOptions) -> Format {
        let f = workbook_add_format(book)!
        if o.bold { format_set_bold(f) }
        if let c = o.fontColor { format_set_font_color(f, lxw_color_t(c)) }
        if let c = o.background {
            format_set_pattern(f, UInt8(LXW_PATTERN_SOLID.rawValue))
            format_set_bg_color(f, lxw_color_t(c))
        }
        if o.wrap { format_set_text_wrap(f) }
        if o.unlocked { format_set_unlocked(f) }
        return Format(pointer: f)
    }

    /// Adds a worksheet (names are unique, at most 31 characters, without `[]:*?/\`).
    public func addSheet(_ name: String) -> WorkbookSheet {
        let pointer = workbook_add_worksheet(book, name)
        if pointer == nil { note("工作表名稱無效：\(name)") }
        let sheet = WorkbookSheet(pointer: pointer, name: name, workbook: self)
        sheets.append(sheet)
        return sheet
    }

    /// Sets the document's title and creation time. A fixed time keeps the bytes reproducible
    /// (libxlsxwriter dates every zip entry 1980-01-01); a time of 0 stands for "now".
    public func setProperties(title: String, created: Date) {
        var properties = lxw_doc_properties()
        properties.title = keep(title)
        properties.created = time_t(created.timeIntervalSince1970)
        workbook_set_properties(book, &properties)
    }

    /// A chart owned by the workbook.
    func addChart(type: UInt8) -> UnsafeMutablePointer<lxw_chart>? {
        book.flatMap { workbook_add_chart($0, type) }
    }

    /// A copy of `text` that lives as long as the workbook.
    func keep(_ text: String) -> UnsafeMutablePointer<CChar> {
        let copy = strdup(text)!
        kept.append(copy)
        return copy
    }

    /// Records the first thing that went wrong; ``data()`` reports it.
    func note(_ problem: String) {
        if firstError == nil { firstError = problem }
    }

    /// Records a libxlsxwriter error of a call.
    func check(_ rc: lxw_error, _ what: @autoclosure () -> String) {
        if rc != LXW_NO_ERROR { note("\(what())：\(String(cString: lxw_strerror(rc)))") }
    }

    /// Writes the workbook and returns its bytes. The workbook cannot be used afterwards.
    public func data() throws -> Data {
        guard let open = book else { throw WorkbookError(description: "workbook already written") }
        book = nil
        if let firstError {
            lxw_workbook_free(open)
            throw WorkbookError(description: firstError)
        }
        let rc = workbook_close(open)   // frees the workbook too
        guard rc == LXW_NO_ERROR else {
            throw WorkbookError(description: "libxlsxwriter: \(String(cString: lxw_strerror(rc)))")
        }
        defer { try? FileManager.default.removeItem(at: file) }
        return try Data(contentsOf: file)
    }
}
