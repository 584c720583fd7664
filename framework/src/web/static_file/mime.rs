//! File extension → media type, as Python's `mimetypes.guess_type`.

/// Extension (without the dot, lower case) → media type, sorted for a binary
/// search: Python 3.11's built-in `mimetypes` table, with the web types
/// later Pythons and the usual `/etc/mime.types` agree on (`.js` and `.mjs`
/// `text/javascript`, `.xml` `application/xml`, fonts, `.webp`, `.md`).
/// Not the system's `/etc/mime.types`, which Python also reads: the answer
/// does not depend on the machine.
const TYPES: &[(&str, &str)] = &[
    ("3g2", "audio/3gpp2"),
    ("3gp", "audio/3gpp"),
    ("3gpp", "audio/3gpp"),
    ("3gpp2", "audio/3gpp2"),
    ("a", "application/octet-stream"),
    ("aac", "audio/aac"),
    ("adts", "audio/aac"),
    ("ai", "application/postscript"),
    ("aif", "audio/x-aiff"),
    ("aifc", "audio/x-aiff"),
    ("aiff", "audio/x-aiff"),
    ("ass", "audio/aac"),
    ("au", "audio/basic"),
    ("avi", "video/x-msvideo"),
    ("avif", "image/avif"),
    ("bat", "text/plain"),
    ("bcpio", "application/x-bcpio"),
    ("bin", "application/octet-stream"),
    ("bmp", "image/bmp"),
    ("c", "text/plain"),
    ("cdf", "application/x-netcdf"),
    ("cpio", "application/x-cpio"),
    ("csh", "application/x-csh"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("dll", "application/octet-stream"),
    ("doc", "application/msword"),
    ("dot", "application/msword"),
    ("dvi", "application/x-dvi"),
    ("eml", "message/rfc822"),
    ("eps", "application/postscript"),
    ("etx", "text/x-setext"),
    ("exe", "application/octet-stream"),
    ("flac", "audio/flac"),
    ("gif", "image/gif"),
    ("gtar", "application/x-gtar"),
    ("h", "text/plain"),
    ("h5", "application/x-hdf5"),
    ("hdf", "application/x-hdf"),
    ("heic", "image/heic"),
    ("heif", "image/heif"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/vnd.microsoft.icon"),
    ("ief", "image/ief"),
    ("jpe", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("ksh", "text/plain"),
    ("latex", "application/x-latex"),
    ("loas", "audio/aac"),
    ("m1v", "video/mpeg"),
    ("m3u", "application/vnd.apple.mpegurl"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("man", "application/x-troff-man"),
    ("md", "text/markdown"),
    ("me", "application/x-troff-me"),
    ("mht", "message/rfc822"),
    ("mhtml", "message/rfc822"),
    ("mif", "application/x-mif"),
    ("mjs", "text/javascript"),
    ("mov", "video/quicktime"),
    ("movie", "video/x-sgi-movie"),
    ("mp2", "audio/mpeg"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("mpa", "video/mpeg"),
    ("mpe", "video/mpeg"),
    ("mpeg", "video/mpeg"),
    ("mpg", "video/mpeg"),
    ("ms", "application/x-troff-ms"),
    ("n3", "text/n3"),
    ("nc", "application/x-netcdf"),
    ("nq", "application/n-quads"),
    ("nt", "application/n-triples"),
    ("nws", "message/rfc822"),
    ("o", "application/octet-stream"),
    ("obj", "application/octet-stream"),
    ("oda", "application/oda"),
    ("ogg", "audio/ogg"),
    ("opus", "audio/opus"),
    ("otf", "font/otf"),
    ("p12", "application/x-pkcs12"),
    ("p7c", "application/pkcs7-mime"),
    ("pbm", "image/x-portable-bitmap"),
    ("pdf", "application/pdf"),
    ("pfx", "application/x-pkcs12"),
    ("pgm", "image/x-portable-graymap"),
    ("pl", "text/plain"),
    ("png", "image/png"),
    ("pnm", "image/x-portable-anymap"),
    ("pot", "application/vnd.ms-powerpoint"),
    ("ppa", "application/vnd.ms-powerpoint"),
    ("ppm", "image/x-portable-pixmap"),
    ("pps", "application/vnd.ms-powerpoint"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("ps", "application/postscript"),
    ("pwz", "application/vnd.ms-powerpoint"),
    ("py", "text/x-python"),
    ("pyc", "application/x-python-code"),
    ("pyo", "application/x-python-code"),
    ("qt", "video/quicktime"),
    ("ra", "audio/x-pn-realaudio"),
    ("ram", "application/x-pn-realaudio"),
    ("ras", "image/x-cmu-raster"),
    ("rdf", "application/xml"),
    ("rgb", "image/x-rgb"),
    ("roff", "application/x-troff"),
    ("rtx", "text/richtext"),
    ("sgm", "text/x-sgml"),
    ("sgml", "text/x-sgml"),
    ("sh", "application/x-sh"),
    ("shar", "application/x-shar"),
    ("snd", "audio/basic"),
    ("so", "application/octet-stream"),
    ("src", "application/x-wais-source"),
    ("srt", "text/plain"),
    ("sv4cpio", "application/x-sv4cpio"),
    ("sv4crc", "application/x-sv4crc"),
    ("svg", "image/svg+xml"),
    ("swf", "application/x-shockwave-flash"),
    ("t", "application/x-troff"),
    ("tar", "application/x-tar"),
    ("tcl", "application/x-tcl"),
    ("tex", "application/x-tex"),
    ("texi", "application/x-texinfo"),
    ("texinfo", "application/x-texinfo"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("tr", "application/x-troff"),
    ("trig", "application/trig"),
    ("tsv", "text/tab-separated-values"),
    ("ttf", "font/ttf"),
    ("txt", "text/plain"),
    ("ustar", "application/x-ustar"),
    ("vcf", "text/x-vcard"),
    ("vtt", "text/vtt"),
    ("wasm", "application/wasm"),
    ("wav", "audio/x-wav"),
    ("webm", "video/webm"),
    ("webmanifest", "application/manifest+json"),
    ("webp", "image/webp"),
    ("wiz", "application/msword"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("wsdl", "application/xml"),
    ("xbm", "image/x-xbitmap"),
    ("xlb", "application/vnd.ms-excel"),
    ("xls", "application/vnd.ms-excel"),
    ("xml", "application/xml"),
    ("xpdl", "application/xml"),
    ("xpm", "image/x-xpixmap"),
    ("xsl", "application/xml"),
    ("xwd", "image/x-xwindowdump"),
    ("zip", "application/zip"),
];

/// The encodings Python's `mimetypes.encodings_map` knows (case-sensitive).
const ENCODINGS: &[(&str, &str)] = &[
    (".gz", "gzip"),
    (".Z", "compress"),
    (".bz2", "bzip2"),
    (".xz", "xz"),
    (".br", "br"),
];

/// Python's `mimetypes.suffix_map`: extensions that stand for two.
const SUFFIXES: &[(&str, &str)] = &[
    (".svgz", ".svg.gz"),
    (".tgz", ".tar.gz"),
    (".taz", ".tar.gz"),
    (".tz", ".tar.gz"),
    (".tbz2", ".tar.bz2"),
    (".txz", ".tar.xz"),
];

/// Python's `posixpath.splitext`: the extension (with its dot) of the last
/// component, where the dots a name starts with begin none (`.bashrc`).
fn splitext(path: &str) -> (&str, &str) {
    let name_start = path.rfind('/').map_or(0, |slash| slash + 1);
    let name = &path[name_start..];
    match name.rfind('.') {
        Some(dot) if name[..dot].bytes().any(|b| b != b'.') => path.split_at(name_start + dot),
        _ => (path, ""),
    }
}

/// The media type and encoding of `path`, as Python's
/// `mimetypes.guess_type(path)` with its built-in tables.
pub(super) fn guess_type(path: &str) -> (Option<&'static str>, Option<&'static str>) {
    let mut base = path.to_owned();
    let mut ext = splitext(path).1.to_owned();
    base.truncate(path.len() - ext.len());
    // `.tgz` is `.tar.gz`: replaced, then split again.
    while let Some(&(_, stands_for)) = SUFFIXES.iter().find(|(s, _)| *s == ext.to_lowercase()) {
        base.push_str(stands_for);
        let (b, e) = splitext(&base);
        let (b_len, e_owned) = (b.len(), e.to_owned());
        base.truncate(b_len);
        ext = e_owned;
    }
    let mut encoding = None;
    if let Some(&(_, name)) = ENCODINGS.iter().find(|(e, _)| *e == ext) {
        encoding = Some(name);
        let (b, e) = splitext(&base);
        let (b_len, e_owned) = (b.len(), e.to_owned());
        base.truncate(b_len);
        ext = e_owned;
    }
    let lower = ext.to_lowercase();
    let mime = lower
        .strip_prefix('.')
        .and_then(|key| TYPES.binary_search_by(|(k, _)| (*k).cmp(key)).ok())
        .and_then(|at| TYPES.get(at))
        .map(|&(_, mime)| mime);
    (mime, encoding)
}

/// The `Content-Type` Tornado's `StaticFileHandler.get_content_type` gives
/// `path`: `application/gzip` for a gzip-encoded file (RFC 6713), octet-stream
/// for another encoding or an unknown type.
pub(super) fn content_type(path: &str) -> &'static str {
    match guess_type(path) {
        (_, Some("gzip")) => "application/gzip",
        (_, Some(_)) | (None, None) => "application/octet-stream",
        (Some(mime), None) => mime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(TYPES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn types_are_pythons() {
        // What Python's `mimetypes.MimeTypes(filenames=()).guess_type(p)` gives
        // (`.js` as Python 3.12+).
        for (path, expected) in [
            ("a.html", (Some("text/html"), None)),
            ("dir.d/a.HTML", (Some("text/html"), None)),
            ("a.css", (Some("text/css"), None)),
            ("a.js", (Some("text/javascript"), None)),
            ("a.png", (Some("image/png"), None)),
            ("a.jpg", (Some("image/jpeg"), None)),
            ("a.svg", (Some("image/svg+xml"), None)),
            ("a.json", (Some("application/json"), None)),
            ("a.txt", (Some("text/plain"), None)),
            ("a.css.gz", (Some("text/css"), Some("gzip"))),
            ("a.tgz", (Some("application/x-tar"), Some("gzip"))),
            ("a.svgz", (Some("image/svg+xml"), Some("gzip"))),
            ("a.bz2", (None, Some("bzip2"))),
            ("a.GZ", (None, None)),
            (".bashrc", (None, None)),
            ("..png", (None, None)),
            ("x/.png", (None, None)),
            ("noext", (None, None)),
            ("a.map", (None, None)),
        ] {
            assert_eq!(guess_type(path), expected, "{path}");
        }
    }

    #[test]
    fn content_types_are_tornados() {
        assert_eq!(content_type("a.css.gz"), "application/gzip");
        assert_eq!(content_type("a.tar.xz"), "application/octet-stream");
        assert_eq!(content_type("a.unknown"), "application/octet-stream");
        assert_eq!(content_type("a.png"), "image/png");
    }
}
