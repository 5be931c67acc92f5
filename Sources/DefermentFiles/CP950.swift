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
        var input = Array(bytes)
        var output = [UInt8](repeating: 0, count: input.count * 2 + 8)
        var produced = -1
        input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
                var outLeft = outBuf.count
                iconv(cd, nil, nil, nil, nil)
                let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                if r != -1 && inLeft == 0 { produced = outBuf.count - outLeft }
            }
        }
        guard produced >= 0 else { return nil }
        return String(decoding: output[0..<produced], as: UTF8.self)
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
        var input = Array(text.utf8)
        if input.isEmpty { return [] }
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
