import Foundation
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentSite
@testable import DefermentStore
import DefermentCore
import DefermentFiles
import Crypto

let templatesFolder = repositoryRoot.appendingPathComponent("templates")
let scriptsFolder = repositoryRoot.appendingPathComponent("Tests/DefermentDeskTests/Scripts")

/// Runs a Python script with arguments and returns its stdout.
func pythonOutput(_ args: [String], environment: [String: String] = [:]) throws -> String {
    try runPython(args, environment: environment)
}

/// A page as Python's html.parser sees it.
struct PageOutline: Decodable {
    struct Cell: Decodable { var tag: String; var `class`: String; var text: String }
    struct Row: Decodable { var `class`: String; var id: String?; var cells: [Cell] }
    struct Table: Decodable { var `class`: String; var rows: [Row] }
    struct Link: Decodable { var href: String?; var text: String }
    struct Script: Decodable { var src: String?; var inline: String }
    struct Heading: Decodable { var level: String; var text: String }
    var lang: String?
    var title: String
    var headings: [Heading]
    var links: [Link]
    var scripts: [Script]
    var tables: [Table]
    var problems: [String]

    static func of(_ url: URL) throws -> PageOutline {
        let json = try pythonOutput([scriptsFolder.appendingPathComponent("html_outline.py").path, url.path])
        return try JSONDecoder().decode(PageOutline.self, from: Data(json.utf8))
    }

    /// Several pages in one parser process, by path.
    static func of(_ urls: [URL]) throws -> [String: PageOutline] {
        let json = try pythonOutput([scriptsFolder.appendingPathComponent("html_outline.py").path] + urls.map(\.path) + (urls.count == 1 ? [urls[0].path] : []))
        return try JSONDecoder().decode([String: PageOutline].self, from: Data(json.utf8))
    }
}

/// A demo-like root: both sample months, a hostile name, and some county decisions.
final class SiteFixture {
    let root: URL
    let desk: Desk
    let site: URL
    static let hostileName = "<script>alert(1)</script>"

    init(_ name: String = #function) throws {
        root = try temporaryRoot(name)
        for file in ["roster-20261015.csv", "roster-20261115.csv"] {
            try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/\(file)")), as: file, into: .rosters, root: root)
        }
        let id = Fixture.id(77)
        // Birth dates differ from the templates' documented example (0951023), which the
        // plaintext scan would otherwise find in the instructions.
        try drop(Fixture.registryHeader + "\(id),0950612,\"\(Self.hostileName)\",63000,高中肄業,未經徵兵處理,,\n", as: "reg.csv", into: .registry, root: root)
        try drop(Fixture.rosterHeader + "\(id),0950612,\"\(Self.hostileName)\",110037,範例高中,普通科,3,1151015,1160630,在學,否\n", as: "x-20261015.csv", into: .rosters, root: root)
        desk = try Desk(root: root, seeds: seedsFolder, templates: templatesFolder)
        desk.settleSeconds = 0
        // A county's returned file that is refused: its notice appears on the county's page.
        try "不是審核名冊\n".write(to: desk.paths.decisions(county: "63000").appendingPathComponent("notes.csv"), atomically: true, encoding: .utf8)
        _ = try desk.runOnce()
        // County decisions set directly (DecisionTests goes through returned workbooks).
        try desk.store.queue.write { db in
            try db.execute(sql: """
                UPDATE roster_row SET review_state = '未核准', comment = '=HYPERLINK("http://x")<b>請補件</b>'
                WHERE id IN (SELECT id FROM roster_row WHERE review_state = '待審核' AND school_code = '110000' ORDER BY id LIMIT 2)
                """)
            try db.execute(sql: """
                UPDATE roster_row SET review_state = '核准'
                WHERE id IN (SELECT id FROM roster_row WHERE review_state = '待審核' AND school_code = '110000' ORDER BY id LIMIT 3 OFFSET 2)
                """)
            let pairs = Set(try Row.fetchAll(db, sql: "SELECT DISTINCT school_code, upload_date FROM roster_row WHERE school_code = '110000'").map { [$0[0] as String, $0[1] as String] })
            try DeskStore.refreshCounts(db, pairs: pairs, version: 1000)
        }
        try desk.publishSite()
        site = desk.paths.site
    }

    func page(_ path: String) throws -> PageOutline { try PageOutline.of(site.appendingPathComponent(path)) }

    /// The account a sealed site path belongs to: the school, or the county of a history page.
    func account(of path: String) -> String {
        let parts = path.split(separator: "/").map(String.init)
        return parts[1]
    }

    /// The plaintext of a sealed file (`path` without `.enc`), opened with its account's data key.
    func opened(_ path: String) throws -> Data { try SiteFixtureView(desk: desk).opened(path) }

    /// A sealed page's content as a page of its own, for the HTML parser.
    func openedPageFile(_ path: String) throws -> URL { try SiteFixtureView(desk: desk).openedPageFile(path) }

    func openedPage(_ path: String) throws -> PageOutline { try PageOutline.of(openedPageFile(path)) }
}

