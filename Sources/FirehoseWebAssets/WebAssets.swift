/// The browser files of `web/`, compiled into the binary so the server can serve them with nothing
/// installed beside it: `firehose.js` (the browser client, served at `/firehose.js@firehose`) and
/// `demo.html` (the live demo page, served at `/demo@firehose`).
///
/// The members are generated at build time by the `EmbedWebAssets` plugin, one pair per file in
/// `web/`: the bytes (`firehoseJS`, `demoHTML`) and a quoted strong ETag (`firehoseJSETag`,
/// `demoHTMLETag`) derived from a hash of those bytes.
public enum WebAssets {}
