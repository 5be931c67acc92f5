import Testing
@testable import DefermentCore

/// Text keyed by its bytes: the desk's own words match only as written.
struct ByteTextTests {
    @Test func equalBytesAreEqualAndHashAlike() {
        #expect(ByteText("63000") == ByteText(String("63000".reversed().reversed())))
        #expect(ByteText("待審核").hashValue == ByteText("待" + "審核").hashValue)
        #expect(Set([ByteText("核准"), ByteText("核准"), ByteText("未核准")]).count == 2)
    }

    @Test func canonicallyEquivalentTextsWithOtherBytesDiffer() {
        let composed = "\u{E9}", decomposed = "e\u{301}"
        #expect(composed == decomposed)                           // String: equivalent
        #expect(ByteText(composed) != ByteText(decomposed))       // bytes: not the same word
        #expect(!ByteText.sameBytes("否", "是") && ByteText.sameBytes("否", "否") && ByteText.sameBytes("", ""))
    }

    @Test func bytesFromAFileMatchTheirText() {
        let bytes = Array("學校代碼".utf8)
        bytes.withUnsafeBufferPointer { b in
            #expect(ByteText("學校代碼").matches(b))
            #expect(!ByteText("學校名稱").matches(b))
        }
    }
}
