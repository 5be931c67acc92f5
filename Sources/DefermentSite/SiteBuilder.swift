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

    /// Signs the tokens of decision workbooks.
    let decisionKey: SymmetricKey

    /// Where decision workbooks' pieces are kept between builds (``DecisionPieceCache``);
    /// `nil` writes every workbook from the database.
    public var pieceCacheFolder: URL?

    public init(databasePath: String, templatesDirectory: URL, outputDirectory: URL, rules: DefermentRules, today: CivilDate,
                accounts: [AccountRecord], decisionKey: SymmetricKey) throws {
        self.decisionKey = decisionKey
        self.templates = try SiteTemplates(directory: templatesDirectory)
        self.dataKeys = Dictionary(uniqueKeysWithValues: accounts.map { ($0.code, SymmetricKey(data: $0.dataKey)) })
        self.wrappedKeys = Dictionary(uniqueKeysWithValues: accounts.map { ($0.code, $0.wrappedKey) })
        self.publisher = try SitePublisher(root: outputDirectory)
        self.databasePath = databasePath
        self.rules = rules
        self.today = today
    }

    /// The last file applied when this build began: the decision workbooks' generation.
    private(set) var workbookGeneration: Int64 = 0

    var fingerprint: String { templates.fingerprint + "/" + Self.codeVersion }

    /// Builds the site. `store` is the desk's own connection (used for the small reads and to
    /// record what was rendered); school pages are read through extra read-only connections.
    public func build(store: DeskStore, force: Bool = false) throws -> SiteBuildResult {
        let started = Date()
        var result = SiteBuildResult()
        // Only codes of the whitelisted forms name a folder (a database from before the school
        // code rule may hold a school made from a hostile cell: it gets no page).
        let (schools, counties, counts, versions, state) = try store.queue.read { db in
            (try DeskStore.schools(db).filter { PathGate.accepts($0.code, as: .schoolCode) },
             try DeskStore.counties(db).filter { PathGate.accepts($0.code, as: .countyCode) },
             try DeskStore.rosterCounts(db).filter { PathGate.accepts($0.schoolCode, as: .schoolCode) },
             try DeskStore.groupVersions(db), try DeskStore.siteState(db))
        }
        workbookGeneration = try store.queue.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM input_file") ?? 0 }
        let (decisionDates, awaiting, notices, seeds) = try store.queue.read { db in
            (try DeskStore.decisionDates(db), try DeskStore.awaitingSignOffCounts(db), try DeskStore.countyNotices(db),
             try String.fetchAll(db, sql: "SELECT name || '=' || sha256 FROM seed_state ORDER BY name"))
        }
        let countyNames = Dictionary(uniqueKeysWithValues: counties.map { ($0.code, $0.name) })
        let schoolsWithRows = Set(counts.map(\.schoolCode))
        // What every page is rendered from besides its rows: the templates, this code and the
        // reference data (a school renamed or a county's office moved in seeds/ shows everywhere).
        let fp = fingerprint + "/" + SHA256.hash(data: Data(seeds.joined(separator: "\n").utf8)).prefix(8).lowercaseHex

        publisher.indexGroups(Self.group(of:))
        // Decision workbooks: one per county and upload date, written again only when a file
        // touched that county's rows of that date (or the templates or code changed).
        var workbookJobs: [(County, String)] = []
        for county in counties {
            for date in decisionDates[county.code] ?? [] {
                let key = DeskStore.workbookKey(county: county.code, uploadDate: date)
                let unchanged = !force && state[key].map { $0.0 == (versions[key] ?? 0) && $0.1 == fp } == true
                if unchanged && publisher.stillPresent(group: key) {
                    publisher.keep(group: key)
                } else {
                    workbookJobs.append((county, date))
                }
            }
        }

        // Schools: render those whose inputs changed, keep the rest.
        var toRender: [SchoolEntry] = []
        for school in schools where schoolsWithRows.contains(school.code) {
            let key = "school:" + school.code
            let version = versions[key] ?? 0
            let unchanged = !force && state[key].map { $0.0 == version && $0.1 == fp } == true
            if unchanged && publisher.stillPresent(group: "school:" + school.code) {
                publisher.keep(group: "school:" + school.code)
                result.schoolsKept += 1
            } else {
                toRender.append(school)
            }
        }
        // Workbooks (the longest jobs) first, then schools, on one pool of workers, started before
        // the small pages so that those are rendered meanwhile on this thread.
        final class Outcome: @unchecked Sendable { var value: Result<(Int, Double), Error> = .success((0, 0)) }
        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        // What each school's pieces of decision workbooks are written from.
        var stamps: [String: String] = [:]
        for school in schools {
            stamps[school.code] = "\(DecisionWorkbook.pieceFormat)|\(fp)|\(versions["school:" + school.code] ?? 0)|\(school.name)"
        }
        if let folder = pieceCacheFolder {
            if force {
                try? FileManager.default.removeItem(at: folder)
            } else {
                // Pieces of workbooks that no longer exist (no rows left for that county and date).
                var current: Set<String> = []
                for county in counties { for date in decisionDates[county.code] ?? [] { current.insert(DecisionPieceCache.fileName(county: county.code, date: date)) } }
                for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where !current.contains(name) {
                    try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
                }
            }
        }
        // County pages go to the workers too (after the workbooks): on a small republish they
        // were most of this thread's time, while the workers waited.
        let countyPages: [@Sendable () throws -> Void] = counties.map { county in
            let (countyCounts, countyAwaiting, countyNotices) = (counts.filter { $0.countyCode == county.code },
                                                                 awaiting[county.code] ?? [:], notices[county.code] ?? [])
            return { [self] in
                try publishCounty(county, schools: schools, counts: countyCounts, awaiting: countyAwaiting, notices: countyNotices)
            }
        }
        let pool = Thread { [self, workbookJobs, toRender, stamps] in
            outcome.value = Result {
                try renderJobs(workbooks: workbookJobs, pages: countyPages, schools: toRender, countyNames: countyNames, stamps: stamps)
            }
            finished.signal()
        }
        pool.stackSize = 8 << 20
        pool.start()
        do {
            for (name, data) in templates.staticFiles { try publisher.publish(name, data); result.rendered += 1 }
            // Each account's password-wrapped key: changing a password changes only this file.
            for school in schools where schoolsWithRows.contains(school.code) {
                guard let w = wrappedKeys[school.code] else { throw SiteError("學校 \(school.code) 沒有帳號，無法加密其頁面") }
                try publisher.publish("schools/\(school.code)/key.json", text: w)
            }
            for county in counties {
                guard let w = wrappedKeys[county.code] else { throw SiteError("縣市 \(county.code) 沒有帳號，無法加密其頁面") }
                try publisher.publish("counties/\(county.code)/key.json", text: w)
            }
            try publishHome(schools: schools, counties: counties, withRows: schoolsWithRows)
            try publishDirectory(counties: counties)
            try publishOverview(counties: counties, counts: counts)
            try publishTemplatesPage()
            result.rendered += 4 + 1 + counties.count
        } catch {
            finished.wait()   // never leave workers writing into the site
            throw error
        }
        finished.wait()
        let (rendered, workbookSeconds) = try outcome.value.get()
        result.rendered += rendered + workbookJobs.count
        result.workbooks = workbookJobs.count
        result.workbookSeconds = workbookSeconds
        result.schoolsRendered = toRender.count
        try store.queue.write { db in
            for school in toRender {
                let key = "school:" + school.code
                try DeskStore.recordSiteState(db, key, version: versions[key] ?? 0, fingerprint: fp)
            }
            for (county, date) in workbookJobs {
                let key = DeskStore.workbookKey(county: county.code, uploadDate: date)
                try DeskStore.recordSiteState(db, key, version: versions[key] ?? 0, fingerprint: fp)
            }
        }
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
            return DeskStore.workbookKey(county: String(parts[1]), uploadDate: "\(String(d[0..<4]))-\(String(d[4..<6]))-\(String(d[6..<8]))")
        }
        return nil
    }

    // MARK: - Decision workbooks

    /// The site path of a county's sealed decision workbook for an upload date.
    static func workbookPath(county: String, date: String) -> String {
        "counties/\(county)/decisions/\(date.filter { $0 != "-" }).xlsx"
    }

    /// Writes and seals decision workbooks (one per county and upload date), runs `pages` (jobs
    /// of small pages) and renders schools' pages, on one pool of worker threads. Returns the
    /// school files rendered and the seconds the workbooks took, summed over the threads.
    func renderJobs(workbooks: [(County, String)], pages: [@Sendable () throws -> Void], schools: [SchoolEntry],
                    countyNames: [String: String], stamps: [String: String]) throws -> (Int, Double) {
        let lock = NSLock()
        nonisolated(unsafe) var rendered = 0
        nonisolated(unsafe) var workbookSeconds = 0.0
        try onWorkers(count: workbooks.count + pages.count + schools.count) { [self] queue, i in
            if i < workbooks.count {
                let started = Date()
                try publishDecisionWorkbook(county: workbooks[i].0, date: workbooks[i].1, queue: queue, stamps: stamps)
                lock.lock(); workbookSeconds += Date().timeIntervalSince(started); lock.unlock()
                return
            }
            if i < workbooks.count + pages.count {
                try pages[i - workbooks.count]()
                return
            }
            let school = schools[i - workbooks.count - pages.count]
            let (rows, history) = try queue.read {
                (try DeskStore.schoolRows($0, school: school.code),
                 try DeskStore.decisionHistory($0, school: school.code, includeDrafts: true))
            }
            let n = try renderSchool(school, rows: rows, history: history, countyNames: countyNames)
            lock.lock(); rendered += n; lock.unlock()
        }
        return (rendered, workbookSeconds)
    }

    /// Writes and seals one county's decision workbook for an upload date, from the pieces kept
    /// since the last build where their stamp (`stamps`, by school) still holds, and from the
    /// database for the rest; then keeps the pieces for the next build.
    func publishDecisionWorkbook(county: County, date: String, queue: DatabaseQueue, stamps: [String: String]) throws {
        guard let day = CivilDate.parse(date) else { return }
        let cache = pieceCacheFolder.map { DecisionPieceCache(file: $0.appendingPathComponent(DecisionPieceCache.fileName(county: county.code, date: date))) }
        let kept = cache?.load() ?? [:]
        let wanted = try queue.read { try DeskStore.decisionSheetPieces($0, county: county.code, uploadDate: date) }
        func stamp(_ school: String) -> String { stamps[school] ?? "" }
        var pieces: [DecisionSheetPiece?] = wanted.map { w in
            guard let k = kept[DecisionPieceCache.Key(kind: w.kind, school: w.school)], k.stamp == stamp(w.school),
                  k.piece.rows.count == w.rows else { return nil }
            return k.piece
        }
        let missing = pieces.indices.filter { pieces[$0] == nil }
        if !missing.isEmpty {
            if missing.count * 8 < wanted.count {
                // A few schools changed: read just their rows.
                for i in missing {
                    let rows = try queue.read {
                        try DeskStore.decisionSheetRows($0, county: county.code, uploadDate: date, school: wanted[i].school, kind: wanted[i].kind)
                    }
                    pieces[i] = try DecisionWorkbook.piece(kind: wanted[i].kind, schoolCode: wanted[i].school, rows: rows)
                }
            } else {
                // Most of the workbook changed: read it whole. Rows come by roster and school, so
                // each piece is a run of rows.
                let rows = try queue.read { try DeskStore.decisionSheetRows($0, county: county.code, uploadDate: date) }
                var missingAt: [DecisionPieceCache.Key: Int] = [:]
                for i in missing { missingAt[DecisionPieceCache.Key(kind: wanted[i].kind, school: wanted[i].school)] = i }
                for run in DecisionWorkbook.pieceRuns(rows) {
                    let first = rows[run.lowerBound]
                    if let i = missingAt.removeValue(forKey: DecisionPieceCache.Key(kind: first.rosterKind, school: first.schoolCode)) {
                        pieces[i] = try DecisionWorkbook.piece(kind: wanted[i].kind, schoolCode: wanted[i].school, rows: rows[run])
                    }
                }
                for i in missingAt.values { pieces[i] = try DecisionWorkbook.piece(kind: wanted[i].kind, schoolCode: wanted[i].school, rows: []) }
            }
            // Kept for the next build; a cache that cannot be written only costs time then.
            try? cache?.store(zip(wanted, pieces).map { (stamp($0.school), $1!) })
        }
        let token = DecisionToken(county: county.code, uploadDate: day, generation: workbookGeneration)
        let workbook = try DecisionWorkbook.data(countyName: county.name, token: token, tokenText: token.signed(with: decisionKey),
                                                 pieces: pieces.map { $0! })
        try publishSealedFile(Self.workbookPath(county: county.code, date: date), data: workbook, account: county.code)
    }

    /// Runs `job(connection, index)` for indexes `0..<count` on up to `workers` threads, each
    /// with its own read-only database connection; the first error stops the rest and is thrown.
    func onWorkers(count: Int, _ job: @escaping @Sendable (DatabaseQueue, Int) throws -> Void) throws {
        guard count > 0 else { return }
        final class Work: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var firstError: Error?
        }
        let work = Work()
        let group = DispatchGroup()
        for _ in 0..<max(1, min(workers, count)) {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                do {
                    var config = Configuration()
                    config.readonly = true
                    config.busyMode = .timeout(60)
                    let queue = try DatabaseQueue(path: databasePath, configuration: config)
                    while true {
                        work.lock.lock()
                        let i = work.next
                        work.next += 1
                        let stop = work.firstError != nil
                        work.lock.unlock()
                        if stop || i >= count { return }
                        try job(queue, i)
                    }
                } catch {
                    work.lock.lock()
                    if work.firstError == nil { work.firstError = error }
                    work.lock.unlock()
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        if let e = work.firstError { throw e }
    }

    // MARK: - Schools

    static func pageName(_ index: Int) -> String { index == 0 ? "index.html" : "page-\(index + 1).html" }
    static func detailName(_ date: String) -> String { "roster-" + date.filter { $0 != "-" } + ".html" }

    /// Counts of one roster (名冊) for the results page.
    struct Tally {
        var total = 0, notAssigned = 0, pending = 0, approved = 0, refused = 0
        mutating func add(_ state: String, _ n: Int = 1) {
            total += n
            switch state {
            case ReviewState.notAssigned.rawValue: notAssigned += n
            case ReviewState.pending.rawValue: pending += n
            case ReviewState.approved.rawValue: approved += n
            case ReviewState.refused.rawValue: refused += n
            default: break
            }
        }
        var assigned: Int { total - notAssigned }
        var decided: Int { approved + refused }
        var percent: Int { assigned == 0 ? 100 : decided * 100 / assigned }
        var context: [String: Any] {
            ["total": total, "notAssigned": notAssigned, "pending": pending, "approved": approved, "refused": refused,
             "assigned": max(assigned, 1), "decided": decided, "percent": percent]
        }
    }

    /// A row of a details or history table, answering template names without a dictionary.
    /// A class, so a lookup reads one field instead of copying the row.
    final class RowFrame: MustacheFrame {
        let row: ReportRow
        let anchor: Int
        let first: Bool
        let count: Int
        /// The row's decision history (審核歷程), one entry per line.
        let history: [String]
        /// Shown to the county: decisions awaiting sign-off and notes are included.
        let forCounty: Bool

        init(row: ReportRow, anchor: Int, first: Bool = false, count: Int = 0, history: [String] = [], forCounty: Bool = false) {
            self.row = row
            self.anchor = anchor
            self.first = first
            self.count = count
            self.history = history
            self.forCounty = forCounty
        }

        var refused: Bool {
            forCounty && row.draftState != nil ? row.draftState == .refused : row.state == .refused
        }

        /// The names a row answers (each case is the template's name for it), read through a
        /// table indexed by the key's number: a lookup is one array read and a switch over
        /// constants, not a comparison with each name.
        enum Slot: String, CaseIterable {
            case none, rosterKind, nationalID, name, birthDate, program, grade, status, start, end, countyName, reviewState
            case comment, systemChecks, uploadDate, anchor, isRefused, stateClass, history, remedy, first, count
        }

        static let slots: [Slot] = {
            let named = Slot.allCases.filter { $0 != .none }.map { (MustacheKey($0.rawValue), $0) }
            var table = [Slot](repeating: .none, count: (named.map(\.0.id).max() ?? 0) + 1)
            for (key, slot) in named { table[key.id] = slot }
            return table
        }()

        static func slot(_ key: MustacheKey) -> Slot {
            let table = slots
            return key.id < table.count ? table[key.id] : .none
        }

        func mustacheText(_ key: MustacheKey) -> String? { text(Self.slot(key)) }

        private func text(_ slot: Slot) -> String? {
            if forCounty {
                switch slot {
                case .reviewState: return row.countyState
                case .comment: return row.draftDecision != nil ? (row.draftComment ?? "") : row.comment
                case .systemChecks:
                    guard let note = row.decisionNote, !note.isEmpty else { return row.systemChecks }
                    return row.systemChecks.isEmpty ? note : row.systemChecks + "；" + note
                default: break
                }
            }
            switch slot {
            case .rosterKind: return row.rosterKind
            case .nationalID: return row.nationalID
            case .name: return row.name
            case .birthDate: return row.birthDate
            case .program: return row.program
            case .grade: return row.grade
            case .status: return row.status
            case .start: return row.start
            case .end: return row.end
            case .countyName: return row.countyName
            case .reviewState: return row.reviewState
            case .comment: return row.comment
            case .systemChecks: return row.systemChecks
            case .uploadDate: return row.uploadDate
            case .stateClass: return refused ? "refused" : (row.state == .notAssigned ? "unassigned" : "")
            case .anchor: return String(anchor)
            case .count: return String(count)
            case .none, .isRefused, .history, .remedy, .first: return nil
            }
        }

        func mustacheValue(_ key: MustacheKey) -> Any? {
            let slot = Self.slot(key)
            switch slot {
            case .anchor: return anchor
            case .isRefused: return refused
            case .history: return history.isEmpty ? nil : history.map { ["line": $0] }
            case .remedy: return row.reason.isEmpty ? nil : NotAssignedReason(text: row.reason)?.remedy
            case .first: return first
            case .count: return count
            default: return text(slot)
            }
        }
    }

    /// A student of a county's history page: their rows across months (`{{#entries}}`).
    struct StudentFrame: MustacheFrame {
        let entries: [MustacheFrame]
        static let entriesKey = MustacheKey("entries")
        func mustacheValue(_ key: MustacheKey) -> Any? { key == Self.entriesKey ? entries : nil }
    }

    /// One school's pages: results (one roster per page), details, search index, reports, and
    /// its students' history pages under each county.
    func renderSchool(_ school: SchoolEntry, rows: [ReportRow], history: [Int64: [DecisionHistoryEntry]] = [:],
                      countyNames: [String: String]) throws -> Int {
        let base = "schools/\(school.code)/"
        var dates: [String] = []
        var byDate: [String: [ReportRow]] = [:]
        for r in rows {
            if byDate[r.uploadDate] == nil { dates.append(r.uploadDate) }
            byDate[r.uploadDate, default: []].append(r)
        }
        var search: [UInt8] = [UInt8(ascii: "[")]
        var pages = 0
        for (i, date) in dates.enumerated() {
            let detailName = Self.detailName(date)
            let dateRows = byDate[date]!
            var tally = Tally()
            for r in dateRows { tally.add(r.reviewState) }
            var roster = tally.context
            roster["uploadDate"] = date
            roster["detailHref"] = detailName
            let pager: [[String: Any]] = dates.enumerated().map { j, d in ["label": d, "href": Self.pageName(j), "current": j == i] }
            let results = templates.render("school-results", [
                "root": "../../", "title": "審核結果查詢・\(school.name)", "schoolName": school.name, "schoolCode": school.code,
                "roster": roster, "pages": pager, "account": school.code, "accountName": school.name, "keyHref": "key.json",
                "indexPath": base + "search-index.json.enc", "base": base,
            ])
            try publisher.publish(base + Self.pageName(i), text: results)
            var rowContexts: [MustacheFrame] = []
            rowContexts.reserveCapacity(dateRows.count)
            for (k, r) in dateRows.enumerated() {
                rowContexts.append(RowFrame(row: r, anchor: k + 1, history: (history[r.id] ?? []).filter(\.final).map(\.line)))
                if search.last != UInt8(ascii: "[") { search.append(UInt8(ascii: ",")) }
                JSONText.raw("{\"id\":", to: &search); JSONText.append(r.nationalID, to: &search)
                JSONText.raw(",\"date\":", to: &search); JSONText.append(date, to: &search)
                JSONText.raw(",\"kind\":", to: &search); JSONText.append(r.rosterKind, to: &search)
                JSONText.raw(",\"state\":", to: &search); JSONText.append(r.reviewState, to: &search)
                JSONText.raw(",\"county\":", to: &search); JSONText.append(r.countyName, to: &search)
                JSONText.raw(",\"href\":", to: &search); JSONText.append(detailName + "#row-\(k + 1)", to: &search)
                search.append(UInt8(ascii: "}"))
            }
            let detail = templates.renderBytes("roster-detail", [
                "root": "../../", "title": "名冊明細・\(date)・\(school.name)", "schoolName": school.name,
                "uploadDate": date, "total": dateRows.count, "backHref": Self.pageName(i), "rows": rowContexts,
            ])
            try publishSealedPage(base + detailName, html: detail, account: school.code, accountName: school.name,
                                  title: "名冊明細・\(date)・\(school.name)", root: "../../")
            pages += 2
        }
        search.append(UInt8(ascii: "]"))
        try publishSealedFile(base + "search-index.json", data: Data(search), account: school.code)
        try SchoolReport.write(rows: rows, school: school, base: base) { path, data in
            try publishSealedFile(path, data: data, account: school.code)
        }
        pages += 3
        pages += try renderCountyHistories(school, rows: rows, history: history, countyNames: countyNames)
        return pages
    }

    /// The school's students registered in each county, with their history across months.
    func renderCountyHistories(_ school: SchoolEntry, rows: [ReportRow], history: [Int64: [DecisionHistoryEntry]],
                               countyNames: [String: String]) throws -> Int {
        var byCounty: [String: [ReportRow]] = [:]
        for r in rows where !r.countyCode.isEmpty { byCounty[r.countyCode, default: []].append(r) }
        for (county, countyRows) in byCounty {
            var order: [String] = []
            var byStudent: [String: [ReportRow]] = [:]
            for r in countyRows {
                if byStudent[r.nationalID] == nil { order.append(r.nationalID) }
                byStudent[r.nationalID, default: []].append(r)
            }
            order.sort()
            let students: [MustacheFrame] = order.map { id in
                let entries = byStudent[id]!
                return StudentFrame(entries: entries.enumerated().map { i, r in
                    RowFrame(row: r, anchor: i, first: i == 0, count: entries.count, history: (history[r.id] ?? []).map(\.line), forCounty: true)
                })
            }
            let title = "\(countyNames[county] ?? county)・\(school.name)"
            let html = templates.renderBytes("county-school", [
                "root": "../../../", "title": title,
                "countyName": countyNames[county] ?? county, "schoolName": school.name, "students": students,
            ])
            try publishSealedPage("counties/\(county)/schools/\(school.code).html", html: html, account: county,
                                  accountName: (countyNames[county] ?? county) + "政府", title: title, root: "../../../")
        }
        return byCounty.count
    }

    // MARK: - Small pages

    func publishHome(schools: [SchoolEntry], counties: [County], withRows: Set<String>) throws {
        var groups: [[String: Any]] = []
        for county in counties {
            let list = schools.filter { $0.countyCode == county.code && withRows.contains($0.code) }
            if !list.isEmpty { groups.append(["countyName": county.name, "schools": list.map { ["code": $0.code, "name": $0.name] }]) }
        }
        let unplaced = schools.filter { $0.countyCode == nil && withRows.contains($0.code) }
        if !unplaced.isEmpty { groups.append(["countyName": "其他（名冊新增之學校）", "schools": unplaced.map { ["code": $0.code, "name": $0.name] }]) }
        try publisher.publish("index.html", text: templates.render("home", [
            "root": "", "title": "首頁", "schoolGroups": groups,
            "counties": counties.map { ["code": $0.code, "name": $0.name] },
        ]))
    }

    func publishDirectory(counties: [County]) throws {
        try publisher.publish("directory.html", text: templates.render("directory", [
            "root": "", "title": "縣市政府通訊錄", "anyExample": counties.contains(where: \.isExample),
            "counties": counties.map { ["code": $0.code, "name": $0.name, "office": $0.office, "phone": $0.phone,
                                        "address": $0.address, "email": $0.email, "isExample": $0.isExample] },
        ]))
    }

    func publishOverview(counties: [County], counts: [RosterCount]) throws {
        var tallies: [String: Tally] = [:]
        var notAssigned = 0
        for c in counts {
            if c.countyCode.isEmpty { notAssigned += c.count } else { tallies[c.countyCode, default: Tally()].add(c.reviewState, c.count) }
        }
        var totals = Tally()
        var rows: [[String: Any]] = []
        let maxTotal = max(1, tallies.values.map(\.total).max() ?? 1)
        var bars: [[String: Any]] = []
        let labelWidth = 80.0, barArea = 560.0, barHeight = 16.0, step = 24.0
        for (i, county) in counties.enumerated() {
            let t = tallies[county.code] ?? Tally()
            totals.total += t.total; totals.pending += t.pending; totals.approved += t.approved; totals.refused += t.refused
            var row = t.context
            row["code"] = county.code
            row["name"] = county.name
            rows.append(row)
            let scale = barArea / Double(maxTotal)
            let y = 8.0 + Double(i) * step
            let a = Double(t.approved) * scale, r = Double(t.refused) * scale, p = Double(t.pending) * scale
            func f(_ v: Double) -> String { String(format: "%.1f", v) }
            bars.append(["name": county.name, "y": f(y), "textY": f(y + 13), "labelX": f(labelWidth - 6), "barHeight": f(barHeight),
                         "x0": f(labelWidth), "approvedWidth": f(a), "x1": f(labelWidth + a), "refusedWidth": f(r),
                         "x2": f(labelWidth + a + r), "pendingWidth": f(p), "totalX": f(labelWidth + a + r + p + 4),
                         "approved": t.approved, "refused": t.refused, "pending": t.pending, "total": t.total])
        }
        let chart: [String: Any] = ["width": Int(labelWidth + barArea + 60), "height": Int(16 + Double(counties.count) * step), "bars": bars]
        try publisher.publish("overview.html", text: templates.render("overview", [
            "root": "", "title": "全國審核進度", "rows": rows, "totals": totals.context, "chart": chart, "notAssigned": notAssigned,
        ]))
    }

    func publishCounty(_ county: County, schools: [SchoolEntry], counts: [RosterCount], awaiting: [String: [String: Int]],
                       notices: [CountyNotice]) throws {
        let names = Dictionary(uniqueKeysWithValues: schools.map { ($0.code, $0.name) })
        var byDate: [String: [String: Tally]] = [:]
        for c in counts { byDate[c.uploadDate, default: [:]][c.schoolCode, default: Tally()].add(c.reviewState, c.count) }
        let dates = byDate.keys.sorted(by: >).map { date -> [String: Any] in
            let pendingDays = CivilDate.parse(date).map { today.daysSinceEpoch - $0.daysSinceEpoch } ?? 0
            var total = Tally()
            var totalAwaiting = 0
            let schoolRows = byDate[date]!.sorted { $0.key < $1.key }.map { code, t -> [String: Any] in
                total.total += t.total; total.pending += t.pending; total.approved += t.approved; total.refused += t.refused
                var c = t.context
                c["schoolCode"] = code
                c["schoolName"] = names[code] ?? code
                c["href"] = "schools/\(code).html"
                c["max"] = max(t.total, 1)
                let waiting = awaiting[date]?[code] ?? 0
                c["awaiting"] = waiting
                totalAwaiting += waiting
                if t.pending > 0 { c["pendingDays"] = pendingDays }
                return c
            }
            var c = total.context
            c["uploadDate"] = date
            c["schools"] = schoolRows
            c["awaiting"] = totalAwaiting
            let workbook = Self.workbookPath(county: county.code, date: date)
            c["workbookHref"] = "decisions/" + (workbook as NSString).lastPathComponent + ".enc"
            c["workbookSealed"] = workbook + ".enc"
            c["workbookName"] = DecisionWorkbook.fileName(county: county.code, uploadDate: date)
            if total.pending > 0 { c["pendingDays"] = pendingDays }
            return c
        }
        let noticeContexts: [[String: Any]] = notices.map {
            ["receivedAt": $0.receivedAt, "fileReference": $0.fileReference, "accepted": $0.accepted, "summary": $0.summary,
             "problems": $0.problems.map { ["line": $0] }, "hasProblems": !$0.problems.isEmpty]
        }
        try publisher.publish("counties/\(county.code)/index.html", text: templates.render("county", [
            "root": "../../", "title": "\(county.name)審核", "countyName": county.name, "countyCode": county.code,
            "today": today.iso, "dates": dates, "notices": noticeContexts,
            "account": county.code, "accountName": county.name + "政府", "keyHref": "key.json",
            "unlockNote": "審核名冊含個人資料，已加密保護。",
        ]))
    }

    func publishTemplatesPage() throws {
        let files = try RosterTemplateFiles.write(rules: rules, publisher: publisher)
        try publisher.publish("templates/index.html", text: templates.render("roster-templates", [
            "root": "../", "title": "名冊範本", "files": files,
            "columns": RosterColumn.templateOrder.map { ["name": $0.rawValue, "required": $0.isRequired, "help": $0.help] },
        ]))
    }
}

