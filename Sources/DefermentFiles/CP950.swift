import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Decodes CP950 (Big5 as Windows writes it) with glibc's iconv.
public final class CP950Decoder {
    private let cd: iconv_t

    init() throws {
        let handle = iconv_open("UTF-8", "CP950")
        guard let handle, Int(bitPattern: handle) != -1 else { throw TableFileError.io("iconv CP950 不可用") }
        cd = handle
    }

    deinit { iconv_close(cd) }

    /// The UTF-8 text of `bytes`, or `nil` when they hold a sequence CP950 does not define.
    func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        iconv(cd, nil, nil, nil, nil)
        return Iconv.convert(cd, Array(bytes)).map { String(decoding: $0, as: UTF8.self) }
    }
}

extension CP950Decoder {
    /// Decodes a whole text (`nil` when it is not CP950).
    public static func decode(_ bytes: Data) -> String? { (try? CP950Decoder())?.decode(Array(bytes)[...]) }
}

/// Encodes text as CP950 with glibc's iconv (for the sample generator and tests).
public enum CP950Encoder {
    /// The CP950 bytes of `text`, or `nil` if it has a character CP950 lacks.
    public static func encode(_ text: String) -> [UInt8]? {
        let cd = iconv_open("CP950", "UTF-8")
        guard let cd, Int(bitPattern: cd) != -1 else { return nil }
        defer { iconv_close(cd) }
        return text.isEmpty ? [] : Iconv.convert(cd, Array(text.utf8))
    }
}

/// One whole conversion through an open iconv descriptor, both ways of CP950 alike.
enum Iconv {
    /// The converted bytes of `bytes` (not empty), or `nil` when iconv stops before their end (a
    /// sequence the source encoding does not define, or a character the target lacks). Output
    /// has room for twice the input: between CP950 and UTF-8 no text more than doubles.
    static func convert(_ cd: iconv_t, _ bytes: [UInt8]) -> [UInt8]? {
        var input = bytes
        var output = [UInt8](repeating: 0, count: input.count * 2 + 8)
        var produced = -1
        input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
                var outLeft = outBuf.count
                let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                if r != -1 && inLeft == 0 { produced = outBuf.count - outLeft }
            }
        }
        return produced >= 0 ? Array(output[0..<produced]) : nil
    }
}
