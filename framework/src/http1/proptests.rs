//! Randomised tests that run with every `cargo test` (the fuzz targets in
//! `fuzz/` go further but need nightly):
//!
//! * random and mutated bytes never make the codec panic, and the outcome
//!   never depends on how the bytes were split;
//! * requests encoded by a small test-only encoder, pipelined and split at
//!   random points, decode back to exactly what was encoded.

use proptest::prelude::*;
use proptest::sample::Index;

use super::test_util::{drive, Outcome};
use super::{Config, Version};

/// One request as the test encoder writes it.
#[derive(Clone, Debug)]
struct TestRequest {
    method: &'static str,
    target: String,
    version: Version,
    fields: Vec<(String, String)>,
    body: TestBody,
}

#[derive(Clone, Debug)]
enum TestBody {
    Empty,
    Length(Vec<u8>),
    Chunked {
        chunks: Vec<Vec<u8>>,
        extensions: bool,
        trailers: Vec<(String, String)>,
    },
}

impl TestRequest {
    /// The fields the decoder should report, in order: what the encoder writes.
    fn expected_fields(&self) -> Vec<(String, String)> {
        let mut fields = match self.version {
            Version::Http11 => vec![("Host".to_owned(), "example.com".to_owned())],
            Version::Http10 => vec![("Connection".to_owned(), "keep-alive".to_owned())],
        };
        fields.extend(self.fields.iter().cloned());
        match &self.body {
            TestBody::Empty => {}
            TestBody::Length(body) => {
                fields.push(("Content-Length".to_owned(), body.len().to_string()))
            }
            TestBody::Chunked { .. } => {
                fields.push(("Transfer-Encoding".to_owned(), "chunked".to_owned()))
            }
        }
        fields
    }

    fn expected_body(&self) -> Vec<u8> {
        match &self.body {
            TestBody::Empty => Vec::new(),
            TestBody::Length(body) => body.clone(),
            TestBody::Chunked { chunks, .. } => chunks.concat(),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!(
                "{} {} {}\r\n",
                self.method,
                self.target,
                self.version.as_str()
            )
            .as_bytes(),
        );
        for (name, value) in self.expected_fields() {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        match &self.body {
            TestBody::Empty => {}
            TestBody::Length(body) => out.extend_from_slice(body),
            TestBody::Chunked {
                chunks,
                extensions,
                trailers,
            } => {
                for chunk in chunks {
                    let ext = if *extensions { " ; name=\"v;1\"" } else { "" };
                    out.extend_from_slice(format!("{:X}{ext}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                for (name, value) in trailers {
                    out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
    }
}

fn field() -> impl Strategy<Value = (String, String)> {
    let name = "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,15}".prop_filter("framing field", |n| {
        ![
            "host",
            "content-length",
            "transfer-encoding",
            "connection",
            "expect",
        ]
        .iter()
        .any(|special| n.eq_ignore_ascii_case(special))
    });
    // No leading or trailing whitespace: the parser trims it.
    let value = "([!-~]([ -~]{0,30}[!-~])?)?";
    (name, value)
}

fn request() -> impl Strategy<Value = TestRequest> {
    let method = prop::sample::select(
        &[
            "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "X-Custom",
        ][..],
    );
    let target = "/[A-Za-z0-9._~%/?=&+-]{0,40}";
    let fields = prop::collection::vec(field(), 0..6);
    let bytes = || prop::collection::vec(any::<u8>(), 0..120);
    let chunked = (
        prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 0..5),
        any::<bool>(),
        prop::collection::vec(field(), 0..3),
    )
        .prop_map(|(chunks, extensions, trailers)| TestBody::Chunked {
            chunks,
            extensions,
            trailers,
        });
    let body11 = prop_oneof![
        Just(TestBody::Empty),
        bytes().prop_map(TestBody::Length),
        chunked
    ];
    (method, target, any::<bool>(), fields, body11, bytes()).prop_map(
        |(method, target, http10, fields, body11, body10)| TestRequest {
            method,
            target,
            // HTTP/1.0 keeps the connection alive only with a known length,
            // and may not be chunked: give it a Content-Length.
            version: if http10 {
                Version::Http10
            } else {
                Version::Http11
            },
            fields,
            body: if http10 {
                TestBody::Length(body10)
            } else {
                body11
            },
        },
    )
}

/// Cuts `input` at the given points (any order, duplicates allowed).
fn split<'a>(input: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for point in points.into_iter().chain([input.len()]) {
        pieces.push(&input[start..point]);
        start = point;
    }
    pieces
}

/// Small limits, so that random input reaches every limit; the request line
/// limit stays below the head limit, as in any sane configuration.
fn small_config() -> impl Strategy<Value = Config> {
    (
        16usize..64,
        64usize..256,
        1usize..8,
        4usize..32,
        0u64..512,
        any::<bool>(),
    )
        .prop_map(
            |(
                max_request_line,
                max_header_size,
                max_headers,
                max_chunk_line,
                max_body_size,
                no_keep_alive,
            )| Config {
                max_header_size,
                max_request_line,
                max_headers,
                max_body_size,
                max_chunk_line,
                no_keep_alive,
            },
        )
}

/// Bytes that matter to HTTP framing, to steer mutations toward edge cases.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(&b"\r\n \t:;,0f9-\"\x00\x7f\x80"[..]),
        any::<u8>(),
    ]
}

#[derive(Clone, Debug)]
enum Mutation {
    Replace(Index, u8),
    Insert(Index, u8),
    Delete(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Delete),
    ]
}

