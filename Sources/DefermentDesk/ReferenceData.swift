import Foundation
import Crypto
import DefermentCore
import DefermentFiles

/// A problem in a seed file, for the operator who maintains `seeds/`.
public struct SeedError: Error, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "參考資料 \(file)：\(message)" }
}

/// A school in `seeds/schools.csv` (學校).
public struct SeedSchool: Sendable, Equatable {
    public var code: String
    public var name: String
    public var countyCode: String
    public var email: String
}

/// The reference data of `seeds/`: counties, schools, rules, and the registry sample.
///
/// File layout (all CSV, UTF-8):
/// - `counties.csv`: 縣市代碼, 縣市名稱, 承辦單位, 聯絡電話, 地址, 電子郵件, 範例資料
/// - `schools.csv`: 學校代碼, 學校名稱, 縣市代碼, 聯絡信箱
/// - `rules/age_limits.csv`: 學生類別, 年齡上限
/// - `rules/enrolment_status.csv`: 學籍狀態, 名冊類別
/// - `rules/service_status.csv`: 兵役狀態, 不得緩徵
/// - `rules/education_levels.csv`: 教育程度, 已達高中以上程度
/// - `registry/*.csv|xlsx`: registry extracts loaded at first start and whenever they change
/// - `settings.csv` (optional): 設定, 值, 說明 — deployment settings (site URL, mail)
public struct ReferenceData: Sendable {
    public var counties: CountyDirectory
    public var schools: [SeedSchool]
    public var rules: DefermentRules
    /// SHA-256 of each seed file by its path under `seeds/`, to reload what changed.
    public var fileHashes: [String: String]
    /// Registry extracts under `seeds/registry/`.
    public var registryFiles: [URL]
    /// Deployment settings (`settings.csv`: 設定, 值, 說明), e.g. the site's public base URL.
    public var settings: [String: String] = [:]

    static let countiesFile = "counties.csv"
    static let schoolsFile = "schools.csv"

    /// Loads only the county list (the sample generator needs no more).
    public static func loadCounties(from directory: URL) throws -> [County] {
        counties(from: try readTable(directory, countiesFile, required: countyColumns))
    }

    static let countyColumns = ["縣市代碼", "縣市名稱", "承辦單位", "聯絡電話", "地址", "電子郵件", "範例資料"]

    static func counties(from rows: [[String: String]]) -> [County] {
        rows.map {
            County(code: $0["縣市代碼"]!, name: $0["縣市名稱"]!, office: $0["承辦單位"]!, phone: $0["聯絡電話"]!,
                   address: $0["地址"]!, email: $0["電子郵件"]!, isExample: RosterRules.parseYesNo($0["範例資料"]!) ?? true)
        }
    }

