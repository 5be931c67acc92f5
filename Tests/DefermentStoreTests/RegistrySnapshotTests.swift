import Foundation
import Testing
@testable import DefermentStore
import DefermentCore

/// The registry held in memory for a large roster (役政資料快照).
struct RegistrySnapshotTests {
    /// A valid citizen's ID made from `n`.
    func id(_ n: Int) -> String { NationalID.withCheckDigit("Q1" + String(format: "%07d", n))! }

    /// The registry in memory answers as the `person` table would: the latest record of each
    /// person, through growth of its table and for people it does not hold.
    @Test func theRegistryInMemoryAnswersAsTheTableWould() throws {
        let store = try DeskStore(path: nil)
        let snapshot = try store.queue.read { try RegistrySnapshot($0) }
        let counties = ["63000", "64000", "65000", "66000", "09020"]
        var expected: [String: String] = [:]
        for n in 0..<30_000 {
            let id = id(n * 7 % 30_000)   // every ID once, in a scattered order
            let county = counties[n % counties.count]
            snapshot.update(RegistryPerson(nationalID: id, birthDate: CivilDate(year: 2006, month: 10, day: 23)!, name: "",
                                           countyCode: county, education: "高中肄業", serviceStatus: "未經徵兵處理", deferment: nil))
            expected[id] = county
        }
        for n in stride(from: 0, to: 30_000, by: 3) {   // a third named again, elsewhere
            let id = id(n)
            snapshot.update(RegistryPerson(nationalID: id, birthDate: CivilDate(year: 2006, month: 10, day: 23)!, name: "",
                                           countyCode: "10002", education: "高中肄業", serviceStatus: "免役", deferment: nil))
            expected[id] = "10002"
        }
        #expect(snapshot.count == 30_000)
        var wrong = 0
        for (id, county) in expected where snapshot.person(id)?.countyCode != county { wrong += 1 }
        #expect(wrong == 0)
        #expect(snapshot.person(id(0))?.serviceStatus == "免役")
        #expect(snapshot.person(id(1))?.serviceStatus == "未經徵兵處理")
        for n in 30_000..<30_100 { #expect(snapshot.person(id(n)) == nil) }
        #expect(snapshot.person("") == nil)
        // Looked up many at once (as a large roster's chunks are), the answers are the same, in
        // order: people on record, people not on record, an empty ID and one that does not pack.
        snapshot.update(RegistryPerson(nationalID: "a123456789", birthDate: CivilDate(year: 2006, month: 1, day: 2)!, name: "",
                                       countyCode: "63000", education: "高中肄業", serviceStatus: "待徵", deferment: nil))
        let asked = (29_950..<30_050).map { id($0) } + ["", "a123456789", id(5)]
        let together = snapshot.people(asked)
        #expect(together == asked.map { snapshot.person($0) })
        #expect(together.compactMap { $0 }.count == 52)
        #expect(together[101]?.serviceStatus == "待徵")
    }
}