fn mutate(input: &mut Vec<u8>, mutations: &[Mutation]) {
    for mutation in mutations {
        match *mutation {
            Mutation::Replace(i, b) if !input.is_empty() => {
                let at = i.index(input.len());
                input[at] = b;
            }
            Mutation::Insert(i, b) => input.insert(i.index(input.len() + 1), b),
            Mutation::Delete(i) if !input.is_empty() => {
                input.remove(i.index(input.len()));
            }
            _ => {}
        }
    }
}

/// Decoding `input` in `pieces` gives the same outcome as decoding it whole,
/// and any error maps to one of the statuses the codec promises.
fn assert_split_invariant(config: &Config, input: &[u8], cuts: &[Index], eof: bool) -> Outcome {
    let (whole, _) = drive(config, [input], eof);
    let (pieces, _) = drive(config, split(input, cuts), eof);
    assert_eq!(pieces, whole);
    if let Some(error) = whole.error {
        assert!([400, 413, 414, 431, 501, 505].contains(&error.status_hint()));
    }
    whole
}

// 256 cases each by default; set PROPTEST_CASES to run more.
proptest! {
    #[test]
    fn random_bytes_never_panic(
        input in prop::collection::vec(interesting_byte(), 0..600),
        cuts in prop::collection::vec(any::<Index>(), 0..6),
        config in small_config(),
        eof in any::<bool>(),
    ) {
        assert_split_invariant(&config, &input, &cuts, eof);
        assert_split_invariant(&Config::default(), &input, &cuts, eof);
    }

    #[test]
    fn mutated_requests_never_panic(
        requests in prop::collection::vec(request(), 1..4),
        mutations in prop::collection::vec(mutation(), 1..6),
        cuts in prop::collection::vec(any::<Index>(), 0..6),
        config in small_config(),
        eof in any::<bool>(),
    ) {
        let mut input = Vec::new();
        for request in &requests {
            request.encode(&mut input);
        }
        mutate(&mut input, &mutations);
        assert_split_invariant(&config, &input, &cuts, eof);
        assert_split_invariant(&Config::default(), &input, &cuts, eof);
    }

    #[test]
    fn encoded_requests_decode_back(
        requests in prop::collection::vec(request(), 1..5),
        cuts in prop::collection::vec(any::<Index>(), 0..10),
    ) {
        let mut input = Vec::new();
        for request in &requests {
            request.encode(&mut input);
        }
        let outcome = assert_split_invariant(&Config::default(), &input, &cuts, false);
        prop_assert_eq!(outcome.error, None);
        prop_assert_eq!(outcome.messages.len(), requests.len());
        for (message, request) in outcome.messages.iter().zip(&requests) {
            let head = &message.head;
            prop_assert_eq!(head.method(), request.method);
            prop_assert_eq!(head.uri(), &request.target);
            prop_assert_eq!(head.version(), request.version);
            prop_assert!(head.keep_alive());
            let fields: Vec<_> = head
                .headers()
                .get_all()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect();
            prop_assert_eq!(fields, request.expected_fields());
            prop_assert_eq!(&message.body, &request.expected_body());
            prop_assert!(message.complete);
            let trailers: Vec<_> = message
                .trailers
                .iter()
                .flat_map(|t| t.get_all().map(|(n, v)| (n.to_owned(), v.to_owned())))
                .collect();
            let expected_trailers = match &request.body {
                TestBody::Chunked { trailers, .. } => trailers.clone(),
                _ => Vec::new(),
            };
            prop_assert_eq!(trailers, expected_trailers);
        }
    }
}
