//! Arguments over real sockets: query and form bodies, unicode, repeated
//! keys, cleaning, missing and invalid values, path arguments (positional
//! and named), `reverse_url`, host routing and multipart uploads. Normal
//! traffic also goes through an independent client, Python's `http.client`.

use test_support::{app_server, fetch, python_stdout, ServerThread};
use tornado::web::{url, Application, Handler, RequestHandler, Result};

/// Writes `name=value` lines for the arguments named by `?names=a,b`
/// (comma-separated; the `names` argument itself is read from the query).
struct Args;
impl Args {
    fn dump(cx: &mut Handler) -> Result {
        let names = cx.get_query_argument("names")?;
        let mut out = String::new();
        for name in names.split(',') {
            out.push_str(&format!(
                "{name}: one={:?} all={:?} query={:?} body={:?}\n",
                cx.get_argument_or(name, "<none>")?,
                cx.get_arguments(name)?,
                cx.get_query_arguments(name)?,
                cx.get_body_arguments(name)?,
            ));
        }
        cx.write(out)
    }
}
impl RequestHandler for Args {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        Args::dump(cx)
    }
    async fn post(&mut self, cx: &mut Handler) -> Result {
        Args::dump(cx)
    }
}

/// `a` from the query and from the body, each with its own default.
struct Defaults;
impl RequestHandler for Defaults {
    async fn post(&mut self, cx: &mut Handler) -> Result {
        let query = cx.get_query_argument_or("a", "no query a")?;
        let body = cx.get_body_argument_or("a", "no body a")?;
        cx.write(format!("{query}|{body}"))
    }
}

/// `get_argument("name")` with no default: 400 when missing.
struct Required;
impl RequestHandler for Required {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let name = cx.get_argument("name")?;
        cx.write(format!("hello {name}"))
    }
    async fn post(&mut self, cx: &mut Handler) -> Result {
        let name = cx.get_body_argument("name")?;
        cx.write(format!("hello {name}"))
    }
}

struct PathArgs;
impl RequestHandler for PathArgs {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let mut kwargs: Vec<_> = cx.path_kwargs().iter().collect();
        kwargs.sort();
        let out = format!("args={:?} kwargs={kwargs:?}", cx.path_args());
        cx.write(out)
    }
}

struct Reverse;
impl RequestHandler for Reverse {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let app = cx.application().clone();
        let user = app.reverse_url("user", &["42"])?;
        let post = app.reverse_url("post", &["a b", "x/y"])?;
        let plain = app.reverse_url("plain", &[])?;
        cx.write(format!("{user} {post} {plain}"))
    }
}

struct Text(&'static str);
impl RequestHandler for Text {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.write(self.0)
    }
}

/// Lists `request.files` and the body arguments of a multipart upload.
struct Upload;
impl RequestHandler for Upload {
    async fn post(&mut self, cx: &mut Handler) -> Result {
        let mut out = String::new();
        let mut names: Vec<_> = cx.request.files.keys().cloned().collect();
        names.sort();
        for name in names {
            for file in &cx.request.files[&name] {
                out.push_str(&format!(
                    "file {name}: {:?} {:?} {:?}\n",
                    file.filename,
                    file.content_type,
                    String::from_utf8_lossy(&file.body)
                ));
            }
        }
        out.push_str(&format!("field: {:?}\n", cx.get_body_argument("field")?));
        cx.write(out)
    }
}

