import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// The throughput engine of roster intake (名冊快速處理): reading on its own thread, rows
/// sorted in chunks by the roster's key, looked up in the registry in memory, packed and
/// handed over in batches to the storing thread, which holds the file's one transaction.
extension RosterIntake {
    /// How intake trades memory for speed on large files.
    public struct Tuning: Sendable {
        /// Files at least this many bytes read the registry into memory once
        /// (``RegistrySnapshot``) and are checked on the reading thread, instead of a look-up
        /// per row on the writing thread: about 15,000 rows, where one read of a national
        /// registry starts to cost less than the look-ups.
        public var snapshotThreshold = Self.largeFile
        /// Rows sorted together before they are stored: see ``RosterIntake/indexOrdered(_:)``.
        /// 32,768 rows hold about 40 MB.
        public var sortChunk = 32_768
        /// Files smaller than this many bytes take the plain path
        /// (``RosterIntake/applyPlainly(_:fileID:url:originalName:arrivalDay:progress:)``);
        /// larger ones the engine. The same as `snapshotThreshold` unless a test says otherwise.
        public var plainBelow = Self.largeFile
        /// The size from which a roster is a national one (about 15,000 rows).
        public static let largeFile = 2_000_000

        public init() {}

        /// A file that would read the registry from the database for itself does so only with
        /// about one row for every this many people in it; with fewer, its rows are looked up one
        /// by one (reading a person into memory costs about a fifth of looking a row up; see
        /// bench/README.md, a month onto a year of history).
        public var peoplePerRow = 5
        /// The bytes of a roster row, about, to estimate a file's rows from its size.
        static let bytesPerRow = 120

        /// Whether a roster file is checked against the registry in memory: it is large enough,
        /// and either the registry is in memory already (`people` is `nil`: an extract applied
        /// just before left it) or the file has enough rows for the `people` the registry holds.
        public func readsRegistryIntoMemory(fileSize: Int, people: Int? = nil) -> Bool {
            guard fileSize >= snapshotThreshold else { return false }
            guard let people else { return true }
            return people / max(1, peoplePerRow) <= fileSize / Self.bytesPerRow
        }

        /// Every roster the engine takes is checked against the registry in memory (tests).
        public mutating func alwaysReadRegistryIntoMemory() {
            (snapshotThreshold, peoplePerRow) = (0, .max)
        }
    }


    /// How many rows to sort together next. Near the end of the file, chunks shrink to a quarter
    /// of the rows estimated to be left (down to 1,024): the writing thread stores the last chunk
    /// alone, after the reading thread is done, so a small last chunk is time saved.
    static func nextChunkSize(_ sortChunk: Int, rowsRead: Int, fileSize: Int, bytesLeft: Int?) -> Int {
        guard let bytesLeft, rowsRead > 0, fileSize > bytesLeft else { return sortChunk }
        let bytesPerRow = max(1, (fileSize - bytesLeft) / rowsRead)
        let rowsLeft = bytesLeft / bytesPerRow
        return min(sortChunk, max(1_024, rowsLeft / 4))
    }

