import Foundation
import DefermentCore
import DefermentFiles

/// A small deterministic PRNG (SplitMix64), so samples are the same on every machine.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// Generates the sample schools, registry extract and monthly rosters (範例資料).
///
/// The same seed always gives the same files. The small sample covers every row outcome at
/// least twice; the bulk form makes the million-row benchmark input.
public struct SampleGenerator {
    let counties: [County]
    var rng: SplitMix64

    static let surnames = Array("陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周徐蘇葉莊呂江何蕭羅高潘簡朱鍾彭游詹胡施沈余盧梁趙顏柯翁魏孫戴范方宋鄧杜傅侯曹薛丁卓馬阮董唐溫藍蔣石古紀姚連馮歐程湯黃田康姜汪白鄒尤巫鐘龔嚴韓袁金童陸夏柳涂邵")
    static let givenFirst = Array("家宇承冠柏宥彥品俊志建宏偉子浩哲睿冠育君昱禹宗文明信振嘉書正祐佑庭凱崇耀政勝國")
    static let givenSecond = Array("翰廷辰霖恩傑宇軒豪睿哲銘諺誠鈞翔維凱德安澤緯鴻騰璋鑫揚達賢毅豐儒勳倫新")
    static let places = ["松山", "大同", "中正", "明德", "育英", "光華", "復興", "建國", "成功", "仁愛", "中興", "文華", "新民", "啟明",
                         "崇實", "永春", "三民", "信義", "華僑", "正心", "東山", "西湖", "南港", "北斗", "海山", "龍潭", "竹林", "玉山", "日新", "忠孝"]
    static let types = ["高級中學", "高級工業職業學校", "高級商業職業學校", "高級農工職業學校", "高級中學進修部", "高級家事商業職業學校"]
    static let programs = ["普通科", "資訊科", "電機科", "機械科", "商業經營科", "餐飲管理科", "汽車科", "美容科", "國際貿易科", "電子科"]

    public init(seed: UInt64, counties: [County]) {
        self.counties = counties
        self.rng = SplitMix64(state: seed)
    }