fn app() -> Application {
    let app = Application::new([
        url("/args", || Args),
        url("/defaults", || Defaults),
        url("/required", || Required),
        url(r"/p/([^/]+)", || PathArgs),
        url(r"/two/([0-9]+)/(.*)", || PathArgs),
        url(r"/opt/([a-z]+)?", || PathArgs),
        url(r"/n/(?P<first>[a-z]+)/(?P<second>[0-9]+)", || PathArgs),
        url(r"/user/([0-9]+)", || Text("user")).name("user"),
        url(r"/post/([^/]+)/(.+)\.html", || Text("post")).name("post"),
        url("/plain", || Text("plain")).name("plain"),
        url("/reverse", || Reverse),
        url("/upload", || Upload),
        url("/host/.*", || Text("catch-all")),
    ]);
    app.add_handlers(
        r"www\.example\.com",
        [
            url("/host", || Text("www host")),
            url("/host/www", || Text("www host")),
        ],
    )
    .unwrap();
    app.add_handlers(r".*\.example\.org", [url("/host", || Text("org host"))])
        .unwrap();
    app
}

fn server() -> ServerThread {
    app_server(app())
}

/// `GET target` on a fresh connection; (status, body as text).
fn get(server: &ServerThread, target: &str) -> (u16, String) {
    get_host(server, target, "x")
}

fn get_host(server: &ServerThread, target: &str, host: &str) -> (u16, String) {
    let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let response = fetch(server.addr, request.as_bytes(), false);
    (
        response.status,
        String::from_utf8_lossy(&response.body).into_owned(),
    )
}

fn post(server: &ServerThread, target: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let mut request = format!(
        "POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let response = fetch(server.addr, &request, false);
    (
        response.status,
        String::from_utf8_lossy(&response.body).into_owned(),
    )
}

#[test]
fn query_arguments_unicode_and_repeated_keys() {
    let server = server();
    let (status, body) = get(
        &server,
        "/args?names=a,u,missing&a=1&a=2&u=J%C3%BCrgen+K%C3%B6nig&a=3",
    );
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "a: one=\"3\" all=[\"1\", \"2\", \"3\"] query=[\"1\", \"2\", \"3\"] body=[]\n\
         u: one=\"Jürgen König\" all=[\"Jürgen König\"] query=[\"Jürgen König\"] body=[]\n\
         missing: one=\"<none>\" all=[] query=[] body=[]\n"
    );
    // A blank value is kept, as Tornado keeps it for query arguments.
    let (_, body) = get(&server, "/args?names=e&e=");
    assert_eq!(body, "e: one=\"\" all=[\"\"] query=[\"\"] body=[]\n");
}

#[test]
fn form_body_arguments_merge_with_the_query() {
    let server = server();
    let (status, body) = post(
        &server,
        "/args?names=k,q,b&k=fromquery&q=%E2%9C%93",
        "application/x-www-form-urlencoded",
        "k=frombody&b=caf%C3%A9&b=second".as_bytes(),
    );
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "k: one=\"frombody\" all=[\"fromquery\", \"frombody\"] query=[\"fromquery\"] body=[\"frombody\"]\n\
         q: one=\"✓\" all=[\"✓\"] query=[\"✓\"] body=[]\n\
         b: one=\"second\" all=[\"café\", \"second\"] query=[] body=[\"café\", \"second\"]\n"
    );
}

#[test]
fn query_and_body_arguments_each_have_a_default() {
    let server = server();
    let form = "application/x-www-form-urlencoded";
    let (status, body) = post(&server, "/defaults?a=q", form, b"a=b");
    assert_eq!((status, body.as_str()), (200, "q|b"));
    let (status, body) = post(&server, "/defaults?a=q", form, b"");
    assert_eq!((status, body.as_str()), (200, "q|no body a"));
    let (status, body) = post(&server, "/defaults", form, b"a=b");
    assert_eq!((status, body.as_str()), (200, "no query a|b"));
    // A value that is not UTF-8 is a 400 all the same, as in Tornado.
    let (status, _) = post(&server, "/defaults", form, b"a=%FF");
    assert_eq!(status, 400);
}