    /// The order of the roster's unique index (school, upload date, roster, national ID) for a
    /// chunk of rows, as their places in `rows`: storing them so walks the index forwards instead
    /// of jumping about it (see `bench/README.md`). Rows with the same key keep their file order, so
    /// a resent row still replaces the earlier one. A row without an upload date of its own is
    /// stored under `arrivalDay`.
    ///
    /// Each row comes with a hash of its key for ``SeenRowKeys``, made from the sort key's parts.
    static func indexOrder(_ rows: [ReadRow], arrivalDay: CivilDate) -> [(index: Int, keyHash: UInt64)] {
        /// The first sixteen bytes of `s` as two numbers, big-endian (so that they order as the
        /// bytes do), zero-filled, and its length in bytes.
        func prefix(_ s: String) -> (UInt64, UInt64, Int) {
            func word(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> UInt64 {
                var v: UInt64 = 0
                for i in start..<(start + 8) { v = v << 8 | UInt64(i < b.count ? b[i] : 0) }
                return v
            }
            return s.utf8.withContiguousStorageIfAvailable { b in (word(b, from: 0), word(b, from: 8), b.count) }
                ?? Array(s.utf8).withUnsafeBufferPointer { b in (word(b, from: 0), word(b, from: 8), b.count) }
        }
        struct Key { var school: UInt64; var dateKind: Int64; var id: UInt64; var index: Int }
        var hashes = [UInt64](repeating: 0, count: rows.count)
        var keys = rows.indices.map { i -> Key in
            let k = rows[i].storageKey(arrivalDay: arrivalDay)
            let school = prefix(k.school), id = prefix(k.key)
            let key = Key(school: school.0, dateKind: Int64(k.date.daysSinceEpoch) * 2 + (k.kind == .leaving ? 1 : 0),
                          id: id.0, index: i)
            // Equal keys hash alike, which is all the filter needs; bytes past the sixteenth of
            // a school code or key (longer than any national ID) are left out, so such keys only
            // collide more.
            var h = SeenRowKeys.mix(school.0, school.1 ^ UInt64(school.2))
            h = SeenRowKeys.mix(h, UInt64(bitPattern: key.dateKind))
            h = SeenRowKeys.mix(h, id.0)
            hashes[i] = SeenRowKeys.mix(h, id.1 ^ UInt64(id.2))
            return key
        }
        keys.sort { a, b in
            if a.school != b.school { return a.school < b.school }
            if a.dateKind != b.dateKind { return a.dateKind < b.dateKind }
            if a.id != b.id { return a.id < b.id }
            let ra = rows[a.index].storageKey(arrivalDay: arrivalDay), rb = rows[b.index].storageKey(arrivalDay: arrivalDay)
            if ra.school != rb.school { return ra.school.utf8.lexicographicallyPrecedes(rb.school.utf8) }
            if ra.key != rb.key { return ra.key.utf8.lexicographicallyPrecedes(rb.key.utf8) }
            return a.index < b.index
        }
        return keys.map { ($0.index, hashes[$0.index]) }
    }

    /// A roster being read and checked on its own thread (名冊讀取), ready for
    /// ``apply(_:fileID:reading:progress:)``: started by ``startReading(url:originalName:arrivalDay:held:)``,
    /// possibly while the file before it is still being stored.
    public final class Reading: @unchecked Sendable {
        let url: URL
        let arrivalDay: CivilDate
        /// Whether the file is large enough to be checked against the registry in memory.
        let inMemory: Bool
        let size: Int
        let snapshot = SnapshotHandOver()
        fileprivate var pipeline: RowPipeline<IntakeItem>!
        /// Set by the reading thread when it is done; read after the pipeline is consumed. Its
        /// own object, so that the reading thread does not keep the reading (and its pipeline)
        /// alive: a reading dropped unconsumed stops its thread.
        fileprivate final class Outcome: @unchecked Sendable {
            var result: (format: String, source: UploadDateSource)?
            /// The rows the reading thread decided and packed, each counted as inserted.
            var tally = OutcomeTally()
        }
        fileprivate let outcome = Outcome()
        fileprivate var result: (format: String, source: UploadDateSource)? { outcome.result }

        fileprivate init(url: URL, arrivalDay: CivilDate, inMemory: Bool, size: Int) {
            self.url = url
            self.arrivalDay = arrivalDay
            self.inMemory = inMemory
            self.size = size
        }

        /// Lets a reading started held begin (the file before it has been read).
        public func release() { pipeline.release() }

        /// Gives a large file the registry in memory, as the extract applied just before it left
        /// it (once that extract has been read whole; a reading given the registry of an extract
        /// that then is not committed must be dropped); without it, ``RosterIntake/apply(_:fileID:reading:progress:)``
        /// reads it from the database. Rows read before it arrives are checked on the writing thread.
        public func provide(registry: RegistrySnapshot) {
            if inMemory { try? snapshot.load { registry } }
        }
    }

    /// Rows handed to the writing thread at a time.
    static let handOver = 1_024

    /// Starts reading a roster on its own thread: parsing, the checks that need no registry and
    /// sorting, and for a large file with the registry provided, the whole decision, packing
    /// each row as it will be stored (``PackedRosterRows``) and counting its outcome. Up to two
    /// sorted chunks wait for the writing thread.
    /// - Parameter held: the reading waits for ``Reading/release()`` (or for ``apply(_:fileID:reading:progress:)``
    ///   to begin) before it starts: a file read ahead begins once the file before it is read,
    ///   instead of competing with it.
    /// - Parameter people: the people the registry holds when it is not in memory already
    ///   (``Tuning/readsRegistryIntoMemory(fileSize:people:)``).
    public func startReading(url: URL, originalName: String, arrivalDay: CivilDate, held: Bool = false, people: Int? = nil) -> Reading {
        let size = fileSize(of: url)
        let reading = Reading(url: url, arrivalDay: arrivalDay, inMemory: tuning.readsRegistryIntoMemory(fileSize: size, people: people),
                              size: size)
        let snapshot = reading.snapshot, inMemory = reading.inMemory, sortChunk = max(1, tuning.sortChunk), outcome = reading.outcome
        // Two sorted chunks of rows as read (64 hand-overs of 1,024 rows) may wait for the
        // writing thread: with room for less than one, each thread waits on the other at every
        // chunk; and while the writing thread reads the registry snapshot at the start of a
        // large file, the reading one goes on through the first two chunks (the writing thread
        // then decides them). Of rows decided and packed (smaller), six chunks may wait: a file
        // read ahead while the registry extract before it is still being stored gets that far
        // ahead instead of waiting, and the writing thread then does not wait for rows.
        let chunkHandOvers = max(1, sortChunk / Self.handOver)
        let readAhead = 2 * chunkHandOvers, capacity = 6 * chunkHandOvers
        reading.pipeline = RowPipeline.start(batchSize: 1, capacity: capacity, held: held) {
            (emit: (IntakeItem) throws -> Void, flow: PipelineFlow) in
            var chunk: [ReadRow] = []
            chunk.reserveCapacity(sortChunk)
            // The registry in memory once it is ready (asked of the hand-over, a lock, until
            // then), and the last row's pair.
            var registry: RegistrySnapshot?
            var lastPair: (school: String, date: CivilDate)?
            // Kept here and handed to the reading's outcome at the end: counting into the
            // object's property checked exclusive access at run time for every row.
            var tally = OutcomeTally()
            let seen = SeenRowKeys(fileSize: size, url: url)
            func flush() throws {
                let order = Self.indexOrder(chunk, arrivalDay: arrivalDay)
                // Decided and packed here once the registry is in memory; before that (or for a
                // small file), handed over as read, for the writing thread to decide. The whole
                // chunk's people are looked up at once (``RegistrySnapshot/people(_:)``).
                if inMemory && registry == nil { registry = snapshot.ready }
                let people = registry?.people(order.map { chunk[$0.index].asksRegistry ? chunk[$0.index].parsed.nationalID : "" }) ?? []
                var packed = PackedRosterRows(capacity: min(Self.handOver, order.count))
                var read: [(row: ReadRow, startsPair: Bool, keyFirstSeen: Bool)] = []
                for (n, (i, keyHash)) in order.enumerated() {
                    let row = chunk[i]
                    let (school, date, _, _) = row.storageKey(arrivalDay: arrivalDay)
                    let keyFirstSeen = seen.insert(keyHash)
                    let startsPair: Bool
                    if let lastPair, lastPair.school == school, lastPair.date == date { startsPair = false } else {
                        startsPair = true
                        lastPair = (school, date)
                    }
                    if let registry {
                        try pack(row, assessment(of: row, person: people[n], lookup: registry), startsPair: startsPair,
                                 keyFirstSeen: keyFirstSeen, arrivalDay: arrivalDay, into: packed, tally: &tally)
                        if packed.count == Self.handOver || n == order.count - 1 {
                            // The storing thread is behind (a chunk's hand-overs wait for it):
                            // this one, which would soon wait, hashes the rows for it.
                            if flow.backlog() >= chunkHandOvers { packed.makeHashes() }
                            try emit(.packed(packed))
                            packed = PackedRosterRows(capacity: min(Self.handOver, order.count - n - 1))
                        }
                    } else {
                        read.append((row, startsPair, keyFirstSeen))
                        if read.count == Self.handOver || n == order.count - 1 {
                            try flow.waitForRoom(readAhead)
                            try emit(.read(read))
                            read = []
                        }
                    }
                }
                chunk.removeAll(keepingCapacity: true)
            }
            var reader: TableReader?
            var chunkSize = sortChunk
            outcome.result = try self.read(url: url, originalName: originalName, opened: { reader = $0 }) { row in
                chunk.append(row)
                if chunk.count >= chunkSize {
                    try flush()
                    chunkSize = Self.nextChunkSize(sortChunk, rowsRead: row.parsed.sourceRow, fileSize: size, bytesLeft: reader?.bytesLeft)
                }
            }
            try flush()
            outcome.tally = tally
        }
        return reading
    }

    /// Applies a roster whose reading has started (``startReading(url:originalName:arrivalDay:held:)``)
    /// inside the caller's transaction: every row is recorded with its outcome.
    ///
    /// Reading, checking and sorting run on the reading's thread; registry look-ups and writes
    /// on the caller's (the transaction's). A large file checks its rows against the registry in
    /// memory: the one given to ``Reading/provide(registry:)`` (as the extract applied just
    /// before in the same run left it, see ``RegistryIntake/apply(_:fileID:url:snapshot:readingDone:progress:)``),
    /// or else read from the database while the first rows are parsed.
    public func apply(_ db: Database, fileID: Int64, reading: Reading,
                      progress: (Int) throws -> Void) throws -> (RosterFileSummary, String) {
        var summary = RosterFileSummary()
        var knownSchools = try DeskStore.schoolCodes(db)
        var schoolToAdd: String?
        let writer = try RosterRowWriter(db, fileID: fileID)
        let snapshot = reading.snapshot
        // A large file: the registry is read into memory once, while the first rows are parsed,
        // and rows are checked against it on the reading thread. A small one: each row is
        // looked up on this thread.
        let lookup: PersonLookup? = reading.inMemory ? nil : try PersonLookup(db)
        var rows = 0
        var pair: (school: String, date: CivilDate)?
        // Outcomes of the rows decided here, and corrections to the reading thread's counts.
        var tally = OutcomeTally()
        /// Each pair seen so far, with whether it had no rows before this file: then a row
        /// whose key comes up for the first time in the file is new for sure, and when all of
        /// the pair's rows were new, its counts are the file's tally.
        var seenPairs: [[String]: Bool] = [:]
        var pairIsFresh = false
        try reading.pipeline.consume(prepare: {
            if lookup == nil && snapshot.ready == nil { try snapshot.load { try RegistrySnapshot(db) } }
        }) { item in
            let packed: PackedRosterRows
            switch item {
            case .packed(let p):
                packed = p
            case .read(let read):
                packed = PackedRosterRows(capacity: read.count)
                for (row, startsPair, keyFirstSeen) in read {
                    try pack(row, assessment(of: row, lookup: lookup ?? snapshot.ready!), startsPair: startsPair,
                             keyFirstSeen: keyFirstSeen, arrivalDay: reading.arrivalDay, into: packed, tally: &tally)
                }
            }
            for i in 0..<packed.count {
                if packed.startsPair(i) {
                    // Rows come sorted by school within each chunk: the school and pair checks
                    // run once per run of rows, not once per row.
                    let code = packed.text(i, .schoolCode) ?? "", day = packed.text(i, .uploadDate) ?? ""
                    guard let date = CivilDate.parse(day) else { preconditionFailure("packed upload date \(day)") }
                    pair = (code, date)
                    let key = [code, day]
                    if let fresh = seenPairs[key] {
                        pairIsFresh = fresh
                    } else {
                        pairIsFresh = try !DeskStore.hasRows(db, schoolCode: code, uploadDate: day)
                        seenPairs[key] = pairIsFresh
                    }
                    schoolToAdd = knownSchools.contains(code) ? nil : code
                }
                // A school first seen here is added by its first row given to a county: a row
                // that is 不分派 (an unreadable code among them) never creates a school.
                if let code = schoolToAdd, packed.text(i, .reviewState) != ReviewState.notAssigned.rawValue {
                    try DeskStore.addRosterSchool(db, code: code, name: packed.text(i, .schoolName) ?? "")
                    knownSchools.insert(code)
                    summary.newSchools.append(code)
                    schoolToAdd = nil
                }
                let written = try writer.write(packed, i, isNew: pairIsFresh && packed.keyFirstSeen(i))
                if let correction = OutcomeCount.correction(written), let pair {
                    tally.add(correction, to: outcomeKey(packed, i), school: pair.school, date: pair.date)
                }
                rows += 1
                if rows % 10_000 == 0 { try progress(rows) }
            }
        }
        try writer.finish()
        let tallies = tally.total(adding: reading.outcome.tally)
        summary.add(tallies)
        if summary.rows == 0 {
            throw FileRejection.headerOnly
        }
        summary.uploadDateSource = reading.result!.source
        // A pair with no rows before this file and only new rows in it: its counts are the tally.
        var fresh: [[String]: [DeskStore.RosterCountKey: Int]] = [:]
        for (key, t) in tallies where seenPairs[key] == true && t.values.allSatisfy({ $0.inserted == $0.all }) {
            var counts: [DeskStore.RosterCountKey: Int] = [:]
            for (k, c) in t {
                counts[DeskStore.RosterCountKey(county: k.county ?? "", kind: k.kind.rawValue, state: k.state.rawValue),
                       default: 0] += c.all
            }
            fresh[key] = counts
        }
        try DeskStore.refreshCounts(db, pairs: summary.touched, version: fileID, workbookCounties: summary.changedCounties, fresh: fresh)
        return (summary, reading.result!.format)
    }

    /// The outcome row `i` of `packed` is counted under, read back from its stored values (for
    /// the few rows that storing did not insert).
    private func outcomeKey(_ packed: PackedRosterRows, _ i: Int) -> OutcomeKey {
        OutcomeKey(county: packed.text(i, .countyCode), kind: RosterKind(rawValue: packed.text(i, .rosterKind) ?? "") ?? .application,
                   state: ReviewState(rawValue: packed.text(i, .reviewState) ?? "") ?? .notAssigned,
                   reason: packed.text(i, .reason).flatMap(NotAssignedReason.init(text:)))
    }
}
