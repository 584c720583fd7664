//! Client codec tests: every response is decoded whole, one byte at a time,
//! split at every offset, and followed by trailing bytes, and all must agree
//! (as the server side's `check_incremental` does for requests).

use super::*;
use crate::http1::Version;

/// What a run of the codec produced, with body pieces merged.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Info(u16),
    Head {
        code: u16,
        framing: ResponseFraming,
        keep_alive: bool,
        headers: Vec<(String, String)>,
    },
    Body(Vec<u8>),
    End(Option<Vec<(String, String)>>),
    Closed,
    Error(ParseError),
}

fn fields(headers: &HTTPHeaders) -> Vec<(String, String)> {
    headers
        .get_all()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// A codec that has sent a complete `method` request.
fn sent(method: &str, config: &Config) -> ClientCodec {
    let mut codec = ClientCodec::new(config.clone());
    let mut headers = HTTPHeaders::new();
    headers.add("Host", "example.com");
    if matches!(method, "POST" | "PUT" | "PATCH") {
        headers.add("Content-Length", "0");
    }
    let mut out = Vec::new();
    let request = ClientRequest {
        method,
        target: "/",
        headers: &headers,
    };
    codec.write_request(&request, &mut out).unwrap();
    codec.finish(&mut out).unwrap();
    codec
}

fn drive<'a>(
    method: &str,
    config: &Config,
    pieces: impl IntoIterator<Item = &'a [u8]>,
    eof: bool,
) -> (Vec<Item>, ClientCodec) {
    let mut codec = sent(method, config);
    let mut items = Vec::new();
    for piece in pieces {
        if !piece.is_empty() {
            codec.receive_data(piece);
        }
        drain(&mut codec, &mut items);
    }
    if eof {
        codec.receive_eof();
        drain(&mut codec, &mut items);
    }
    (items, codec)
}

fn drain(codec: &mut ClientCodec, items: &mut Vec<Item>) {
    loop {
        match codec.next_event() {
            Ok(ClientEvent::Informational(head)) => items.push(Item::Info(head.code())),
            Ok(ClientEvent::Response(head)) => items.push(Item::Head {
                code: head.code(),
                framing: head.framing(),
                keep_alive: head.keep_alive(),
                headers: fields(head.headers()),
            }),
            Ok(ClientEvent::Data(data)) => {
                assert!(!data.is_empty(), "empty Data event");
                match items.last_mut() {
                    Some(Item::Body(body)) => body.extend_from_slice(&data),
                    _ => items.push(Item::Body(data.to_vec())),
                }
            }
            Ok(ClientEvent::EndOfMessage { trailers }) => {
                items.push(Item::End(trailers.as_ref().map(fields)))
            }
            Ok(ClientEvent::NeedData) => return,
            Ok(ClientEvent::ConnectionClosed) => {
                if items.last() != Some(&Item::Closed) {
                    items.push(Item::Closed);
                }
                return;
            }
            Err(error) => {
                if items.last() != Some(&Item::Error(error)) {
                    items.push(Item::Error(error));
                }
                return;
            }
        }
    }
}

/// Decodes `input` (the response to a `method` request) whole, one byte at a
/// time, split at every offset, and followed by trailing bytes; asserts they
/// agree and returns the items.
fn check_with(method: &str, config: &Config, input: &[u8], eof: bool) -> Vec<Item> {
    let shown = String::from_utf8_lossy(input).into_owned();
    let (whole, _) = drive(method, config, [input], eof);
    let (bytewise, _) = drive(method, config, input.chunks(1), eof);
    assert_eq!(bytewise, whole, "one byte at a time: {shown:?}");
    for cut in 0..=input.len() {
        let (first, second) = input.split_at(cut);
        let (split, _) = drive(method, config, [first, second], eof);
        assert_eq!(split, whole, "split at {cut}: {shown:?}");
    }
    let close_delimited = whole.iter().any(|item| {
        matches!(
            item,
            Item::Head {
                framing: ResponseFraming::CloseDelimited,
                ..
            }
        )
    });
    if !eof && matches!(whole.last(), Some(Item::End(_))) && !close_delimited {
        let with_trailing = [input, b"trailing"].concat();
        let (trailing, mut codec) = drive(method, config, [&with_trailing[..]], false);
        assert_eq!(trailing, whole, "with trailing bytes: {shown:?}");
        assert_eq!(&codec.read_buf()[..], b"trailing");
        // Read as the next response, which it is not.
        if codec.start_next_cycle().is_ok() {
            assert_eq!(codec.next_event(), Err(ParseError::UnsolicitedResponse));
        }
    }
    whole
}

