import Foundation
import CXLSXWriterTuning
import DefermentFiles
import DefermentTestSupport
import Testing
@testable import DefermentWorkbooks

/// Workbooks written through libxlsxwriter, read back by independent readers: Python's `zipfile`
/// (every entry's CRC-32), openpyxl (cells, formats, sheet settings), LibreOffice (every cell),
/// and the desk's own streaming reader.
struct WorkbookTests {
    /// A two-sheet workbook whose first sheet is large, with its settings made after its rows.
    func sample(rows: Int, constantMemory: Bool) throws -> Data {
        let wb = try Workbook(constantMemory: constantMemory)
        let bold = wb.format(.init(bold: true, background: 0xDDE6F0))
        let red = wb.format(.init(fontColor: 0xC00000))
        let input = wb.format(.init(background: 0xFFF5CC, wrap: true, unlocked: true))
        let sheet = wb.addSheet("名冊")
        for (i, h) in ["序號", "姓名", "意見", "審核結果"].enumerated() { sheet.write(0, i, h, bold) }
        for n in 1...rows {
            sheet.write(n, 0, number: Double(n))
            sheet.write(n, 1, "學生\(n)", n % 10 == 0 ? red : nil)
            sheet.write(n, 2, n == 1 ? "<script>alert(\"1\")</script> & 'x'" : (n == 2 ? "  前後空白  " : (n == 3 ? "控制\u{1}字元" : "")))
            sheet.write(n, 3, "", input)
        }
        sheet.setColumnWidth(1, 20)
        sheet.freezeRows(1)
        sheet.autofilter(firstRow: 0, firstCol: 0, lastRow: rows, lastCol: 3)
        sheet.dropdown(firstRow: 1, lastRow: rows, col: 3, values: ["核准", "未核准"], prompt: "請選擇")
        sheet.protect(allowFilter: true)
        let second = wb.addSheet("統計")
        second.write(0, 0, "類別"); second.write(0, 1, "總數")
        second.write(1, 0, "甲"); second.write(1, 1, number: Double(rows))
        second.write(2, 0, "乙"); second.write(2, 1, number: 0.25)
        second.write(3, 1, formula: "=B2*2", result: "")
        second.insertChart(5, 0, ColumnChart(title: "圖", sheet: "統計", rows: 1...2, categoryColumn: 0, series: [("總數", 1)]))
        second.activate()
        return try wb.data()
    }

    /// Workbooks written at the same time on several threads (as a build's workers do) each carry
    /// their own creation date: libxlsxwriter formats it with `gmtime`, whose result lives in one
    /// buffer for the whole process unless each thread has its own.
    @Test func workbooksWrittenInParallelKeepTheirOwnDates() throws {
        let folder = try temporaryFolder(prefix: "deferment-workbook", "dates")
        let days = 1_500
        final class Failure: @unchecked Sendable { var error: Error? }
        let failure = Failure()
        DispatchQueue.concurrentPerform(iterations: days) { day in
            do {
                let wb = try Workbook()
                wb.setProperties(title: "第 \(day) 日", created: Date(timeIntervalSince1970: Double(19_000 + day) * 86_400))
                wb.addSheet("表").write(0, 0, "x")
                try wb.data().write(to: folder.appendingPathComponent("\(day).xlsx"))
            } catch { failure.error = error }
        }
        if let error = failure.error { throw error }
        let wrong = try runPython(["-c", """
        import sys, os, re, zipfile, datetime
        wrong = []
        for day in range(int(sys.argv[2])):
            core = zipfile.ZipFile(os.path.join(sys.argv[1], f"{day}.xlsx")).read("docProps/core.xml").decode()
            want = (datetime.date(1970, 1, 1) + datetime.timedelta(days=19000 + day)).isoformat()
            seen = re.findall(r"<dcterms:(?:created|modified)[^>]*>([0-9-]+)T", core)
            if seen != [want, want]: wrong.append(f"{day}: {seen} ≠ {want}")
        print(len(wrong), wrong[:3])
        """, folder.path, String(days)])
        #expect(wrong.hasPrefix("0 "), "\(wrong)")
    }

