import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// Environment variables that stand in for flags, as Firehose's own did.
enum Environment {
    static func string(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }

    /// A numeric variable; a value that is set but not a number is an error, not silently ignored.
    static func integer(_ name: String) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text) else { throw ValidationError("\(name)=\(text) is not a whole number") }
        return value
    }

    /// A numeric variable that may have a fraction (seconds).
    static func double(_ name: String) throws -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text) else { throw ValidationError("\(name)=\(text) is not a number") }
        return value
    }
}
