//! # tornado-rs
//!
//! A Tornado-style web framework for Rust. The modules mirror Tornado's, so a
//! user porting a Python app finds things where they expect them:
//!
//! | Tornado | tornado-rs |
//! | --- | --- |
//! | `tornado.ioloop` | [`ioloop`]: a single-threaded event loop on `mio` |
//! | `tornado.gen` (`sleep`, `with_timeout`) | [`gen`] |
//! | `tornado.iostream` | [`iostream`] |
//! | `tornado.tcpserver` | [`tcpserver`] |
//! | `tornado.netutil` | [`netutil`] |
//! | `tornado.locks` | [`locks`] |
//! | `tornado.queues` | [`queues`] |
//! | `tornado.options` | [`options`]: typed command-line options |
//! | `tornado.log` | [`log`](mod@log): Tornado's log format on stderr |
//! | `tornado.httputil` | [`httputil`] |
//! | `tornado.http1connection` (its parsing half) | [`http1`]: a pure HTTP/1.1 codec |
//! | `tornado.http1connection` (over a stream) | [`http1connection`] |
//! | `tornado.httpserver` | [`httpserver`] |
//! | `tornado.routing` | [`routing`] |
//! | `tornado.web` | [`web`]: `Application`, `RequestHandler` |
//! | `tornado.websocket` (server side) | [`websocket`]: `WebSocketHandler` |
//! | `tornado.escape` | [`escape`] |
//! | `tornado.httpclient` (`simple_httpclient`) | [`httpclient`]: `AsyncHTTPClient`, `HTTPClient` |
//! | `tornado.testing` | [`testing`]: `AsyncHTTPTestCase`, `gen_test` |
//! | Tornado's user guide | [`docs`]: the guide and the porting guide, every snippet a doctest |
#![deny(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![forbid(unsafe_code)]
#![cfg_attr(test, deny(warnings))]
#![doc(test(attr(deny(warnings))))]

pub mod docs;
pub mod escape;
pub mod gen;
pub mod http1;
pub mod http1connection;
pub mod httpclient;
pub mod httpserver;
pub mod httputil;
pub mod ioloop;
pub mod iostream;
pub mod locks;
pub mod log;
pub mod netutil;
pub mod options;
mod pool;
pub mod queues;
pub mod routing;
pub mod tcpserver;
pub mod testing;
pub mod web;
pub mod websocket;
