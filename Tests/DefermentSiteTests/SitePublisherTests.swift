import DefermentTestSupport
import Foundation
import Testing
@testable import DefermentSite

/// The publisher reads back the manifest it wrote (and any other valid JSON one), so an
/// unchanged file is never written twice.
struct SitePublisherTests {
    /// An empty site folder (the publisher writes `site.published` beside it).
    func site(_ name: String = #function) throws -> URL {
        let url = try temporaryFolder(prefix: "deferment-publisher", name).appendingPathComponent("site")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
        return url
    }

    @Test(arguments: ["own", "pretty JSON", "escaped path"])
    func unchangedFilesAreNotWrittenAgain(_ manifestForm: String) throws {
        let root = try site()
        // The publisher writes only safe ASCII paths; another tool's JSON may escape them (`\/`).
        let odd = "schools/110000/plain-roster_2.html"
        let first = try SitePublisher(root: root)
        try first.publish("index.html", text: "<p>首頁</p>")
        try first.publish(odd, text: "<p>明細</p>")
        try first.finish()
        let manifestURL = root.appendingPathComponent(SitePublisher.manifestName)
        if manifestForm != "own" {
            // The same entries as another tool would write them.
            let entries = try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL))
            try JSONSerialization.data(withJSONObject: entries, options: manifestForm == "pretty JSON" ? [.prettyPrinted, .sortedKeys] : [])
                .write(to: manifestURL)
            if manifestForm == "escaped path" { #expect(try String(contentsOf: manifestURL, encoding: .utf8).contains("\\/")) }
        }
        #expect(SitePublisher.readOwnManifest(try Data(contentsOf: manifestURL)) == nil || manifestForm == "own")

        let second = try SitePublisher(root: root)
        try second.publish("index.html", text: "<p>首頁</p>")
        try second.publish(odd, text: "<p>明細（改）</p>")
        try second.finish()
        #expect(second.written == [odd])
        let entries = try JSONDecoder().decode([ManifestEntry].self, from: Data(contentsOf: manifestURL))
        #expect(entries.map(\.path) == ["index.html", odd].sorted())
        #expect(entries.first { $0.path == odd }?.size == Data("<p>明細（改）</p>".utf8).count)
    }
}

extension SitePublisherTests {
    /// Site files are not flushed one by one; one that a crash left empty (or removed) must be
    /// written again even though the manifest lists it as published.
    @Test(arguments: ["emptied", "removed"])
    func aFileLostInACrashIsWrittenAgain(_ loss: String) throws {
        let root = try site()
        let first = try SitePublisher(root: root)
        try first.publish("index.html", text: "<p>首頁</p>")
        try first.publish("directory.html", text: "<p>通訊錄</p>")
        try first.finish()
        let lost = root.appendingPathComponent("index.html")
        if loss == "emptied" { try Data().write(to: lost) } else { try FileManager.default.removeItem(at: lost) }
        let second = try SitePublisher(root: root)
        try second.publish("index.html", text: "<p>首頁</p>")
        try second.publish("directory.html", text: "<p>通訊錄</p>")
        try second.finish()
        #expect(second.written == ["index.html"])
        #expect(try String(contentsOf: lost, encoding: .utf8) == "<p>首頁</p>")
    }

    /// Which group of pages each site path belongs to (what change detection keeps or renders).
    @Test(arguments: [
        ("schools/110000/roster-20261115.html", "roster:110000:2026-11-15"),
        ("schools/110000/roster-20261115.html.enc", "roster:110000:2026-11-15"),
        ("schools/110000/search-20261015.json.enc", "school:110000"),
        ("schools/110000/report-20261015.xlsx.enc", "roster:110000:2026-10-15"),
        ("schools/110000/report-20261015.csv.enc", "roster:110000:2026-10-15"),
        ("schools/110000/index.html", "school:110000"),
        ("schools/110000/account.html", "school:110000"),
        ("schools/110000/roster-2026111.html", "school:110000"),
        ("counties/63000/decisions/20261115.xlsx.enc", "workbook:63000:2026-11-15"),
        ("counties/63000/roster-20261115.html.enc", "workbook:63000:2026-11-15"),
        ("counties/63000/index.html", nil),
        ("counties/63000/schools/110000.html.enc", nil),
        ("index.html", nil), ("templates/index.html", nil), ("style.css", nil),
        ("schools/110000/extra/roster-20261115.html", "school:110000"), ("schools/110000/a/b/roster-20261115.html", nil),
        ("schoolsx/110000/roster-20261115.html", nil), ("school/110000/roster-20261115.html", nil),
        ("counties/63000/decisions/2026111.xlsx.enc", nil), ("counties/63000/decision/20261115.xlsx.enc", nil),
        ("counties/63000/decisions/x/20261115.xlsx.enc", nil), ("counties/63000/roster-2026111a.html", nil),
        ("schools/110000/roster-", "school:110000"), ("schools//roster-20261115.html", "roster::2026-11-15"), ("/", nil),
    ] as [(String, String?)])
    func pathsBelongToTheirGroup(_ path: String, _ group: String?) {
        #expect(SiteBuilder.group(of: path) == group)
    }
}

extension SitePublisherTests {
    /// A build that keeps one school's pages, renders another's again, adds a month and stops
    /// producing a file lists in its manifest exactly the files on disk, in path order, each
    /// with its current size and digest: kept files as they were, rendered ones as written.
    @Test func theManifestListsKeptRenderedAndNewFilesAndDropsTheRest() throws {
        let root = try site()
        let first = try SitePublisher(root: root)
        for path in ["schools/110000/index.html", "schools/110000/roster-20261015.html.enc", "schools/110001/index.html",
                     "schools/110001/roster-20261015.html.enc", "schools/110001/old.json", "index.html"] {
            try first.publish(path, text: "first " + path)
        }
        try first.finish()
        let second = try SitePublisher(root: root)
        second.indexGroups { path in path.hasPrefix("schools/") ? String(path.split(separator: "/")[1]) : nil }
        second.keep(group: "110000")
        // 110001 rendered again: one page changed, one unchanged, a new month, `old.json` gone.
        try second.publish("schools/110001/index.html", text: "second")
        try second.publish("schools/110001/roster-20261015.html.enc", text: "first schools/110001/roster-20261015.html.enc")
        try second.publish("schools/110001/roster-20261115.html.enc", text: "new month")
        try second.publish("a-new-page.html", text: "new")
        try second.publish("index.html", text: "first index.html")
        let removed = try second.finish()
        #expect(removed == ["schools/110001/old.json"])
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("schools/110001/old.json").path))
        let listed = try JSONDecoder().decode([ManifestEntry].self, from: Data(contentsOf: root.appendingPathComponent(SitePublisher.manifestName)))
        let onDisk = try FileManager.default.subpathsOfDirectory(atPath: root.path)
            .filter { !$0.hasSuffix(SitePublisher.manifestName) && !$0.hasPrefix(".") }
            .filter { var isFolder: ObjCBool = false; FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path, isDirectory: &isFolder); return !isFolder.boolValue }
        #expect(listed.map(\.path) == onDisk.sorted())
        for entry in listed {
            let data = try Data(contentsOf: root.appendingPathComponent(entry.path))
            #expect(entry.size == data.count && entry.sha256 == SitePublisher.sha256(data), "\(entry.path)")
        }
        #expect(second.written.sorted() == ["a-new-page.html", "schools/110001/index.html", "schools/110001/roster-20261115.html.enc"])
    }
}