#[test]
fn control_characters_are_replaced_and_whitespace_stripped() {
    let server = server();
    // "\x01x\ty\x1f " and "  padded\r\n": control characters (not tab, CR,
    // LF) become spaces, then surrounding whitespace goes.
    let (_, body) = get(
        &server,
        "/args?names=c,p&c=%01x%09y%1F%20&p=%20%20padded%0D%0A",
    );
    assert_eq!(
        body,
        "c: one=\"x\\ty\" all=[\"x\\ty\"] query=[\"x\\ty\"] body=[]\n\
         p: one=\"padded\" all=[\"padded\"] query=[\"padded\"] body=[]\n"
    );
    // Inside the value, they stay as spaces.
    let (_, body) = get(&server, "/args?names=m&m=a%00b%08c");
    assert_eq!(
        body,
        "m: one=\"a b c\" all=[\"a b c\"] query=[\"a b c\"] body=[]\n"
    );
}

#[test]
fn missing_argument_is_400() {
    let server = server();
    let (status, body) = get(&server, "/required");
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "<html><title>400: Bad Request</title><body>400: Bad Request</body></html>"
    );
    assert_eq!(
        get(&server, "/required?name=ann"),
        (200, "hello ann".to_owned())
    );
    // get_body_argument does not look at the query.
    let (status, _) = post(
        &server,
        "/required?name=q",
        "application/x-www-form-urlencoded",
        b"other=1",
    );
    assert_eq!(status, 400);
    let (status, body) = post(
        &server,
        "/required",
        "application/x-www-form-urlencoded",
        b"name=bob",
    );
    assert_eq!((status, body.as_str()), (200, "hello bob"));
}

#[test]
fn invalid_utf8_argument_is_400() {
    let server = server();
    assert_eq!(get(&server, "/required?name=%FF%FE").0, 400);
    assert_eq!(get(&server, "/args?names=bad&bad=ok%C3").0, 400);
    let (status, _) = post(
        &server,
        "/required",
        "application/x-www-form-urlencoded",
        b"name=%C0%AF",
    );
    assert_eq!(status, 400);
    // Valid UTF-8 in another argument is fine.
    assert_eq!(get(&server, "/required?name=%C3%A9&x=%FF").0, 200);
}

