import Foundation
import DefermentTestSupport
import Testing
@testable import DefermentFiles

/// The desk's own XLSX writer, read back by independent readers: Python's `zipfile` (every
/// entry's CRC-32) and openpyxl (cells, formats, sheet settings), and by the desk's reader.
struct XLSXWriterTests {
    /// Runs a Python script with arguments and returns what it printed.
    func pythonOutput(_ script: String, _ arguments: [String]) throws -> String {
        try runPython(["-c", script] + arguments)
    }

    /// A two-sheet workbook whose first sheet is large enough to be compressed while it is
    /// written (several megabytes of XML), with its settings made after its rows.
    func sample(rows: Int) throws -> Data {
        let wb = XLSXWorkbook()
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
        second.write(0, 0, "總數")
        second.write(0, 1, number: Double(rows))
        second.write(1, 0, "比例")
        second.write(1, 1, number: 0.25)
        second.write(2, 1, formula: "=B1*2", result: "")
        second.insertChart(4, 0, XLSXWorkbook.ColumnChart(title: "圖", categories: ("'統計'!$A$1:$A$1", ["總數"]),
                                                          series: [("總數", "'統計'!$B$1:$B$1", [Double(rows)])]))
        second.activate()
        return try wb.data()
    }

    @Test func largeSheetReadBackByZipfileOpenpyxlAndTheDesksReader() throws {
        let rows = 60_000
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("w.xlsx")
        try sample(rows: rows).write(to: url)
        let json = try pythonOutput("""
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
          'stats': [t(st['B1'].value), t(st['B2'].value), t(st['B3'].value)],
          'chart': [n for n in z.namelist() if n.startswith('xl/charts/')],
        }, ensure_ascii=False))
        """, [url.path])
        struct Seen: Decodable {
            var bad: String?; var sheets: [String]; var active: String; var maxRow: Int
            var header: [String]; var row1: [String?]; var row2: String; var row3: String; var last: [String?]
            var bold: Bool; var headerFill: String; var red: String; var unlocked: Bool; var locked: Bool; var wrap: Bool
            var width: Double; var freeze: String; var filter: String; var protected: Bool; var filterAllowed: Bool
            var dropdown: [String]; var stats: [String]; var chart: [String]
        }
        let s = try JSONDecoder().decode(Seen.self, from: Data(json.utf8))
        #expect(s.bad == nil)   // every entry's CRC-32 matches, the stored opening's included
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
        #expect(s.stats == ["\(rows)", "0.25", "=B1*2"])
        #expect(s.chart == ["xl/charts/chart1.xml"])

        // The desk's own reader (the one that reads returned decision workbooks) agrees.
        var read: [TableRow] = []
        try TableFile.open(url).forEachRow { read.append($0) }
        #expect(read.count == rows + 1)
        #expect(read[1].cells.prefix(3) == ["1", "學生1", "<script>alert(\"1\")</script> & 'x'"])
        #expect(read[rows].cells.prefix(2) == ["\(rows)", "學生\(rows)"])
    }

