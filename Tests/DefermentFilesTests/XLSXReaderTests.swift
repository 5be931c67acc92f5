import Foundation
import Testing
@testable import DefermentFiles

/// Real workbooks, written by openpyxl (an independent writer) or assembled part by part the way
/// Excel and LibreOffice write them.
struct XLSXReaderTests {
    func read(_ url: URL, limits: XLSXLimits = .default) throws -> [TableRow] {
        var rows: [TableRow] = []
        try TableFile.open(url, limits: limits).forEachRow { rows.append($0) }
        return rows
    }

    static let openpyxlScript = """
    import sys, datetime, openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904
    wb = openpyxl.Workbook()
    if sys.argv[2] == '1904':
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = '名冊'
    ws.append(['身分證字號', '姓名', '出生年月日', '緩徵起始日期', '年級', '備註'])
    ws.append(['A123456789', '王小明', 951023, datetime.date(2026, 10, 15), 1, None])
    ws.append(['B123456780', '林大華', '095/10/23', datetime.datetime(2026, 10, 15, 0, 0), 2.5, '含 <特殊> & 字元'])
    ws.append([None, None, None, None, None, None])
    ws.append(['C123456781', None, '0951023', '2026-10-15', None, '跳過空白'])
    other = wb.create_sheet('第二張')
    other.append(['不應讀到'])
    wb.save(sys.argv[1])
    """

    @Test(arguments: ["1900", "1904"])
    func workbookWrittenByOpenpyxl(_ system: String) throws {
        let url = try temporaryFolder("openpyxl\(system)").appendingPathComponent("roster.xlsx")
        try python(Self.openpyxlScript, arguments: [url.path, system])
        let rows = try read(url)
        #expect(rows.count == 4)
        #expect(rows[0].cells == ["身分證字號", "姓名", "出生年月日", "緩徵起始日期", "年級", "備註"])
        #expect(Array(rows[1].cells.prefix(5)) == ["A123456789", "王小明", "951023", "2026-10-15", "1"])
        #expect(rows[2].cells == ["B123456780", "林大華", "095/10/23", "2026-10-15", "2.5", "含 <特殊> & 字元"])
        #expect(rows[3].number == 5)
        #expect(rows[3].cells[0] == "C123456781")
        #expect(rows[3].cells[1] == "")
        #expect(rows[3].cells[5] == "跳過空白")
    }

