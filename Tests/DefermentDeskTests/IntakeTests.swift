import Foundation
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentStore
@testable import DefermentCore
import DefermentSite

@Suite(.serialized)
struct IntakeTests {
    @Test func sampleRostersCoverEveryOutcomeAtLeastTwice() throws {
        let root = try temporaryRoot()
        for name in ["roster-20261015.csv", "roster-20261115.csv"] {
            try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/\(name)")), as: name, into: .rosters, root: root)
        }
        let desk = try openDesk(root)
        let summary = try desk.runOnce()
        #expect(summary.files.count == 2)
        #expect(summary.rejectedCount == 0)
        let reasons = ["身分證字號格式錯誤", "身分證字號與出生日期不符", "查無役政資料"]
        for reason in reasons {
            #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE reason = '\(reason)'") >= 2, "\(reason)")
        }
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE reason LIKE '欄位錯誤：%'") >= 2)
        for check in ["就讀同等級或低於原等級學校", "逾就學年齡限制（33歲）", "逾就學年齡限制（24歲）", "已有未結束之在學緩徵註記",
                      "役別不符：", "身分證字號性別碼為女性", "緩徵終止日期非高三之年6月30日", "緩徵起始日期晚於終止日期"] {
            #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE checks LIKE '%\(check)%'") >= 2, "\(check)")
        }
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE roster_kind = '離校'") >= 2)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE review_state = '待審核' AND county_code IS NULL") == 0)
        #expect(try count(root, "SELECT COUNT(DISTINCT county_code) FROM roster_row") >= 5)
        #expect(try count(root, "SELECT COUNT(DISTINCT school_code) FROM roster_row") >= 30)
        // The school first seen in month 2 was added with the name from the file, and said so.
        #expect(try count(root, "SELECT COUNT(*) FROM school WHERE code = '999001' AND source = 'roster' AND name = '私立新設實驗高級中學'") == 1)
        #expect(summary.files[1].roster?.newSchools == ["999001"])
        // Month 2 is CP950; its names came through intact.
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE upload_date = '2026-11-15' AND name GLOB '*[?]*'") == 0)
        // Upload dates came from the file names.
        #expect(try count(root, "SELECT COUNT(DISTINCT upload_date) FROM roster_row") == 2)
        #expect(try count(root, "SELECT COUNT(*) FROM input_file WHERE upload_date_source = '檔名'") == 2)
        // Raw inputs are archived; nothing is left queued.
        let archived = try FileManager.default.subpathsOfDirectory(atPath: desk.paths.archive.path).filter { $0.hasSuffix(".csv") }
        #expect(archived.count == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: desk.paths.active(.rosters).path).isEmpty)
    }

    @Test func sameBytesTwiceIsAReportedNoOp() throws {
        let root = try temporaryRoot()
        let bytes = try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/roster-20261015.csv"))
        try drop(bytes, as: "roster-20261015.csv", into: .rosters, root: root)
        let desk = try openDesk(root)
        _ = try desk.runOnce()
        let rows = try count(root, "SELECT COUNT(*) FROM roster_row")
        try drop(bytes, as: "again-20261015.csv", into: .rosters, root: root)
        let second = try desk.runOnce()
        guard case .duplicate(let why) = second.files.first?.result else { Issue.record("not reported as duplicate: \(second.files)"); return }
        #expect(why.contains("roster-20261015.csv"))
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == rows)
        #expect(try count(root, "SELECT COUNT(*) FROM input_file") == 1)
    }

    @Test func sameRowResentForSameSchoolAndDateIsNotRecordedTwice() throws {
        let root = try temporaryRoot()
        let id = Fixture.id(1)
        try drop(Fixture.registryHeader + "\(id),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n", as: "reg.csv", into: .registry, root: root)
        let line = "\(id),0951023,王小明,110000,範例高中,普通科,3,1151015,1160630,在學,否\n"
        try drop(Fixture.rosterHeader + line + line, as: "a-20261015.csv", into: .rosters, root: root)
        try drop(Fixture.rosterHeader + "備註不同但內容相同,\n".prefix(0) + line, as: "b-20261015.csv", into: .rosters, root: root)
        let desk = try openDesk(root)
        let summary = try desk.runOnce()
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 1)
        #expect(summary.files.compactMap(\.roster).map(\.duplicates) == [1, 1])
        // Another upload date is another roster.
        try drop(Fixture.rosterHeader + line.replacingOccurrences(of: "\n", with: "\r\n"), as: "c-20261115.csv", into: .rosters, root: root)
        _ = try desk.runOnce()
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 2)
    }

    /// A row listed twice in one file, for a school and upload date with no rows before it: the
    /// second is not taken for a new row (the reading thread's record of the keys seen, kept in
    /// storing order, says it was seen), so the later values replace the earlier ones, whether
    /// the two land in one sorted chunk or in different ones, on the small or the large path.
    @Test(arguments: [(false, 100), (true, 100), (true, 7), (true, 3)])
    func aRowListedTwiceInANewRosterIsStoredOnceWithItsLaterValues(_ c: (large: Bool, sortChunk: Int)) throws {
        let root = try temporaryRoot()
        let ids = (1...12).map { Fixture.id($0) }
        try drop(Fixture.registryHeader + ids.map { "\($0),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n" }.joined(),
                 as: "reg.csv", into: .registry, root: root)
        func line(_ id: String, grade: Int) -> String { "\(id),0951023,王小明,110000,範例高中,普通科,\(grade),1151015,1160630,在學,否\n" }
        let rows = [line(ids[0], grade: 1)] + ids.dropFirst().map { line($0, grade: 2) } + [line(ids[0], grade: 3)]
        try drop(Fixture.rosterHeader + rows.joined(), as: "twice-20261015.csv", into: .rosters, root: root)
        let desk = try openDesk(root)
        if c.large {
            desk.rosterTuning.alwaysReadRegistryIntoMemory()
            desk.rosterTuning.sortChunk = c.sortChunk
        }
        let summary = try desk.runOnce()
        #expect(summary.rejectedCount == 0)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 12)
        #expect(try count(root, "SELECT grade FROM roster_row WHERE national_id = '\(ids[0])'") == 3)
        #expect(summary.files.compactMap(\.roster).map(\.replaced) == [1])
        #expect(try count(root, "SELECT SUM(n) FROM roster_counts") == 12)
    }

    /// The filter of keys seen never takes a key it was given for a new one, and takes few new
    /// keys for seen ones at the size it was made for (each such row only goes the slower way).
    @Test func theFilterOfKeysSeenNeverMissesAndRarelyMistakesANewKey() {
        let rows = 200_000
        let seen = SeenRowKeys(expectedRows: rows)
        var rng = SystemRandomNumberGenerator()
        let given = (0..<rows).map { _ in rng.next() as UInt64 }
        #expect(given.filter { seen.insert($0) }.count >= rows - 5_000)
        #expect(given.allSatisfy { !seen.insert($0) })
        // About 2% in theory (three bits in a 512-bit block, ten bits a key); 4% would mean a
        // filter much worse than made.
        let fresh = 20_000
        let mistaken = (0..<fresh).filter { _ in !seen.insert(rng.next()) }.count
        #expect(mistaken < fresh / 25)
    }

    /// A large file's path (registry read into memory, rows checked on the reading thread and
    /// stored sorted in chunks, counts taken while storing) records exactly what the small-file
    /// path (a look-up per row, rows in file order, counts read back) records. The chunks are
    /// made tiny so that resent rows fall into different chunks.
    @Test func largeFilePathRecordsWhatTheSmallFilePathRecords() throws {
        let id = Fixture.id(5)
        let resent = Fixture.rosterHeader
            + "\(id),0951023,王小明,110000,範例高中,普通科,2,1151015,1160630,在學,否\n"
            + "\(id),0951023,王小明,110000,範例高中,普通科,3,1151015,1160630,在學,否\n"
        var results: [[String]] = []
        var counts: [[String]] = []
        var summaries: [[String]] = []
        for large in [false, true] {
            let root = try temporaryRoot()
            try drop(Fixture.registryHeader + "\(id),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n", as: "reg.csv", into: .registry, root: root)
            for name in ["roster-20261015.csv", "roster-20261115.csv"] {
                try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/\(name)")), as: name, into: .rosters, root: root)
            }
            try drop(resent, as: "resent-20261015.csv", into: .rosters, root: root)
            let desk = try openDesk(root)
            if large {
                desk.rosterTuning.alwaysReadRegistryIntoMemory()
                desk.rosterTuning.sortChunk = 7
            }
            let summary = try desk.runOnce()
            #expect(summary.rejectedCount == 0)
            summaries.append(summary.files.compactMap(\.roster).map { s in
                "\(s.rows) \(s.byState.sorted { $0.key.rawValue < $1.key.rawValue }) \(s.byCounty.sorted { $0.key < $1.key }) "
                    + "\(s.byReason.sorted { $0.key < $1.key }) dup \(s.duplicates) upd \(s.replaced) new \(s.newSchools.sorted()) \(s.changedCounties.sorted())"
            })
            let q = try DatabaseQueue(path: desk.paths.database.path)
            results.append(try q.read { try String.fetchAll($0, sql: """
                SELECT school_code || '|' || upload_date || '|' || roster_kind || '|' || row_key || '|' || source_row || '|' || grade || '|'
                  || review_state || '|' || COALESCE(reason, '') || '|' || checks || '|' || COALESCE(county_code, '') || '|' || row_hash
                FROM roster_row ORDER BY 1
                """) })
            let stored = try q.read { try String.fetchAll($0, sql: """
                SELECT school_code || '|' || upload_date || '|' || county_code || '|' || roster_kind || '|' || review_state || '|' || n || '|' || COALESCE(oldest_pending, '')
                FROM roster_counts ORDER BY 1
                """) }
            // What the table holds is what counting the rows gives.
            let recounted = try q.read { try String.fetchAll($0, sql: """
                SELECT school_code || '|' || upload_date || '|' || COALESCE(county_code, '') || '|' || roster_kind || '|' || review_state || '|' || COUNT(*) || '|'
                  || COALESCE(CASE WHEN review_state = '待審核' THEN MIN(upload_date) END, '')
                FROM roster_row GROUP BY school_code, upload_date, COALESCE(county_code, ''), roster_kind, review_state ORDER BY 1
                """) }
            #expect(stored == recounted)
            counts.append(stored)
            // The resent row: the later values replaced the earlier ones.
            #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE national_id = '\(id)' AND upload_date = '2026-10-15'") == 1)
            #expect(try count(root, "SELECT grade FROM roster_row WHERE national_id = '\(id)' AND upload_date = '2026-10-15'") == 3)
        }
        #expect(results[0].count > 500)
        #expect(results[0] == results[1])
        #expect(counts[0] == counts[1])
        #expect(summaries[0] == summaries[1])
    }

    /// An extract and a roster in one run: the roster is checked against the registry as the
    /// extract left it, whether its rows are looked up one by one (small file) or checked
    /// against the registry in memory, completed with the extract as it was stored (large
    /// file). The extract names 40 more people and the roster lists them, so both are stored in
    /// full batches as well as a partial one.
    @Test(arguments: [false, true])
    func aRosterAfterAnExtractInTheSameRunSeesTheRegistryAsTheExtractLeftIt(large: Bool) throws {
        let root = try temporaryRoot("sameRun\(large)")
        let (a, b, c, d) = (Fixture.id(11), Fixture.id(12), Fixture.id(13), Fixture.id(14))
        let others = (100..<140).map { Fixture.id($0) }
        try drop(Fixture.registryHeader + [a, b, c].map { "\($0),0951023,甲,63000,高中肄業,未經徵兵處理,,\n" }.joined(),
                 as: "r1.csv", into: .registry, root: root)
        let desk = try openDesk(root)
        _ = try desk.runOnce()
        try drop(Fixture.registryHeader
                 + "\(a),0951023,甲,66000,高中肄業,未經徵兵處理,,\n"       // moved to 臺中市
                 + "\(b),0951023,乙,65000,高中肄業,未經徵兵處理,,\n"       // named twice: the later row holds
                 + others.map { "\($0),0951023,丙,63000,高中肄業,未經徵兵處理,,\n" }.joined()
                 + "\(b),0951023,乙,64000,高中肄業,未經徵兵處理,,\n"
                 + "\(d),0951023,丁,63000,高中肄業,免役,,\n",              // new, and exempt
                 as: "r2.csv", into: .registry, root: root)
        try drop(Fixture.rosterHeader + ([a, b, c, d] + others).map { "\($0),0951023,王小明,110000,範例高中,普通科,3,1151015,1160630,在學,否\n" }.joined(),
                 as: "roster-20261015.csv", into: .rosters, root: root)
        if large { desk.rosterTuning.alwaysReadRegistryIntoMemory() }
        let summary = try desk.runOnce()
        #expect(summary.files.map(\.kind) == [.registry, .rosters])
        #expect(summary.rejectedCount == 0)
        func county(_ id: String) throws -> Int { try count(root, "SELECT county_code FROM roster_row WHERE national_id = '\(id)'") }
        #expect(try county(a) == 66000)
        #expect(try county(b) == 64000)
        #expect(try count(root, "SELECT county_code FROM person WHERE national_id = '\(b)'") == 64000)
        #expect(try county(c) == 63000)   // not in the second extract: as the first one said
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE national_id = '\(d)' AND checks LIKE '%役別不符：免役%'") == 1)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE review_state = '待審核' AND county_code = '63000' AND checks = ''") == 40 + 1)
        #expect(try count(root, "SELECT COUNT(*) FROM person") == 404 + 4 + 40)
        // Each row's hash is stored as 16 lowercase hex digits, the form earlier versions
        // stored (a resent row is compared with it).
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE length(row_hash) = 16 AND row_hash NOT GLOB '*[^0-9a-f]*'") == 44)
        #expect(summary.files.last?.roster?.rows == 44)
    }

    /// A desk on `root` that reads every roster ahead after an extract (each counts as large),
    /// with an extract naming `people` (Taipei, no deferment) and a roster of the same people.
    func readAheadCase(_ root: URL, people: Range<Int>) throws -> (ids: [String], registry: String, roster: String, desk: Desk) {
        let ids = people.map { Fixture.id($0) }
        let registry = Fixture.registryHeader + ids.map { "\($0),0951023,甲,63000,高中肄業,未經徵兵處理,,\n" }.joined()
        let roster = Fixture.rosterHeader + ids.map { "\($0),0951023,王小明,110000,範例高中,普通科,3,1151015,1160630,在學,否\n" }.joined()
        let desk = try openDesk(root)
        desk.rosterTuning.alwaysReadRegistryIntoMemory()
        return (ids, registry, roster, desk)
    }

    /// The roster after the run's last extract is claimed and read while the extract is still
    /// being stored. Read ahead, it is still refused as a repeat when its bytes were applied
    /// before, and applied in full when the extract before it is refused.
    @Test func aRosterReadAheadOfItsTurnIsHandledAsAnyOther() throws {
        let root = try temporaryRoot("readAhead")
        let (ids, registry, roster, desk) = try readAheadCase(root, people: 200..<260)
        try drop(registry, as: "r1.csv", into: .registry, root: root)
        try drop(roster, as: "roster-20261015.csv", into: .rosters, root: root)
        var summary = try desk.runOnce()
        #expect(summary.files.map(\.kind) == [.registry, .rosters])
        #expect(summary.files.last?.roster?.rows == 60)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE county_code = '63000' AND review_state = '待審核'") == 60)

        // The same roster again, behind an extract that cannot be read at all.
        try drop("這不是役政資料\n", as: "r2.csv", into: .registry, root: root)
        try drop(roster, as: "roster-20261015-again.csv", into: .rosters, root: root)
        summary = try desk.runOnce()
        guard summary.files.count == 2 else { Issue.record("\(summary.files)"); return }
        if case .rejected = summary.files[0].result {} else { Issue.record("extract: \(summary.files[0].result)") }
        if case .duplicate = summary.files[1].result {} else { Issue.record("roster: \(summary.files[1].result)") }
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 60)

        // A new roster behind a refused extract: read against the registry as it stands.
        try drop("這也不是\n", as: "r3.csv", into: .registry, root: root)
        try drop(Fixture.rosterHeader + ids.map { "\($0),0951023,王小明,120000,另一高中,普通科,3,1151015,1160630,在學,否\n" }.joined(),
                 as: "roster-20261115.csv", into: .rosters, root: root)
        summary = try desk.runOnce()
        #expect(summary.files.last?.roster?.rows == 60)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE school_code = '120000' AND county_code = '63000'") == 60)
        // Nothing is left claimed in the queue.
        let active = try FileManager.default.subpathsOfDirectory(atPath: desk.paths.active(.rosters).path)
        #expect(active.isEmpty)
    }

    /// The roster read ahead is checked against the extract before it once that extract has
    /// been read, before it is committed. When storing the extract then fails, the roster is
    /// checked again against the registry the database holds, not the extract that failed.
    @Test func aRosterReadAheadOfAnExtractThatFailsToStoreIsCheckedAgainstTheStoredRegistry() throws {
        let root = try temporaryRoot("readAheadFails")
        let (ids, registry, roster, desk) = try readAheadCase(root, people: 300..<360)
        // Storing the extract's last person fails, after the whole extract has been read.
        let db = try DatabaseQueue(path: root.appendingPathComponent("state/deferment.sqlite").path)
        try db.write { try $0.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON person WHEN NEW.national_id = '\(ids.last!)' BEGIN SELECT RAISE(ABORT, 'refused'); END") }
        try db.close()
        try drop(registry, as: "r1.csv", into: .registry, root: root)
        try drop(roster, as: "roster-20261015.csv", into: .rosters, root: root)
        let summary = try desk.runOnce()
        guard summary.files.count == 2 else { Issue.record("\(summary.files)"); return }
        if case .failed = summary.files[0].result {} else { Issue.record("extract: \(summary.files[0].result)") }
        #expect(try count(root, "SELECT COUNT(*) FROM person WHERE national_id = '\(ids[0])'") == 0)
        #expect(summary.files[1].roster?.rows == 60)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE review_state = '不分派' AND reason = '查無役政資料'") == 60)
    }

    /// Sort chunks keep their full size until the last rows, then shrink to a quarter of what
    /// is left (never under 1,024), so the writing thread's work after the last read is small.
    @Test(arguments: [
        // (rows read, file size, bytes left, chunk)
        (32_768, 120_000_000, 116_000_000, 32_768),   // early in the file
        (900_000, 120_000_000, 12_000_000, 25_000),   // 100,000 rows left
        (990_000, 120_000_000, 1_200_000, 2_500),     // 10,000 left
        (999_000, 120_000_000, 0, 1_024),             // all read: the last rows in the buffer
        (1_000, 0, 0, 32_768),                        // size unknown
    ] as [(Int, Int, Int, Int)])
    func sortChunksShrinkNearTheEndOfTheFile(_ c: (Int, Int, Int, Int)) {
        #expect(RosterIntake.nextChunkSize(32_768, rowsRead: c.0, fileSize: c.1, bytesLeft: c.2) == c.3)
        #expect(RosterIntake.nextChunkSize(32_768, rowsRead: c.0, fileSize: c.1, bytesLeft: nil) == 32_768)
    }

    /// A database made before registry records were stored by row id keeps every person
    /// through the change, and an extract then still replaces what it says of them.
    @Test func registryRecordsSurviveTheMoveToATableWithRowIDs() throws {
        let path = try temporaryRoot().appendingPathComponent("old.sqlite").path
        let old = try DatabaseQueue(path: path)
        try DeskStore.migrator.migrate(old, upTo: "v5-mail")
        try old.write { db in
            try db.execute(sql: """
                INSERT INTO person VALUES ('\(Fixture.id(1))', '2006-10-23', '王小明', '63000', '高中肄業', '未經徵兵處理', NULL, NULL, 1),
                                          ('\(Fixture.id(2))', '2006-01-02', '李大同', '64000', '高中畢業', '免役', '2025-09-01', NULL, 1)
                """)
        }
        try old.close()
        let store = try DeskStore(path: path)
        try store.queue.write { db in
            #expect(try String.fetchAll(db, sql: "SELECT name FROM person ORDER BY national_id") == ["王小明", "李大同"])
            #expect(try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE tbl_name = 'person' ORDER BY name")
                        == ["person", "person_national_id"])
            #expect(try PersonLookup(db).person(Fixture.id(2))?.deferment?.start == CivilDate(year: 2025, month: 9, day: 1))
            let writer = try PersonWriter(db, fileID: 2)
            var packed: [UInt8] = []
            for v in [Fixture.id(1), "2006-10-23", "王小明", "65000", "高中畢業", "未經徵兵處理"] as [String?] + [nil, nil] {
                PackedRosterRows.put(v, &packed)
            }
            try packed.withUnsafeBufferPointer { try writer.save(packed: $0, from: 0) }
            try writer.finish()
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM person") == 2)
            #expect(try String.fetchOne(db, sql: "SELECT county_code FROM person WHERE national_id = ?", arguments: [Fixture.id(1)]) == "65000")
        }
    }

    /// A row sent to the batch as new when its key is in fact stored is not dropped quietly:
    /// storing its batch fails (and with it the file's transaction), and the rows of a batch
    /// that was stored are all there.
    @Test func aRowWronglyTakenForNewFailsItsBatchInsteadOfVanishing() throws {
        let store = try DeskStore(path: nil)
        let rules = try ReferenceData.load(from: seedsFolder).rules
        func row(_ n: Int) -> RecordedRosterRow {
            let raw = RosterRow(sourceRow: n + 1, values: [
                .nationalID: Fixture.id(n), .birthDate: "0951023", .name: "王小明", .schoolCode: "110000", .schoolName: "範例高中",
                .program: "普通科", .grade: "3", .start: "1151015", .end: "1160630", .status: "在學", .experimental: "否"])
            let parsed = RosterRules.parse(raw, rules: rules, today: CivilDate(year: 2026, month: 12, day: 4)!)
            return RecordedRosterRow(sourceRow: n + 1, uploadDate: CivilDate(year: 2026, month: 10, day: 15)!, parsed: parsed,
                                     rosterKind: .application,
                                     assessment: RowAssessment(state: .pending, reason: nil, countyCode: "63000", checks: []))
        }
        try store.queue.write { db in
            let file = try DeskStore.addLedgerEntry(db, sha256: "x", kind: "rosters", originalName: "a.csv", archivedPath: "a.csv",
                                                    uploadDate: nil, uploadDateSource: nil, format: "")
            let writer = try RosterRowWriter(db, fileID: file)
            #expect(try writer.write(row(1)) == .inserted)
            for n in 2...40 { #expect(try writer.write(row(n), isNew: true) == .inserted) }
            #expect(try writer.write(row(1)) == .duplicate)   // stores the waiting rows first
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM roster_row") == 40)
            _ = try writer.write(row(1), isNew: true)
            #expect(throws: DatabaseError.self) { try writer.finish() }
        }
    }

    /// A new database file is made with the desk's page size; a database made with SQLite's
    /// default pages (an earlier desk's) opens with its pages and its contents as they were.
    @Test func aNewDatabaseHasTheDesksPageSizeAndAnOlderOneKeepsItsOwn() throws {
        let root = try temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let fresh = root.appendingPathComponent("fresh.sqlite").path
        #expect(try DeskStore(path: fresh).queue.read { try Int.fetchOne($0, sql: "PRAGMA page_size") } == DeskStore.pageSize)

        let older = root.appendingPathComponent("older.sqlite").path
        let made = try DatabaseQueue(path: older)
        try made.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA page_size = 4096")
            try db.execute(sql: "CREATE TABLE kept(x TEXT); INSERT INTO kept VALUES ('前一版')")
        }
        try made.close()
        let reopened = try DeskStore(path: older)
        let (pageSize, kept, migrated) = try reopened.queue.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA page_size"), try String.fetchOne(db, sql: "SELECT x FROM kept"),
             try db.tableExists("roster_row"))
        }
        #expect(pageSize == 4096)
        #expect(kept == "前一版")
        #expect(migrated)
    }

    /// A packed row is stored with the values the row has, its check results joined by ；, and
    /// the row hash made from those texts (hashes stored by earlier files must still match, or
    /// a resent row would count as changed and lose its draft decision).
    @Test func aPackedRowIsStoredWithItsValuesChecksAndHash() throws {
        let store = try DeskStore(path: nil)
        let rules = try ReferenceData.load(from: seedsFolder).rules
        let raw = RosterRow(sourceRow: 7, values: [
            .nationalID: Fixture.id(3), .birthDate: "0951023", .name: "林", .schoolCode: "110000", .schoolName: "範例高中",
            .program: "普通科", .grade: "11", .start: "1151015", .end: "1160630", .status: "在學", .experimental: "是"])
        let parsed = RosterRules.parse(raw, rules: rules, today: CivilDate(year: 2026, month: 12, day: 4)!)
        let checks: [CheckResult] = [.sameOrLowerLevel, .serviceStatus("免役")]
        let row = RecordedRosterRow(sourceRow: 7, uploadDate: CivilDate(year: 2026, month: 10, day: 15)!, parsed: parsed,
                                    rosterKind: .application,
                                    assessment: RowAssessment(state: .pending, reason: nil, countyCode: "63000", checks: checks))
        var content = FNV1a()
        for field in [Fixture.id(3), "林", "2006-10-23", "普通科", "11", "在學", "2026-10-15", "2027-06-30", "1"] { content.add(field) }
        var hash = FNV1a()
        hash.add(String(content.value)); hash.add("63000"); hash.add("")
        hash.add("就讀同等級或低於原等級學校；役別不符：免役")
        try store.queue.write { db in
            let file = try DeskStore.addLedgerEntry(db, sha256: "x", kind: "rosters", originalName: "a.csv", archivedPath: "a.csv",
                                                    uploadDate: nil, uploadDateSource: nil, format: "")
            #expect(try RosterRowWriter(db, fileID: file).write(row) == .inserted)
            let stored = try #require(try Row.fetchOne(db, sql: "SELECT * FROM roster_row"))
            #expect(stored["source_row"] as Int == 7)
            #expect(stored["upload_date"] as String == "2026-10-15")
            #expect(stored["school_code"] as String == "110000")
            #expect(stored["roster_kind"] as String == "申請緩徵")
            #expect(stored["row_key"] as String == Fixture.id(3))
            // Values of every length the packing copies differently: 2, 3, 5, 6, 9, 10, 12 bytes and more.
            #expect(stored["name"] as String == "林")
            #expect(stored["grade"] as String == "11")
            #expect(stored["program"] as String == "普通科")
            #expect(stored["enrolment_status"] as String == "在學")
            #expect(stored["birth_date"] as String == "2006-10-23")
            #expect(stored["start_date"] as String == "2026-10-15")
            #expect(stored["end_date"] as String == "2027-06-30")
            #expect(stored["experimental"] as Int == 1)
            #expect(stored["county_code"] as String == "63000")
            #expect(stored["review_state"] as String == "待審核")
            #expect(stored["reason"] as String? == nil)
            #expect(stored["checks"] as String == "就讀同等級或低於原等級學校；役別不符：免役")
            #expect(stored["row_hash"] as String == String(format: "%016llx", hash.value))
        }
        // Made ahead by the packing thread, the hash is the same as made when the row is stored.
        let packed = PackedRosterRows(capacity: 1)
        packed.append(row, startsPair: true, keyFirstSeen: true)
        let rowHash = packed.rowHash(0)
        packed.makeHashes()
        #expect(packed.rowHash(0) == hash.value && rowHash == hash.value)
        #expect(packed.keyFirstSeen(0) && packed.startsPair(0))
    }

    /// A row's hash mixes in its values' hash as decimal text: the digits fed straight in give
    /// the hash the text gives (stored hashes of earlier files must still match).
    @Test(arguments: [0, 7, 9, 10, 99, 100, 12_345, 9_999_999_999, 10_000_000_000_000_000_000, UInt64.max] as [UInt64])
    func decimalDigitsHashAsTheirText(_ n: UInt64) {
        var text = FNV1a(), digits = FNV1a()
        text.add("前綴"); digits.add("前綴")
        text.add(String(n)); digits.add(decimal: n)
        #expect(digits.value == text.value)
    }

    @Test func registryIsAppliedBeforeRostersInOneRun() throws {
        let root = try temporaryRoot()
        let id = Fixture.id(2)
        // Dropped first, but the roster needs the registry that arrives after it.
        try drop(Fixture.rosterHeader + "\(id),0951023,王小明,110000,範例高中,普通科,3,1151015,1160630,在學,否\n", as: "roster-20261015.csv", into: .rosters, root: root)
        try drop(Fixture.registryHeader + "\(id),95/10/23,王小明,9020,高中肄業,未經徵兵處理,,\n", as: "registry-20261020.csv", into: .registry, root: root)
        let desk = try openDesk(root)
        let summary = try desk.runOnce()
        #expect(summary.files.map(\.kind) == [.registry, .rosters])
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE county_code = '09020' AND review_state = '待審核'") == 1)
    }

    @Test func newRegistryExtractUpdatesThePeopleItNames() throws {
        let root = try temporaryRoot()
        let a = Fixture.id(3), b = Fixture.id(4)
        try drop(Fixture.registryHeader + "\(a),0951023,甲,63000,高中肄業,未經徵兵處理,1140901,\n\(b),0951023,乙,63000,高中肄業,未經徵兵處理,,\n", as: "r1.csv", into: .registry, root: root)
        let desk = try openDesk(root)
        _ = try desk.runOnce()
        try drop(Fixture.registryHeader + "\(a),0951023,甲,台中市,高中畢業,免役,,\n", as: "r2.csv", into: .registry, root: root)
        _ = try desk.runOnce()
        #expect(try count(root, "SELECT COUNT(*) FROM person WHERE national_id = '\(a)' AND county_code = '66000' AND service_status = '免役' AND deferment_start IS NULL") == 1)
        #expect(try count(root, "SELECT COUNT(*) FROM person WHERE national_id = '\(b)' AND county_code = '63000'") == 1)
    }

    @Test(arguments: [
        ("not-a-roster.pdf", Data("%PDF-1.4 hello".utf8), "不是 CSV 或 XLSX"),
        ("no-header.csv", Data("1,2,3\n4,5,6\n".utf8), "找不到標題列"),
        ("missing-column.csv", Data("身分證字號,姓名,學校代碼,學籍狀態\nA123456789,王,1,在學\n".utf8), "缺少必要欄位：出生年月日、緩徵起始日期、緩徵終止日期"),
        ("header-only.csv", Data(Fixture.rosterHeader.utf8), "沒有任何學生資料"),
    ])
    func unreadableFilesAreRejectedWithAReport(_ c: (String, Data, String)) throws {
        let root = try temporaryRoot("reject\(c.0)")
        // Something already stored must survive the rejection untouched.
        try drop(Fixture.registryHeader + "\(Fixture.id(5)),0951023,甲,63000,高中肄業,未經徵兵處理,,\n", as: "r.csv", into: .registry, root: root)
        let desk = try openDesk(root)
        _ = try desk.runOnce()
        try drop(c.1, as: c.0, into: .rosters, root: root)
        let summary = try desk.runOnce()
        guard case .rejected(let r) = summary.files.first?.result else { Issue.record("not rejected"); return }
        #expect(r.problem.contains(c.2), "\(r.problem)")
        let rejected = desk.paths.rejected
        #expect(FileManager.default.fileExists(atPath: rejected.appendingPathComponent(c.0).path))
        let report = try String(contentsOf: rejected.appendingPathComponent(c.0 + ".退件說明.txt"), encoding: .utf8)
        #expect(report.contains(c.2))
        #expect(report.contains("處理方式："))
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 0)
        #expect(try count(root, "SELECT COUNT(*) FROM input_file") == 1)
        #expect(try count(root, "SELECT COUNT(*) FROM person WHERE national_id = '\(Fixture.id(5))'") == 1)
    }

    @Test func temporaryAndHiddenFilesAreIgnored() throws {
        let root = try temporaryRoot()
        let desk = try openDesk(root)
        for name in [".hidden.csv", "upload.csv.part", "upload.csv.tmp"] {
            try Data(Fixture.rosterHeader.utf8).write(to: desk.paths.inbox(.rosters).appendingPathComponent(name))
        }
        let summary = try desk.runOnce()
        #expect(summary.files.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: desk.paths.inbox(.rosters).path).count == 3)
    }

    @Test func aGrowingFileIsLeftUntilStable() throws {
        let root = try temporaryRoot()
        let desk = try openDesk(root)
        desk.settleSeconds = 5
        desk.maximumSettleWait = 0.3
        // Written in place (not renamed in), a moment ago.
        try Data(Fixture.rosterHeader.utf8).write(to: desk.paths.inbox(.rosters).appendingPathComponent("fresh.csv"))
        let summary = try desk.runOnce()
        #expect(summary.files.first?.result == .stillGrowing)
        #expect(FileManager.default.fileExists(atPath: desk.paths.inbox(.rosters).appendingPathComponent("fresh.csv").path))
    }

    @Test func uploadDateFromNameThenColumnThenArrivalDay() throws {
        let root = try temporaryRoot()
        let id = Fixture.id(6)
        try drop(Fixture.registryHeader + "\(id),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n", as: "reg.csv", into: .registry, root: root)
        let body = "\(id),0951023,王小明,110000,範例高中,普通科,3,1151015,1160630,在學,否"
        try drop(Fixture.rosterHeader.dropLast() + ",上傳日期\n" + body + ",115/09/15\n", as: "roster-2026-08-15.csv", into: .rosters, root: root)
        try drop(Fixture.rosterHeader.dropLast() + ",上傳日期\n" + body + ",2026-09-15\n", as: "roster-with-column.csv", into: .rosters, root: root)
        try drop(Fixture.rosterHeader + body.replacingOccurrences(of: "110000", with: "110037") + "\n", as: "roster-plain.csv", into: .rosters, root: root)
        let desk = try openDesk(root)
        _ = try desk.runOnce()
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE upload_date = '2026-08-15'") == 1)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE upload_date = '2026-09-15'") == 1)
        let today = Desk.day(of: Date()).iso
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE upload_date = '\(today)' AND school_code = '110037'") == 1)
        #expect(try count(root, "SELECT COUNT(*) FROM input_file WHERE upload_date_source = '上傳日期欄'") == 1)
        #expect(try count(root, "SELECT COUNT(*) FROM input_file WHERE upload_date_source = '收檔日'") == 1)
    }

    /// 上傳日期 from the file name: `YYYYMMDD` or `YYYY-MM-DD`, also when a dash joins it to other
    /// digits; not a longer number, not an impossible date.
    @Test(arguments: [
        ("roster-20261015.csv", "2026-10-15"),
        ("roster-2026-10-15.csv", "2026-10-15"),
        ("fix0_20261115.csv", "2026-11-15"),
        ("名冊2-20261015.csv", "2026-10-15"),
        ("20261015-2.csv", "2026-10-15"),
        ("1-2026-10-15-3.xlsx", "2026-10-15"),
        ("學校110000-20261015.csv", "2026-10-15"),
        ("v20261015.csv", "2026-10-15"),
        ("roster-120261015.csv", nil),
        ("roster-20261315.csv", nil),
        ("roster-2026-1-15.csv", nil),
        ("roster-19891231.csv", nil),
        ("roster.csv", nil),
    ] as [(String, String?)])
    func uploadDateInTheFileName(_ name: String, _ date: String?) {
        #expect(uploadDate(inFileName: name)?.iso == date)
    }

    @Test func xlsxRosterWrittenByOpenpyxl() throws {
        let root = try temporaryRoot()
        let id = Fixture.id(7)
        try drop(Fixture.registryHeader + "\(id),2006-10-23,王小明,63,高中肄業,未經徵兵處理,,\n", as: "reg.csv", into: .registry, root: root)
        let xlsx = root.appendingPathComponent("roster-20261015.xlsx")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
        import sys, datetime, openpyxl
        wb = openpyxl.Workbook(); ws = wb.active
        ws.append(['說明：本月名冊'])
        ws.append(['緩徵終止日期', '姓名', '身分證字號', '出生年月日', '學校代碼', '學籍狀態', '緩徵起始日期', '年級', '其他欄'])
        ws.append([datetime.date(2029, 6, 30), '王小明', sys.argv[2], datetime.date(2006, 10, 23), '110000', '在學', '115/10/15', 1, 'x'])
        wb.save(sys.argv[1])
        """, xlsx.path, id]
        try p.run(); p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        try drop(try Data(contentsOf: xlsx), as: "roster-20261015.xlsx", into: .rosters, root: root)
        let desk = try openDesk(root)
        let summary = try desk.runOnce()
        #expect(summary.rejectedCount == 0)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE review_state = '待審核' AND county_code = '63000' AND birth_date = '2006-10-23' AND end_date = '2029-06-30' AND checks = ''") == 1)
    }

    @Test func reportCSVHasExactlyTheAgreedColumns() throws {
        let root = try temporaryRoot()
        for name in ["roster-20261015.csv", "roster-20261115.csv"] {
            try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/\(name)")), as: name, into: .rosters, root: root)
        }
        let desk = try openDesk(root)
        _ = try desk.runOnce()
        let school = desk.reference.schools[1].code
        var csv = ""
        try RosterReport.writeCSV(store: desk.store, scope: .school(school)) { csv += $0 }
        let lines = csv.split(separator: "\r\n").map(String.init)
        #expect(lines[0] == "\u{FEFF}上傳日期,名冊類別,身分證字號,姓名,出生年月日,學校代碼,群科,年級,學籍狀態,緩徵起始日期,緩徵終止日期,分派縣市,審核狀態,審核意見,系統檢核")
        let expectedRows = try count(root, "SELECT COUNT(*) FROM roster_row WHERE school_code = '\(school)'")
        #expect(lines.count == expectedRows + 1)
        for line in lines.dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(f.count == 15)
            #expect(f[5] == school)
            #expect(["申請緩徵", "離校"].contains(f[1]))
            #expect(["不分派", "待審核", "核准", "未核准"].contains(f[12]))
            #expect(f[0].wholeMatch(of: /\d{4}-\d{2}-\d{2}/) != nil)
            if f[12] == "待審核" { #expect(f[11].hasSuffix("市") || f[11].hasSuffix("縣")) }
            if f[12] == "不分派" { #expect(f[11].isEmpty && !f[14].isEmpty) }
        }
        // Newest upload date first.
        let dates = lines.dropFirst().map { String($0.prefix(10)) }
        #expect(dates == dates.sorted(by: >))
        #expect(Set(dates).count == 2)
    }

    @Test func aSecondDeskOnTheSameRootRefusesToStart() throws {
        let root = try temporaryRoot()
        let desk = try openDesk(root)
        #expect(throws: RootLock.Held.self) { try Desk(root: root, seeds: seedsFolder) }
        // Another process is refused too, with exit code 3 and the reason.
        let result = try runCLI(["run", "--root", root.path, "--seeds", seedsFolder.path])
        #expect(result.status == 3)
        #expect(result.err.contains("另一個 deferment 程序"))
        withExtendedLifetime(desk) {}
    }
}

/// The samples of `seeds/` are exactly what the generator kept in the repository produces.
struct SampleTests {
    @Test func seedsAreReproducedByTheGenerator() throws {
        let dir = try temporaryRoot()
        try FileManager.default.copyItem(at: seedsFolder.appendingPathComponent("counties.csv"), to: dir.appendingPathComponent("counties.csv"))
        let result = try runCLI(["samples", "--seeds", dir.path])
        #expect(result.status == 0, "\(result.err)")
        for file in ["schools.csv", "registry/registry-sample.csv", "rosters/roster-20261015.csv", "rosters/roster-20261115.csv"] {
            let generated = try Data(contentsOf: dir.appendingPathComponent(file))
            let committed = try Data(contentsOf: seedsFolder.appendingPathComponent(file))
            #expect(generated == committed, "\(file) differs from the generator's output")
        }
    }
}
