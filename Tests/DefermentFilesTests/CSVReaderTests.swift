import Foundation
import Testing
@testable import DefermentFiles

/// Real CSV files in every encoding a school's export arrives in.
struct CSVReaderTests {
    static let text = "身分證字號,姓名,出生年月日\r\nA123456789,王小明,0951023\r\nB123456780,\"林, 大\"\"華\"\"\",95/10/23\r\n"

    func rows(_ url: URL) throws -> (TableReader, [TableRow]) {
        let reader = try TableFile.open(url)
        var rows: [TableRow] = []
        try reader.forEachRow { rows.append($0) }
        // The cells as bytes (what registry intake reads) are the same rows, cell for cell.
        var byBytes: [TableRow] = []
        try reader.forEachRowBytes { r in
            byBytes.append(TableRow(number: r.number, cells: (0..<r.count).map { String(decoding: r[$0], as: UTF8.self) }, undecodable: r.undecodable))
        }
        #expect(byBytes.map(\.number) == rows.map(\.number))
        #expect(byBytes.map(\.cells) == rows.map(\.cells))
        #expect(byBytes.map(\.undecodable) == rows.map(\.undecodable))
        return (reader, rows)
    }

    @Test func utf8WithoutBOM() throws {
        let url = try temporaryFolder().appendingPathComponent("a.csv")
        try Data(Self.text.utf8).write(to: url)
        let (reader, rows) = try rows(url)
        #expect(reader.formatDescription == "CSV（UTF-8）")
        #expect(rows.map(\.cells) == [["身分證字號", "姓名", "出生年月日"], ["A123456789", "王小明", "0951023"], ["B123456780", "林, 大\"華\"", "95/10/23"]])
        #expect(rows.map(\.number) == [1, 2, 3])
    }

    @Test func utf8WithBOM() throws {
        let url = try temporaryFolder().appendingPathComponent("a.csv")
        try Data([0xEF, 0xBB, 0xBF] + Array(Self.text.utf8)).write(to: url)
        let (reader, rows) = try rows(url)
        #expect(reader.formatDescription == "CSV（UTF-8 (BOM)）")
        #expect(rows[0].cells[0] == "身分證字號")
        #expect(rows[2].cells[1] == "林, 大\"華\"")
    }

    @Test func cp950AsExcelWritesIt() throws {
        let url = try temporaryFolder().appendingPathComponent("a.csv")
        // Encoded by Python's own codec, independent of the reader's iconv.
        try python("import sys; open(sys.argv[1],'wb').write(sys.argv[2].encode('cp950'))", arguments: [url.path, Self.text])
        let (reader, rows) = try rows(url)
        #expect(reader.formatDescription == "CSV（CP950）")
        #expect(rows[1].cells == ["A123456789", "王小明", "0951023"])
        #expect(rows[2].cells[1] == "林, 大\"華\"")
        #expect(rows.allSatisfy { $0.undecodable.isEmpty })
    }

    @Test func cp950RowWithUndecodableBytesFailsOnlyThatCell() throws {
        let url = try temporaryFolder().appendingPathComponent("a.csv")
        var bytes = Array("身分證字號,姓名\r\nA123456789,".data(using: .utf8)!)
        bytes = try #require(CP950Encoder.encode("身分證字號,姓名\r\nA123456789,"))
        bytes += [0x81, 0x30] // not a CP950 sequence
        bytes += Array("\r\nB123456780,".utf8) + CP950Encoder.encode("林大華")! + Array("\r\n".utf8)
        try Data(bytes).write(to: url)
        let (reader, rows) = try rows(url)
        #expect(reader.formatDescription == "CSV（CP950）")
        #expect(rows.count == 3)
        #expect(rows[1].undecodable == [1])
        #expect(rows[2].cells == ["B123456780", "林大華"])
        #expect(rows[2].undecodable.isEmpty)
    }

    @Test func quotedLineBreaksBlankLinesAndLFEndings() throws {
        let url = try temporaryFolder().appendingPathComponent("a.csv")
        try Data("a,b\n\"x\ny\",2\n\n,\n3,4".utf8).write(to: url)
        let (_, rows) = try rows(url)
        #expect(rows.map(\.cells) == [["a", "b"], ["x\ny", "2"], ["3", "4"]])
        #expect(rows.map(\.number) == [1, 2, 5])
    }

    @Test func recordsAcrossChunkBoundaries() throws {
        let url = try temporaryFolder().appendingPathComponent("big.csv")
        var text = "身分證字號,姓名,備註\n"
        for i in 0..<60_000 { text += "A\(100000000 + i),王大明\(i),\"含,逗號與\"\"引號\"\"\"\n" }
        try Data(text.utf8).write(to: url)
        let (_, rows) = try rows(url)
        for row in rows where row.number > 1 {
            #expect(row.cells == ["A\(100000000 + row.number - 2)", "王大明\(row.number - 2)", "含,逗號與\"引號\""])
        }
        #expect(rows.count == 60_001)
    }

    /// Empty cells, a final separator at the end of the file and a quoted cell between
    /// unquoted ones read as written, whether or not a record has quotes (a blank record, quoted
    /// or not, is skipped).
    @Test(arguments: [
        ("a,b\n1,\n,2\n3,4,", [["a", "b"], ["1", ""], ["", "2"], ["3", "4", ""]]),
        ("a,b,c\r\nx,\"q,r\",y\r\n,,\"\"\r\n,,\"z\"\r\n", [["a", "b", "c"], ["x", "q,r", "y"], ["", "", "z"]]),
        ("a\tb\n1\t\"2\"\"\"\n", [["a", "b"], ["1", "2\""]]),
    ])
    func cellsWithAndWithoutQuotes(text: String, expected: [[String]]) throws {
        let url = try temporaryFolder().appendingPathComponent("a.csv")
        try Data(text.utf8).write(to: url)
        let (_, rows) = try rows(url)
        #expect(rows.map(\.cells) == expected)
    }

    @Test func unterminatedQuoteIsAFileError() throws {
        let url = try temporaryFolder().appendingPathComponent("a.csv")
        try Data("a,b\n\"x,2\n3,4\n".utf8).write(to: url)
        #expect(throws: TableFileError.unterminatedQuote(row: 2)) { try rows(url) }
    }

    @Test func filesThatAreNoSpreadsheet() throws {
        let dir = try temporaryFolder()
        let xls = dir.appendingPathComponent("old.xls")
        try Data([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0]).write(to: xls)
        #expect(throws: TableFileError.notASpreadsheet("舊版 Excel 97-2003 .xls")) { try TableFile.open(xls) }
        let pdf = dir.appendingPathComponent("a.pdf")
        try Data("%PDF-1.4\n".utf8).write(to: pdf)
        #expect(throws: TableFileError.notASpreadsheet("PDF")) { try TableFile.open(pdf) }
        let empty = dir.appendingPathComponent("e.csv")
        try Data().write(to: empty)
        #expect(throws: TableFileError.empty) { try TableFile.open(empty) }
    }
}
