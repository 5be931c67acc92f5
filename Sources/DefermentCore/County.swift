import Foundation

/// A county or city government (直轄市、縣(市)政府) and its in-school deferment office.
public struct County: Sendable, Equatable {
    /// Official five-digit code, e.g. `63000` for 臺北市.
    public var code: String
    /// Official name with 臺, e.g. 臺北市.
    public var name: String
    /// The office handling deferments (承辦單位).
    public var office: String
    /// Contact phone.
    public var phone: String
    /// Postal address.
    public var address: String
    /// Contact e-mail for notifications.
    public var email: String
    /// Whether the contact details are fictitious examples (範例資料).
    public var isExample: Bool

    public init(code: String, name: String, office: String, phone: String, address: String, email: String, isExample: Bool) {
        self.code = code
        self.name = name
        self.office = office
        self.phone = phone
        self.address = address
        self.email = email
        self.isExample = isExample
    }
}

/// The county list (縣市代碼表), with the normalisation of docs/rules.md (台→臺, 9020→09020, 63→63000).
public struct CountyDirectory: Sendable {
    /// Counties in the order of the seed file.
    public let counties: [County]
    private let byCode: [String: County]
    private let byName: [String: County]
    /// Official codes of five digits by their value (`09020` as 9020), for codes written as
    /// digits (see ``normalise(_:)``).
    private let codeByNumber: [(number: Int, code: String)]

    public init(_ counties: [County]) {
        self.counties = counties
        var c: [String: County] = [:]
        var n: [String: County] = [:]
        for county in counties {
            c[county.code] = county
            n[county.name] = county
        }
        byCode = c
        byName = n
        codeByNumber = counties.compactMap { county in
            county.code.utf8.count == 5 ? Int(county.code).map { ($0, county.code) } : nil
        }
    }

    /// The county with an official code.
    public func county(code: String) -> County? { byCode[code] }

    /// Normalises a county code or name as files write it: drops spaces, restores a dropped
    /// leading zero (`9020` → `09020`), expands the municipalities' short codes (`63` → `63000`),
    /// accepts a name with 台 for 臺. Returns the official code, or `nil` when unknown.
    public func normalise(_ raw: String) -> String? {
        let s = raw.trimmingSpaces()
        guard !s.isEmpty else { return nil }
        // Digits only: two, four or five of them are matched by their number against the
        // official codes (a registry extract names a county on every row, and comparing a number
        // costs less than padding and hashing a string): `63` is 63000, `9020` and `09020` are
        // 9020. Any other count is looked up as written.
        var digits = 0, number = 0
        for b in s.utf8 {
            guard b >= 0x30 && b <= 0x39 else { digits = -1; break }
            if digits < 5 { number = number * 10 + Int(b - 0x30) }
            digits += 1
        }
        if digits > 0 {
            guard digits == 2 || digits == 4 || digits == 5 else { return byCode[s]?.code }
            let wanted = digits == 2 ? number * 1000 : number
            return codeByNumber.first { $0.number == wanted }?.code
        }
        let name = s.replacingOccurrences(of: "台", with: "臺")
        return byName[name]?.code
    }
}