    /// Reads a seed CSV into rows keyed by header, refusing a file without a required column.
    static func readTable(_ directory: URL, _ relative: String, required: [String]) throws -> [[String: String]] {
        let url = directory.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SeedError(file: relative, message: "找不到檔案（\(url.path)）")
        }
        let reader = try CSVReader(url: url)
        var header: [String] = []
        var rows: [[String: String]] = []
        try reader.forEachRow { row in
            if header.isEmpty {
                header = row.cells.map { RosterColumn.normaliseHeader($0) }
                for column in required where !header.contains(column) {
                    throw SeedError(file: relative, message: "缺少欄位「\(column)」")
                }
                return
            }
            var dict: [String: String] = [:]
            for (i, name) in header.enumerated() where i < row.cells.count { dict[name] = row.cells[i].trimmingSpaces() }
            rows.append(dict)
        }
        return rows
    }

    /// Loads every seed file under `directory`.
    public static func load(from directory: URL) throws -> ReferenceData {
        var hashes: [String: String] = [:]
        func table(_ relative: String, required: [String]) throws -> [[String: String]] {
            let rows = try readTable(directory, relative, required: required)
            hashes[relative] = try FileDigest.sha256(of: directory.appendingPathComponent(relative))
            return rows
        }
        let counties = Self.counties(from: try table(countiesFile, required: countyColumns))
        let directoryOfCounties = CountyDirectory(counties)
        let schoolRows = try table(schoolsFile, required: ["學校代碼", "學校名稱", "縣市代碼", "聯絡信箱"])
        var schools: [SeedSchool] = []
        for (i, r) in schoolRows.enumerated() {
            guard let county = directoryOfCounties.normalise(r["縣市代碼"]!) else {
                throw SeedError(file: schoolsFile, message: "第 \(i + 2) 列縣市代碼「\(r["縣市代碼"]!)」不在縣市代碼表中")
            }
            schools.append(SeedSchool(code: r["學校代碼"]!, name: r["學校名稱"]!, countyCode: county, email: r["聯絡信箱"]!))
        }
        var ageLimits: [String: Int] = [:]
        for (i, r) in try table("rules/age_limits.csv", required: ["學生類別", "年齡上限"]).enumerated() {
            guard let limit = Int(r["年齡上限"]!) else {
                throw SeedError(file: "rules/age_limits.csv", message: "第 \(i + 2) 列年齡上限不是數字")
            }
            ageLimits[r["學生類別"]!] = limit
        }
        for kind in [DefermentRules.regularKind, DefermentRules.experimentalKind] where ageLimits[kind] == nil {
            throw SeedError(file: "rules/age_limits.csv", message: "缺少學生類別「\(kind)」的年齡上限")
        }
        var kinds: [String: RosterKind] = [:]
        for (i, r) in try table("rules/enrolment_status.csv", required: ["學籍狀態", "名冊類別"]).enumerated() {
            guard let kind = RosterKind(rawValue: r["名冊類別"]!) else {
                throw SeedError(file: "rules/enrolment_status.csv", message: "第 \(i + 2) 列名冊類別應為「申請緩徵」或「離校」")
            }
            kinds[r["學籍狀態"]!] = kind
        }
        var service: [String: Bool] = [:]
        for r in try table("rules/service_status.csv", required: ["兵役狀態", "不得緩徵"]) {
            service[r["兵役狀態"]!] = RosterRules.parseYesNo(r["不得緩徵"]!) ?? false
        }
        var education: [String: Bool] = [:]
        for r in try table("rules/education_levels.csv", required: ["教育程度", "已達高中以上程度"]) {
            education[r["教育程度"]!] = RosterRules.parseYesNo(r["已達高中以上程度"]!) ?? false
        }
        let registryDir = directory.appendingPathComponent("registry")
        let registryFiles = ((try? FileManager.default.contentsOfDirectory(at: registryDir, includingPropertiesForKeys: nil)) ?? [])
            .filter { ["csv", "xlsx"].contains($0.pathExtension.lowercased()) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        for url in registryFiles { hashes["registry/" + url.lastPathComponent] = try FileDigest.sha256(of: url) }
        var settings: [String: String] = [:]
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("settings.csv").path) {
            for r in try table("settings.csv", required: ["設定", "值"]) { settings[r["設定"]!] = r["值"]! }
        }
        return ReferenceData(
            counties: directoryOfCounties, schools: schools,
            rules: DefermentRules(ageLimits: ageLimits, rosterKindByStatus: kinds, serviceStatusBlocks: service,
                                  educationIsSameOrHigher: education),
            fileHashes: hashes, registryFiles: registryFiles, settings: settings)
    }
}

/// SHA-256 of files, streamed.
public enum FileDigest {
    /// Lower-case hex SHA-256 of a file's bytes.
    public static func sha256(of url: URL) throws -> String {
        var hasher = SHA256()
        try CSVReader.readChunks(url) { chunk in hasher.update(bufferPointer: UnsafeRawBufferPointer(chunk)) }
        return hasher.finalize().lowercaseHex
    }
}

/// A file's SHA-256 computed on a background thread, for a file read ahead of its turn: the
/// ledger's question (was this file applied before?) is then answered without hashing it on
/// the writing thread.
final class DigestAhead: @unchecked Sendable {
    private let url: URL
    private let lock = NSLock()
    private var started = false
    private var result: Result<String, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(url: URL) { self.url = url }

    /// Starts hashing (once).
    func start() {
        let first = lock.withLock { () -> Bool in
            defer { started = true }
            return !started
        }
        guard first else { return }
        DispatchQueue.global().async { [self] in
            let digest = Result { try FileDigest.sha256(of: url) }
            lock.withLock { result = digest }
            done.signal()
        }
    }

    /// The digest, waiting for it (and starting it when not yet started).
    func value() throws -> String {
        start()
        done.wait()
        done.signal()
        return try lock.withLock { result! }.get()
    }
}
