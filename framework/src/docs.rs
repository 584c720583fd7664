//! The user guide and the porting guide, from the repository's `docs/`.
//!
//! Each chapter is a module here so that its Rust snippets are doctests:
//! `cargo test` compiles every one and runs all but those that serve
//! forever. The chapters that need crates this library does not depend on
//! (tokio's I/O traits and signals, reqwest) are doctests of the
//! workspace's `test_support` library instead: *The IOLoop and tokio* and
//! *Running and deploying*.
//!
//! | chapter | Tornado's guide |
//! | --- | --- |
//! | [`guide_intro`] | Introduction |
//! | [`guide_structure`] | Structure of a Tornado web application |
//! | [`guide_static`] | (static files: `StaticFileHandler`, `static_url`) |
//! | [`guide_async`] | Asynchronous and non-Blocking I/O, Coroutines |
//! | [`guide_queues`] | Queue example |
//! | [`guide_streaming`] | (streaming with `flush`) |
//! | [`guide_security`] | Authentication and security |
//! | [`guide_websocket`] | (`tornado.websocket`: WebSocketHandler) |
//! | [`porting`] | — (Python beside Rust) |

#[doc = include_str!("../../docs/guide/intro.md")]
pub mod guide_intro {}

#[doc = include_str!("../../docs/guide/structure.md")]
pub mod guide_structure {}

#[doc = include_str!("../../docs/guide/static.md")]
pub mod guide_static {}

#[doc = include_str!("../../docs/guide/async.md")]
pub mod guide_async {}

#[doc = include_str!("../../docs/guide/queues.md")]
pub mod guide_queues {}

#[doc = include_str!("../../docs/guide/streaming.md")]
pub mod guide_streaming {}

#[doc = include_str!("../../docs/guide/security.md")]
pub mod guide_security {}

#[doc = include_str!("../../docs/guide/websocket.md")]
pub mod guide_websocket {}

#[doc = include_str!("../../docs/porting.md")]
pub mod porting {}
