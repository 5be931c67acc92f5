import Foundation
import GRDB

/// One named step of a site build (as Publish's publishing steps): the jobs that write one kind
/// of page. A step's jobs run on the worker pool (each with its own read-only database
/// connection) or on the building thread; each returns the files it rendered.
struct SiteStep {
    enum Place { case workers, here }
    let name: String
    let place: Place
    let jobs: [@Sendable (DatabaseQueue?) throws -> Int]

    init(_ name: String, on place: Place = .here, _ jobs: [@Sendable (DatabaseQueue?) throws -> Int]) {
        self.name = name
        self.place = place
        self.jobs = jobs
    }

    /// A step of one job on the building thread.
    init(_ name: String, _ job: @escaping @Sendable () throws -> Int) {
        self.init(name, on: .here, [{ _ in try job() }])
    }
}

/// What the steps did: files rendered and seconds taken (summed over threads), by step.
struct StepTimes {
    var files: [String: Int] = [:]
    var seconds: [String: Double] = [:]
    var totalFiles: Int { files.values.reduce(0, +) }
}