/// JSON string literals for script files: escapes quotes, backslashes, control characters and
/// `<`, `>`, `&` (so the text can never close a script element).
enum JSONText {
    /// Whether a byte takes a string off the fast path: a quote, backslash, `<`, `>`, `&`, a
    /// control character or the lead byte of U+2028/U+2029.
    static func needsEscape(_ b: UInt8) -> Bool {
        b < 0x20 || b == 0x22 || b == 0x5C || b == 0x3C || b == 0x3E || b == 0x26 || b == 0xE2
    }

    /// Appends a JSON string literal of `s` to UTF-8 bytes (the same text as the `String` form).
    static func append(_ s: String, to out: inout [UInt8]) {
        var s = s
        let plain = s.withUTF8 { u -> Bool in
            for b in u where needsEscape(b) { return false }
            out.append(0x22)
            out.append(contentsOf: u)
            out.append(0x22)
            return true
        }
        if !plain {
            var text = ""
            append(s, to: &text)
            out.append(contentsOf: text.utf8)
        }
    }

    /// Appends markup as is.
    static func raw(_ s: StaticString, to out: inout [UInt8]) {
        s.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    static func append(_ s: String, to out: inout String) {
        // Fast path: nothing to escape (no quote, backslash, < > &, control or U+2028/9 lead byte).
        if !s.utf8.contains(where: needsEscape) {
            out += "\""
            out += s
            out += "\""
            return
        }
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
