import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentStore

/// What a build works from, read from the database once: the schools and counties (codes of
/// the whitelisted forms only: a school made from a hostile cell by an older desk gets no
/// folder), the counts pages show, and what each group of pages was last built from.
struct SiteInputs {
    var schools: [SchoolEntry]
    var counties: [County]
    var counts: [RosterCount]
    var versions: [String: Int64]
    var state: [String: (Int64, String)]
    var decisionDates: [String: [String]]
    var awaiting: [String: [String: [String: Int]]]
    var notices: [String: [CountyNotice]]
    /// Upload dates whose rows were purged (保存期限屆滿): their counts stay, their pages go.
    var purged: [String: Int]
    /// Contacts as clerks keep them (帳號維護), by account.
    var contacts: [String: (name: String, phone: String, email: String)]
    /// What every page is rendered from besides its rows: the templates, the code and the
    /// reference data (a school renamed in `seeds/` shows everywhere).
    var fingerprint: String

    /// County names by code, the schools with rows, and each school's counts by upload date
    /// (rosters with rows, and rosters purged): derived once, read by several steps.
    let countyNames: [String: String]
    let schoolsWithRows: Set<String>
    let rosterTallies: [String: [String: SiteBuilder.Tally]]
    let purgedTallies: [String: [String: SiteBuilder.Tally]]

    init(schools: [SchoolEntry], counties: [County], counts: [RosterCount], versions: [String: Int64],
         state: [String: (Int64, String)], decisionDates: [String: [String]], awaiting: [String: [String: [String: Int]]],
         notices: [String: [CountyNotice]], fingerprint: String, purged: [String: Int] = [:],
         contacts: [String: (name: String, phone: String, email: String)] = [:]) {
        (self.schools, self.counties, self.counts, self.versions, self.state) = (schools, counties, counts, versions, state)
        (self.decisionDates, self.awaiting, self.notices) = (decisionDates, awaiting, notices)
        (self.fingerprint, self.purged, self.contacts) = (fingerprint, purged, contacts)
        countyNames = Dictionary(uniqueKeysWithValues: counties.map { ($0.code, $0.name) })
        schoolsWithRows = Set(counts.map(\.schoolCode))
        var tallies: [String: [String: SiteBuilder.Tally]] = [:], purgedTallies = tallies
        for c in counts {
            if purged[c.uploadDate] != nil {
                purgedTallies[c.schoolCode, default: [:]][c.uploadDate, default: .init()].add(c.reviewState, c.count)
            } else {
                tallies[c.schoolCode, default: [:]][c.uploadDate, default: .init()].add(c.reviewState, c.count)
            }
        }
        (rosterTallies, self.purgedTallies) = (tallies, purgedTallies)
    }

    static func read(_ store: DeskStore, code fingerprint: String) throws -> SiteInputs {
        try store.queue.read { db in
            let seeds = try String.fetchAll(db, sql: "SELECT name || '=' || sha256 FROM seed_state ORDER BY name")
            return SiteInputs(
                schools: try DeskStore.schools(db).filter { PathGate.accepts($0.code, as: .schoolCode) },
                counties: try DeskStore.counties(db).filter { PathGate.accepts($0.code, as: .countyCode) },
                counts: try DeskStore.rosterCounts(db).filter { PathGate.accepts($0.schoolCode, as: .schoolCode) },
                versions: try DeskStore.groupVersions(db), state: try DeskStore.siteState(db),
                decisionDates: try DeskStore.decisionDates(db), awaiting: try DeskStore.awaitingSignOffCounts(db),
                notices: try DeskStore.countyNotices(db),
                fingerprint: fingerprint + "/" + SHA256.hash(data: Data(seeds.joined(separator: "\n").utf8)).prefix(8).lowercaseHex,
                purged: try DeskStore.purgedMonths(db), contacts: try DeskStore.contacts(db))
        }
    }
}

/// What a build renders again and what it keeps (change detection), per school *and* upload
/// date: a school's roster of one upload date (its details and search piece), a school's own
/// pages (results, reports), and a county's roster of an upload date (its decision workbook and
/// students' page) are each rendered when a file touched them since the last build (their group
/// version), when the templates, code or reference data changed, or when a file of theirs is
/// missing from the site; everything else keeps what is published.
struct SitePlan {
    /// A school whose own pages are rendered, and the upload dates whose rosters are.
    struct SchoolWork {
        let school: SchoolEntry
        let dates: Set<String>
    }
    var workbooks: [(County, String)] = []
    var schools: [SchoolWork] = []
    var schoolsKept = 0
    var rostersRendered = 0
    var rostersKept = 0

    init(_ inputs: SiteInputs, publisher: SitePublisher, force: Bool) {
        func unchanged(_ key: String) -> Bool {
            !force && inputs.state[key].map { $0.0 == (inputs.versions[key] ?? 0) && $0.1 == inputs.fingerprint } == true
                && publisher.stillPresent(group: key)
        }
        publisher.indexGroups(SiteBuilder.group(of:))
        for county in inputs.counties {
            for date in inputs.decisionDates[county.code] ?? [] {
                let key = DeskStore.workbookKey(county: county.code, uploadDate: date)
                if unchanged(key) { publisher.keep(group: key) } else { workbooks.append((county, date)) }
            }
        }
        let withRows = inputs.schoolsWithRows
        for school in inputs.schools where withRows.contains(school.code) {
            var dates = Set<String>()
            for date in (inputs.rosterTallies[school.code] ?? [:]).keys {
                let key = DeskStore.rosterKey(school: school.code, uploadDate: date)
                if unchanged(key) { publisher.keep(group: key); rostersKept += 1 } else { dates.insert(date) }
            }
            let key = "school:" + school.code
            if dates.isEmpty && unchanged(key) {
                publisher.keep(group: key)
                schoolsKept += 1
            } else {
                schools.append(SchoolWork(school: school, dates: dates))
                rostersRendered += dates.count
            }
        }
    }

    /// Records what was rendered from, for the next build's change detection.
    func record(_ inputs: SiteInputs, in store: DeskStore) throws {
        try store.queue.write { db in
            var keys = workbooks.map { DeskStore.workbookKey(county: $0.0.code, uploadDate: $0.1) }
            for work in schools {
                keys.append("school:" + work.school.code)
                keys += work.dates.map { DeskStore.rosterKey(school: work.school.code, uploadDate: $0) }
            }
            for key in keys { try DeskStore.recordSiteState(db, key, version: inputs.versions[key] ?? 0, fingerprint: inputs.fingerprint) }
        }
    }
}
