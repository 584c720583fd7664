//! `tornado::testing` on a web `Application`: `AsyncHTTPTestCase` (the client
//! against our own server: redirects, bodies, streaming request bodies,
//! 100-continue, keep-alive) and `gen_test` / `run_async_test`.

use std::time::Duration;

use tornado::httpclient::{AsyncHTTPClient, HTTPRequest};
use tornado::httpserver::HTTPServerSettings;
use tornado::testing::{gen_test, run_async_test, AsyncHTTPTestCase};
use tornado::web::{url, Application, HTTPError, Handler, RequestHandler, Result};

struct Hello;

impl RequestHandler for Hello {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.set_header("Content-Type", "text/plain")?;
        cx.write("Hello, world")
    }
}

/// Echoes the method and body, and the request's framing headers.
struct Echo;

impl RequestHandler for Echo {
    async fn post(&mut self, cx: &mut Handler) -> Result {
        let framing = match cx.request.headers.get("Transfer-Encoding") {
            Some(te) => format!("te={te}"),
            None => format!(
                "cl={}",
                cx.request.headers.get("Content-Length").unwrap_or("-")
            ),
        };
        let body = cx.request.body.clone();
        cx.write(format!("{} {framing} ", cx.request.method))?;
        cx.write(&body)
    }

    async fn put(&mut self, cx: &mut Handler) -> Result {
        self.post(cx).await
    }
}

struct Redirect;

impl RequestHandler for Redirect {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        cx.redirect("/hello", false)
    }
}

struct Fails;

impl RequestHandler for Fails {
    async fn get(&mut self, _cx: &mut Handler) -> Result {
        Err(HTTPError::new(403).into())
    }
}

/// Streams `n` KiB in flushed pieces (a chunked response).
struct Stream;

impl RequestHandler for Stream {
    async fn get(&mut self, cx: &mut Handler) -> Result {
        let kib: usize = cx.path_args()[0].parse().unwrap_or(0);
        for _ in 0..kib {
            cx.write([b'z'; 1024])?;
            cx.flush().await?;
        }
        Ok(())
    }
}

/// Waits for an event nobody sets.
struct Hang;

impl RequestHandler for Hang {
    async fn get(&mut self, _cx: &mut Handler) -> Result {
        tornado::locks::Event::new().wait().await;
        Ok(())
    }
}

fn app() -> Application {
    Application::new([
        url(r"/hang", || Hang),
        url(r"/hello", || Hello),
        url(r"/echo", || Echo),
        url(r"/redirect", || Redirect),
        url(r"/forbidden", || Fails),
        url(r"/stream/([0-9]+)", || Stream),
    ])
}

#[test]
fn fetch_paths_statuses_and_urls() {
    let test = AsyncHTTPTestCase::new(app()).unwrap();
    let response = test.fetch("/hello");
    assert_eq!(response.code, 200);
    assert_eq!(response.text(), "Hello, world");
    assert_eq!(response.headers.get("Content-Type"), Some("text/plain"));
    assert_eq!(response.effective_url, test.get_url("/hello"));
    // As in Tornado, fetch does not raise for an error status.
    let missing = test.fetch("/nowhere");
    assert_eq!(missing.code, 404);
    assert_eq!(missing.error.as_ref().map(|e| e.code()), Some(404));
    assert_eq!(test.fetch("/forbidden").code, 403);
    // Absolute URLs work too, whatever the scheme's case (Tornado checks
    // `path.lower()`).
    assert_eq!(test.fetch(&test.get_url("/hello")).code, 200);
    let shouted = test.get_url("/hello").replacen("http", "HTTP", 1);
    assert_eq!(test.fetch(&shouted).effective_url, shouted);
    assert!(test.get_url("/x").starts_with("http://127.0.0.1:"));
}

#[test]
fn redirects_and_keep_alive_against_our_server() {
    let test = AsyncHTTPTestCase::new(app()).unwrap();
    let followed = test.fetch("/redirect");
    assert_eq!(
        (followed.code, followed.text().as_str()),
        (200, "Hello, world")
    );
    assert!(followed.effective_url.ends_with("/hello"));
    let not_followed = test.fetch_with(
        HTTPRequest::new("/redirect")
            .follow_redirects(false)
            .raise_error(false),
    );
    assert_eq!(not_followed.code, 302);
    assert_eq!(not_followed.headers.get("Location"), Some("/hello"));
    for _ in 0..10 {
        assert_eq!(test.fetch("/hello").code, 200);
    }
    assert_eq!(
        test.http_client().connections_opened(),
        1,
        "one keep-alive connection"
    );
    assert_eq!(test.http_server().map(|s| s.open_connections()), Some(1));
}

