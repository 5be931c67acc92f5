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

/// The county list (縣市代碼表), with the normalisation domain.md asks for.
public struct CountyDirectory: Sendable {
    /// Counties in the order of the seed file.
    public let counties: [County]
    private let byCode: [String: County]
    private let byName: [String: County]

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
    }

    /// The county with an official code.
    public func county(code: String) -> County? { byCode[code] }

    /// Normalises a county code or name as files write it: drops spaces, restores a dropped
    /// leading zero (`9020` → `09020`), expands the municipalities' short codes (`63` → `63000`),
    /// accepts a name with 台 for 臺. Returns the official code, or `nil` when unknown.
    public func normalise(_ raw: String) -> String? {
        let s = raw.trimmingSpaces()
        guard !s.isEmpty else { return nil }
        if s.unicodeScalars.allSatisfy({ $0.value >= 0x30 && $0.value <= 0x39 }) {
            var code = s
            if code.count == 2 { code += "000" }
            if code.count == 4 { code = "0" + code }
            return byCode[code]?.code
        }
        let name = s.replacingOccurrences(of: "台", with: "臺")
        return byName[name]?.code
    }
}