@Suite(.serialized)
struct SiteTests {
    @Test func everyPageParsesCleanlyInTraditionalChinese() throws {
        let f = try SiteFixture()
        let pages = try FileManager.default.subpathsOfDirectory(atPath: f.site.path).filter { $0.hasSuffix(".html") }.sorted()
        #expect(pages.count > 100)
        let outlines = try PageOutline.of(pages.map { f.site.appendingPathComponent($0) })
        #expect(outlines.count == pages.count)
        for path in pages {
            let outline = try #require(outlines[f.site.appendingPathComponent(path).path])
            #expect(outline.problems.isEmpty, "\(path): \(outline.problems)")
            #expect(outline.lang == "zh-Hant-TW", "\(path)")
            #expect(!outline.title.isEmpty, "\(path)")
            // No external CDN or font: every script and stylesheet is local.
            #expect(outline.scripts.allSatisfy { ($0.src ?? "").hasPrefix("http") == false }, "\(path)")
        }
    }

    @Test func detailPageColumnsRedMarkingReasonsAndCounties() throws {
        let f = try SiteFixture()
        let page = try f.openedPage("schools/110000/roster-20261015.html")
        let table = try #require(page.tables.first { $0.class.split(separator: " ").contains("detail") })
        #expect(table.rows[0].cells.map(\.text) == ["名冊類別", "身分證字號", "姓名", "出生年月日", "群科", "年級", "學籍狀態", "緩徵起始日期", "緩徵終止日期", "分派縣市", "審核狀態", "縣市政府審核意見", "系統檢核", "審核歷程"])
        let body = table.rows.dropFirst()
        let expected = try count(f.root, "SELECT COUNT(*) FROM roster_row WHERE school_code = '110000' AND upload_date = '2026-10-15'")
        #expect(body.count == expected)
        let refused = body.filter { $0.class.contains("refused") }
        #expect(refused.count == 2)
        for row in refused {
            #expect(row.cells[10].text == "未核准" && row.cells[10].class.contains("red"))
            #expect(row.cells[11].text == "=HYPERLINK(\"http://x\")<b>請補件</b>" && row.cells[11].class.contains("red"))
        }
        // Pending rows show the county already; unassigned rows say what the school must do.
        for row in body where row.cells[10].text == "待審核" { #expect(row.cells[9].text.hasSuffix("市") || row.cells[9].text.hasSuffix("縣")) }
        let schoolNameColumn = table.rows[0].cells.contains { $0.text.contains("學校") }
        #expect(!schoolNameColumn)
        // Every 不分派 row on every detail page says what the school must do.
        let details = try FileManager.default.subpathsOfDirectory(atPath: f.site.path).filter { $0.hasPrefix("schools/") && $0.contains("/roster-") && $0.hasSuffix(".html") }
        let outlines = try PageOutline.of(details.map { try f.openedPageFile($0) })
        let allRows: [PageOutline.Row] = outlines.values.flatMap { (o: PageOutline) -> [PageOutline.Row] in o.tables.first?.rows ?? [] }
        let unassigned = allRows.filter { (r: PageOutline.Row) -> Bool in r.cells.count == 14 && r.cells[10].text == "不分派" }
        #expect(unassigned.count == (try count(f.root, "SELECT COUNT(*) FROM roster_row WHERE review_state = '不分派'")))
        #expect(unassigned.allSatisfy { $0.cells[12].text.contains("處理方式：") && $0.cells[9].text.isEmpty })
    }

    @Test func hostileNameIsShownAsText() throws {
        let f = try SiteFixture()
        let page = try f.openedPage("schools/110037/roster-20261015.html")
        let cells = page.tables.flatMap(\.rows).flatMap(\.cells)
        #expect(cells.contains { $0.text == SiteFixture.hostileName })
        #expect(page.scripts.isEmpty)
        let raw = String(decoding: try f.opened("schools/110037/roster-20261015.html"), as: UTF8.self)
        #expect(!raw.contains(SiteFixture.hostileName))
        #expect(raw.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    /// 審核結果查詢: every roster on one page, newest first, with its counts; a roster's details
    /// lead back to its row; the search reads the rosters' reports, which hold this school's IDs only.
    @Test func resultsPageListsEveryRosterNewestFirstWithCounts() throws {
        let f = try SiteFixture()
        let page = try f.page("schools/110000/index.html")
        let counts = try #require(page.tables.first { $0.class.split(separator: " ").contains("results") })
        // Dates as clerks write them (民國), newest first.
        let dates = try f.desk.store.queue.read {
            try String.fetchAll($0, sql: "SELECT DISTINCT upload_date FROM roster_row WHERE school_code = '110000' ORDER BY upload_date DESC")
        }
        #expect(dates.count >= 2)
        #expect(counts.rows.dropFirst().map { $0.cells.first?.text ?? "" } == dates.map { CivilDate.shown($0) })
        let october = try #require(counts.rows.first { $0.cells.first?.text == "115/10/15" })
        let values = october.cells.dropFirst().prefix(5).map { Int($0.text) ?? -1 }
        func db(_ state: String?) throws -> Int {
            try count(f.root, "SELECT COUNT(*) FROM roster_row WHERE school_code = '110000' AND upload_date = '2026-10-15'" + (state.map { " AND review_state = '\($0)'" } ?? ""))
        }
        #expect(values == [try db(nil), try db("不分派"), try db("待審核"), try db("核准"), try db("未核准")])
        #expect(page.links.contains { $0.href == "roster-20261015.html" && $0.text == "明細" })
        #expect(!FileManager.default.fileExists(atPath: f.site.appendingPathComponent("schools/110000/page-2.html").path))
        // The detail page leads back to its own row of the results.
        #expect(try f.openedPage("schools/110000/roster-20261015.html").links.contains { $0.href == "index.html#roster-20261015" })
        // The search reads the rosters' report CSVs, listed by the page; row n of a roster's CSV
        // is row n of its details (the search's links point there). They hold this school's IDs only.
        let html = try String(contentsOf: f.site.appendingPathComponent("schools/110000/index.html"), encoding: .utf8)
        let pieces = dates.map { "schools/110000/report-\($0.filter { $0 != "-" }).csv.enc" }
        #expect(html.contains("data-index=\"\(pieces.joined(separator: " "))\""))
        var index = ""
        for date in dates {
            let compact = date.filter { $0 != "-" }
            let csv = String(decoding: try f.opened("schools/110000/report-\(compact).csv"), as: UTF8.self)
            index += csv
            let csvIDs = csv.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }.map { $0.split(separator: ",").map(String.init)[2] }
            let detail = try f.openedPage("schools/110000/roster-\(compact).html")
            let detailIDs = try #require(detail.tables.first).rows.dropFirst().map { $0.cells[1].text }
            #expect(csvIDs == detailIDs, "\(date)")
        }
        let ids = try desk(f).store.queue.read { try String.fetchAll($0, sql: "SELECT DISTINCT national_id FROM roster_row WHERE school_code <> '110000' AND national_id <> ''") }
        let own = try desk(f).store.queue.read { try String.fetchAll($0, sql: "SELECT DISTINCT national_id FROM roster_row WHERE school_code = '110000' AND national_id <> ''") }
        #expect(own.allSatisfy { index.contains($0) })
        #expect(ids.allSatisfy { !index.contains(",\($0),") })
    }

    func desk(_ f: SiteFixture) -> Desk { f.desk }

    @Test func noPersonalDataInPlaintextAnywhereInTheSite() throws {
        let f = try SiteFixture()
        let people = try f.desk.store.queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT national_id, name, birth_date FROM roster_row WHERE national_id <> ''
                UNION SELECT national_id, name, birth_date FROM person
                """).map { [$0[0] as String, $0[1] as String, $0[2] as String] }
        }
        #expect(people.count > 400)
        // Every form the pages could carry them in: UTF-8, JSON \\u escapes, HTML character references.
        func forms(_ s: String) -> [String] {
            let json = s.unicodeScalars.map { $0.value < 128 ? String($0) : String(format: "\\u%04x", $0.value) }.joined()
            let entities = s.unicodeScalars.map { $0.value < 128 ? String($0) : "&#\($0.value);" }.joined()
            let hexEntities = s.unicodeScalars.map { $0.value < 128 ? String($0) : String(format: "&#x%x;", $0.value) }.joined()
            return [s, json, json.uppercased(), entities, hexEntities]
        }
        var needles: [Data] = []
        for p in people {
            needles.append(Data(p[0].utf8))
            if p[1].count >= 2 { needles += forms(p[1]).map { Data($0.utf8) } }
            if let d = CivilDate.parse(p[2]) {
                needles += [d.iso, String(format: "%03d%02d%02d", d.year - 1911, d.month, d.day), "\(d.year - 1911)/" + String(format: "%02d/%02d", d.month, d.day)].map { Data($0.utf8) }
            }
        }
        let files = try FileManager.default.subpathsOfDirectory(atPath: f.site.path).filter {
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: f.site.appendingPathComponent($0).path, isDirectory: &d) && !d.boolValue
        }
        #expect(files.count > 300)
        // An ASCII needle counts where it stands as a token of its own: a seven-digit ROC birth
        // date also turns up, by chance, inside the hex digests and tokens that change with every
        // build (about one build in twenty), which is not personal data.
        func isWordByte(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
        func holds(_ data: Data, _ needle: Data) -> Bool {
            guard needle.allSatisfy({ $0 < 0x80 }) else { return data.range(of: needle) != nil }
            var from = data.startIndex
            while let r = data.range(of: needle, in: from..<data.endIndex) {
                let before = r.lowerBound > data.startIndex ? data[r.lowerBound - 1] : 0x20
                let after = r.upperBound < data.endIndex ? data[r.upperBound] : 0x20
                if !isWordByte(before) && !isWordByte(after) { return true }
                from = r.lowerBound + 1
            }
            return false
        }
        #expect(holds(Data("<td>0951023</td>".utf8), Data("0951023".utf8)))
        #expect(!holds(Data("9f0951023ab".utf8), Data("0951023".utf8)))
        for path in files {
            let data = try Data(contentsOf: f.site.appendingPathComponent(path))
            for n in needles where holds(data, n) {
                Issue.record("\(path) holds personal data in plaintext (\(String(decoding: n, as: UTF8.self).count) characters)")
            }
        }
        // No file or folder name carries personal data either.
        for p in people { #expect(!files.contains { $0.contains(p[0]) }) }
        // Personal files exist only sealed: no plain report, index or detail content.
        #expect(!files.contains { ($0.contains("/report-") || $0.contains("/search-") || $0.contains("/roster-")) && !$0.hasSuffix(".enc")
            && !$0.hasSuffix(".html") })
        #expect(files.contains("schools/110000/report-20261015.csv.enc") && files.contains("schools/110000/report-20261115.xlsx.enc"))
        // Decision workbooks exist for the counties, sealed only.
        let workbooks = files.filter { $0.hasPrefix("counties/") && $0.contains("/decisions/") }
        #expect(workbooks.count >= 20)
        #expect(workbooks.allSatisfy { $0.hasSuffix(".xlsx.enc") })
        // The county page's notices (a refused file) are there, without personal data (checked
        // above) and without the file's name (which may hold some): by its digest instead.
        let county = try String(contentsOf: f.site.appendingPathComponent("counties/63000/index.html"), encoding: .utf8)
        #expect(!county.contains("notes.csv") && county.contains("退件") && county.contains("收到的檔案 "))
    }

    /// The roster with the fixture's 未核准 rows.
    func refusedDate(_ f: SiteFixture) throws -> String {
        try #require(try f.desk.store.queue.read {
            try String.fetchOne($0, sql: "SELECT upload_date FROM roster_row WHERE school_code = '110000' AND review_state = '未核准' LIMIT 1")
        })
    }

    @Test func reportWorkbookReadBackWithOpenpyxl() throws {
        let f = try SiteFixture()
        let date = try refusedDate(f)
        let xlsxURL = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString).xlsx")
        try f.opened("schools/110000/report-\(date.filter { $0 != "-" }).xlsx").write(to: xlsxURL)
        let xlsx = xlsxURL.path
        let json = try pythonOutput(["-c", """
        import sys, json, zipfile, openpyxl
        wb = openpyxl.load_workbook(sys.argv[1])
        ws = wb['審核結果']
        rows = list(ws.iter_rows(values_only=True))
        red = [r[0].row for r in ws.iter_rows(min_row=2) if r[12].value == '未核准' and r[12].font.color is not None and str(r[12].font.color.rgb).upper().endswith('C62828')]
        summary = wb['依縣市統計']
        print(json.dumps({
          'sheets': wb.sheetnames, 'header': list(rows[0]), 'count': len(rows) - 1, 'freeze': ws.freeze_panes,
          'filter': ws.auto_filter.ref, 'red': len(red), 'states': sorted(set(r[12] for r in rows[1:])),
          'widthID': ws.column_dimensions['C'].width, 'widthDate': ws.column_dimensions['A'].width,
          'summaryHeader': [c.value for c in summary[1]], 'summaryRows': summary.max_row - 1,
          'chart': any(n.startswith('xl/charts/chart') for n in zipfile.ZipFile(sys.argv[1]).namelist()),
        }, ensure_ascii=False))
        """, xlsx])
        struct Report: Decodable {
            var sheets: [String]; var header: [String]; var count: Int; var freeze: String?; var filter: String?
            var red: Int; var states: [String]; var widthID: Double; var widthDate: Double
            var summaryHeader: [String]; var summaryRows: Int; var chart: Bool
        }
        let r = try JSONDecoder().decode(Report.self, from: Data(json.utf8))
        #expect(r.sheets == ["審核結果", "依縣市統計"])
        #expect(r.header == RosterReport.columns)
        #expect(r.count == (try count(f.root, "SELECT COUNT(*) FROM roster_row WHERE school_code = '110000' AND upload_date = '\(date)'")))
        #expect(r.freeze == "A2")
        #expect(r.filter?.hasPrefix("A1:O") == true)
        #expect(r.red == 2)
        #expect(r.states.contains("未核准") && r.states.contains("核准"))
        #expect(r.widthID >= 12)   // ten ASCII characters
        #expect(r.summaryHeader == ["分派縣市", "總數", "待審核", "核准", "未核准", "不分派"])
        #expect(r.summaryRows >= 1)
        #expect(r.chart)
    }

    /// The report CSV is built as bytes; each field must be exactly the quoted, neutralised text.
    @Test(arguments: ["普通科", "a,b", "say \"hi\"", "line\nbreak", "=1+2", "-5", "+5", "@SUM(A1)", "\tx", "\rx", "'already", "", "王,\"=\""])
    func reportCSVFieldIsQuotedAndNeutralised(_ value: String) throws {
        let q = try DatabaseQueue()
        let row = try #require(try q.read {
            try RawStatement($0, sql: """
                SELECT '2026-11-15', '110000', '63000', '申請緩徵', 'A123456789', ?, '2007-01-19', ?, '1', '在學', '2026-08-01',
                       '2027-06-30', '未核准', ?, '', '', 2, 1, NULL, NULL, NULL
                """, arguments: [value, value, value]).fetchOne { ReportRow($0, fixed: .init(countyNames: ["63000": "臺北市"])) }
        })
        let text = String(decoding: SchoolReport.csv(rows: [row]).dropFirst(3), as: UTF8.self)
        let expected = RosterReport.columns.map(RosterReport.csvField).joined(separator: ",") + "\r\n"
            + row.reportValues.map { RosterReport.csvField(SpreadsheetText.neutralised($0)) }.joined(separator: ",") + "\r\n"
        #expect(text == expected)
    }

    @Test func reportCSVHasBOMAndNeutralisedFormulas() throws {
        let f = try SiteFixture()
        let data = try f.opened("schools/110000/report-\(try refusedDate(f).filter { $0 != "-" }).csv")
        #expect(Array(data.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let text = String(decoding: data.dropFirst(3), as: UTF8.self)
        #expect(text.hasPrefix(RosterReport.columns.joined(separator: ",") + "\r\n"))
        #expect(text.contains("\"'=HYPERLINK(\"\"http://x\"\")<b>請補件</b>\""))
        #expect(!text.contains(",=HYPERLINK") && !text.contains(",\"=HYPERLINK"))
        #expect(SpreadsheetText.neutralised("+1") == "'+1" && SpreadsheetText.neutralised("-1") == "'-1" && SpreadsheetText.neutralised("@x") == "'@x"
                && SpreadsheetText.neutralised("\tx") == "'\tx" && SpreadsheetText.neutralised("\rx") == "'\rx" && SpreadsheetText.neutralised("王") == "王")
    }

    @Test func onlyChangedSchoolsAreRenderedAgainAndTheManifestIsComplete() throws {
        let f = try SiteFixture()
        let again = try f.desk.publishSite()
        #expect(again.schoolsRendered == 0)
        #expect(again.written == 0)
        // One school's roster changes: only that school is rendered again.
        let id = Fixture.id(78)
        try drop(Fixture.registryHeader + "\(id),0950613,張三,63000,高中肄業,未經徵兵處理,,\n", as: "reg2.csv", into: .registry, root: f.root)
        try drop(Fixture.rosterHeader + "\(id),0950613,張三,110037,範例高中,普通科,3,1151115,1160630,在學,否\n", as: "y-20261115.csv", into: .rosters, root: f.root)
        _ = try f.desk.runOnce()
        let after = try f.desk.publishSite()
        #expect(after.schoolsRendered == 1)
        #expect(after.schoolsKept > 25)
        // Every file is in the manifest with its size and SHA-256, and nothing else.
        let manifest = try JSONDecoder().decode([ManifestEntry].self, from: Data(contentsOf: f.site.appendingPathComponent("manifest.json")))
        let files = Set(try FileManager.default.subpathsOfDirectory(atPath: f.site.path).filter {
            var d: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: f.site.appendingPathComponent($0).path, isDirectory: &d)
            return !d.boolValue && $0 != "manifest.json"
        })
        #expect(Set(manifest.map(\.path)) == files)
        for e in manifest.prefix(60) {
            let data = try Data(contentsOf: f.site.appendingPathComponent(e.path))
            #expect(data.count == e.size && SitePublisher.sha256(data) == e.sha256, "\(e.path)")
        }
        // No temporary files are left behind.
        #expect(!files.contains { $0.hasSuffix(".tmp") })
    }

    /// Every file of the site by path, sealed ones opened with their account's key: what a
    /// reader of the site sees, whatever the nonces of the sealing.
    func openedSite(_ f: SiteFixture) throws -> [String: Data] {
        let manifest = try JSONDecoder().decode([ManifestEntry].self, from: Data(contentsOf: f.site.appendingPathComponent("manifest.json")))
        let keys = Dictionary(uniqueKeysWithValues: try f.desk.accounts().map { ($0.code, SymmetricKey(data: $0.dataKey)) })
        var files: [String: Data] = [:]
        for e in manifest {
            let data = try Data(contentsOf: f.site.appendingPathComponent(e.path))
            guard e.path.hasSuffix(".enc") else { files[e.path] = data; continue }
            let account = e.path.split(separator: "/").map(String.init)[1]
            files[e.path] = try Envelope.open(data, key: try #require(keys[account]), account: account, path: e.path)
        }
        return files
    }

    /// A new month and a change to an older one: only the rosters of those schools and dates are
    /// rendered again, the school's other rosters are kept as they were, and the site is then,
    /// after decrypting, byte for byte what a full build writes.
    @Test func aNewMonthRendersOnlyItsRostersAndEqualsAFullBuild() throws {
        let f = try SiteFixture()
        let before = try openedSite(f)
        #expect(before["schools/110037/roster-20261115.html.enc"] != nil)
        let id = Fixture.id(79)
        try drop(Fixture.registryHeader + "\(id),0950614,李四,63000,高中肄業,未經徵兵處理,,\n", as: "reg3.csv", into: .registry, root: f.root)
        try drop(Fixture.rosterHeader + "\(id),0950614,李四,110037,範例高中,普通科,3,1151215,1160630,在學,否\n",
                 as: "z-20261215.csv", into: .rosters, root: f.root)
        // The October row of 110037 sent again with another 群科.
        try drop(Fixture.rosterHeader + "\(Fixture.id(77)),0950612,\"\(SiteFixture.hostileName)\",110037,範例高中,資訊科,3,1151015,1160630,在學,否\n",
                 as: "x2-20261015.csv", into: .rosters, root: f.root)
        _ = try f.desk.runOnce()
        let after = try f.desk.publishSite()
        #expect(after.schoolsRendered == 1)
        #expect(after.rostersRendered == 2)
        let written = Set(after.writtenPaths)
        for path in ["schools/110037/roster-20261215.html.enc", "schools/110037/report-20261215.xlsx.enc",
                     "schools/110037/roster-20261015.html.enc", "schools/110037/index.html", "schools/110037/report-20261215.csv.enc",
                     "counties/63000/roster-20261215.html.enc", "counties/63000/decisions/20261215.xlsx.enc"] {
            #expect(written.contains(path), "\(path) written")
        }
        #expect(!written.contains { $0.hasPrefix("schools/110000/") || $0.hasSuffix("20261115.html.enc") || $0.hasSuffix("20261115.json.enc")
                    || $0.hasSuffix("20261115.csv.enc") || $0.hasSuffix("20261115.xlsx.enc") },
                "\(written.sorted())")
        let incremental = try openedSite(f)
        #expect(incremental["schools/110037/roster-20261115.html.enc"] == before["schools/110037/roster-20261115.html.enc"])
        try f.desk.publishSite(force: true)
        let full = try openedSite(f)
        #expect(Set(incremental.keys) == Set(full.keys))
        for (path, data) in full where incremental[path] != data { Issue.record("\(path) differs from a full build") }
    }

    /// Site files are not flushed one by one: after a crash of the machine (a new boot), a kept
    /// roster's file that the crash lost is written again; within the boot a finished build's
    /// manifest is trusted.
    @Test func aKeptRostersFileLostInACrashOfTheMachineIsWrittenAgain() throws {
        let f = try SiteFixture()
        let lost = f.site.appendingPathComponent("schools/110000/roster-20261015.html.enc")
        let bytes = try Data(contentsOf: lost)
        let marker = URL(fileURLWithPath: f.site.path + ".published")
        #expect(try String(contentsOf: marker, encoding: .utf8) == SitePublisher.currentBoot())
        try FileManager.default.removeItem(at: lost)
        try "an earlier boot".write(to: marker, atomically: true, encoding: .utf8)
        let again = try f.desk.publishSite()
        #expect(again.writtenPaths == ["schools/110000/roster-20261015.html.enc"])
        #expect(try Data(contentsOf: lost).count == bytes.count)
        #expect(try String(contentsOf: marker, encoding: .utf8) == SitePublisher.currentBoot())
        // Within the boot, a school's folder removed by hand is written again at the next build.
        let folder = f.site.appendingPathComponent("schools/110000")
        try FileManager.default.removeItem(at: folder)
        try f.desk.publishSite()
        #expect(FileManager.default.fileExists(atPath: lost.path))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("report-20261115.xlsx.enc").path))
    }

    /// A school renamed in `seeds/schools.csv` is renamed on every page and in its county's
    /// decision workbook at the next build, though none of its rows changed.
    @Test func aSchoolRenamedInTheSeedsIsRenamedEverywhere() throws {
        let root = try temporaryRoot()
        let seeds = root.appendingPathComponent("seeds-copy")
        try FileManager.default.copyItem(at: seedsFolder, to: seeds)
        try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")), as: "roster-20261015.csv", into: .rosters, root: root)
        let desk = try Desk(root: root, seeds: seeds, templates: templatesFolder)
        desk.settleSeconds = 0
        _ = try desk.runOnce()
        try desk.publishSite()
        let (old, new) = ("新北市立中正高級中學", "新北市立中正高級中學（新校名）")
        let home = desk.paths.site.appendingPathComponent("index.html")
        #expect(try PageOutline.of(home).links.contains { $0.text == old })

        let schools = seeds.appendingPathComponent("schools.csv")
        try (try String(contentsOf: schools, encoding: .utf8)).replacingOccurrences(of: old + ",", with: new + ",")
            .write(to: schools, atomically: true, encoding: .utf8)
        _ = try desk.runOnce()
        let rebuilt = try desk.publishSite()
        #expect(rebuilt.schoolsRendered > 0)
        let links = try PageOutline.of(home).links
        #expect(links.contains { $0.text == new } && !links.contains { $0.text == old })
        let view = SiteFixtureView(desk: desk)
        let results = try PageOutline.of(desk.paths.site.appendingPathComponent("schools/110037/index.html"))
        #expect(results.title.contains(new))
        // The county workbooks with the school's rows carry the new name.
        let county = try #require(try desk.store.queue.read { db in
            try String.fetchOne(db, sql: "SELECT county_code FROM roster_row WHERE school_code = '110037' AND county_code IS NOT NULL LIMIT 1")
        })
        let workbook = try view.opened("counties/\(county)/decisions/20261015.xlsx")
        let plain = root.appendingPathComponent("renamed.xlsx")
        try workbook.write(to: plain)
        var names: Set<String> = []
        try XLSXReader(url: plain).forEachRow(sheet: DecisionWorkbook.sheetName(.application)) { row in
            if row.cells.count > 2 && row.cells[1] == "110037" { names.insert(row.cells[2]) }
        }
        #expect(names == [new])
    }

    @Test func rosterTemplatesMatchWhatTheParserAccepts() throws {
        let f = try SiteFixture()
        let json = try pythonOutput(["-c", """
        import sys, json, openpyxl
        wb = openpyxl.load_workbook(sys.argv[1])
        ws = wb['名冊']
        dv = [(str(d.sqref), d.formula1) for d in ws.data_validations.dataValidation]
        print(json.dumps({'sheets': wb.sheetnames, 'header': [c.value for c in ws[1]], 'example': [c.value for c in ws[2]], 'dv': dv}, ensure_ascii=False))
        """, f.site.appendingPathComponent("templates/application-roster-template.xlsx").path])
        struct T: Decodable { var sheets: [String]; var header: [String]; var example: [String?]; var dv: [[String]] }
        let t = try JSONDecoder().decode(T.self, from: Data(json.utf8))
        #expect(t.sheets == ["名冊", "填寫說明"])
        #expect(t.header == RosterColumn.templateOrder.map(\.rawValue))
        #expect(t.dv.contains { $0[1].contains("在學") && $0[1].contains("復學") && !$0[1].contains("休學") })
        #expect(t.dv.contains { $0[1].contains("是") && $0[1].contains("否") })
        // The templates, as downloaded, go through intake without being refused.
        for file in ["application-roster-template.xlsx", "application-roster-template.csv", "leaving-roster-template.csv"] {
            try drop(try Data(contentsOf: f.site.appendingPathComponent("templates/\(file)")), as: "tpl-20261201-\(file)", into: .rosters, root: f.root)
        }
        let summary = try f.desk.runOnce()
        #expect(summary.rejectedCount == 0)
        #expect(summary.files.filter { if case .applied = $0.result { return true }; return false }.count == 3)
    }

    /// A county page's columns add up (陳核中 rows counted once), 最久待審核 is blank where nothing
    /// is pending, and the overview shows a dash, not 100%, for a county with no rows.
    @Test func countyColumnsAddUpAndEmptyCountiesShowNoProgress() throws {
        let f = try SiteFixture()
        try f.desk.store.queue.write { db in
            try db.execute(sql: """
                UPDATE roster_row SET draft_decision = '核准', draft_comment = ''
                WHERE id = (SELECT id FROM roster_row WHERE county_code = '63000' AND review_state = '待審核' ORDER BY id LIMIT 1)
                """)
            try db.execute(sql: "UPDATE roster_row SET review_state = '核准' WHERE county_code = '63000' AND school_code = '110000'")
        }
        try f.desk.publishSite(force: true)
        let index = try String(contentsOf: f.site.appendingPathComponent("counties/63000/index.html"), encoding: .utf8)
        // Each roster's row on the county page, and its page of schools (sealed).
        let dateRows = try Regex(#"<tr id="roster-(\d+)"><td>[^<]*</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>([^<]*)</td>"#)
        let schoolRows = try Regex(#"<tr><td>[^<]*<span class="code">(\d+)</span></td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>"#)
        var sawAwaiting = false, sawDone = false, dates = 0
        for d in index.matches(of: dateRows) {
            dates += 1
            let total = (2...6).map { Int(d.output[$0].substring ?? "") ?? -1 }
            #expect(total[0] == total[1] + total[2] + total[3] + total[4], "columns of \(d.output[1].substring ?? "") add up")
            if total[1] == 0 { #expect(d.output[7].substring == "", "最久待審核 blank when nothing is pending") }
            let html = String(decoding: try f.opened("counties/63000/roster-\(d.output[1].substring ?? "").html"), as: UTF8.self)
            var sum = [0, 0, 0, 0, 0]
            for m in html.matches(of: schoolRows) {
                let n = (2...6).map { Int(m.output[$0].substring ?? "") ?? -1 }
                #expect(n[0] == n[1] + n[2] + n[3] + n[4], "columns of \(m.output[1].substring ?? "") add up")
                if n[2] > 0 { sawAwaiting = true }
                if n[1] == 0 { sawDone = true }
                for i in 0..<5 { sum[i] += n[i] }
            }
            #expect(sum == total, "the schools add up to the roster's row")
        }
        #expect(dates >= 2 && sawAwaiting && sawDone)
        let overview = try String(contentsOf: f.site.appendingPathComponent("overview.html"), encoding: .utf8)
        let empty = try #require(try f.desk.store.queue.read { db in
            try String.fetchOne(db, sql: "SELECT name FROM county WHERE code NOT IN (SELECT county_code FROM roster_counts) LIMIT 1")
        })
        let row = try #require(overview.components(separatedBy: "<tr>").first { $0.contains(">\(empty)</a>") })
        #expect(row.contains("—") && !row.contains("100%"))
    }

    @Test func previewServerServesWithMimeTypesAndStaysInsideTheSite() throws {
        let f = try SiteFixture()
        let server = PreviewServer(root: f.site, port: 0)
        let port = try server.bind()
        final class Flag: @unchecked Sendable { var stop = false }
        let flag = Flag()
        let thread = Thread { server.serve(shouldStop: { flag.stop }) }
        thread.start()
        defer { flag.stop = true }
        func get(_ path: String) throws -> (Int, String) {
            let out = try pythonOutput(["-c", """
            import sys, http.client
            c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=5)
            c.request('GET', sys.argv[2]); r = c.getresponse(); r.read()
            print(r.status, r.getheader('Content-Type'))
            """, String(port), path])
            let parts = out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 1)
            return (Int(parts[0]) ?? 0, parts.count > 1 ? String(parts[1]) : "")
        }
        #expect(try get("/index.html") == (200, "text/html; charset=utf-8"))
        #expect(try get("/") == (200, "text/html; charset=utf-8"))
        #expect(try get("/style.css") == (200, "text/css; charset=utf-8"))
        #expect(try get("/secure.js") == (200, "text/javascript; charset=utf-8"))
        #expect(try get("/schools/110000/key.json") == (200, "application/json"))
        #expect(try get("/schools/110000/report-20261015.xlsx.enc") == (200, "application/octet-stream"))
        #expect(try get("/../state/deferment.sqlite").0 == 404)
        #expect(try get("/%2e%2e/state/deferment.sqlite").0 == 404)
    }
}

/// The two browsers the manual names (Google Chrome or Mozilla Firefox): Debian's chromium under
/// Selenium and firefox-esr under Marionette (`Scripts/browser_common.py`).
enum WebBrowser: String, CaseIterable, Sendable {
    case chromium, firefox
    var environment: [String: String] { ["DESK_BROWSER": rawValue] }
}

/// The school's and the county's pages in a real headless browser.
@Suite(.serialized)
struct BrowserTests {
    @Test(arguments: WebBrowser.allCases) func schoolPages(in browser: WebBrowser) throws {
        let f = try SiteFixture()
        // A student of school 110000 with rows in both months.
        let id = try f.desk.store.queue.read { db in
            try String.fetchOne(db, sql: """
                SELECT national_id FROM roster_row WHERE school_code = '110000' AND national_id <> ''
                GROUP BY national_id HAVING COUNT(DISTINCT upload_date) = 2 LIMIT 1
                """)
        }
        let (out, artifacts) = try f.runBrowserScript("browser-school", account: "110000", arguments: [try #require(id)], in: browser)
        #expect(out.contains("OK"), "\(out)")
        #expect(FileManager.default.fileExists(atPath: artifacts.appendingPathComponent("03-detail-red-and-shading.png").path))
        // The report of every roster, joined in the browser, is the desk's report of all the rows.
        let joined = try Data(contentsOf: artifacts.appendingPathComponent("downloads/審核結果報表-110000-全部名冊.csv"))
        let rows = try f.desk.store.queue.read { try DeskStore.schoolRows($0, school: "110000") }
        #expect(Set(rows.map(\.uploadDate)).count == 2)
        #expect(joined == Data(SchoolReport.csv(rows: rows)))
    }

    @Test(arguments: WebBrowser.allCases) func homePageSchoolSearch(in browser: WebBrowser) throws {
        let f = try SiteFixture()
        try f.desk.publishSite()
        let out = try f.serving { port in
            try pythonOutput([scriptsFolder.appendingPathComponent("browser_home.py").path, "http://127.0.0.1:\(port)", "110037",
                              repositoryRoot.appendingPathComponent("test-artifacts/browser-home-\(browser.rawValue)").path],
                             environment: browser.environment)
        }
        #expect(out.contains("OK"), "\(out)")
    }

    /// Every page kind at 1366 px and 390 px: screenshots in test-artifacts/pages-<browser>/, no axe-core
    /// violation of the WCAG A and AA rules, no sideways scrolling on a phone, no header that
    /// wraps on the details page.
    @Test(arguments: WebBrowser.allCases) func everyPageKindAtTwoWidthsPassesAxeAndFits(in browser: WebBrowser) throws {
        let f = try SiteFixture()
        for account in ["110000", "63000"] {
            try f.desk.setPassword(code: account, password: "correct horse \(account)", rounds: Envelope.defaultRounds)
        }
        try f.desk.publishSite()
        let out = try f.serving { port in
            try pythonOutput([scriptsFolder.appendingPathComponent("browser_pages.py").path, "http://127.0.0.1:\(port)",
                              "110000", "correct horse 110000", "63000", "correct horse 63000",
                              repositoryRoot.appendingPathComponent("test-artifacts/pages-\(browser.rawValue)").path],
                             environment: browser.environment)
        }
        #expect(out.contains("OK"), "\(out)")
    }

    @Test(arguments: WebBrowser.allCases) func countyPageAndDecisionWorkbook(in browser: WebBrowser) throws {
        let f = try SiteFixture()
        let (out, artifacts) = try f.runBrowserScript("browser-county", account: "63000", arguments: ["20261015"], in: browser)
        #expect(out.contains("OK"), "\(out)")
        #expect(FileManager.default.fileExists(atPath: artifacts.appendingPathComponent("01-logged-in.png").path))
    }
}

extension SiteFixture {
    /// Sets `account`'s password with the real key derivation (600,000 rounds), publishes, serves
    /// the site on loopback and runs a browser script with the base URL, the account and
    /// `arguments` in `browser`; its screenshots go to `test-artifacts/<name>-<browser>`. Returns
    /// its output and that folder.
    func runBrowserScript(_ name: String, account: String, arguments: [String], in browser: WebBrowser = .chromium) throws -> (String, URL) {
        let password = "correct horse \(account)"
        try desk.setPassword(code: account, password: password, rounds: Envelope.defaultRounds)
        try desk.publishSite()
        let artifacts = repositoryRoot.appendingPathComponent("test-artifacts/\(name)-\(browser.rawValue)")
        let out = try serving { port in
            try pythonOutput([scriptsFolder.appendingPathComponent("\(name.replacingOccurrences(of: "-", with: "_")).py").path,
                              "http://127.0.0.1:\(port)", account] + arguments + [artifacts.path, password],
                             environment: browser.environment)
        }
        return (out, artifacts)
    }

    /// Serves the site on loopback while `body` runs with the port.
    func serving<T>(_ body: (Int) throws -> T) throws -> T {
        let server = PreviewServer(root: site, port: 0)
        let port = try server.bind()
        let flag = StopFlag()
        Thread { server.serve(shouldStop: { flag.stop }) }.start()
        defer { flag.stop = true }
        return try body(Int(port))
    }
}

/// Tells a serving thread to stop.
final class StopFlag: @unchecked Sendable {
    var stop = false
}