    /// Rows compressed apart and placed into sheets (how decision workbooks reuse the pieces kept
    /// from the last build): they land after the rows written before them, in order, blank cells
    /// keep their places and formats, rows written afterwards come below them, and every entry's
    /// CRC-32 is right, also when the sheet had already been compressing for megabytes.
    @Test func rowsCompressedApartLandWhereTheyArePlaced() throws {
        let wb = XLSXWorkbook()
        let input = wb.format(.init(background: 0xFFF5CC, unlocked: true))
        func piece(_ tag: String, _ n: Int) throws -> XLSXRowsFragment {
            var rows = XLSXRows()
            for k in 1...n {
                rows.startRow()
                rows.number(Double(k))
                rows.text("")                                   // blank, no format
                rows.text("\(tag)\(k) <&>")
                rows.text("", input)                            // blank with a format
                rows.text(k == 1 ? "末欄" : "")
            }
            return try rows.compressed()
        }
        let a = try piece("甲", 2), b = try piece("乙", 3)
        #expect(a.count == 2 && a.width == 5)
        #expect(try piece("甲", 2) == a)   // the same rows, the same piece

        let small = wb.addSheet("小")
        small.write(0, 0, "表頭")
        small.append(a)
        small.append(try XLSXRows().compressed())   // an empty piece changes nothing
        small.append(b)
        small.write(7, 0, "其後")
        // A sheet already compressing (more than the 1 MiB threshold written) before a piece.
        let large = wb.addSheet("大")
        let before = 30_000
        for n in 0..<before { large.write(n, 0, "前\(n)") ; large.write(n, 1, number: Double(n)) }
        large.append(b)
        large.append(a)
        large.autofilter(firstRow: 0, firstCol: 0, lastRow: before + 4, lastCol: 4)
        let url = try temporaryFolder().appendingPathComponent("pieces.xlsx")
        try wb.data().write(to: url)

        let json = try pythonOutput("""
        import sys, json, zipfile, openpyxl
        z = zipfile.ZipFile(sys.argv[1])
        wb = openpyxl.load_workbook(sys.argv[1])
        rows = lambda ws: [[c.value for c in r] for r in ws.iter_rows()]
        s, l = wb['小'], wb['大']
        print(json.dumps({'bad': z.testzip(), 'small': rows(s), 'dim': s.dimensions,
          'blankFormat': s['D2'].fill.fgColor.rgb, 'unlocked': not s['D2'].protection.locked,
          'largeTail': rows(l)[-6:], 'largeRows': l.max_row}, ensure_ascii=False))
        """, [url.path])
        struct Seen: Decodable {
            var bad: String?; var small: [[Value?]]; var dim: String; var blankFormat: String; var unlocked: Bool
            var largeTail: [[Value?]]; var largeRows: Int
        }
        enum Value: Decodable, Equatable {
            case text(String), number(Double)
            init(from d: Decoder) throws {
                let c = try d.singleValueContainer()
                if let n = try? c.decode(Double.self) { self = .number(n) } else { self = .text(try c.decode(String.self)) }
            }
        }
        func row(_ tag: String, _ k: Int) -> [Value?] { [.number(Double(k)), nil, .text("\(tag)\(k) <&>"), nil, k == 1 ? .text("末欄") : nil] }
        let seen = try JSONDecoder().decode(Seen.self, from: Data(json.utf8))
        #expect(seen.bad == nil)
        #expect(seen.small == [[.text("表頭"), nil, nil, nil, nil], row("甲", 1), row("甲", 2), row("乙", 1), row("乙", 2), row("乙", 3),
                               [nil, nil, nil, nil, nil], [.text("其後"), nil, nil, nil, nil]])
        #expect(seen.dim == "A1:E8")
        #expect(seen.blankFormat == "FFFFF5CC" && seen.unlocked)
        #expect(seen.largeRows == before + 5)
        #expect(seen.largeTail == [[.text("前\(before - 1)"), .number(Double(before - 1)), nil, nil, nil],
                                   row("乙", 1), row("乙", 2), row("乙", 3), row("甲", 1), row("甲", 2)])

        // The desk's own reader places them the same way.
        var read: [String: [TableRow]] = [:]
        for name in ["小", "大"] {
            try XLSXReader(url: url).forEachRow(sheet: name) { read[name, default: []].append($0) }
        }
        #expect(read["小"]?.map(\.number) == [1, 2, 3, 4, 5, 6, 8])
        #expect(read["小"]?[1].cells == ["1", "", "甲1 <&>", "", "末欄"])
        #expect(read["小"]?.last?.cells.first == "其後")
        #expect(read["大"]?.last?.number == before + 5 && read["大"]?.last?.cells.prefix(3) == ["2", "", "甲2 <&>"])
    }

    @Test func sameCallsGiveTheSameBytes() throws {
        // Publishing skips files whose bytes did not change; a workbook must not change by itself.
        #expect(try sample(rows: 3000) == (try sample(rows: 3000)))
        #expect(try sample(rows: 3000) != (try sample(rows: 3001)))
    }

    @Test(arguments: [(0, "A"), (25, "Z"), (26, "AA"), (51, "AZ"), (52, "BA"), (701, "ZZ"), (702, "AAA"), (16_383, "XFD")])
    func columnNames(_ col: Int, _ name: String) {
        #expect(XLSXSheet.columnName(col) == name)
    }

    /// 7 pixels a character plus 5 of padding (under one character: 12 a character), to 1/256.
    @Test(arguments: [(10.0, 10.7109375), (22.0, 22.7109375), (60.0, 60.7109375), (0.5, 0.85546875)])
    func widthsAsExcelStoresThem(_ width: Double, _ stored: Double) {
        #expect(XLSXSheet.excelWidth(width) == stored)
    }
}