    @Test(arguments: [false, true])
    func largeSheetReadBackByZipfileOpenpyxlLibreOfficeAndTheDesksReader(constantMemory: Bool) throws {
        let rows = 30_000
        let folder = try temporaryFolder(prefix: "deferment-workbook", "\(constantMemory)")
        let url = folder.appendingPathComponent("w.xlsx")
        try sample(rows: rows, constantMemory: constantMemory).write(to: url)
        let json = try runPython(["-c", """
        import sys, json, zipfile, openpyxl
        t = lambda v: None if v is None else str(v)
        z = zipfile.ZipFile(sys.argv[1])
        bad = z.testzip()
        wb = openpyxl.load_workbook(sys.argv[1])
        ws = wb['名冊']
        st = wb['統計']
        dv = ws.data_validations.dataValidation[0]
        print(json.dumps({
          'bad': bad, 'sheets': wb.sheetnames, 'active': wb.active.title, 'maxRow': ws.max_row,
          'header': [c.value for c in ws[1]], 'row1': [t(ws.cell(2, k).value) for k in range(1, 4)],
          'row2': ws['C3'].value, 'row3': ws['C4'].value, 'last': [t(ws.cell(ws.max_row, k).value) for k in range(1, 3)],
          'bold': ws['A1'].font.b, 'headerFill': ws['A1'].fill.fgColor.rgb, 'red': ws['B11'].font.color.rgb,
          'unlocked': not ws['D2'].protection.locked, 'locked': ws['B2'].protection.locked, 'wrap': ws['D2'].alignment.wrap_text,
          'width': ws.column_dimensions['B'].width, 'freeze': ws.freeze_panes, 'filter': ws.auto_filter.ref,
          'protected': ws.protection.sheet, 'filterAllowed': not ws.protection.autoFilter,
          'dropdown': [dv.type, dv.formula1, dv.prompt, str(dv.sqref)],
          'stats': [t(st['B2'].value), t(st['B3'].value), t(st['B4'].value)],
          'chart': [n for n in z.namelist() if n.startswith('xl/charts/')],
        }, ensure_ascii=False))
        """, url.path])
        struct Seen: Decodable {
            var bad: String?; var sheets: [String]; var active: String; var maxRow: Int
            var header: [String]; var row1: [String?]; var row2: String; var row3: String; var last: [String?]
            var bold: Bool; var headerFill: String; var red: String; var unlocked: Bool; var locked: Bool; var wrap: Bool
            var width: Double; var freeze: String; var filter: String; var protected: Bool; var filterAllowed: Bool
            var dropdown: [String]; var stats: [String]; var chart: [String]
        }
        let s = try JSONDecoder().decode(Seen.self, from: Data(json.utf8))
        #expect(s.bad == nil)
        #expect(s.sheets == ["名冊", "統計"] && s.active == "統計")
        #expect(s.maxRow == rows + 1)
        #expect(s.header == ["序號", "姓名", "意見", "審核結果"])
        #expect(s.row1 == ["1", "學生1", "<script>alert(\"1\")</script> & 'x'"])
        #expect(s.row2 == "  前後空白  ")
        #expect(s.row3.hasPrefix("控制") && s.row3.hasSuffix("字元"))
        #expect(s.last == ["\(rows)", "學生\(rows)"])
        #expect(s.bold && s.headerFill == "FFDDE6F0" && s.red == "FFC00000")
        #expect(s.unlocked && s.locked && s.wrap)
        #expect(s.width > 20 && s.width < 21)
        #expect(s.freeze == "A2" && s.filter == "A1:D\(rows + 1)")
        #expect(s.protected && s.filterAllowed)
        #expect(s.dropdown == ["list", "\"核准,未核准\"", "請選擇", "D2:D\(rows + 1)"])
        #expect(s.stats == ["\(rows)", "0.25", "=B2*2"])
        #expect(s.chart == ["xl/charts/chart1.xml"])

        // LibreOffice reads every cell the same as openpyxl (the formula by its value).
        let cells = try runPython([repositoryRoot.appendingPathComponent("Tests/DefermentDeskTests/Scripts/workbook_cells.py").path,
                                   folder.appendingPathComponent("lo").path, url.path])
        let both = try #require(try JSONDecoder().decode([String: [String: [String: [[String]]]]].self, from: Data(cells.utf8))[url.path])
        let office = try #require(both["libreoffice"]), openpyxl = try #require(both["openpyxl"])
        #expect(office["名冊"]?.count == rows + 1)
        #expect(office["名冊"]?[1] == ["1", "學生1", "<script>alert(\"1\")</script> & 'x'"])
        #expect(office["名冊"]?[2] == ["2", "學生2", "  前後空白  "])
        #expect(office["統計"] == [["類別", "總數"], ["甲", "\(rows)"], ["乙", "0.25"], ["", "\(2 * rows)"]])
        // A control character is stored in Excel's escaped form (`_x0001_`), which LibreOffice
        // decodes and openpyxl shows as it is.
        #expect(office["名冊"]?[3] == ["3", "學生3", "控制\u{1}字元"])
        #expect(openpyxl["名冊"]?[3] == ["3", "學生3", "控制_x0001_字元"])
        let differing = zip(office["名冊"] ?? [], openpyxl["名冊"] ?? []).enumerated().filter { $0.offset != 3 && $0.element.0 != $0.element.1 }
        #expect(differing.isEmpty, "first rows that differ: \(differing.prefix(3))")
        #expect(office["名冊"]?.count == openpyxl["名冊"]?.count)

        // The desk's own reader (the one that reads returned decision workbooks) agrees.
        var read: [TableRow] = []
        try TableFile.open(url).forEachRow { read.append($0) }
        #expect(read.count == rows + 1)
        #expect(read[1].cells.prefix(3) == ["1", "學生1", "<script>alert(\"1\")</script> & 'x'"])
        #expect(read[rows].cells.prefix(2) == ["\(rows)", "學生\(rows)"])
    }

