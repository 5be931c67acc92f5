import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// What a site build did.
public struct SiteBuildResult: Sendable {
    /// Pages and files rendered in this build (before comparing with what was there).
    public var rendered = 0
    /// Files actually written (new or changed bytes).
    public var written = 0
    /// Files removed because nothing produces them any more.
    public var removed = 0
    /// Schools whose pages were rendered, and those kept as they were.
    public var schoolsRendered = 0
    public var schoolsKept = 0
    /// Decision workbooks written, and the seconds they took summed over the worker threads
    /// (they run beside school pages, so divide by the workers for their share of `seconds`).
    public var workbooks = 0
    public var workbookSeconds = 0.0
    public var seconds = 0.0
}

/// Builds the static site (`outbox/site/`) from the database: home, schools' results and
/// details, reports, county pages, the directory, roster templates and the ministry overview.
///
/// A page is a function of the database and the templates. Schools are the unit of work: a
/// school's pages (and its students' pages under each county) are rendered again only when the
/// school's group version (bumped by intake for every file that touched it) or the templates'
/// fingerprint differ from what the site was last built from (`site_state`); everything else is
/// small and rendered every time, and written only when its bytes changed.
public final class SiteBuilder: @unchecked Sendable {
    let templates: SiteTemplates
    let publisher: SitePublisher
    let databasePath: String
    let rules: DefermentRules
    let today: CivilDate
    /// Bumped when the code that renders pages changes what it produces.
    static let codeVersion = "site-3-decisions"
    /// Worker threads for school pages.
    public var workers = 2

    /// Data keys of the accounts, by code; their wrapped forms are published as `key.json`.
    let dataKeys: [String: SymmetricKey]
    let wrappedKeys: [String: String]

    /// Signs the tokens of decision workbooks (the desk holds the key; the site never sees it).
    let signToken: @Sendable (DecisionToken) -> String

    /// The address county clerks reply to with their workbooks (printed on covers and pages).
    public var returnAddress = ""

    public init(databasePath: String, templatesDirectory: URL, outputDirectory: URL, rules: DefermentRules, today: CivilDate,
                accounts: [AccountRecord], signToken: @escaping @Sendable (DecisionToken) -> String) throws {
        self.signToken = signToken
        self.templates = try SiteTemplates(directory: templatesDirectory)
        self.dataKeys = Dictionary(uniqueKeysWithValues: accounts.map { ($0.code, SymmetricKey(data: $0.dataKey)) })
        self.wrappedKeys = Dictionary(uniqueKeysWithValues: accounts.map { ($0.code, $0.wrappedKey) })
        self.publisher = try SitePublisher(root: outputDirectory)
        self.databasePath = databasePath
        self.rules = rules
        self.today = today
    }

    /// The last file applied when this build began: the decision workbooks' generation.
    var workbookGeneration: Int64 = 0

    var fingerprint: String { templates.fingerprint + "/" + Self.codeVersion }

    /// Builds the site: reads what it works from, decides what changed, runs the steps, records
    /// what was rendered. `store` is the desk's own connection; workers read through read-only ones.
    public func build(store: DeskStore, force: Bool = false) throws -> SiteBuildResult {
        let started = Date()
        let inputs = try SiteInputs.read(store, code: fingerprint)
        workbookGeneration = inputs.generation
        let plan = SitePlan(inputs, publisher: publisher, force: force)
        let times = try run([
            decisionWorkbooks(plan),      // on the workers, the longest first
            countyPages(inputs),
            schoolPages(plan, inputs),
            staticFiles(),                // on this thread meanwhile
            accountKeys(inputs),
            homePage(inputs),
            directoryPage(inputs),
            overviewPage(inputs),
            templatesPage(),
        ])
        try plan.record(inputs, in: store)
        var result = SiteBuildResult()
        result.rendered = times.totalFiles
        result.workbooks = plan.workbooks.count
        result.workbookSeconds = times.seconds[Self.workbookStep] ?? 0
        result.schoolsRendered = plan.schools.count
        result.schoolsKept = plan.schoolsKept
        result.written = publisher.written.count
        result.removed = try publisher.finish().count
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    /// The group of pages a site path belongs to: `school:<code>` for `schools/<code>/…` and
    /// `counties/<county>/schools/<code>.html(.enc)`; `workbook:<county>:<upload date>` for
    /// `counties/<county>/decisions/…`.
    static func group(of path: String) -> String? {
        // Most paths are a school's; decide on the first segment before splitting.
        if path.hasPrefix("schools/") {
            let rest = path.utf8.dropFirst(8)
            guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else { return nil }
            return "school:" + String(decoding: rest[..<slash], as: UTF8.self)
        }
        guard path.hasPrefix("counties/") else { return nil }
        let parts = path.split(separator: "/")
        if parts.count == 4 && parts[2] == "schools" {
            if parts[3].hasSuffix(".html") { return "school:" + parts[3].dropLast(5) }
            if parts[3].hasSuffix(".html.enc") { return "school:" + parts[3].dropLast(9) }
        }
        if parts.count == 4 && parts[2] == "decisions", parts[3].count >= 8 {
            let d = Array(parts[3].prefix(8))
            return DeskStore.workbookKey(county: String(parts[1]),
                                         uploadDate: "\(String(d[0..<4]))-\(String(d[4..<6]))-\(String(d[6..<8]))")
        }
        return nil
    }
}
