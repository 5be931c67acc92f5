import Crypto
import Foundation
import DefermentCore

/// The page templates of `templates/` (Mustache, zh-TW) and the static files beside them.
///
/// Templates are read at run time, so a clerk's wording can change without a Swift change.
/// Mustache's `{{name}}` escapes HTML; the templates never use the unescaped forms.
public struct SiteTemplates: @unchecked Sendable {
    /// The templates' sources by name, compiled once per thread that renders (``renderer``).
    private let sources: [String: String]
    /// Static files (`templates/static/*`) by name.
    let staticFiles: [String: Data]
    /// SHA-256 over every template and static file: a change re-renders every page.
    public let fingerprint: String

    public init(directory: URL) throws {
        let fm = FileManager.default
        var templates: [String: String] = [:]
        var hasher = SHA256()
        guard let listing = try? fm.contentsOfDirectory(atPath: directory.path) else {
            throw SiteError("找不到網頁樣板資料夾 \(directory.path)（以 --templates 指定，或放在 <root>/templates）")
        }
        let names = listing.filter { $0.hasSuffix(".mustache") }.sorted()
        for name in names {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            hasher.update(data: Data((name + "\u{0}" + text).utf8))
            templates[String(name.dropLast(".mustache".count))] = text
        }
        var statics: [String: Data] = [:]
        let staticDir = directory.appendingPathComponent("static")
        for name in ((try? fm.contentsOfDirectory(atPath: staticDir.path)) ?? []).sorted() where !name.hasPrefix(".") {
            let data = try Data(contentsOf: staticDir.appendingPathComponent(name))
            hasher.update(data: Data(name.utf8))
            hasher.update(data: data)
            statics[name] = data
        }
        for required in ["_head", "_foot", "home", "school-results", "roster-detail", "county", "county-roster", "directory",
                         "roster-templates", "overview", "secure-page", "_unlock"]
        where templates[required] == nil {
            throw SiteError("缺少樣板 templates/\(required).mustache")
        }
        do {
            _ = try MustacheRenderer(templates: templates)
        } catch {
            throw SiteError("樣板語法錯誤：\(error)")
        }
        sources = templates
        staticFiles = statics
        fingerprint = hasher.finalize().lowercaseHex
    }

    /// The calling thread's own compiled copy of the templates. The build's workers render in
    /// parallel, and with one shared copy every row's walk over it changed reference counts on
    /// the same memory from both cores (see `bench/README.md`).
    private var renderer: MustacheRenderer {
        let key = "deferment.templates." + fingerprint
        let cache = Thread.current.threadDictionary
        if let compiled = cache[key] as? MustacheRenderer { return compiled }
        // The sources compiled without error in `init`.
        let compiled = try! MustacheRenderer(templates: sources)
        // A long-lived thread (watch's) keeps only the templates of the current fingerprint.
        for case let old as String in cache.allKeys where old.hasPrefix("deferment.templates.") { cache.removeObject(forKey: old) }
        cache[key] = compiled
        return compiled
    }

    /// Renders a template with a context of dictionaries, arrays and scalars.
    func render(_ name: String, _ context: [String: Any]) -> String {
        renderer.render(name, context)
    }

    /// Renders a template as UTF-8 bytes (the large pages: no String in between).
    func renderBytes(_ name: String, _ context: [String: Any]) -> [UInt8] {
        renderer.renderBytes(name, context)
    }
}

/// A site build problem, for the operator.
public struct SiteError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Why a site build failed, in words an operator acts on (網站產生失敗): a full disk says so,
/// and that the site still shows the previous build, whole.
public enum SiteFailure {
    public static func explain(_ error: Error) -> String {
        if let e = error as? SiteError { return e.description }
        let ns = error as NSError
        let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError
        let full = ns.code == CocoaError.fileWriteOutOfSpace.rawValue
            || (ns.domain == NSPOSIXErrorDomain && (ns.code == Int(ENOSPC) || ns.code == Int(EDQUOT)))
            || (underlying?.domain == NSPOSIXErrorDomain && (underlying?.code == Int(ENOSPC) || underlying?.code == Int(EDQUOT)))
        if full {
            return "磁碟空間不足，網站未能完整更新。已發布的頁面仍彼此一致（新頁面尚未連結），請釋出 outbox/site 所在磁碟的空間後再執行 deferment publish。"
        }
        return "寫入網站檔案時發生錯誤（\(ns.localizedDescription)）；已發布的頁面仍彼此一致，請排除問題後再執行 deferment publish。"
    }
}
