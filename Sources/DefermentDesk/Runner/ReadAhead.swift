import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// A claimed roster being read ahead of its turn (預讀), with its digest.
struct ReadAhead {
    var url: URL
    var reading: RosterIntake.Reading
    var digest: DigestAhead

    /// Lets the reading and the digest begin.
    func release() {
        reading.release()
        digest.start()
    }
}

/// The runner's one scheduling decision beyond file order: the large roster right after a run's
/// last registry extract is claimed and read while the extract is still being stored, and
/// checked against the registry in memory (役政資料快照) that the extract completes as it is
/// read. Everything the registry and roster handlers share about it is here.
final class ReadAheadSchedule {
    /// Whether a roster of this run is large enough to be checked against the registry in
    /// memory: an extract applied before it then builds that snapshot as it is read.
    var largeRosterWaiting = false
    /// The registry in memory as the run's last committed extract left it. Dropped at the end
    /// of each run and whenever a file changes the deferment records (a decision file).
    var heldRegistry: RegistrySnapshot?
    /// The roster being read ahead, until its turn.
    var readAhead: ReadAhead?

    /// Ends a run: threads stopped, memory freed.
    func reset() {
        heldRegistry = nil
        largeRosterWaiting = false
        readAhead = nil
    }

    /// For the registry handler, inside the extract's transaction: the registry in memory to
    /// complete with the extract, taken out while it changes (an extract that fails leaves no
    /// half-updated snapshot held).
    func snapshotForExtract(_ db: Database) throws -> RegistrySnapshot? {
        guard largeRosterWaiting else { return nil }
        defer { heldRegistry = nil }
        return try heldRegistry ?? RegistrySnapshot(db)
    }

    /// Called once the extract has been read: the roster read ahead starts, given the registry
    /// in memory when that holds the whole extract.
    func extractRead(snapshot: RegistrySnapshot?) -> @Sendable (_ complete: Bool) -> Void {
        let next = readAhead
        return { complete in
            if complete, let snapshot { next?.reading.provide(registry: snapshot) }
            next?.release()
        }
    }

    /// The extract is committed: its snapshot is what the database holds.
    func extractCommitted(_ snapshot: RegistrySnapshot?) {
        if let snapshot { heldRegistry = snapshot }
    }

    /// The extract was not committed: the roster read ahead may have been given a registry the
    /// database does not hold, so its reading is dropped and it is read again in its turn.
    func extractFailed() { readAhead = nil }

    /// For the runner, before a roster's digest: the reading under way for `url`, if any (the
    /// read-ahead is over either way once a roster's turn comes).
    func takeReading(for url: URL) -> ReadAhead? {
        defer { readAhead = nil }
        return readAhead?.url == url ? readAhead : nil
    }
}

extension Desk {
    /// The read-ahead decision: when the file at `index` is a registry extract and the next is a
    /// roster large enough, the roster is claimed now and its reading started (held until the
    /// extract has been read). Returns the roster's claimed URL, or `nil` (then `skip` says
    /// whether the roster cannot be claimed in this run at all).
    func scheduleReadAhead(after index: Int, of candidates: [Candidate], summary: inout RunSummary) -> (url: URL?, skip: Bool) {
        guard candidates[index].kind == .registry, index + 1 < candidates.count, candidates[index + 1].kind == .rosters,
              rosterTuning.readsRegistryIntoMemory(fileSize: fileSize(of: candidates[index + 1].url)) else { return (nil, false) }
        let next = candidates[index + 1]
        guard let url = next.claimed ? next.url : claim(next, into: &summary) else { return (nil, true) }
        let reading = rosterIntake(reference).startReading(url: url, originalName: next.name,
                                                           arrivalDay: Self.day(of: modificationDate(url)), held: true)
        schedule.readAhead = ReadAhead(url: url, reading: reading, digest: DigestAhead(url: url))
        return (url, false)
    }
}