    mutating func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
    mutating func chance(_ p: Double) -> Bool { Double(rng.next() % 1_000_000) / 1_000_000 < p }
    mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.next() % UInt64(r.count)) }

    /// A sample school (學校).
    public struct School {
        public var code: String
        public var name: String
        public var countyCode: String
        public var email: String
    }

    /// A generated student with his registry record and roster values.
    struct Student {
        var id: String
        var name: String
        var birth: CivilDate
        var school: School
        var program: String
        var grade: Int
        var experimental: Bool
        var countyCode: String
        var education = "高中肄業"
        var service = "未經徵兵處理"
        var deferment: (CivilDate, CivilDate?)?
        var inRegistry = true
        var registryBirth: CivilDate?
    }

    mutating func schools(count: Int) -> [School] {
        var result: [School] = []
        var usedNames = Set<String>()
        for i in 0..<count {
            // Most schools in the six municipalities, the rest spread over the other counties.
            let county = i % 3 == 0 ? counties[6 + (i / 3) % (counties.count - 6)] : counties[i % 6]
            var name = ""
            repeat {
                let owner = county.name.hasSuffix("市") && county.code.hasSuffix("000") ? "\(county.name)立" : "國立"
                name = owner + pick(Self.places) + pick(Self.types)
                if usedNames.contains(name) { name += "\(i)" }
            } while usedNames.contains(name)
            usedNames.insert(name)
            let code = String(format: "%06d", 110000 + i * 37)
            result.append(School(code: code, name: name, countyCode: county.code, email: "school-\(code)@example.edu.tw"))
        }
        return result
    }

    mutating func newID(_ used: inout Set<String>, sex: Character = "1") -> String {
        let letters = Array("ABCDEFGHJKLMNPQRSTUVXYWZIO")
        while true {
            var prefix = String(pick(letters)) + String(sex)
            for _ in 0..<7 { prefix += String(int(0...9)) }
            let id = NationalID.withCheckDigit(prefix)!
            if used.insert(id).inserted { return id }
        }
    }

    mutating func name() -> String {
        String(pick(Self.surnames)) + String(pick(Self.givenFirst)) + (chance(0.9) ? String(pick(Self.givenSecond)) : "")
    }

    mutating func student(school: School, used: inout Set<String>) -> Student {
        let grade = int(1...3)
        // Registered where the school is, mostly; one in five elsewhere.
        let county = chance(0.8) ? school.countyCode : pick(counties).code
        let birthYear = chance(0.85) ? int(2005...2007) : int(1994...2004)
        let birth = CivilDate(year: birthYear, month: int(1...12), day: int(1...28))!
        return Student(id: newID(&used), name: name(), birth: birth, school: school, program: pick(Self.programs),
                       grade: grade, experimental: false, countyCode: county)
    }

    static func roc(_ d: CivilDate) -> String {
        String(format: "%03d%02d%02d", d.year - 1911, d.month, d.day)
    }
    static func rocSlash(_ d: CivilDate) -> String {
        "\(d.year - 1911)/" + String(format: "%02d/%02d", d.month, d.day)
    }

    static func csvLine(_ fields: [String]) -> String {
        fields.map { f in
            f.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
        }.joined(separator: ",") + "\r\n"
    }

    static let rosterHeader = RosterColumn.templateOrder.map(\.rawValue)
    static let registryHeader = RegistryColumn.allCases.map(\.rawValue)

    static func expectedEnd(grade: Int, start: CivilDate) -> CivilDate { RosterRules.expectedEnd(grade: grade, start: start) }

    /// A roster row for a student: 在學 with the standard period, or leaving with a leaving date.
    func rosterFields(_ s: Student, upload: CivilDate, status: String = "在學", end: CivilDate? = nil,
                      start: CivilDate? = nil, dateStyle: Int = 0) -> [String] {
        let startDate = start ?? upload
        let endDate = end ?? Self.expectedEnd(grade: min(s.grade, 3), start: startDate)
        func fmt(_ d: CivilDate) -> String {
            switch dateStyle {
            case 0: return Self.roc(d)
            case 1: return Self.rocSlash(d)
            default: return d.iso
            }
        }
        return [s.id, fmt(s.birth), s.name, s.school.code, s.school.name, s.program, String(s.grade),
                fmt(startDate), fmt(endDate), status, s.experimental ? "是" : "否"]
    }

    func registryFields(_ s: Student, countyStyle: Int) -> [String] {
        var county = s.countyCode
        if countyStyle == 1 && county.hasSuffix("000") && county.hasPrefix("6") { county = String(county.prefix(2)) } // short code
        if countyStyle == 2 && county.hasPrefix("0") { county = String(county.dropFirst()) } // dropped zero
        return [s.id, Self.roc(s.registryBirth ?? s.birth), s.name, county, s.education, s.service,
                s.deferment.map { Self.roc($0.0) } ?? "", s.deferment.flatMap { $0.1 }.map { Self.roc($0) } ?? ""]
    }

    /// Writes the small sample of `seeds/`: schools.csv, registry/registry-sample.csv and two
    /// months of rosters (the first in UTF-8 with BOM, the second in CP950 as Excel writes it).
    public mutating func writeSeedSamples(to seeds: URL, schoolCount: Int = 30, studentsPerSchool: Int = 12) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: seeds.appendingPathComponent("registry"), withIntermediateDirectories: true)
        try fm.createDirectory(at: seeds.appendingPathComponent("rosters"), withIntermediateDirectories: true)
        let schools = self.schools(count: schoolCount)
        var used = Set<String>()
        var students: [Student] = []
        for school in schools { for _ in 0..<studentsPerSchool { students.append(student(school: school, used: &used)) } }
        // Special cases, spread over schools, each outcome at least twice.
        var k = 0
        func next() -> Int { k += 5; return k % students.count }
        for _ in 0..<3 { students[next()].education = pick(["高中畢業", "專科肄業", "大學肄業", "大學畢業"]) }
        for _ in 0..<3 { let i = next(); students[i].birth = CivilDate(year: 1992, month: int(1...12), day: int(1...28))! } // 34 in 2026
        // Experimental, aged 25, then 24 (at the limit).
        for _ in 0..<2 { let i = next(); students[i].experimental = true; students[i].birth = CivilDate(year: 2001, month: 3, day: 9)! }
        for _ in 0..<2 { let i = next(); students[i].experimental = true; students[i].birth = CivilDate(year: 2002, month: 5, day: 20)! }
        for _ in 0..<3 { let i = next(); students[i].deferment = (CivilDate(year: 2025, month: 9, day: 1)!, nil) }
        for status in ["現役", "免役", "禁役", "後備軍人", "替代役備役", "免役"] { students[next()].service = status }
        for _ in 0..<3 {
            let i = next(), birth = students[i].birth
            students[i].registryBirth = CivilDate(year: birth.year, month: birth.month, day: birth.day == 28 ? 27 : birth.day + 1)!
        }
        for _ in 0..<3 { students[next()].inRegistry = false }
        for _ in 0..<2 { students[next()].grade = 2 } // combined with a wrong end date below
        let wrongEnd = [students[k % students.count].id, students[(k - 5 + students.count) % students.count].id]

        // Registry: every student in it, plus people not in any roster.
        var registry = Self.csvLine(Self.registryHeader)
        for (i, s) in students.enumerated() where s.inRegistry {
            registry += Self.csvLine(registryFields(s, countyStyle: i % 7 == 0 ? 1 : (i % 11 == 0 ? 2 : 0)))
        }
        for _ in 0..<40 {
            var s = student(school: schools[0], used: &used)
            s.countyCode = pick(counties).code
            registry += Self.csvLine(registryFields(s, countyStyle: 0))
        }
        try Data(registry.utf8).write(to: seeds.appendingPathComponent("registry/registry-sample.csv"))

        // Month 1: 2026-10-15.
        let m1 = CivilDate(year: 2026, month: 10, day: 15)!
        var month1 = Self.csvLine(Self.rosterHeader)
        for (i, s) in students.enumerated() {
            let style = i % 9 == 0 ? 2 : (i % 4 == 0 ? 1 : 0)
            var fields = rosterFields(s, upload: m1, dateStyle: style)
            if wrongEnd.contains(s.id) { fields[8] = Self.roc(CivilDate(year: 2027, month: 7, day: 31)!) }
            month1 += Self.csvLine(fields)
        }
        // Data errors a school would send.
        var bad = student(school: schools[1], used: &used)
        var f = rosterFields(bad, upload: m1); f[0] = String(bad.id.dropLast()) + String((Int(String(bad.id.last!))! + 1) % 10)
        month1 += Self.csvLine(f) // check digit wrong
        bad = student(school: schools[2], used: &used); f = rosterFields(bad, upload: m1); f[0] = "AE23456789"
        month1 += Self.csvLine(f) // shape wrong
        bad = student(school: schools[3], used: &used); f = rosterFields(bad, upload: m1); f[2] = ""
        month1 += Self.csvLine(f) // name missing
        bad = student(school: schools[4], used: &used); f = rosterFields(bad, upload: m1); f[9] = "畢業"
        month1 += Self.csvLine(f) // unknown 學籍狀態
        bad = student(school: schools[5], used: &used); f = rosterFields(bad, upload: m1); f[1] = "95/13/45"
        month1 += Self.csvLine(f) // unreadable birth date
        bad = student(school: schools[6], used: &used); f = rosterFields(bad, upload: m1)
        f[0] = NationalID.withCheckDigit("F8" + "1234567")!
        month1 += Self.csvLine(f) // resident certificate
        for j in 0..<2 { // female IDs that the registry knows (data error to flag)
            var s = student(school: schools[7 + j], used: &used)
            s.id = newID(&used, sex: "2")
            registry += Self.csvLine(registryFields(s, countyStyle: 0))
            month1 += Self.csvLine(rosterFields(s, upload: m1))
        }
        for j in 0..<2 { // start after end
            let s = student(school: schools[10 + j], used: &used)
            registry += Self.csvLine(registryFields(s, countyStyle: 0))
            var fields = rosterFields(s, upload: m1, status: "轉學")
            fields[7] = Self.roc(CivilDate(year: 2026, month: 11, day: 1)!); fields[8] = Self.roc(CivilDate(year: 2026, month: 9, day: 1)!)
            month1 += Self.csvLine(fields)
        }
        month1 += Self.csvLine(rosterFields(students[1], upload: m1)) // the same row sent twice
        try Data(registry.utf8).write(to: seeds.appendingPathComponent("registry/registry-sample.csv"))
        try Data([0xEF, 0xBB, 0xBF] + Array(month1.utf8)).write(to: seeds.appendingPathComponent("rosters/roster-20261015.csv"))

        // Month 2: 2026-11-15, CP950. Some left school, some resumed or transferred, a new school.
        let m2 = CivilDate(year: 2026, month: 11, day: 15)!
        var month2 = Self.csvLine(Self.rosterHeader)
        for (i, s) in students.enumerated() {
            if i % 10 == 3 {
                month2 += Self.csvLine(rosterFields(s, upload: m2, status: i % 20 == 3 ? "休學" : "退學",
                                                    end: CivilDate(year: 2026, month: 11, day: int(1...10))!, start: m1))
            } else if i % 10 == 7 {
                month2 += Self.csvLine(rosterFields(s, upload: m2, status: pick(["轉科", "復學", "轉學"])))
            } else if i % 5 == 0 {
                month2 += Self.csvLine(rosterFields(s, upload: m2))
            }
        }
        let newSchool = School(code: "999001", name: "私立新設實驗高級中學", countyCode: counties[3].code, email: "")
        for _ in 0..<3 {
            let s = student(school: newSchool, used: &used)
            registry += Self.csvLine(registryFields(s, countyStyle: 0))
            month2 += Self.csvLine(rosterFields(s, upload: m2))
        }
        bad = student(school: schools[8], used: &used); f = rosterFields(bad, upload: m2); f[10] = "不確定"
        month2 += Self.csvLine(f) // unreadable 是/否
        bad = student(school: schools[9], used: &used); f = rosterFields(bad, upload: m2); f[8] = ""
        month2 += Self.csvLine(f) // end date missing
        try Data(registry.utf8).write(to: seeds.appendingPathComponent("registry/registry-sample.csv"))
        guard let cp950 = CP950Encoder.encode(month2) else { throw SeedError(file: "rosters", message: "CP950 編碼失敗") }
        try Data(cp950).write(to: seeds.appendingPathComponent("rosters/roster-20261115.csv"))

        var schoolsCSV = Self.csvLine(["學校代碼", "學校名稱", "縣市代碼", "聯絡信箱"])
        for s in schools { schoolsCSV += Self.csvLine([s.code, s.name, s.countyCode, s.email]) }
        try Data(schoolsCSV.utf8).write(to: seeds.appendingPathComponent("schools.csv"))
    }

    /// Writes a bulk roster of `rows` rows over `schoolCount` schools and its matching registry
    /// (for the benchmark), streaming to disk.
    public mutating func writeBulk(rows: Int, schoolCount: Int, roster: URL, registry: URL) throws {
        let schools = self.schools(count: schoolCount)
        _ = FileManager.default.createFile(atPath: roster.path, contents: nil)
        _ = FileManager.default.createFile(atPath: registry.path, contents: nil)
        let rosterHandle = try FileHandle(forWritingTo: roster)
        let registryHandle = try FileHandle(forWritingTo: registry)
        defer { try? rosterHandle.close(); try? registryHandle.close() }
        var rosterBuffer = Self.csvLine(Self.rosterHeader)
        var registryBuffer = Self.csvLine(Self.registryHeader)
        var used = Set<String>()
        used.reserveCapacity(rows)
        let upload = CivilDate(year: 2026, month: 11, day: 15)!
        for i in 0..<rows {
            var s = student(school: schools[i % schools.count], used: &used)
            if i % 97 == 0 { s.service = "免役" }
            if i % 89 == 0 { s.education = "高中畢業" }
            if i % 1000 != 1 { registryBuffer += Self.csvLine(registryFields(s, countyStyle: 0)) }
            var fields = rosterFields(s, upload: upload, status: i % 50 == 0 ? "休學" : "在學",
                                      end: i % 50 == 0 ? CivilDate(year: 2026, month: 11, day: 1)! : nil)
            if i % 1000 == 2 { fields[0] = String(s.id.dropLast()) + String((Int(String(s.id.last!))! + 1) % 10) }
            rosterBuffer += Self.csvLine(fields)
            if rosterBuffer.utf8.count > 1 << 20 {
                rosterHandle.write(Data(rosterBuffer.utf8)); rosterBuffer = ""
                registryHandle.write(Data(registryBuffer.utf8)); registryBuffer = ""
            }
        }
        rosterHandle.write(Data(rosterBuffer.utf8))
        registryHandle.write(Data(registryBuffer.utf8))
    }

    /// The schools.csv of a generated sample.
    public mutating func schoolsCSV(count: Int) -> String {
        var csv = Self.csvLine(["學校代碼", "學校名稱", "縣市代碼", "聯絡信箱"])
        for s in schools(count: count) { csv += Self.csvLine([s.code, s.name, s.countyCode, s.email]) }
        return csv
    }
}
