//! Echoes what tornado-rs made of a request, as JSON, for `run.py` to
//! compare with what Python Tornado makes of the same bytes
//! (`tornado_echo.py` writes the same fields).
//!
//! `cargo run --release -- PORT`

use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use tornado::ioloop::IOLoop;
use tornado::web::{url, Application, CookieOptions, HTTPError, Handler, RequestHandler, Result};

fn hex_sha1(bytes: &[u8]) -> String {
    Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Name → values, sorted by name, values decoded lossily.
fn sorted_args(args: &tornado::httputil::Arguments) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<_> = args
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|x| lossy(x)).collect()))
        .collect();
    out.sort();
    out
}

fn echo(cx: &mut Handler) -> Result {
    let r = &cx.request;
    let headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|(n, v)| (lossy(n), lossy(v)))
        .collect();
    let mut files: Vec<(String, Vec<(String, String, String)>)> = r
        .files
        .iter()
        .map(|(k, fs)| {
            let fs = fs
                .iter()
                .map(|f| {
                    (
                        f.filename.clone(),
                        f.content_type.clone(),
                        hex_sha1(&f.body),
                    )
                })
                .collect();
            (k.clone(), fs)
        })
        .collect();
    files.sort();
    let mut v = json!({
        "method": r.method, "uri": r.uri, "path": r.path, "query": r.query,
        "version": format!("{:?}", r.version), "host": r.host, "host_name": r.host_name,
        "headers": headers, "body_len": r.body.len(), "body_sha1": hex_sha1(&r.body),
        "qargs": sorted_args(&r.query_arguments), "bargs": sorted_args(&r.body_arguments),
        "files": files,
    });
    let mut names: Vec<String> = r.arguments.keys().cloned().collect();
    names.sort();
    let decoded: Vec<Value> = names
        .into_iter()
        .map(|name| match cx.get_arguments(&name) {
            Ok(values) => json!([name, values]),
            Err(_) => json!([name, "ERR"]),
        })
        .collect();
    let mut cookies = cx.cookies().to_vec();
    cookies.sort();
    v["decoded"] = json!(decoded);
    v["cookies"] = json!(cookies);
    cx.set_header("Content-Type", "application/json")?;
    cx.write(v.to_string())
}

struct Echo;

impl RequestHandler for Echo {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        echo(cx)
    }
    async fn post(&mut self, cx: &mut Handler) -> Result {
        echo(cx)
    }
    async fn put(&mut self, cx: &mut Handler) -> Result {
        echo(cx)
    }
    async fn delete(&mut self, cx: &mut Handler) -> Result {
        echo(cx)
    }
    async fn patch(&mut self, cx: &mut Handler) -> Result {
        echo(cx)
    }
    async fn options(&mut self, cx: &mut Handler) -> Result {
        echo(cx)
    }
}

/// `/p/(a)/(b)`: the decoded path arguments and the query argument `x`.
struct PathEcho;

impl RequestHandler for PathEcho {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let decoded = cx
            .get_query_arguments("x")
            .map_or(json!("ERR"), |values| json!(values));
        let v = json!({"args": cx.path_args(), "decoded": decoded});
        cx.write(v.to_string())
    }
}

/// `/r?o=...`: runs the response operations `run.py` encodes in `o` (one
/// per value, fields split by `|`), so the two servers' answers to the same
/// handler code can be compared.
struct Ops;

fn field(parts: &[&str], i: usize) -> String {
    parts.get(i).copied().unwrap_or_default().to_string()
}

fn number(parts: &[&str], i: usize) -> u16 {
    parts.get(i).and_then(|s| s.parse().ok()).unwrap_or(200)
}

fn cookie_options(parts: &[&str]) -> CookieOptions {
    let text = |i: usize| Some(field(parts, i)).filter(|s| !s.is_empty());
    CookieOptions {
        domain: text(3),
        path: text(4),
        max_age: text(5).and_then(|s| s.parse().ok()),
        httponly: field(parts, 6) == "1",
        secure: field(parts, 7) == "1",
        samesite: text(8),
        ..CookieOptions::default()
    }
}

impl RequestHandler for Ops {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        for op in cx.get_query_arguments("o")? {
            let parts: Vec<&str> = op.split('|').collect();
            match parts[0] {
                "s" => cx.set_status(number(&parts, 1)),
                "S" => cx.set_status_reason(number(&parts, 1), &field(&parts, 2)),
                "h" => cx.set_header(&field(&parts, 1), field(&parts, 2))?,
                "a" => cx.add_header(&field(&parts, 1), field(&parts, 2))?,
                "c" => cx.clear_header(&field(&parts, 1)),
                "w" => cx.write(field(&parts, 1))?,
                "j" => cx.write_json(&json!({"k": field(&parts, 1)}))?,
                "k" => cx.set_cookie(&field(&parts, 1), &field(&parts, 2))?,
                "K" => cx.set_cookie_with(
                    &field(&parts, 1),
                    &field(&parts, 2),
                    &cookie_options(&parts),
                )?,
                "x" => cx.clear_cookie(&field(&parts, 1))?,
                "r" => cx.redirect(&field(&parts, 1), field(&parts, 2) == "1")?,
                "R" => cx.redirect_with_status(&field(&parts, 1), number(&parts, 2))?,
                "e" => cx.send_error(number(&parts, 1))?,
                "E" => {
                    return Err(HTTPError::new(number(&parts, 1))
                        .reason(field(&parts, 2))
                        .into())
                }
                "f" => cx.flush().await?,
                "F" => cx.finish()?,
                "C" => cx.clear(),
                _ => {}
            }
        }
        Ok(())
    }
    async fn head(&mut self, cx: &mut Handler) -> Result {
        self.get(cx).await
    }
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9101);
    let app = Application::new([
        url(r"/p/([^/]*)/(.*)", || PathEcho),
        url("/r", || Ops),
        url(r"/.*", || Echo),
    ]);
    app.listen(port)?;
    IOLoop::current().start()
}
