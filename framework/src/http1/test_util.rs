//! Test helpers: drive a [`Codec`] over any split of the input and check that
//! the split never changes the outcome (h11's `tr`, hyper's
//! `all_async_cases`).

use crate::httputil::HTTPHeaders;

use super::{Codec, Config, Event, ParseError, RequestHead, ResponseHead};

/// One request as the connection layer would assemble it from events.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) head: RequestHead,
    pub(crate) body: Vec<u8>,
    pub(crate) trailers: Option<HTTPHeaders>,
    /// `EndOfMessage` was seen.
    pub(crate) complete: bool,
}

/// Everything a run of the codec produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) messages: Vec<Message>,
    pub(crate) error: Option<ParseError>,
    pub(crate) closed: bool,
}

impl Outcome {
    /// The only message, which must be complete.
    pub(crate) fn single(&self) -> &Message {
        assert_eq!(self.error, None, "{self:?}");
        assert_eq!(self.messages.len(), 1, "{self:?}");
        let message = &self.messages[0];
        assert!(message.complete, "{self:?}");
        message
    }
}

/// Feeds `pieces` one after the other (then EOF if `eof`), draining events
/// after each. Every complete request is answered with an empty 200 and,
/// when the connection allows it, the next cycle is started: this is how the
/// connection layer handles pipelining.
pub(crate) fn drive<'a>(
    config: &Config,
    pieces: impl IntoIterator<Item = &'a [u8]>,
    eof: bool,
) -> (Outcome, Codec) {
    let mut codec = Codec::new(config.clone());
    let mut outcome = Outcome::default();
    for piece in pieces {
        if !piece.is_empty() {
            codec.receive_data(piece);
        }
        drain(&mut codec, &mut outcome);
    }
    if eof {
        codec.receive_eof();
        drain(&mut codec, &mut outcome);
    }
    (outcome, codec)
}

fn drain(codec: &mut Codec, outcome: &mut Outcome) {
    loop {
        match codec.next_event() {
            Ok(Event::Request(head)) => outcome.messages.push(Message {
                head,
                body: Vec::new(),
                trailers: None,
                complete: false,
            }),
            Ok(Event::Data(data)) => {
                assert!(!data.is_empty(), "empty Data event");
                let message = outcome.messages.last_mut().expect("Data before Request");
                message.body.extend_from_slice(&data);
            }
            Ok(Event::EndOfMessage { trailers }) => {
                let message = outcome.messages.last_mut().expect("EOM before Request");
                message.trailers = trailers;
                message.complete = true;
                let headers = HTTPHeaders::new();
                let mut sink = Vec::new();
                codec
                    .write_response(&ResponseHead::new(200, &headers), b"", &mut sink)
                    .expect("respond");
                // Fails when the connection must close; the next event says how.
                let _ = codec.start_next_cycle();
            }
            Ok(Event::NeedData | Event::Paused) => return,
            Ok(Event::ConnectionClosed) => {
                outcome.closed = true;
                return;
            }
            Err(error) => {
                outcome.error = Some(error);
                return;
            }
        }
    }
}

/// Decodes `input` whole, one byte at a time, split in two at every offset,
/// and followed by `b"trailing"`; asserts that all agree, and returns the
/// outcome.
pub(crate) fn check_incremental(config: &Config, input: &[u8], eof: bool) -> Outcome {
    let (whole, codec) = drive(config, [input], eof);

    let (bytewise, _) = drive(config, input.chunks(1), eof);
    assert_eq!(
        bytewise,
        whole,
        "one byte at a time: {:?}",
        String::from_utf8_lossy(input)
    );

    for cut in 0..=input.len() {
        let (first, second) = input.split_at(cut);
        let (split, _) = drive(config, [first, second], eof);
        assert_eq!(
            split,
            whole,
            "split at {cut}: {:?}",
            String::from_utf8_lossy(input)
        );
    }

    // Bytes after a complete exchange are left alone: they belong to the next
    // request, which is not there yet.
    let mut codec = codec;
    if !eof && whole.error.is_none() && codec.read_buf().is_empty() {
        let mut with_trailing = input.to_vec();
        with_trailing.extend_from_slice(b"trailing");
        let (trailing, mut codec) = drive(config, [&with_trailing[..]], false);
        assert_eq!(trailing, whole, "with trailing bytes");
        assert_eq!(&codec.read_buf()[..], b"trailing");
    }
    whole
}

/// The error for `input` (checked across all splits), with default limits.
pub(crate) fn error_of(input: &[u8]) -> Option<ParseError> {
    check_incremental(&Config::default(), input, false).error
}
