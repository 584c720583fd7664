//! Shared by the targets: drive a codec over a split of the input and record
//! what came out, so that two splits can be compared.

use tornado::http1::{Codec, Config, Event, ParseError, RequestHead, ResponseHead};
use tornado::httputil::HTTPHeaders;

/// What a codec produced, with body pieces merged.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    Head(RequestHead),
    Body(Vec<u8>),
    End(Option<HTTPHeaders>),
    Error(ParseError),
    Closed,
}

/// Splits `input` into pieces of 1..=16 bytes chosen by a xorshift generator
/// seeded with `seed`.
pub fn pieces(input: &[u8], seed: u32) -> Vec<&[u8]> {
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

pub fn run<'a>(
    config: &Config,
    pieces: impl IntoIterator<Item = &'a [u8]>,
    eof: bool,
) -> Vec<Item> {
    let mut codec = Codec::new(config.clone());
    let mut items = Vec::new();
    for piece in pieces {
        // An empty slice would mean EOF.
        if !piece.is_empty() {
            codec.receive_data(piece);
        }
        drain(&mut codec, &mut items);
    }
    if eof {
        codec.receive_eof();
        drain(&mut codec, &mut items);
    }
    items
}

fn drain(codec: &mut Codec, items: &mut Vec<Item>) {
    loop {
        match codec.next_event() {
            Ok(Event::Request(head)) => items.push(Item::Head(head)),
            Ok(Event::Data(data)) => {
                assert!(!data.is_empty());
                match items.last_mut() {
                    Some(Item::Body(body)) => body.extend_from_slice(&data),
                    _ => items.push(Item::Body(data.to_vec())),
                }
            }
            Ok(Event::EndOfMessage { trailers }) => {
                items.push(Item::End(trailers));
                let headers = HTTPHeaders::new();
                let mut out = Vec::new();
                codec
                    .write_response(&ResponseHead::new(200, &headers), b"ok", &mut out)
                    .expect("a response to a complete request");
                let _ = codec.start_next_cycle();
            }
            Ok(Event::NeedData | Event::Paused) => return,
            Ok(Event::ConnectionClosed) => {
                if items.last() != Some(&Item::Closed) {
                    items.push(Item::Closed);
                }
                return;
            }
            Err(error) => {
                assert!([400, 413, 414, 431, 501, 505].contains(&error.status_hint()));
                if items.last() != Some(&Item::Error(error)) {
                    items.push(Item::Error(error));
                }
                return;
            }
        }
    }
}

/// Limits small enough for fuzz inputs to reach them.
pub fn small_config(selector: u8) -> Config {
    Config {
        max_header_size: 64 + usize::from(selector & 0x3f) * 4,
        max_request_line: 16 + usize::from(selector & 0x0f),
        max_headers: 1 + usize::from(selector >> 5),
        max_body_size: u64::from(selector) * 8,
        max_chunk_line: 4 + usize::from(selector & 0x1f),
        no_keep_alive: selector & 0x80 != 0,
    }
}
