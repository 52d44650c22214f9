/// Something that answers the requests of an `HTTPConnection`: the public `RequestRouter`, the
/// admin listener's `AdminRouter`. The connection knows only this.
protocol HTTPRequestRouting: AnyObject {
    func route(_ request: HTTPRequest, on connection: HTTPConnection)
}
