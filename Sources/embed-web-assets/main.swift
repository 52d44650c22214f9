// Build-time generator used by the EmbedWebAssets plugin:
//     embed-web-assets OUTPUT.swift web/firehose.js web/demo.html ...
// writes an extension of `WebAssets` with, for each input file, a byte array named after the file
// (`firehose.js` -> `firehoseJS`, `demo.html` -> `demoHTML`) and a quoted strong ETag for it
// (`firehoseJSETag`). Bytes are emitted as an array literal rather than a string literal so that
// every byte (CR, NUL, invalid UTF-8, `"""`) survives exactly.
import Foundation

/// `firehose.js` -> `firehoseJS`; `demo-page.html` -> `demoPageHTML`: the stem in lower camel
/// case, the extension in capitals, so the names read like the files they hold.
func propertyName(forFile name: String) -> String {
    let dot = name.lastIndex(of: ".") ?? name.endIndex
    let stemWords = name[..<dot].split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    let ext = dot < name.endIndex ? name[name.index(after: dot)...].uppercased() : ""
    var result = ""
    for (index, word) in stemWords.enumerated() {
        result += index == 0 ? word.prefix(1).lowercased() + word.dropFirst() : word.prefix(1).uppercased() + word.dropFirst()
    }
    result += ext.filter { $0.isLetter || $0.isNumber }
    if let first = result.first, first.isNumber { result = "_" + result }
    return result
}

/// FNV-1a, 64 bits: an ETag only has to change when the content does (a collision between two
/// versions of one file is astronomically unlikely), and this keeps the generator free of any
/// dependency.
func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
}

func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

/// The bytes as `0x..` literals, 16 per line so the generated file stays readable in a diff tool.
func arrayLiteral(_ bytes: [UInt8]) -> String {
    var lines: [String] = []
    var index = 0
    while index < bytes.count {
        let row = bytes[index..<min(index + 16, bytes.count)]
        lines.append("        " + row.map { "0x" + (($0 < 16) ? "0" : "") + String($0, radix: 16) }.joined(separator: ", ") + ",")
        index += 16
    }
    return "[\n" + lines.joined(separator: "\n") + "\n    ]"
}

let arguments = CommandLine.arguments.dropFirst()
guard let outputPath = arguments.first else {
    FileHandle.standardError.write(Data("usage: embed-web-assets OUTPUT.swift FILE...\n".utf8))
    exit(2)
}

var source = """
// Generated at build time by embed-web-assets from the files in web/. Do not edit or commit.

extension WebAssets {

"""
var seen: [String: String] = [:]
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let file = url.lastPathComponent
    let name = propertyName(forFile: file)
    if let other = seen[name] {
        FileHandle.standardError.write(Data("embed-web-assets: \(file) and \(other) both map to \(name)\n".utf8))
        exit(1)
    }
    seen[name] = file
    let bytes: [UInt8]
    do {
        bytes = [UInt8](try Data(contentsOf: url))
    } catch {
        FileHandle.standardError.write(Data("embed-web-assets: cannot read \(path): \(error)\n".utf8))
        exit(1)
    }
    // A strong validator (no W/): the bytes served are exactly these. The length is part of it
    // so that two files can only collide if they are also the same size.
    let etag = "\\\"\(hex(fnv1a64(bytes)))-\(String(bytes.count, radix: 16))\\\""
    source += """
            /// The bytes of `web/\(file)` (\(bytes.count) bytes).
            public static let \(name): [UInt8] = \(arrayLiteral(bytes))

            /// Strong ETag of `web/\(file)`, quoted as it goes in the header.
            public static let \(name)ETag: String = "\(etag)"


        """
}
source += "}\n"

do {
    let data = Data(source.utf8)
    // Rewriting identical content would bump the mtime and recompile the target for nothing.
    if (try? Data(contentsOf: URL(fileURLWithPath: outputPath))) != data {
        try data.write(to: URL(fileURLWithPath: outputPath), options: .atomic)
    }
} catch {
    FileHandle.standardError.write(Data("embed-web-assets: cannot write \(outputPath): \(error)\n".utf8))
    exit(1)
}
