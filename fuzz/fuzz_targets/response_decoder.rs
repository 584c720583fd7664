//! Arbitrary bytes as the server's answer to a client, in arbitrary splits:
//! the client codec must not panic, and its events must not depend on the
//! split. Complete keep-alive responses are followed by another request, so
//! several responses on one connection are explored too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tornado::http1::{ClientCodec, ClientEvent, ClientRequest, Config, ParseError, ResponseInfo};
use tornado::httputil::HTTPHeaders;

#[derive(Debug, PartialEq, Eq)]
enum Item {
    Info(ResponseInfo),
    Head(ResponseInfo),
    Body(Vec<u8>),
    End(Option<HTTPHeaders>),
    Error(ParseError),
    Closed,
}

const METHODS: [&str; 4] = ["GET", "HEAD", "POST", "PUT"];

struct Client {
    codec: ClientCodec,
    selector: u8,
    requests: usize,
}

impl Client {
    fn new(config: &Config, selector: u8) -> Client {
        let mut client = Client {
            codec: ClientCodec::new(config.clone()),
            selector,
            requests: 0,
        };
        client.send_request();
        client
    }

    /// Sends the next request, its method chosen by the selector bits.
    fn send_request(&mut self) {
        let method = METHODS[usize::from(self.selector >> (2 * (self.requests % 4))) & 3];
        self.requests += 1;
        let mut headers = HTTPHeaders::new();
        headers.add("Host", "fuzz");
        headers.add("Content-Length", "0");
        let mut out = Vec::new();
        let request = ClientRequest {
            method,
            target: "/",
            headers: &headers,
        };
        self.codec
            .write_request(&request, &mut out)
            .expect("a valid request");
        self.codec.finish(&mut out).expect("an empty body");
    }
}

fn pieces(input: &[u8], seed: u32) -> Vec<&[u8]> {
    let mut state = seed | 1;
    let mut rest = input;
    let mut out = Vec::new();
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state % 16 + 1) as usize;
        let (piece, tail) = rest.split_at(n.min(rest.len()));
        out.push(piece);
        rest = tail;
    }
    out
}

fn run<'a>(
    config: &Config,
    selector: u8,
    pieces: impl IntoIterator<Item = &'a [u8]>,
    eof: bool,
) -> Vec<Item> {
    let mut client = Client::new(config, selector);
    let mut items = Vec::new();
    for piece in pieces {
        if !piece.is_empty() {
            client.codec.receive_data(piece);
        }
        drain(&mut client, &mut items);
    }
    if eof {
        client.codec.receive_eof();
        drain(&mut client, &mut items);
    }
    items
}

fn drain(client: &mut Client, items: &mut Vec<Item>) {
    loop {
        match client.codec.next_event() {
            Ok(ClientEvent::Informational(head)) => {
                assert!((100..200).contains(&head.code()) && head.code() != 101);
                items.push(Item::Info(head));
            }
            Ok(ClientEvent::Response(head)) => {
                assert!((200..1000).contains(&head.code()));
                items.push(Item::Head(head));
            }
            Ok(ClientEvent::Data(data)) => {
                assert!(!data.is_empty());
                match items.last_mut() {
                    Some(Item::Body(body)) => body.extend_from_slice(&data),
                    _ => items.push(Item::Body(data.to_vec())),
                }
            }
            Ok(ClientEvent::EndOfMessage { trailers }) => {
                items.push(Item::End(trailers));
                // On a keep-alive connection the next request goes out at
                // once, and the bytes after this response answer it.
                if client.codec.start_next_cycle().is_ok() {
                    client.send_request();
                }
            }
            Ok(ClientEvent::NeedData) => return,
            Ok(ClientEvent::ConnectionClosed) => {
                if items.last() != Some(&Item::Closed) {
                    items.push(Item::Closed);
                }
                return;
            }
            Err(error) => {
                assert!([400, 413, 414, 431, 501, 502, 505].contains(&error.status_hint()));
                if items.last() != Some(&Item::Error(error)) {
                    items.push(Item::Error(error));
                }
                return;
            }
        }
    }
}

/// Limits small enough for fuzz inputs to reach them.
fn small_config(selector: u8) -> Config {
    Config {
        max_header_size: 64 + usize::from(selector & 0x3f) * 4,
        max_request_line: 16 + usize::from(selector & 0x0f),
        max_headers: 1 + usize::from(selector >> 5),
        max_body_size: u64::from(selector) * 8,
        max_chunk_line: 4 + usize::from(selector & 0x1f),
        no_keep_alive: false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&[selector, methods, seed, flags], input)) = data.split_first_chunk::<4>() else {
        return;
    };
    let seed = u32::from_le_bytes([seed, flags, selector, methods]);
    let eof = flags & 1 != 0;
    for config in [Config::default(), small_config(selector)] {
        let whole = run(&config, methods, [input], eof);
        let split = run(&config, methods, pieces(input, seed), eof);
        assert_eq!(whole, split);
    }
});