    /// The desk formats number, text and blank cells and plain rows itself, faster than
    /// libxlsxwriter's `fprintf`s (`Sources/CXLSXWriterTuning/workbook_cells.c`): every sheet must
    /// come out byte for byte as libxlsxwriter's own functions write it, whatever the cell holds
    /// and wherever it is.
    @Test(arguments: [false, true])
    func cellsAreWrittenAsLibxlsxwriterWritesThem(constantMemory: Bool) throws {
        func book() throws -> Data {
            let wb = try Workbook(constantMemory: constantMemory)
            wb.setProperties(title: "格式", created: Date(timeIntervalSince1970: 1_767_225_600))
            let bold = wb.format(.init(bold: true))
            let sheet = wb.addSheet("儲存格")
            let numbers: [Double] = [0, -0.0, 1, -42, 0.25, -1.5, 1e-7, 123_456.789, 999_999_999_999_999, 1e15, -1e15,
                                     123_456_789_012_345_678, 2.5e300, 1.7976931348623157e308, 4.9e-324, 1 / 3]
            let texts = ["王小明", " 前空白", "後空白 ", "\t定位", "換行\n", "A&B <c> \"d\" 'e'", "&amp;", "x",
                         "控制\u{1}字元", "\r", String(repeating: "長&", count: 700), String(repeating: "字", count: 32_767)]
            let columns = [0, 1, 25, 26, 27, 51, 52, 701, 702, 703, 16_382, 16_383]
            var row = 0
            for (i, number) in numbers.enumerated() {
                sheet.write(row, columns[i % columns.count], number: number, i % 2 == 0 ? bold : nil)
                row += 1
            }
            for (i, text) in texts.enumerated() {
                sheet.write(row, columns[(i + 3) % columns.count], text, i % 3 == 0 ? bold : nil)
                row += 7
            }
            for (i, col) in columns.enumerated() { sheet.write(row, col, "", i % 2 == 0 ? bold : nil) }  // blanks
            for col in columns { sheet.write(1_048_575, col, "末列") }
            return try wb.data()
        }
        let folder = try temporaryFolder(prefix: "deferment-cells", "compare")
        deferment_workbook_cells_by_library(1)
        let library = try book()
        deferment_workbook_cells_by_library(0)
        let desk = try book()
        try library.write(to: folder.appendingPathComponent("library.xlsx"))
        try desk.write(to: folder.appendingPathComponent("desk.xlsx"))
        let compared = try runPython(["-c", """
        import sys, os, zipfile
        a = zipfile.ZipFile(os.path.join(sys.argv[1], "library.xlsx"))
        b = zipfile.ZipFile(os.path.join(sys.argv[1], "desk.xlsx"))
        names = sorted(a.namelist())
        assert names == sorted(b.namelist()), (names, b.namelist())
        differ = [n for n in names if a.read(n) != b.read(n)]
        sheet = a.read("xl/worksheets/sheet1.xml").decode()
        print(len(differ), differ, sheet.count("<c "), sheet.count('xml:space="preserve"'), "XFD1048576" in sheet)
        """, folder.path])
        // Text cells are inline in a constant-memory sheet, shared strings otherwise.
        let preserved = constantMemory ? 4 : 0
        #expect(compared.trimmingCharacters(in: .whitespacesAndNewlines) == "0 [] 46 \(preserved) True", "\(compared)")
    }