#[test]
fn request_bodies_whole_streamed_and_after_100_continue() {
    let test = AsyncHTTPTestCase::new(app()).unwrap();
    let whole = test.fetch_with(HTTPRequest::new("/echo").method("POST").body("a=1"));
    assert_eq!(whole.text(), "POST cl=3 a=1");
    let streamed = test.fetch_with(HTTPRequest::new("/echo").method("PUT").body_producer(
        |writer| async move {
            for i in 0..3 {
                writer.write(format!("part{i};")).await?;
            }
            Ok(())
        },
    ));
    assert_eq!(streamed.text(), "PUT te=chunked part0;part1;part2;");
    let continued = test.fetch_with(
        HTTPRequest::new("/echo")
            .method("PUT")
            .body("waited")
            .expect_100_continue(true),
    );
    assert_eq!(continued.text(), "PUT cl=6 waited");
}

#[test]
fn streaming_callback_on_a_chunked_response() {
    let test = AsyncHTTPTestCase::new(app()).unwrap();
    let received = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let counter = received.clone();
    let response = test.fetch_with(
        HTTPRequest::new("/stream/512")
            .streaming_callback(move |chunk| counter.set(counter.get() + chunk.len())),
    );
    assert_eq!(response.code, 200);
    assert_eq!(response.headers.get("Transfer-Encoding"), Some("chunked"));
    assert!(response.body.is_empty());
    assert_eq!(received.get(), 512 * 1024);
}

#[test]
fn transport_failures_are_599_responses() {
    let mut test = AsyncHTTPTestCase::with_settings(
        app(),
        HTTPServerSettings {
            max_body_size: Some(4),
            ..HTTPServerSettings::default()
        },
    )
    .unwrap();
    test.set_timeout(Duration::from_secs(5));
    let refused = test.fetch("http://127.0.0.1:1/");
    assert_eq!(refused.code, 599);
    assert!(refused
        .error
        .as_ref()
        .is_some_and(|e| e.is_connection_refused()));
    let too_large = test.fetch_with(
        HTTPRequest::new("/echo")
            .method("POST")
            .body("too large")
            .raise_error(false),
    );
    assert_eq!(too_large.code, 413);
}

#[test]
fn run_sync_on_the_test_loop() {
    let test = AsyncHTTPTestCase::new(app()).unwrap();
    let url = test.get_url("/hello");
    let client = test.http_client().clone();
    let texts = test
        .run_sync(async move {
            let a = client.fetch(url.as_str());
            let b = client.fetch(url.as_str());
            let (a, b) = (a.await.unwrap(), b.await.unwrap());
            [a.text(), b.text()]
        })
        .unwrap();
    assert_eq!(texts, ["Hello, world", "Hello, world"]);
}

#[test]
fn gen_test_runs_a_body_on_a_fresh_loop() {
    let answer = gen_test(async {
        tornado::gen::sleep(Duration::from_millis(1)).await;
        AsyncHTTPClient::current().config().max_clients
    });
    assert_eq!(answer, 10);
}

#[test]
#[should_panic(expected = "async test timed out")]
fn run_async_test_fails_on_timeout() {
    run_async_test(
        Duration::from_millis(50),
        tornado::gen::sleep(Duration::from_secs(10)),
    );
}

#[test]
fn teardown_does_not_wait_for_a_handler_still_waiting() {
    // Tornado's tearDown closes the connections at once; a handler that
    // never returns must not hold the drop up for the test timeout (60 s
    // here), which would look like a hang.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut test = AsyncHTTPTestCase::new(app()).unwrap();
        test.set_timeout(Duration::from_secs(60));
        let gave_up =
            test.fetch_with(HTTPRequest::new("/hang").request_timeout(Duration::from_millis(200)));
        assert_eq!(gave_up.code, 599);
        drop(test);
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the test case's drop returned");
}