#[test]
fn path_args_are_unescaped_after_matching() {
    let server = server();
    assert_eq!(get(&server, "/p/a+b%20c").1, r#"args=["a+b c"] kwargs=[]"#);
    // %2F does not split the path: the route matched the escaped path.
    assert_eq!(get(&server, "/p/a%2Fb").1, r#"args=["a/b"] kwargs=[]"#);
    assert_eq!(get(&server, "/p/a/b").0, 404);
    assert_eq!(get(&server, "/p/%E2%82%AC").1, r#"args=["€"] kwargs=[]"#);
    assert_eq!(
        get(&server, "/two/7/rest/of%3Fit").1,
        r#"args=["7", "rest/of?it"] kwargs=[]"#
    );
    // An optional group that did not take part is passed as "".
    assert_eq!(get(&server, "/opt/").1, r#"args=[""] kwargs=[]"#);
    // Invalid UTF-8 in a path argument is 400.
    assert_eq!(get(&server, "/p/%FF").0, 400);
}

#[test]
fn named_groups_become_path_kwargs() {
    let server = server();
    assert_eq!(
        get(&server, "/n/abc/123").1,
        r#"args=[] kwargs=[("first", "abc"), ("second", "123")]"#
    );
    assert_eq!(get(&server, "/n/abc/x").0, 404);
}

#[test]
fn reverse_url_builds_escaped_paths_that_route_back() {
    let server = server();
    let (status, body) = get(&server, "/reverse");
    assert_eq!(status, 200);
    // Tornado's bytes: `/` stays unescaped in a path argument.
    assert_eq!(body, "/user/42 /post/a%20b/x/y.html /plain");
    for (path, expected) in body.split(' ').zip(["user", "post", "plain"]) {
        assert_eq!(get(&server, path), (200, expected.to_owned()), "{path}");
    }
    let app = app();
    assert!(app.reverse_url("nope", &[]).is_err());
    assert!(
        app.reverse_url("user", &[]).is_err(),
        "wrong argument count"
    );
}

#[test]
fn add_handlers_routes_by_host() {
    let server = server();
    assert_eq!(
        get_host(&server, "/host", "www.example.com"),
        (200, "www host".to_owned())
    );
    assert_eq!(
        get_host(&server, "/host", "WWW.Example.COM:8080"),
        (200, "www host".to_owned())
    );
    assert_eq!(
        get_host(&server, "/host", "api.example.org"),
        (200, "org host".to_owned())
    );
    assert_eq!(get_host(&server, "/host", "example.com").0, 404);
    assert_eq!(get_host(&server, "/host", "www.example.com.evil").0, 404);
    // The default routes serve every host.
    assert_eq!(
        get_host(&server, "/plain", "www.example.com"),
        (200, "plain".to_owned())
    );
    // A host's route comes before a default one that matches too; a path
    // the host lacks falls through to the defaults (as Tornado 6.6 does).
    for (path, host, body) in [
        ("/host/www", "www.example.com", "www host"),
        ("/host/www", "example.com", "catch-all"),
        ("/host/other", "www.example.com", "catch-all"),
    ] {
        assert_eq!(get_host(&server, path, host), (200, body.to_owned()));
    }
}

#[test]
fn multipart_upload_fills_request_files() {
    let server = server();
    let body = "--XyZ\r\n\
        Content-Disposition: form-data; name=\"field\"\r\n\r\n\
        fïeld value\r\n\
        --XyZ\r\n\
        Content-Disposition: form-data; name=\"doc\"; filename=\"notes.txt\"\r\n\
        Content-Type: text/plain\r\n\r\n\
        line one\r\nline two\r\n\
        --XyZ\r\n\
        Content-Disposition: form-data; name=\"doc\"; filename=\"b.bin\"\r\n\r\n\
        \x01\x02\r\n\
        --XyZ--\r\n";
    let (status, out) = post(
        &server,
        "/upload",
        "multipart/form-data; boundary=XyZ",
        body.as_bytes(),
    );
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        out,
        "file doc: \"notes.txt\" \"text/plain\" \"line one\\r\\nline two\"\n\
         file doc: \"b.bin\" \"application/unknown\" \"\\u{1}\\u{2}\"\n\
         field: \"fïeld value\"\n"
    );
    // A broken multipart body is 400.
    let (status, _) = post(&server, "/upload", "multipart/form-data", b"--x\r\n");
    assert_eq!(status, 400);
}

/// The same arguments through Python's `http.client` and `urllib.parse`.
#[test]
fn python_client_sends_unicode_arguments() {
    let server = server();
    let script = format!(
        r#"
import http.client, urllib.parse
conn = http.client.HTTPConnection("127.0.0.1", {port}, timeout=10)
q = urllib.parse.urlencode([("names", "w,z"), ("w", "naïve ☃"), ("w", "zwei"), ("z", " a+b ")])
conn.request("GET", "/args?" + q)
r = conn.getresponse()
print(r.status, r.read().decode("utf-8"), end="")
body = urllib.parse.urlencode({{"w": "größe"}})
conn.request("POST", "/args?names=w", body, {{"Content-Type": "application/x-www-form-urlencoded"}})
r = conn.getresponse()
print(r.status, r.read().decode("utf-8"), end="")
"#,
        port = server.addr.port()
    );
    assert_eq!(
        python_stdout(&script),
        "200 w: one=\"zwei\" all=[\"naïve ☃\", \"zwei\"] query=[\"naïve ☃\", \"zwei\"] body=[]\n\
         z: one=\"a+b\" all=[\"a+b\"] query=[\"a+b\"] body=[]\n\
         200 w: one=\"größe\" all=[\"größe\"] query=[] body=[\"größe\"]\n"
    );
}
