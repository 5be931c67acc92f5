import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// The worker pool a build's steps run on (one read-only database connection per thread).
extension SiteBuilder {
    /// Runs a build's steps: the jobs of the steps placed on the workers, in step order (the
    /// longest first), on the pool, while the other steps run on this thread; then waits for the
    /// pool (never leaving workers writing into the site) and rethrows the first error.
    func run(_ steps: [SiteStep]) throws -> StepTimes {
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var times = StepTimes()
            func note(_ step: String, files: Int, since started: Date) {
                lock.withLock {
                    times.files[step, default: 0] += files
                    times.seconds[step, default: 0] += Date().timeIntervalSince(started)
                }
            }
        }
        let tally = Tally()
        let pooled = steps.filter { $0.place == .workers }.flatMap { step in step.jobs.map { (step.name, $0) } }
        final class Outcome: @unchecked Sendable { var error: Error? }
        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        let pool = Thread { [self] in
            do {
                try onWorkers(count: pooled.count) { queue, i in
                    let started = Date()
                    tally.note(pooled[i].0, files: try pooled[i].1(queue), since: started)
                }
            } catch {
                outcome.error = error
            }
            finished.signal()
        }
        pool.stackSize = 8 << 20
        pool.start()
        do {
            for step in steps where step.place == .here {
                for job in step.jobs {
                    let started = Date()
                    tally.note(step.name, files: try job(nil), since: started)
                }
            }
        } catch {
            finished.wait()
            throw error
        }
        finished.wait()
        if let error = outcome.error { throw error }
        return tally.times
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
                    // Pages are read from the file's memory map instead of a read call per page
                    // (a full build reads the database twice over).
                    config.prepareDatabase { try $0.execute(sql: "PRAGMA mmap_size = 2147418112") }
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
}
