/// Why a token was refused. For the server's debug log only: clients get one undifferentiated
/// `invalid_token`, so that a forger learns nothing from the answer.
public enum TokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not a compact JWS: too long, not three strict base64url segments, a header or claims that
    /// are not JSON objects, a `typ` other than JWT, a `crit` header, or a grant or time claim of
    /// the wrong type.
    case malformed
    /// An `alg` that the configured keys do not allow (`none`, HS512, RS256 without an RSA key...).
    case unsupportedAlgorithm
    case badSignature
    /// `now > exp + leeway`.
    case expired
    /// `now + leeway < nbf`.
    case notYetValid
    /// An audience is configured and the token's `aud` (a string or an array) does not name it.
    case wrongAudience
    /// An issuer is configured and the token's `iss` is not exactly it.
    case wrongIssuer

    public var description: String {
        switch self {
        case .malformed: return "malformed token"
        case .unsupportedAlgorithm: return "algorithm not allowed"
        case .badSignature: return "bad signature"
        case .expired: return "token expired"
        case .notYetValid: return "token not yet valid"
        case .wrongAudience: return "wrong audience"
        case .wrongIssuer: return "wrong issuer"
        }
    }
}
