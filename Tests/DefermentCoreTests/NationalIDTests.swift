import Testing
@testable import DefermentCore

/// 身分證字號 rules: the vectors of docs/rules.md plus the shapes schools really send.
struct NationalIDTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let raw: String
        let expected: NationalIDKind
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "docs/rules.md: A123456789 is valid", raw: "A123456789", expected: .citizen(male: true)),
        Case(name: "docs/rules.md: A123456788 fails the check digit", raw: "A123456788", expected: .invalid),
        Case(name: "lower-case letter is normalised", raw: "a123456789", expected: .citizen(male: true)),
        Case(name: "full-width characters are normalised", raw: "Ａ１２３４５６７８９", expected: .citizen(male: true)),
        Case(name: "surrounding spaces are ignored", raw: " A123456789 ", expected: .citizen(male: true)),
        Case(name: "second character 2 means female", raw: "A223456781", expected: .citizen(male: false)),
        Case(name: "nine characters is a format error", raw: "A12345678", expected: .invalid),
        Case(name: "eleven characters is a format error", raw: "A1234567890", expected: .invalid),
        Case(name: "first character must be a letter", raw: "1123456789", expected: .invalid),
        Case(name: "second character 3 is no ID", raw: "A323456789", expected: .invalid),
        Case(name: "letters after the second character are a format error", raw: "A12345678X", expected: .invalid),
        Case(name: "new resident certificate (外來人口統一證號) with 8", raw: "A800000014", expected: .residentCertificate),
        Case(name: "empty", raw: "", expected: .invalid),
    ]

    @Test(arguments: cases)
    func classifies(_ c: Case) {
        #expect(NationalID.classify(NationalID.normalise(c.raw)) == c.expected)
    }

    @Test func checkDigitCompletesEveryLetter() {
        for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" {
            let id = NationalID.withCheckDigit("\(letter)12345678")!
            #expect(NationalID.classify(id) == .citizen(male: true), "\(id)")
            let last = id.last!.wholeNumberValue!
            let wrong = String(id.dropLast()) + String((last + 1) % 10)
            #expect(NationalID.classify(wrong) == .invalid, "\(wrong)")
        }
    }

    @Test func maskingHidesTheMiddle() {
        #expect(NationalID.masked("A123456789") == "A12****789")
    }
}