fn check(input: &[u8], eof: bool) -> Vec<Item> {
    check_with("GET", &Config::default(), input, eof)
}

fn body_of(items: &[Item]) -> Vec<u8> {
    items
        .iter()
        .find_map(|item| match item {
            Item::Body(body) => Some(body.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn head_of(items: &[Item]) -> (u16, ResponseFraming, bool) {
    items
        .iter()
        .find_map(|item| match item {
            Item::Head {
                code,
                framing,
                keep_alive,
                ..
            } => Some((*code, *framing, *keep_alive)),
            _ => None,
        })
        .expect("a response head")
}

fn error_of(input: &[u8], eof: bool) -> Option<ParseError> {
    check(input, eof).iter().find_map(|item| match item {
        Item::Error(error) => Some(*error),
        _ => None,
    })
}

#[test]
fn content_length_response() {
    let items = check(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
        false,
    );
    assert_eq!(
        items,
        [
            Item::Head {
                code: 200,
                framing: ResponseFraming::Length(5),
                keep_alive: true,
                headers: vec![
                    ("Content-Type".into(), "text/plain".into()),
                    ("Content-Length".into(), "5".into())
                ],
            },
            Item::Body(b"hello".to_vec()),
            Item::End(None),
        ]
    );
    let (_, mut codec) = drive(
        "GET",
        &Config::default(),
        [&b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"[..]],
        false,
    );
    assert_eq!(codec.start_next_cycle(), Ok(()));
    assert_eq!(codec.our_state(), State::Idle);
}

#[test]
fn chunked_response_with_trailers() {
    let items = check(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n",
        false,
    );
    assert_eq!(head_of(&items), (200, ResponseFraming::Chunked, true));
    assert_eq!(body_of(&items), b"hello world");
    assert_eq!(
        items.last(),
        Some(&Item::End(Some(vec![("X-Sum".into(), "1".into())])))
    );
}

#[test]
fn close_delimited_response_ends_at_eof() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end";
    let items = check(input, true);
    assert_eq!(
        head_of(&items),
        (200, ResponseFraming::CloseDelimited, false)
    );
    assert_eq!(body_of(&items), b"until the end");
    assert_eq!(&items[items.len() - 2..], [Item::End(None), Item::Closed]);
    // Without EOF the body is not over.
    let open = check(input, false);
    assert!(!open.iter().any(|item| matches!(item, Item::End(_))));
    // HTTP/1.0 without a length, the classic.
    let items = check(b"HTTP/1.0 200 OK\r\n\r\nold", true);
    assert_eq!(body_of(&items), b"old");
}

#[test]
fn responses_without_a_body() {
    for input in [
        &b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"[..],
        b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        // A Transfer-Encoding line naming no coding does not matter where
        // there is no body (Tornado does not look at it then either).
        b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: , \r\n\r\n",
    ] {
        let items = check(input, false);
        assert_eq!(head_of(&items).1, ResponseFraming::NoBody);
        assert_eq!(items.last(), Some(&Item::End(None)));
    }
    // The answer to HEAD announces a length but carries no body.
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    let items = check_with("HEAD", &Config::default(), head, false);
    assert_eq!(head_of(&items), (200, ResponseFraming::NoBody, true));
    assert_eq!(items.last(), Some(&Item::End(None)));
    let (_, mut codec) = drive("HEAD", &Config::default(), [&head[..]], false);
    assert_eq!(codec.start_next_cycle(), Ok(()));
}

#[test]
fn informational_responses_come_first() {
    let items = check(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
          HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        false,
    );
    assert_eq!(items[..2], [Item::Info(100), Item::Info(103)]);
    assert_eq!(head_of(&items).0, 200);
    assert_eq!(body_of(&items), b"ok");
    // Tornado's own interim line.
    let items = check(
        b"HTTP/1.1 100 (Continue)\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(items[0], Item::Info(100));
}

#[test]
fn keep_alive_decision() {
    let cases: &[(&[u8], bool)] = &[
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
        (
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
        (
            b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
            true,
        ),
        (
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            false,
        ),
    ];
    for &(input, keep_alive) in cases {
        let items = check(input, false);
        assert_eq!(
            head_of(&items).2,
            keep_alive,
            "{:?}",
            String::from_utf8_lossy(input)
        );
        let (_, mut codec) = drive("GET", &Config::default(), [input], false);
        assert_eq!(codec.start_next_cycle().is_ok(), keep_alive);
    }
}

#[test]
fn malformed_responses() {
    use ParseError::*;
    let cases: &[(&[u8], ParseError)] = &[
        (b"HELLO WORLD\r\n\r\n", Version),
        (b"garbage\r\n\r\n", Version),
        (b"HTTP/2.0 200 OK\r\n\r\n", Version),
        (b"HTTP/1.1 2000 OK\r\n\r\n", Status),
        (b"HTTP/1.1 20 OK\r\n\r\n", Status),
        (b"HTTP/1.1 099 Low\r\n\r\n", Status),
        (b"HTTP/1.1 abc OK\r\n\r\n", Status),
        (b"HTTP/1.1 200 O\x01K\r\n\r\n", Status),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
            UnexpectedSwitchingProtocols,
        ),
        (b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", HeaderName),
        (b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n", HeaderName),
        (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", HeaderName),
        (b"HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n", HeaderValue),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
            InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            ConflictingContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            TransferEncodingAndContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            TransferEncodingNotChunked,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            UnsupportedTransferEncoding,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            ChunkSize,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
            ChunkedBareLf,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
            ChunkTerminator,
        ),
    ];
    let mismatches: Vec<_> = cases
        .iter()
        .filter_map(|&(input, error)| {
            let got = error_of(input, false);
            (got != Some(error)).then(|| (String::from_utf8_lossy(input), got))
        })
        .collect();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    for &(_, error) in cases {
        assert!(matches!(error.status_hint(), 400 | 501 | 502), "{error}");
    }
}

#[test]
fn eof_in_the_middle_is_an_error_and_before_the_response_is_not() {
    use ParseError::*;
    let cases: &[(&[u8], Option<ParseError>)] = &[
        (b"", None),
        (b"HTTP/1.1 200", Some(IncompleteResponseHead)),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5",
            Some(IncompleteResponseHead),
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
            Some(IncompleteResponseBody),
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            Some(IncompleteResponseBody),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
            Some(IncompleteResponseBody),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
            Some(IncompleteResponseBody),
        ),
    ];
    for &(input, expected) in cases {
        let items = check(input, true);
        let error = items.iter().find_map(|item| match item {
            Item::Error(error) => Some(*error),
            _ => None,
        });
        assert_eq!(error, expected, "{:?}", String::from_utf8_lossy(input));
        if expected.is_none() {
            assert_eq!(items, [Item::Closed]);
        }
    }
}

#[test]
fn limits() {
    let small = Config {
        max_request_line: 20,
        max_header_size: 60,
        max_body_size: 4,
        ..Config::default()
    };
    let cases: &[(&[u8], bool, ParseError)] = &[
        (
            b"HTTP/1.1 200 A very long reason phrase\r\n\r\n",
            false,
            ParseError::StatusLineTooLong,
        ),
        (
            b"HTTP/1.1 200 OK\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
            false,
            ParseError::ResponseHeadTooLarge,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            false,
            ParseError::ResponseBodyTooLarge,
        ),
        (
            b"HTTP/1.1 200 OK\r\n\r\nhello",
            true,
            ParseError::ResponseBodyTooLarge,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
            false,
            ParseError::ResponseBodyTooLarge,
        ),
    ];
    for &(input, eof, expected) in cases {
        let items = check_with("GET", &small, input, eof);
        assert!(
            items.contains(&Item::Error(expected)),
            "{:?}: {items:?}",
            String::from_utf8_lossy(input)
        );
    }
    // A larger limit for this response only.
    let (items, _) = {
        let mut codec = sent("GET", &small);
        codec.set_max_body_size(5);
        codec.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        let mut items = Vec::new();
        drain(&mut codec, &mut items);
        (items, codec)
    };
    assert_eq!(body_of(&items), b"hello");
}

#[test]
fn bytes_with_no_request_outstanding() {
    let mut codec = ClientCodec::default();
    assert_eq!(codec.next_event(), Ok(ClientEvent::NeedData));
    codec.receive_data(b"\r\n");
    assert_eq!(codec.next_event(), Ok(ClientEvent::NeedData));
    codec.receive_data(b"HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(codec.next_event(), Err(ParseError::UnsolicitedResponse));
    assert_eq!(codec.next_event(), Err(ParseError::UnsolicitedResponse));
    let mut codec = ClientCodec::default();
    codec.receive_eof();
    assert_eq!(codec.next_event(), Ok(ClientEvent::ConnectionClosed));
}

fn headers(fields: &[(&'static str, &'static str)]) -> HTTPHeaders {
    fields.iter().copied().collect()
}

fn encode(method: &str, target: &str, fields: &[(&'static str, &'static str)]) -> Vec<u8> {
    let mut codec = ClientCodec::default();
    let headers = headers(fields);
    let mut out = Vec::new();
    codec
        .write_request(
            &ClientRequest {
                method,
                target,
                headers: &headers,
            },
            &mut out,
        )
        .unwrap();
    out
}

#[test]
fn request_heads_and_framing() {
    assert_eq!(
        encode("GET", "/a?b=c", &[("Host", "h")]),
        b"GET /a?b=c HTTP/1.1\r\nHost: h\r\n\r\n"
    );
    assert_eq!(
        encode("POST", "/", &[("Host", "h")]),
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    assert_eq!(
        encode(
            "PUT",
            "/",
            &[
                ("Host", "h"),
                ("Transfer-Encoding", "gzip"),
                ("Content-Length", "3")
            ]
        ),
        b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"
    );
    assert_eq!(
        encode("OPTIONS", "*", &[("Transfer-Encoding", "chunked")]),
        b"OPTIONS * HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    );

    // Content-Length body.
    let mut codec = ClientCodec::default();
    let h = headers(&[("Content-Length", "5")]);
    let mut out = Vec::new();
    let request = ClientRequest {
        method: "POST",
        target: "/",
        headers: &h,
    };
    codec.write_request(&request, &mut out).unwrap();
    codec.write(b"he", &mut out).unwrap();
    assert_eq!(
        codec.finish(&mut out),
        Err(LocalProtocolError::TooLittleData)
    );
    codec.write(b"llo", &mut out).unwrap();
    assert_eq!(
        codec.write(b"!", &mut out),
        Err(LocalProtocolError::TooMuchData)
    );
    codec.finish(&mut out).unwrap();
    assert!(out.ends_with(b"\r\n\r\nhello"));
    assert_eq!(codec.our_state(), State::Done);
    assert_eq!(
        codec.write(b"x", &mut out),
        Err(LocalProtocolError::WrongState)
    );
    assert_eq!(codec.finish(&mut out), Err(LocalProtocolError::WrongState));
    assert_eq!(
        codec.write_request(&request, &mut out),
        Err(LocalProtocolError::WrongState)
    );

    // Chunked body.
    let mut codec = ClientCodec::default();
    let h = HTTPHeaders::new();
    let mut out = Vec::new();
    let request = ClientRequest {
        method: "POST",
        target: "/",
        headers: &h,
    };
    codec.write_request(&request, &mut out).unwrap();
    out.clear();
    codec.write(b"hello", &mut out).unwrap();
    codec.write(b"", &mut out).unwrap();
    codec.write(&[b'x'; 26], &mut out).unwrap();
    codec.finish(&mut out).unwrap();
    let mut expected = b"5\r\nhello\r\n1a\r\n".to_vec();
    expected.extend_from_slice(&[b'x'; 26]);
    expected.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_eq!(out, expected);

    // A GET has no body.
    let mut codec = ClientCodec::default();
    let mut out = Vec::new();
    let request = ClientRequest {
        method: "GET",
        target: "/",
        headers: &h,
    };
    codec.write_request(&request, &mut out).unwrap();
    assert_eq!(
        codec.write(b"x", &mut out),
        Err(LocalProtocolError::TooMuchData)
    );
}

#[test]
fn invalid_requests_write_nothing() {
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        LocalProtocolError,
    );
    let cases: &[Case] = &[
        ("", "/", &[], LocalProtocolError::InvalidMethod),
        ("G T", "/", &[], LocalProtocolError::InvalidMethod),
        ("GET", "", &[], LocalProtocolError::InvalidTarget),
        ("GET", "/a b", &[], LocalProtocolError::InvalidTarget),
        ("GET", "/a\r\n", &[], LocalProtocolError::InvalidTarget),
        (
            "GET",
            "/",
            &[("Bad Name", "v")],
            LocalProtocolError::InvalidHeaderName,
        ),
        (
            "GET",
            "/",
            &[("X", "a\r\nInjected: 1")],
            LocalProtocolError::InvalidHeaderValue,
        ),
        (
            "GET",
            "/",
            &[("Content-Length", "x")],
            LocalProtocolError::InvalidContentLength,
        ),
    ];
    for &(method, target, fields, error) in cases {
        let mut codec = ClientCodec::default();
        let h = headers(fields);
        let mut out = Vec::new();
        let request = ClientRequest {
            method,
            target,
            headers: &h,
        };
        assert_eq!(
            codec.write_request(&request, &mut out),
            Err(error),
            "{method} {target}"
        );
        assert!(out.is_empty());
        assert_eq!(codec.our_state(), State::Idle);
    }
}

#[test]
fn keep_alive_cycles_and_connection_close() {
    let mut codec = ClientCodec::default();
    for round in 0..3 {
        let h = headers(&[("Host", "h")]);
        let mut out = Vec::new();
        let request = ClientRequest {
            method: "GET",
            target: "/",
            headers: &h,
        };
        codec.write_request(&request, &mut out).unwrap();
        codec.finish(&mut out).unwrap();
        codec.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
        assert!(
            matches!(codec.next_event(), Ok(ClientEvent::Response(_))),
            "{round}"
        );
        assert!(matches!(codec.next_event(), Ok(ClientEvent::Data(_))));
        assert!(matches!(
            codec.next_event(),
            Ok(ClientEvent::EndOfMessage { .. })
        ));
        assert_eq!(codec.next_event(), Ok(ClientEvent::NeedData));
        codec.start_next_cycle().unwrap();
    }
    // Our own Connection: close rules out reuse, whatever the server says.
    let h = headers(&[("Connection", "close")]);
    let mut out = Vec::new();
    let request = ClientRequest {
        method: "GET",
        target: "/",
        headers: &h,
    };
    codec.write_request(&request, &mut out).unwrap();
    codec.finish(&mut out).unwrap();
    assert!(!codec.keep_alive());
    codec.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(codec.next_event(), Ok(ClientEvent::Response(_))));
    assert!(matches!(
        codec.next_event(),
        Ok(ClientEvent::EndOfMessage { .. })
    ));
    assert_eq!(codec.our_state(), State::MustClose);
    assert_eq!(
        codec.start_next_cycle(),
        Err(LocalProtocolError::NotReusable)
    );
    codec.receive_eof();
    assert_eq!(codec.next_event(), Ok(ClientEvent::ConnectionClosed));
}

#[test]
fn expect_continue_flow() {
    let h = headers(&[("Expect", "100-continue"), ("Content-Length", "4")]);
    let request = ClientRequest {
        method: "PUT",
        target: "/",
        headers: &h,
    };
    // The server wants the body.
    let mut codec = ClientCodec::default();
    let mut out = Vec::new();
    codec.write_request(&request, &mut out).unwrap();
    assert_eq!(codec.next_event(), Ok(ClientEvent::NeedData));
    codec.receive_data(b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(matches!(
        codec.next_event(),
        Ok(ClientEvent::Informational(head)) if head.code() == 100
    ));
    codec.write(b"body", &mut out).unwrap();
    codec.finish(&mut out).unwrap();
    codec.receive_data(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(codec.next_event(), Ok(ClientEvent::Response(_))));
    assert!(matches!(
        codec.next_event(),
        Ok(ClientEvent::EndOfMessage { .. })
    ));
    assert_eq!(codec.start_next_cycle(), Ok(()));
    // The server refuses it: the body is never sent and the connection is
    // not reused.
    let mut codec = ClientCodec::default();
    let mut out = Vec::new();
    codec.write_request(&request, &mut out).unwrap();
    codec.receive_data(b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n");
    let Ok(ClientEvent::Response(head)) = codec.next_event() else {
        panic!()
    };
    assert_eq!((head.code(), head.reason().as_str()), (413, "Too Large"));
    assert_eq!(head.version(), Version::Http11);
    assert!(matches!(
        codec.next_event(),
        Ok(ClientEvent::EndOfMessage { .. })
    ));
    assert_eq!(
        codec.start_next_cycle(),
        Err(LocalProtocolError::NotReusable)
    );
}

#[test]
fn trickled_head_is_parsed_in_linear_time() {
    let padding = "x".repeat(60_000);
    let input = format!("HTTP/1.1 200 OK\r\nX-Pad: {padding}\r\nContent-Length: 0\r\n\r\n");
    let mut codec = sent("GET", &Config::default());
    let mut events = 0;
    for byte in input.as_bytes() {
        codec.receive_data(std::slice::from_ref(byte));
        if matches!(codec.next_event(), Ok(ClientEvent::Response(_))) {
            events += 1;
        }
    }
    assert_eq!(events, 1);
}
