//! `ExpectLog` counts and swallows the records it expects, fails a test
//! whose expected record never came, and matches as Tornado's does (at the
//! start of the message, on one logger, at a level when given).

use std::panic::{catch_unwind, AssertUnwindSafe};

use tornado::log::Level;
use tornado::testing::{AsyncHTTPTestCase, ExpectLog};
use tornado::web::{url, Application, HTTPError, Handler, RequestHandler, Result};

#[test]
fn expected_records_are_counted_and_a_missing_one_fails() {
    let expect = ExpectLog::new("tests.counted", "disk (full|gone)").unwrap();
    log::warn!(target: "tests.counted", "disk full on /var");
    log::error!(target: "tests.counted", "disk gone");
    // Not at the start of the message, or another logger: not matched.
    log::warn!(target: "tests.counted", "the disk full");
    log::warn!(target: "tests.counted.child", "disk full");
    assert_eq!(expect.matched(), 2);
    expect.finish();

    let missing = ExpectLog::new("tests.counted", "never logged").unwrap();
    let failed = catch_unwind(AssertUnwindSafe(|| missing.finish()));
    let message = *failed.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("did not get expected log message"),
        "{message}"
    );

    ExpectLog::new("tests.counted", "never logged")
        .unwrap()
        .required(false)
        .finish();
}

#[test]
fn a_level_narrows_the_match() {
    let expect = ExpectLog::with_level("tests.level", "slow", Some(Level::Warn)).unwrap();
    log::error!(target: "tests.level", "slow query");
    assert_eq!(expect.matched(), 0);
    log::warn!(target: "tests.level", "slow query");
    assert_eq!(expect.matched(), 1);
    expect.finish();
}

#[test]
fn a_bad_pattern_is_an_error() {
    assert!(ExpectLog::new("tests.bad", "(").is_err());
}

struct Broken;

impl RequestHandler for Broken {
    async fn get(&mut self, _cx: &mut Handler) -> Result {
        Err(HTTPError::new(503).log_message("database down").into())
    }
}

#[test]
fn the_servers_own_warnings_can_be_expected() {
    let test = AsyncHTTPTestCase::new(Application::new([url(r"/broken", || Broken)])).unwrap();
    let warning = ExpectLog::new(
        "tornado.general",
        r"503 GET /broken \(127\.0\.0\.1\): database down",
    )
    .unwrap();
    let access = ExpectLog::new("tornado.access", "503 GET /broken").unwrap();
    assert_eq!(test.fetch("/broken").code, 503);
    assert_eq!((warning.matched(), access.matched()), (1, 1));
    warning.finish();
    access.finish();
}
