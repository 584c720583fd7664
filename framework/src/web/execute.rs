//! One request's lifecycle: `prepare`, the method, errors, `finish`,
//! `on_finish` and the access log.
//!
//! # Tornado
//! `RequestHandler._execute` and `_handle_request_exception`.

use super::task::{BodyEvent, BodyPipe, RequestBody};
use super::xsrf::cross_origin_protection;
use super::{Error, Handler, RequestHandler};
use crate::ioloop::{catch_panic, CatchUnwind};
use crate::web::handler::is_unimplemented;

/// Runs one request on `handler`, owning both it and the context, so the
/// future borrows nothing and can live in a reusable slot (`task.rs`).
/// Gives the context back for the next request. `body`: `()` for a handler
/// that reads the body whole, the pipe its body comes through for one that
/// streams it ([`RequestHandler::STREAM_REQUEST_BODY`], started when the
/// head arrives).
pub(crate) async fn run_owned<H: RequestHandler, B: RequestBody>(
    mut handler: H,
    mut cx: Box<Handler>,
    body: B,
) -> Box<Handler> {
    execute(&mut handler, &mut cx, body).await;
    cx
}

/// Runs the whole lifecycle of one request on `handler`.
///
/// `body` is passed by value, not by reference: `()` then takes no room in
/// the future of a request that reads its body whole.
async fn execute<H: RequestHandler, B: RequestBody>(handler: &mut H, cx: &mut Handler, body: B) {
    cx.etag_fn = H::compute_etag;
    cx.current_user_fn = H::get_current_user;
    let error = match hook("set_default_headers", || handler.set_default_headers(cx)) {
        Err(err) => Some(err),
        Ok(()) => {
            cx.keep_handler_defaults();
            match CatchUnwind::new(call_methods(handler, cx, body.clone())).await {
                Ok(Ok(())) => None,
                Ok(Err(err)) => Some(err),
                Err(message) => Some(Error::Other(format!("handler panicked: {message}").into())),
            }
        }
    };
    let aborted = body.pipe().is_some_and(BodyPipe::aborted);
    conclude(handler, cx, error, aborted);
}

/// The end of every request once its methods have returned `error` (if
/// any): the error page, auto-finish, `on_connection_close`, `on_finish`
/// and the access log. `aborted`: a streamed body never ended (the client
/// left, or the connection refused the rest and answered itself); the
/// request then ends as when the client leaves, with nothing sent.
fn conclude<H: RequestHandler>(
    handler: &mut H,
    cx: &mut Handler,
    error: Option<Error>,
    aborted: bool,
) {
    if let Some(err) = error {
        handle_request_exception(handler, cx, err);
    }
    if !aborted && !cx.finished() && !cx.connection_closed() {
        // Auto-finish when the method returns, as Tornado does. Its error
        // (an unsafe Etag, a body on a 204, a panicking `compute_etag`) is
        // handled as the method's would be: a 500 page while no header has
        // gone out, else a closed connection.
        if let Err(err) = hook("finish", || cx.finish()).and_then(|finished| finished) {
            handle_request_exception(handler, cx, err);
        }
    }
    if !cx.finished() && (aborted || cx.connection_closed()) {
        // The client left first. The request still ends as in Tornado, whose
        // `finish()` on a closed stream sends nothing and runs `on_finish`
        // and the access log all the same: cleanup there is not skipped.
        let closed = hook("on_connection_close", || handler.on_connection_close(cx));
        log_failure("on_connection_close", closed);
        cx.end_unsent();
    }
    if cx.finished() {
        log_failure("on_finish", hook("on_finish", || handler.on_finish(cx)));
        let logged = hook("log_function", || cx.application().log_request(cx));
        log_failure("log_function", logged);
    }
}

/// Runs one of the user's synchronous hooks; a panic in it becomes an
/// error, as an exception in a Tornado hook is one: it ends that hook, not
/// the connection, and the response still goes out.
fn hook<R>(name: &str, work: impl FnOnce() -> R) -> Result<R, Error> {
    catch_panic(work).map_err(|message| Error::Other(format!("{name} panicked: {message}").into()))
}

