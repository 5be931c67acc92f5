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
    /// The site paths of the files actually written (new or changed bytes), and their number.
    public var writtenPaths: [String] = []
    public var written: Int { writtenPaths.count }
    /// Files removed because nothing produces them any more.
    public var removed = 0
    /// Schools whose pages were rendered, and those kept as they were.
    public var schoolsRendered = 0
    public var schoolsKept = 0
    /// Schools' rosters (one upload date each) rendered, and those kept as they were.
    public var rostersRendered = 0
    public var rostersKept = 0
    /// Decision workbooks written, and the seconds they took summed over the worker threads
    /// (they run beside school pages, so divide by the workers for their share of `seconds`).
    public var workbooks = 0
    public var workbookSeconds = 0.0
    public var seconds = 0.0
    /// Seconds by phase: reading the inputs and planning, each named step (summed over the
    /// threads it ran on), and finishing (held pages, removals, the manifest).
    public var phases: [(String, Double)] = []
}

/// Builds the static site (`outbox/site/`) from the database: home, schools' results and
/// details, reports, county pages, the directory, roster templates and the ministry overview.
///
/// A page is a function of the database and the templates. A school's roster of one upload date
/// and a county's roster of one upload date are the units of work (``SitePlan``): each is
/// rendered again only when its group version (bumped by every file that touched its rows) or
/// the templates' fingerprint differ from what the site was last built from (`site_state`);
/// what is left is small and rendered every time, and written only when its bytes changed.
public final class SiteBuilder: @unchecked Sendable {
    let templates: SiteTemplates
    let publisher: SitePublisher
    let databasePath: String
    let rules: DefermentRules
    let today: CivilDate
    /// Bumped when the code that renders pages changes what it produces.
    static let codeVersion = "site-5-rosters"
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

    var fingerprint: String { templates.fingerprint + "/" + Self.codeVersion }

    /// Builds the site: reads what it works from, decides what changed, runs the steps, records
    /// what was rendered. `store` is the desk's own connection; workers read through read-only ones.
    public func build(store: DeskStore, force: Bool = false) throws -> SiteBuildResult {
        let started = Date()
        let inputs = try SiteInputs.read(store, code: fingerprint)
        let plan = SitePlan(inputs, publisher: publisher, force: force)
        let planned = Date()
        let steps = [
            decisionWorkbooks(plan, inputs),      // on the workers, the longest first
            countyPages(inputs),
            schoolPages(plan, inputs),
            staticFiles(),                // on this thread meanwhile
            accountKeys(inputs),
            homePage(inputs),
            directoryPage(inputs),
            overviewPage(inputs),
            templatesPage(),
        ]
        let times = try run(steps)
        let stepsDone = Date()
        try plan.record(inputs, in: store)
        var result = SiteBuildResult()
        result.rendered = times.totalFiles
        result.workbooks = plan.workbooks.count
        result.workbookSeconds = times.seconds[Self.workbookStep] ?? 0
        result.schoolsRendered = plan.schools.count
        result.schoolsKept = plan.schoolsKept
        result.rostersRendered = plan.rostersRendered
        result.rostersKept = plan.rostersKept
        result.removed = try publisher.finish().count
        result.writtenPaths = publisher.written
        result.seconds = Date().timeIntervalSince(started)
        result.phases = [("讀取與規劃", planned.timeIntervalSince(started))] + steps.map { ($0.name, times.seconds[$0.name] ?? 0) }
            + [("寫出頁面與清單", Date().timeIntervalSince(stepsDone))]
        return result
    }

    /// The group of pages a site path belongs to: `roster:<school>:<upload date>` for a school's
    /// `roster-<date>.html(.enc)` and `report-<date>.*`, `school:<code>` for the school's
    /// other files, `workbook:<county>:<upload date>` for a county's decision workbook and
    /// `roster-<date>.html(.enc)` of that date; `nil` for pages rendered every build.
    static func group(of path: String) -> String? {
        // Read as bytes (called for every file of the site): at most three `/` matter.
        var path = path
        return path.withUTF8 { u -> String? in
            var s0 = -1, s1 = -1, s2 = -1
            for i in 0..<u.count where u[i] == 0x2F {
                if s0 < 0 { s0 = i } else if s1 < 0 { s1 = i } else if s2 < 0 { s2 = i } else { return nil }
            }
            guard s1 >= 0 else { return nil }
            let nameStart = (s2 >= 0 ? s2 : s1) + 1
            func text(_ from: Int, _ to: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: u[from..<to]), as: UTF8.self) }
            func segment(_ from: Int, _ to: Int, is word: StaticString) -> Bool {
                guard to - from == word.utf8CodeUnitCount else { return false }
                for k in 0..<(to - from) where u[from + k] != word.utf8Start[k] { return false }
                return true
            }
            // The ISO date of a file name `<prefix>YYYYMMDD…`.
            func dated(_ prefix: StaticString) -> String? {
                let start = nameStart + prefix.utf8CodeUnitCount
                guard start + 8 <= u.count, segment(nameStart, start, is: prefix) else { return nil }
                for k in start..<(start + 8) where u[k] < 0x30 || u[k] > 0x39 { return nil }
                return text(start, start + 4) + "-" + text(start + 4, start + 6) + "-" + text(start + 6, start + 8)
            }
            let second = text(s0 + 1, s1)
            if segment(0, s0, is: "schools") {
                if s2 < 0, let date = dated("roster-") ?? dated("report-") { return DeskStore.rosterKey(school: second, uploadDate: date) }
                return "school:" + second
            }
            guard segment(0, s0, is: "counties") else { return nil }
            if s2 >= 0 && segment(s1 + 1, s2, is: "decisions"), let date = dated("") {
                return DeskStore.workbookKey(county: second, uploadDate: date)
            }
            if s2 < 0, let date = dated("roster-") { return DeskStore.workbookKey(county: second, uploadDate: date) }
            return nil
        }
    }
}