    /// The same calls with the same creation time give the same bytes (libxlsxwriter dates every
    /// zip entry 1980-01-01), so a public file such as a template is not rewritten by a build.
    @Test func sameCallsSameBytes() throws {
        func one() throws -> Data {
            let wb = try Workbook()
            wb.setProperties(title: "範本", created: Date(timeIntervalSince1970: 1_767_225_600))
            wb.addSheet("名冊").write(0, 0, "身分證字號")
            return try wb.data()
        }
        let first = try one()
        Thread.sleep(forTimeInterval: 1.1)
        #expect(try one() == first)
    }

    /// What libxlsxwriter refuses is reported, not written: a sheet name Excel does not allow and
    /// a cell longer than Excel's 32,767 characters.
    @Test func refusedCallsAreReportedWhenTheBookIsWritten() throws {
        let wb = try Workbook()
        _ = wb.addSheet("名冊/1")
        #expect(throws: WorkbookError.self) { try wb.data() }
        let long = try Workbook()
        long.addSheet("名冊").write(0, 0, String(repeating: "字", count: 40_000))
        #expect(throws: WorkbookError.self) { try long.data() }
    }

    /// Column widths count two for a wide character (CJK, full-width forms, Hangul) and one for
    /// anything else, whatever its length in UTF-8.
    @Test(arguments: [
        ("", 0), ("A123456789", 10), ("王小明", 6), ("普通科 1", 8), ("café", 4), ("ＡＢ", 4), ("한글", 4),
        ("𠀀𪚥", 4), ("😀", 1), ("115/08/01", 9), ("\u{1100}\u{1160}", 3), ("ｱ", 1),
    ])
    func widthOfAText(text: String, width: Int) {
        #expect(WorkbookSheet.displayWidth(text) == width)
    }

    /// A workbook's temporary files are in a folder only the desk's user can read, and are gone
    /// once its bytes are returned.
    @Test func temporaryFilesArePrivateAndRemoved() throws {
        var folder = ""
        try {
            let wb = try Workbook(constantMemory: true)
            folder = wb.folder.path
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: folder)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0)
            wb.addSheet("名冊").write(0, 0, "A123456789")
            _ = try wb.data()
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
        }()
        #expect(!FileManager.default.fileExists(atPath: folder))
    }
}
