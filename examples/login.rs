//! Logging in with a signed cookie, Tornado's way: `get_current_user`,
//! `authenticated`, `set_signed_cookie` and XSRF-protected forms (the
//! pattern of Tornado's guide, "Authentication and security").
//!
//! ```text
//! cargo run --release --example login -- --port=8888 --cookie-secret="$(head -c 32 /dev/urandom | base64)"
//! ```
//!
//! Open http://localhost:8888/: you are sent to `/login`, sign in with any
//! name, and come back to the page you asked for; `/logout` forgets you.
//! Without `--cookie-secret` a random secret is made at start, so every
//! restart logs everyone out.

use std::process::ExitCode;

use tornado::escape::{url_escape, xhtml_escape};
use tornado::options::OptionParser;
use tornado::web::{url, Application, Handler, RequestHandler, Result, Settings};

#[path = "support/serve.rs"]
mod serve;

/// Who the signed `user` cookie says; shared by every handler that asks.
fn user_from_cookie(cx: &mut Handler) -> Result<Option<String>> {
    let user = cx.get_signed_cookie("user")?;
    Ok(user.and_then(|name| String::from_utf8(name).ok()))
}

/// `/`: only for a logged-in user.
struct MainHandler;

impl RequestHandler for MainHandler {
    fn get_current_user(cx: &mut Handler) -> Result<Option<String>> {
        user_from_cookie(cx)
    }

    async fn get(&mut self, cx: &mut Handler) -> Result {
        let name = cx.authenticated()?;
        cx.write(format!(
            "<html><body>Hello, {}. <a href=\"/logout\">Log out</a></body></html>",
            xhtml_escape(&name)
        ))
    }
}

/// `/login`: the form, and signing in.
struct LoginHandler;

impl RequestHandler for LoginHandler {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let xsrf = cx.xsrf_form_html()?;
        let next = cx.get_argument_or("next", "/")?;
        let next = xhtml_escape(&url_escape(next.as_bytes(), true));
        cx.write(format!(
            "<html><body><form action=\"/login?next={next}\" method=\"post\">{xsrf}\
             Name: <input type=\"text\" name=\"name\"> \
             <input type=\"submit\" value=\"Sign in\"></form></body></html>"
        ))
    }

    async fn post(&mut self, cx: &mut Handler) -> Result {
        let name = cx.get_argument("name")?;
        if name.is_empty() {
            return cx.redirect("/login", false);
        }
        cx.set_signed_cookie("user", &name)?;
        // Only a local path: `next` comes from the visitor.
        let next = cx.get_argument_or("next", "/")?;
        let local = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
        cx.redirect(if local { &next } else { "/" }, false)
    }
}

/// `/logout`.
struct LogoutHandler;

impl RequestHandler for LogoutHandler {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.clear_cookie("user")?;
        cx.redirect("/", false)
    }
}

/// 32 random bytes from the OS, hex: a secret for this run only.
fn random_secret() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn main() -> ExitCode {
    let mut options = OptionParser::new();
    options
        .define("port", 8888_u16, "run on the given port")
        .define(
            "cookie_secret",
            String::new(),
            "the key signing cookies (default: random, per run)",
        );
    options.parse_command_line();
    let port: u16 = options.get("port");
    let mut secret: String = options.get("cookie_secret");
    if secret.is_empty() {
        secret = match random_secret() {
            Ok(secret) => secret,
            Err(err) => {
                eprintln!("error: no --cookie-secret and no random one: {err}");
                return ExitCode::FAILURE;
            }
        };
    }

    let settings = Settings {
        cookie_secret: Some(secret.into()),
        login_url: Some("/login".into()),
        xsrf_cookies: true,
        ..Settings::default()
    };
    let app = Application::with_settings(
        [
            url(r"/", || MainHandler),
            url(r"/login", || LoginHandler),
            url(r"/logout", || LogoutHandler),
        ],
        settings,
    );
    serve::listen_and_start(app.listen(port), port)
}