    /// Assembles a workbook from raw parts with Python's zipfile.
    static func assemble(_ url: URL, sheet: String, sharedStrings: String? = nil, workbookPr: String = "",
                         styles: String? = nil, extra: [(String, String)] = []) throws {
        var parts: [(String, String)] = [
            ("[Content_Types].xml", #"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#),
            ("xl/workbook.xml", #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\#(workbookPr)<x:sheets><x:sheet name="工作表1" sheetId="1" r:id="rId7"/></x:sheets></x:workbook>"#),
            ("xl/_rels/workbook.xml.rels", #"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/data.xml"/></Relationships>"#),
            ("xl/worksheets/data.xml", sheet),
        ]
        if let sharedStrings { parts.append(("xl/sharedStrings.xml", sharedStrings)) }
        if let styles { parts.append(("xl/styles.xml", styles)) }
        parts += extra
        let json = try JSONSerialization.data(withJSONObject: parts.map { [$0.0, $0.1] })
        let jsonURL = url.deletingLastPathComponent().appendingPathComponent("parts.json")
        try json.write(to: jsonURL)
        try python("""
        import sys, json, zipfile
        parts = json.load(open(sys.argv[2], encoding='utf-8'))
        with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
            for name, text in parts:
                z.writestr(name, text)
        """, arguments: [url.path, jsonURL.path])
    }

    @Test func inlineStringsRichTextPhoneticRunsAndPrefixes() throws {
        let url = try temporaryFolder().appendingPathComponent("excel.xlsx")
        let shared = #"""
        <?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="3">
        <si><t>姓名</t></si>
        <si><r><rPr><b/></rPr><t>王</t></r><r><t xml:space="preserve">小明</t></r><rPh sb="0" eb="1"><t>ㄨㄤˊ</t></rPh></si>
        <si><t>A&amp;B &lt;C&gt; &#x6797;</t></si>
        </sst>
        """#
        let styles = #"<styleSheet><numFmts count="1"><numFmt numFmtId="164" formatCode="[$-404]e/m/d;@"/></numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs></styleSheet>"#
        let sheet = #"""
        <?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>
        <x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="inlineStr"><x:is><x:t>身分證字號</x:t></x:is></x:c><x:c r="C1" t="inlineStr"><x:is><x:r><x:t>出生</x:t></x:r><x:r><x:t>年月日</x:t></x:r></x:is></x:c></x:row>
        <x:row r="3"><x:c r="A3" t="s"><x:v>1</x:v></x:c><x:c r="B3" t="str"><x:f>UPPER("a123456789")</x:f><x:v>A123456789</x:v></x:c><x:c r="C3" s="1"><x:v>38648</x:v></x:c><x:c r="E3" t="b"><x:v>1</x:v></x:c></x:row>
        <x:row><x:c t="s"><x:v>2</x:v></x:c><x:c><x:v>951023</x:v></x:c><x:c s="2"><x:v>38648.5</x:v></x:c></x:row>
        </x:sheetData></x:worksheet>
        """#
        try Self.assemble(url, sheet: sheet, sharedStrings: shared, styles: styles)
        let rows = try read(url)
        #expect(rows.map(\.number) == [1, 3, 4])
        #expect(rows[0].cells == ["姓名", "身分證字號", "出生年月日"])
        #expect(rows[1].cells == ["王小明", "A123456789", "2005-10-23", "", "TRUE"])
        #expect(rows[2].cells == ["A&B <C> 林", "951023", "2005-10-23"])
    }

    @Test(arguments: [("General", false), ("@", false), ("0.00", false), ("yyyy/mm/dd", true), ("[$-404]e/m/d;@", true),
                      ("\"年\"0", false), ("d-mmm-yy", true), ("#,##0", false)])
    func dateFormatCodes(_ c: (String, Bool)) {
        #expect(XLSXReader.isDateFormat(c.0) == c.1, "\(c.0)")
    }

    @Test func date1904System() throws {
        let url = try temporaryFolder().appendingPathComponent("mac.xlsx")
        let sheet = #"<worksheet><sheetData><row r="1"><c r="A1" s="1"><v>43830</v></c></row></sheetData></worksheet>"#
        try Self.assemble(url, sheet: sheet, workbookPr: #"<x:workbookPr date1904="1"/>"#,
                          styles: #"<styleSheet><cellXfs><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs></styleSheet>"#)
        #expect(try read(url).first?.cells == ["2024-01-01"])
    }

    @Test func doctypeAndEntitiesAreRefused() throws {
        let url = try temporaryFolder().appendingPathComponent("xxe.xlsx")
        let sheet = #"""
        <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;"><!ENTITY xxe SYSTEM "file:///etc/passwd">]>
        <worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;&lol2;</t></is></c></row></sheetData></worksheet>
        """#
        try Self.assemble(url, sheet: sheet)
        #expect(throws: TableFileError.hostile("含 DOCTYPE 或實體宣告")) { try read(url) }
    }

    @Test func zipBombIsRefused() throws {
        let url = try temporaryFolder().appendingPathComponent("bomb.xlsx")
        let sheet = "<worksheet><sheetData>" + String(repeating: " ", count: 24 << 20) + "</sheetData></worksheet>"
        try Self.assemble(url, sheet: sheet)
        #expect(throws: TableFileError.hostile("壓縮比或解壓縮後大小超過上限")) { try read(url) }
    }

    @Test func cellCountCap() throws {
        let url = try temporaryFolder().appendingPathComponent("many.xlsx")
        var sheet = "<worksheet><sheetData>"
        for r in 1...50 { sheet += "<row r=\"\(r)\"><c><v>1</v></c><c><v>2</v></c></row>" }
        sheet += "</sheetData></worksheet>"
        try Self.assemble(url, sheet: sheet)
        var limits = XLSXLimits.default
        limits.maximumCells = 60
        #expect(throws: TableFileError.hostile("儲存格數量超過上限")) { try read(url, limits: limits) }
        #expect(try read(url).count == 50)
    }

    @Test func brokenWorkbook() throws {
        let url = try temporaryFolder().appendingPathComponent("broken.xlsx")
        try python("import sys, zipfile; zipfile.ZipFile(sys.argv[1], 'w').writestr('hello.txt', 'hi')", arguments: [url.path])
        #expect(throws: TableFileError.brokenWorkbook("缺少 xl/workbook.xml")) { try read(url) }
    }
}

/// A workbook saved by LibreOffice Calc (a fixture; see Fixtures/README.md).
struct LibreOfficeWorkbookTests {
    @Test func readsWhatLibreOfficeWrote() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/libreoffice-roster.xlsx")
        var rows: [TableRow] = []
        try TableFile.open(url).forEachRow { rows.append($0) }
        #expect(rows.count == 3)
        #expect(rows[0].cells == ["身分證字號", "出生年月日", "姓名", "學校代碼", "學籍狀態", "緩徵起始日期", "緩徵終止日期", "年級"])
        #expect(rows[1].cells == ["A123456789", "2006-10-23", "王小明", "110000", "在學", "115/10/15", "2029-06-30", "1"])
        #expect(rows[2].cells == ["B123456780", "0951023", "林大華", "110000", "休學", "", "2026-11-01", "2"])
    }
}