/// Logs a hook's failure where there is nothing left to answer with.
fn log_failure(name: &str, result: Result<(), Error>) {
    if let Err(err) = result {
        log::error!(target: "tornado.application", "Uncaught exception in {name}: {err}");
    }
}

/// What is checked before `prepare`: the method is supported, the request
/// was not refused, cross-origin protection. Returns the verb as an index
/// into [`METHODS`], so the request is not borrowed across the calls.
fn check_request<H: RequestHandler>(cx: &mut Handler) -> super::Result<Option<usize>> {
    let method = cx.request.method.as_str();
    if !H::SUPPORTED_METHODS.contains(&method) {
        return Err(super::HTTPError::new(405).into());
    }
    let verb = METHODS.iter().position(|&known| known == method);
    if let Some(status) = cx.refusal.take() {
        return Err(super::HTTPError::new(status).into());
    }
    // GET, HEAD and OPTIONS change nothing: no forgery to guard against.
    if !matches!(verb, Some(0 | 1 | 6)) {
        cross_origin_protection::<H>(cx)?;
    }
    Ok(verb)
}

/// `prepare`, then (for a streaming request, through `body`'s pipe) each piece
/// of the body to `data_received`, then the method for the request's verb.
///
/// # Tornado
/// `RequestHandler._execute`; for a `@stream_request_body` handler, with
/// `_HandlerDelegate.data_received` calling into it.
async fn call_methods<H: RequestHandler, B: RequestBody>(
    handler: &mut H,
    cx: &mut Handler,
    body: B,
) -> super::Result {
    let verb = check_request::<H>(cx)?;
    handler.prepare(cx).await?;
    if cx.finished() {
        return Ok(());
    }
    // For `()` a future that holds nothing and is ready at once: the
    // future of a request that reads its body whole is the size it was
    // before streaming existed, and this step compiles to nothing.
    if !body.receive(handler, cx).await? {
        return Ok(());
    }
    match verb {
        Some(0) => handler.get(cx).await,
        Some(1) => handler.head(cx).await,
        Some(2) => handler.post(cx).await,
        Some(3) => handler.delete(cx).await,
        Some(4) => handler.patch(cx).await,
        Some(5) => handler.put(cx).await,
        Some(6) => handler.options(cx).await,
        // Another verb the handler lists in SUPPORTED_METHODS.
        _ => handler.other_method(cx).await,
    }
}

/// Each piece of a streamed body to `data_received` as `body` hands it
/// over; `Ok(true)` once the body has ended (the method runs next),
/// `Ok(false)` if the request is over without it (finished from
/// `data_received`, or the body cut short).
pub(crate) async fn receive_body<H: RequestHandler>(
    handler: &mut H,
    cx: &mut Handler,
    body: &BodyPipe,
) -> super::Result<bool> {
    loop {
        match body.next().await {
            BodyEvent::Chunk(chunk) => {
                // A body cut short while `data_received` still waits (the
                // client left, `body_timeout`) ends the request at once, its
                // `data_received` dropped: Tornado's `_execute` returns on
                // the closed body whatever that coroutine is doing, and
                // `on_connection_close` and `on_finish` must not wait on it.
                let Some(received) = body.unless_aborted(handler.data_received(cx, chunk)).await
                else {
                    return Ok(false);
                };
                received?;
                // Finished from `data_received`: the request is over and
                // the rest of the body is not wanted.
                if cx.finished() {
                    return Ok(false);
                }
            }
            BodyEvent::End => return Ok(true),
            // No method for a body that never ended (Tornado returns from
            // `_execute` on the `StreamClosedError`).
            BodyEvent::Aborted => return Ok(false),
        }
    }
}

/// The verbs with a `RequestHandler` method, in `call_methods`' order.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"];

