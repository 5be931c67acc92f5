import Crypto
import Foundation
import Mustache

/// The page templates of `templates/` (Mustache, zh-TW) and the static files beside them.
///
/// Templates are read at run time, so a clerk's wording can change without a Swift change.
/// Mustache's `{{name}}` escapes HTML; the templates never use the unescaped forms.
public struct SiteTemplates: @unchecked Sendable {
    let library: MustacheLibrary
    /// Static files (`templates/static/*`) by name.
    let staticFiles: [String: Data]
    /// SHA-256 over every template and static file: a change re-renders every page.
    public let fingerprint: String

    public init(directory: URL) throws {
        let fm = FileManager.default
        var templates: [String: MustacheTemplate] = [:]
        var hasher = SHA256()
        let names = try fm.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".mustache") }.sorted()
        for name in names {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            hasher.update(data: Data((name + "\u{0}" + text).utf8))
            do {
                templates[String(name.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
            } catch {
                throw SiteError("樣板 \(name) 語法錯誤：\(error)")
            }
        }
        var statics: [String: Data] = [:]
        let staticDir = directory.appendingPathComponent("static")
        for name in ((try? fm.contentsOfDirectory(atPath: staticDir.path)) ?? []).sorted() where !name.hasPrefix(".") {
            let data = try Data(contentsOf: staticDir.appendingPathComponent(name))
            hasher.update(data: Data(name.utf8))
            hasher.update(data: data)
            statics[name] = data
        }
        for required in ["_head", "_foot", "home", "school-results", "roster-detail", "county", "county-school", "directory", "roster-templates", "overview"]
        where templates[required] == nil {
            throw SiteError("缺少樣板 templates/\(required).mustache")
        }
        library = MustacheLibrary(templates: templates)
        staticFiles = statics
        fingerprint = hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Renders a template with a context of dictionaries, arrays and scalars.
    func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }
}

/// A site build problem, for the operator.
public struct SiteError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