/// The methods `H` implements, for the `Allow` header of a 405: each
/// method's future is created (not polled) and checked for the default body.
fn allowed_methods<H: RequestHandler>(handler: &mut H, cx: &mut Handler) -> String {
    let mut allowed = Vec::new();
    let mut check = |name: &'static str, implemented: bool| {
        if implemented && H::SUPPORTED_METHODS.contains(&name) {
            allowed.push(name);
        }
    };
    check("GET", !is_unimplemented(&handler.get(cx)));
    check("HEAD", !is_unimplemented(&handler.head(cx)));
    check("POST", !is_unimplemented(&handler.post(cx)));
    check("DELETE", !is_unimplemented(&handler.delete(cx)));
    check("PATCH", !is_unimplemented(&handler.patch(cx)));
    check("PUT", !is_unimplemented(&handler.put(cx)));
    check("OPTIONS", !is_unimplemented(&handler.options(cx)));
    if !is_unimplemented(&handler.other_method(cx)) {
        let others = H::SUPPORTED_METHODS
            .iter()
            .filter(|verb| !METHODS.contains(verb));
        for &verb in others {
            if !allowed.contains(&verb) {
                allowed.push(verb);
            }
        }
    }
    allowed.join(", ")
}

/// Turns what the method returned into a response: Tornado's
/// `_handle_request_exception` and `send_error`.
fn handle_request_exception<H: RequestHandler>(handler: &mut H, cx: &mut Handler, err: Error) {
    let (status, reason) = match &err {
        Error::Finish => {
            if !cx.finished() {
                if let Err(err) = cx.finish() {
                    log::error!(target: "tornado.application", "Error finishing {}: {err}", cx.request_summary());
                }
            }
            return;
        }
        Error::StreamClosed(cause) if cx.connection_closed() => {
            log::debug!(target: "tornado.general", "Client left during {}: {cause}", cx.request_summary());
            return;
        }
        // Another stream closed (an upstream the handler read from): a
        // server error like any other, as in Tornado, where the
        // `StreamClosedError` reaches `send_error(500)`.
        Error::StreamClosed(cause) => {
            log::error!(target: "tornado.application", "Uncaught exception {}: {cause}", cx.request_summary());
            (500, None)
        }
        Error::Http(http) => {
            if let Some(message) = &http.log_message {
                log::warn!(target: "tornado.general", "{} {}: {message}", http.status_code, cx.request_summary());
            }
            (http.status_code, http.reason.clone())
        }
        Error::Other(cause) => {
            log::error!(target: "tornado.application", "Uncaught exception {}: {cause}", cx.request_summary());
            (500, None)
        }
    };
    if cx.finished() {
        return;
    }
    if cx.headers_written() {
        if cx.connection_closed() {
            // The client left: `execute` runs `on_connection_close`, then
            // `on_finish`.
            return;
        }
        // Part of the response is out; an error page cannot follow it, and
        // finishing would pass the truncated body off as whole. The request
        // is over all the same (`on_finish` runs, as after Tornado's
        // `send_error` here), but the client did not leave: no
        // `on_connection_close`.
        close_connection(cx);
        cx.end_unsent();
        return;
    }
    let allow = (status == 405).then(|| allowed_methods(handler, cx));
    // Its `clear` restores the handler's default headers too.
    cx.prepare_error(status, reason.as_deref());
    if let Some(allow) = allow {
        // The methods are known tokens, so this cannot be refused.
        let _ = cx.set_header("Allow", allow);
    }
    // A 304 has no body, so no page either (Tornado's `send_error` skips
    // `write_error` for it).
    if status != 304 {
        let written = hook("write_error", || {
            handler.write_error(cx, status, Some(&err))
        });
        log_failure("write_error", written.and_then(|page| page));
    }
    if !cx.finished() {
        if let Err(err) = cx.finish() {
            log::error!(target: "tornado.application", "Error finishing the error page: {err}");
        }
    }
}

fn close_connection(cx: &Handler) {
    if let Some(conn) = cx.connection() {
        conn.stream().close();
    }
}
