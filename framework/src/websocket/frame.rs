//! WebSocket frames (RFC 6455 §5) as a pure codec: bytes in, messages,
//! control frames or a protocol error out; frames encoded into a buffer.
//! No socket, no clock: [`super`]'s session drives it over an
//! [`IOStream`](crate::iostream::IOStream), and the tests drive it over
//! byte strings.
//!
//! # Tornado
//! The parsing half of `WebSocketProtocol13` (`_receive_frame`,
//! `_handle_message`) and its `_write_frame`, which Tornado interleaves
//! with awaits on the stream.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// A continuation frame (the rest of a fragmented message).
///
/// # Tornado
/// The opcode `0x0` of `WebSocketProtocol13._receive_frame`.
pub const OP_CONTINUATION: u8 = 0x0;
/// A text frame (UTF-8).
///
/// # Tornado
/// Opcode `0x1`.
pub const OP_TEXT: u8 = 0x1;
/// A binary frame.
///
/// # Tornado
/// Opcode `0x2`.
pub const OP_BINARY: u8 = 0x2;
/// A close frame.
///
/// # Tornado
/// Opcode `0x8`.
pub const OP_CLOSE: u8 = 0x8;
/// A ping frame.
///
/// # Tornado
/// Opcode `0x9`.
pub const OP_PING: u8 = 0x9;
/// A pong frame.
///
/// # Tornado
/// Opcode `0xA`.
pub const OP_PONG: u8 = 0xA;

/// The most payload a control frame (close, ping, pong) may carry.
///
/// # Tornado
/// The `payloadlen >= 126` check on control frames.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A whole message, reassembled from its fragments.
///
/// # Tornado
/// What `on_message(message)` receives: `str` for a text message, `bytes`
/// for a binary one; what `write_message(message, binary=...)` sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (valid UTF-8: the codec checked it).
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// The payload's bytes.
    ///
    /// # Tornado
    /// `utf8(message)`.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(data) => data,
        }
    }

    /// The text of a text message; `None` for a binary one.
    ///
    /// # Tornado
    /// `message if isinstance(message, str) else None`.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
        }
    }

    /// The frame opcode the message is sent with.
    ///
    /// # Tornado
    /// `0x2 if binary else 0x1` in `write_message`.
    pub fn opcode(&self) -> u8 {
        match self {
            Message::Text(_) => OP_TEXT,
            Message::Binary(_) => OP_BINARY,
        }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.to_owned())
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Message::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Message::Binary(data.into())
    }
}

impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Self {
        Message::Binary(Bytes::copy_from_slice(data))
    }
}

/// What the peer sent, once a frame (or the last fragment of a message)
/// is complete.
///
/// # Tornado
/// What `WebSocketProtocol13._handle_message(opcode, data)` dispatches on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole data message.
    Message(Message),
    /// A ping with its application data (at most 125 bytes).
    Ping(Bytes),
    /// A pong with its application data (at most 125 bytes).
    Pong(Bytes),
    /// A close frame: its status code and reason, if it had them.
    Close {
        /// The status code (`None`: the frame had no payload).
        code: Option<u16>,
        /// The reason (`None`: the frame had none).
        reason: Option<String>,
    },
}

/// Why the peer's bytes are not a valid WebSocket stream; each error knows
/// the status code the connection is closed with.
///
/// # Tornado
/// Tornado aborts the connection (closes the socket without a close frame)
/// on all of these but [`MessageTooBig`](ProtocolError::MessageTooBig),
/// which it closes with 1009. Here each is answered with a close frame
/// carrying [`close_code`](ProtocolError::close_code) first, as RFC 6455
/// §7.1.7 asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// RSV1-3 set, with no extension negotiated.
    ReservedBits,
    /// An opcode RFC 6455 does not define.
    UnknownOpcode,
    /// A client frame without a mask (or a server frame with one).
    BadMasking,
    /// A control frame with more than 125 bytes of payload.
    ControlTooLong,
    /// A control frame without FIN.
    FragmentedControl,
    /// A continuation frame with no message to continue.
    UnexpectedContinuation,
    /// A new data message while a fragmented one is unfinished.
    ExpectedContinuation,
    /// A 64-bit payload length with its most significant bit set.
    BadLength,
    /// A close frame with a one-byte payload or a status code that may not
    /// be sent.
    BadClose,
    /// A text message or close reason that is not UTF-8.
    InvalidUtf8,
    /// A message (all its fragments) over the maximum message size.
    MessageTooBig,
    /// A compressed message that inflates past the maximum message size.
    DecompressedTooBig,
    /// A compressed message that does not inflate.
    BadCompression,
}

impl ProtocolError {
    /// The close status code to answer with: 1007 for invalid UTF-8, 1009
    /// for a message too big, 1002 (protocol error) for the rest.
    ///
    /// # Tornado
    /// Only 1009 exists there (`close(1009, "message too big")`).
    pub fn close_code(self) -> u16 {
        match self {
            ProtocolError::InvalidUtf8 => 1007,
            ProtocolError::MessageTooBig | ProtocolError::DecompressedTooBig => 1009,
            _ => 1002,
        }
    }

    /// A short description, used as the close reason.
    ///
    /// # Tornado
    /// `"message too big"` for a message too big, as Tornado's reason.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolError::ReservedBits => "reserved bits set",
            ProtocolError::UnknownOpcode => "unknown opcode",
            ProtocolError::BadMasking => "frame masking is wrong",
            ProtocolError::ControlTooLong => "control frame too long",
            ProtocolError::FragmentedControl => "fragmented control frame",
            ProtocolError::UnexpectedContinuation => "nothing to continue",
            ProtocolError::ExpectedContinuation => "message not finished",
            ProtocolError::BadLength => "invalid payload length",
            ProtocolError::BadClose => "invalid close frame",
            ProtocolError::InvalidUtf8 => "invalid UTF-8",
            // Tornado's reason.
            ProtocolError::MessageTooBig => "message too big",
            ProtocolError::DecompressedTooBig => "message too big after decompression",
            ProtocolError::BadCompression => "invalid compressed data",
        }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for ProtocolError {}

/// A frame head, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    /// The payload length as sent (up to 2^63 - 1).
    len: u64,
    /// Bytes of the head: 2 to 14.
    head_len: usize,
}

/// Parses a frame head from the start of `buf`; `Ok(None)` until all of
/// it is there.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, ProtocolError> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    let masked = b1 & 0x80 != 0;
    let (len, mut at) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(&[a, b]) => (u64::from(u16::from_be_bytes([a, b])), 4),
            _ => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(bytes) => {
                let len = u64::from_be_bytes(bytes);
                if len >> 63 != 0 {
                    return Err(ProtocolError::BadLength);
                }
                (len, 10)
            }
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    let mask = if masked {
        match buf
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
        {
            Some(mask) => {
                at += 4;
                Some(mask)
            }
            None => return Ok(None),
        }
    } else {
        None
    };
    Ok(Some(Head {
        fin: b0 & 0x80 != 0,
        rsv: b0 & 0x70,
        opcode: b0 & 0x0f,
        mask,
        len,
        head_len: at,
    }))
}

/// XORs `data` with the 4-byte `mask`, in place (masking is its own inverse).
///
/// # Tornado
/// `tornado.util._websocket_mask(mask, data)`.
pub fn apply_mask(mask: [u8; 4], data: &mut [u8]) {
    for (byte, m) in data.iter_mut().zip(mask.iter().cycle()) {
        *byte ^= m;
    }
}

/// Which side of the connection the decoder reads for: a server reads
/// masked frames, a client unmasked ones (RFC 6455 §5.1).
///
/// # Tornado
/// `WebSocketProtocol13(handler, mask_outgoing, params)`: `mask_outgoing`
/// is true for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We are the server: every frame must be masked.
    Server,
    /// We are the client: no frame may be masked.
    Client,
}

/// Reassembles messages from frames, checking each frame against RFC 6455
/// as soon as its head is in, so a frame too big is refused before its
/// payload is read.
///
/// # Contract
/// After an error the stream is unusable: close the connection with the
/// error's [`close_code`](ProtocolError::close_code). Memory held is at most
/// the unfinished message (no more than `max_message_size`); the caller's
/// buffer needs at most one frame head and payload more.
///
/// # Tornado
/// `WebSocketProtocol13._receive_frame` and the `_fragmented_message_*`
/// fields.
#[derive(Debug)]
pub struct Decoder {
    role: Role,
    max_message_size: usize,
    /// The opcode and payload so far of a fragmented message, and whether
    /// it is compressed; set only between its first frame and its last.
    fragmented: Option<(u8, BytesMut, bool)>,
    /// With permessage-deflate negotiated: RSV1 marks a compressed message.
    inflater: Option<super::deflate::Inflater>,
}

impl Decoder {
    /// A decoder for `role` refusing messages over `max_message_size` bytes.
    ///
    /// # Tornado
    /// `_WebSocketParams.max_message_size`.
    pub fn new(role: Role, max_message_size: usize) -> Decoder {
        Decoder {
            role,
            max_message_size,
            fragmented: None,
            inflater: None,
        }
    }

    /// Accepts compressed messages (RSV1 on their first frame), inflated
    /// by `inflater`: permessage-deflate was negotiated.
    pub(crate) fn set_inflater(&mut self, inflater: super::deflate::Inflater) {
        self.inflater = Some(inflater);
    }

    /// Takes complete frames from the front of `buf` until one completes
    /// an [`Event`]; `Ok(None)` if more bytes are needed (what was
    /// consumed is kept). Never panics, whatever `buf` holds.
    ///
    /// # Tornado
    /// One round of `_receive_frame_loop`, without its awaits.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        loop {
            let Some(head) = parse_head(buf)? else {
                return Ok(None);
            };
            let control = head.opcode & 0x8 != 0;
            // RSV1 marks a compressed message, on its first frame only.
            let compressed = head.rsv & 0x40 != 0
                && self.inflater.is_some()
                && !control
                && head.opcode != OP_CONTINUATION;
            if head.rsv & if compressed { 0x30 } else { 0x70 } != 0 {
                return Err(ProtocolError::ReservedBits);
            }
            match head.opcode {
                OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG => {}
                _ => return Err(ProtocolError::UnknownOpcode),
            }
            if head.mask.is_some() != (self.role == Role::Server) {
                return Err(ProtocolError::BadMasking);
            }
            if control {
                if head.len > MAX_CONTROL_PAYLOAD as u64 {
                    return Err(ProtocolError::ControlTooLong);
                }
                if !head.fin {
                    return Err(ProtocolError::FragmentedControl);
                }
            } else {
                match (&self.fragmented, head.opcode) {
                    (None, OP_CONTINUATION) => return Err(ProtocolError::UnexpectedContinuation),
                    (Some(_), OP_TEXT | OP_BINARY) => {
                        return Err(ProtocolError::ExpectedContinuation)
                    }
                    _ => {}
                }
                let so_far = self
                    .fragmented
                    .as_ref()
                    .map_or(0, |(_, data, _)| data.len());
                let total = (so_far as u64).saturating_add(head.len);
                if total > self.max_message_size as u64 {
                    return Err(ProtocolError::MessageTooBig);
                }
            }
            // Bounded above (control frames by 125, data by the maximum
            // message size, a usize): the conversion cannot fail.
            let len = usize::try_from(head.len).map_err(|_| ProtocolError::MessageTooBig)?;
            let Some(frame_len) = head.head_len.checked_add(len) else {
                return Err(ProtocolError::MessageTooBig);
            };
            if buf.len() < frame_len {
                // Nothing is reserved for the rest: the length is the peer's
                // word, and the reads that bring the payload grow the buffer.
                return Ok(None);
            }
            let mut payload = buf.split_to(frame_len);
            payload.advance(head.head_len);
            if let Some(mask) = head.mask {
                apply_mask(mask, &mut payload);
            }
            if control {
                return control_event(head.opcode, payload.freeze()).map(Some);
            }
            let (opcode, data, compressed) = match self.fragmented.take() {
                Some((opcode, mut data, compressed)) => {
                    data.extend_from_slice(&payload);
                    (opcode, data, compressed)
                }
                None => (head.opcode, payload, compressed),
            };
            if !head.fin {
                self.fragmented = Some((opcode, data, compressed));
                continue;
            }
            let data = match (&mut self.inflater, compressed) {
                (Some(inflater), true) => {
                    BytesMut::from(&inflater.decompress(&data, self.max_message_size)?[..])
                }
                _ => data,
            };
            let message = if opcode == OP_TEXT {
                let text =
                    String::from_utf8(Vec::from(data)).map_err(|_| ProtocolError::InvalidUtf8)?;
                Message::Text(text)
            } else {
                Message::Binary(data.freeze())
            };
            return Ok(Some(Event::Message(message)));
        }
    }
}

/// The event for a complete control frame.
fn control_event(opcode: u8, payload: Bytes) -> Result<Event, ProtocolError> {
    match opcode {
        OP_PING => Ok(Event::Ping(payload)),
        OP_PONG => Ok(Event::Pong(payload)),
        _ => {
            let (code, reason) = parse_close(&payload)?;
            Ok(Event::Close { code, reason })
        }
    }
}

/// A close frame's status code and reason (RFC 6455 §5.5.1, §7.4).
fn parse_close(payload: &[u8]) -> Result<(Option<u16>, Option<String>), ProtocolError> {
    match payload {
        [] => Ok((None, None)),
        [_] => Err(ProtocolError::BadClose),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            if !is_valid_close_code(code) {
                return Err(ProtocolError::BadClose);
            }
            let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok((Some(code), (!reason.is_empty()).then(|| reason.to_owned())))
        }
    }
}

/// True for a status code a peer may send in a close frame: those RFC 6455
/// and its registry define for use on the wire, and the 3000-4999 ranges
/// for libraries and applications.
///
/// # Tornado
/// Not checked there: a close frame's code is taken as it is.
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Appends a frame: FIN set as `fin`, `opcode`, the payload (masked with
/// `mask` if given, as a client must).
///
/// # Tornado
/// `WebSocketProtocol13._write_frame(fin, opcode, data, flags=0)`.
pub fn encode_frame(
    out: &mut BytesMut,
    fin: bool,
    opcode: u8,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.reserve(payload.len() + 14);
    out.put_u8(if fin { 0x80 } else { 0 } | (opcode & 0x0f));
    let len = payload.len();
    if len < 126 {
        out.put_u8(mask_bit | len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.put_u8(mask_bit | 126);
        out.put_u16(short);
    } else {
        out.put_u8(mask_bit | 127);
        out.put_u64(len as u64);
    }
    match mask {
        Some(mask) => {
            out.put_slice(&mask);
            let start = out.len();
            out.put_slice(payload);
            if let Some(written) = out.get_mut(start..) {
                apply_mask(mask, written);
            }
        }
        None => out.put_slice(payload),
    }
}

/// A close frame's payload: the code (1000 if only a reason is given, as
/// Tornado) and the reason, cut at a character boundary to fit the 125
/// bytes of a control frame.
///
/// # Tornado
/// What `WebSocketProtocol13.close(code=None, reason=None)` sends.
pub fn close_payload(code: Option<u16>, reason: Option<&str>) -> Vec<u8> {
    let code = match (code, reason) {
        (None, Some(_)) => Some(1000),
        (code, _) => code,
    };
    let Some(code) = code else {
        return Vec::new();
    };
    let mut payload = code.to_be_bytes().to_vec();
    if let Some(reason) = reason {
        let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        payload.extend_from_slice(reason.get(..end).unwrap_or_default().as_bytes());
    }
    payload
}

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`: base64 of
/// the SHA-1 of the key and RFC 6455's GUID.
///
/// # Tornado
/// `WebSocketProtocol13.compute_accept_value(key)`.
pub fn compute_accept_value(key: &str) -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_frame(&mut out, fin, opcode, payload, Some(MASK));
        out.to_vec()
    }

    fn with_rsv1(mut frame: Vec<u8>) -> Vec<u8> {
        frame[0] |= 0x40;
        frame
    }

    fn server() -> Decoder {
        Decoder::new(Role::Server, 1 << 20)
    }

    /// Decodes `bytes` whole; then again one byte at a time (`None` until
    /// the end); then with trailing bytes, which stay in the buffer.
    fn decode_three_ways(bytes: &[u8]) -> Result<Vec<Event>, ProtocolError> {
        let whole = decode_all(&mut server(), bytes);
        let mut decoder = server();
        let mut buf = BytesMut::new();
        let mut events = Vec::new();
        let mut error = None;
        for &byte in bytes {
            buf.put_u8(byte);
            match decoder.decode(&mut buf) {
                Ok(Some(event)) => {
                    events.push(event);
                    while let Ok(Some(event)) = decoder.decode(&mut buf) {
                        events.push(event);
                    }
                }
                Ok(None) => {}
                Err(err) => {
                    error = Some(err);
                    break;
                }
            }
        }
        let bytewise = match error {
            Some(err) => Err(err),
            None => Ok(events),
        };
        assert_eq!(whole, bytewise, "whole vs byte by byte");
        if whole.is_ok() {
            let mut buf = BytesMut::from(bytes);
            buf.put_slice(b"\x81");
            let mut decoder = server();
            while let Ok(Some(_)) = decoder.decode(&mut buf) {}
            assert_eq!(&buf[..], b"\x81", "trailing bytes untouched");
        }
        whole
    }

    fn decode_all(decoder: &mut Decoder, bytes: &[u8]) -> Result<Vec<Event>, ProtocolError> {
        let mut buf = BytesMut::from(bytes);
        let mut events = Vec::new();
        while let Some(event) = decoder.decode(&mut buf)? {
            events.push(event);
        }
        Ok(events)
    }

    #[test]
    fn rfc_examples_decode() {
        // RFC 6455 §5.7: a masked "Hello" from a client.
        let hello = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
        assert_eq!(
            decode_three_ways(hello),
            Ok(vec![Event::Message(Message::Text("Hello".into()))])
        );
        // Fragmented: "Hel" then "lo".
        let mut fragmented = client_frame(false, OP_TEXT, b"Hel");
        fragmented.extend(client_frame(true, OP_CONTINUATION, b"lo"));
        assert_eq!(
            decode_three_ways(&fragmented),
            Ok(vec![Event::Message(Message::Text("Hello".into()))])
        );
    }

    #[test]
    fn unmasked_server_frames_encode_as_the_rfc_shows() {
        let mut out = BytesMut::new();
        encode_frame(&mut out, true, OP_TEXT, b"Hello", None);
        assert_eq!(&out[..], b"\x81\x05Hello");
        out.clear();
        encode_frame(&mut out, true, OP_PING, b"Hello", None);
        assert_eq!(&out[..], b"\x89\x05Hello");
        out.clear();
        encode_frame(&mut out, true, OP_BINARY, &[0; 256], None);
        assert_eq!(&out[..4], b"\x82\x7e\x01\x00");
        out.clear();
        encode_frame(&mut out, true, OP_BINARY, &[0; 65536], None);
        assert_eq!(&out[..10], b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00");
        assert_eq!(out.len(), 65546);
    }

    #[test]
    fn lengths_of_every_size_round_trip() {
        for len in [0, 1, 125, 126, 127, 65535, 65536, 70000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let frame = client_frame(true, OP_BINARY, &payload);
            let events = decode_all(&mut server(), &frame).unwrap();
            assert_eq!(
                events,
                vec![Event::Message(Message::Binary(payload.into()))]
            );
        }
    }

    #[test]
    fn control_frames_interleave_with_fragments() {
        let mut bytes = client_frame(false, OP_BINARY, b"ab");
        bytes.extend(client_frame(true, OP_PING, b"p"));
        bytes.extend(client_frame(false, OP_CONTINUATION, b"cd"));
        bytes.extend(client_frame(true, OP_PONG, b""));
        bytes.extend(client_frame(true, OP_CONTINUATION, b"e"));
        assert_eq!(
            decode_three_ways(&bytes),
            Ok(vec![
                Event::Ping(Bytes::from_static(b"p")),
                Event::Pong(Bytes::new()),
                Event::Message(Message::Binary(Bytes::from_static(b"abcde"))),
            ])
        );
    }

    #[test]
    fn close_frames_give_code_and_reason() {
        let close = |payload: &[u8]| decode_three_ways(&client_frame(true, OP_CLOSE, payload));
        assert_eq!(
            close(b""),
            Ok(vec![Event::Close {
                code: None,
                reason: None
            }])
        );
        assert_eq!(
            close(b"\x03\xe8"),
            Ok(vec![Event::Close {
                code: Some(1000),
                reason: None
            }])
        );
        assert_eq!(
            close(b"\x0f\xa0bye"),
            Ok(vec![Event::Close {
                code: Some(4000),
                reason: Some("bye".into())
            }])
        );
        assert_eq!(close(b"\x03"), Err(ProtocolError::BadClose));
        assert_eq!(close(b"\x03\xed"), Err(ProtocolError::BadClose)); // 1005
        assert_eq!(close(b"\x00\x00"), Err(ProtocolError::BadClose));
        assert_eq!(close(b"\x03\xe8\xff"), Err(ProtocolError::InvalidUtf8));
    }

    #[test]
    fn protocol_errors_have_their_close_codes() {
        let cases: &[(Vec<u8>, ProtocolError, u16)] = &[
            // Unmasked client frame.
            (b"\x81\x02hi".to_vec(), ProtocolError::BadMasking, 1002),
            // RSV1 without an extension.
            (
                with_rsv1(client_frame(true, OP_TEXT, b"x")),
                ProtocolError::ReservedBits,
                1002,
            ),
            // Opcodes 3-7 and 0xB-0xF.
            (
                client_frame(true, 0x3, b"x"),
                ProtocolError::UnknownOpcode,
                1002,
            ),
            (
                client_frame(true, 0xB, b""),
                ProtocolError::UnknownOpcode,
                1002,
            ),
            // A fragmented ping.
            (
                client_frame(false, OP_PING, b""),
                ProtocolError::FragmentedControl,
                1002,
            ),
            // A 126-byte ping.
            (
                client_frame(true, OP_PING, &[0; 126]),
                ProtocolError::ControlTooLong,
                1002,
            ),
            // A continuation with nothing to continue.
            (
                client_frame(true, OP_CONTINUATION, b"x"),
                ProtocolError::UnexpectedContinuation,
                1002,
            ),
            // A new message inside a fragmented one.
            (
                [
                    client_frame(false, OP_TEXT, b"a"),
                    client_frame(true, OP_TEXT, b"b"),
                ]
                .concat(),
                ProtocolError::ExpectedContinuation,
                1002,
            ),
            // Invalid UTF-8, whole or split across fragments.
            (
                client_frame(true, OP_TEXT, b"\xff"),
                ProtocolError::InvalidUtf8,
                1007,
            ),
            (
                [
                    client_frame(false, OP_TEXT, b"\xe2\x82"),
                    client_frame(true, OP_CONTINUATION, b"\xac\xff"),
                ]
                .concat(),
                ProtocolError::InvalidUtf8,
                1007,
            ),
            // A 64-bit length with its high bit set.
            (
                b"\x82\xff\x80\0\0\0\0\0\0\0\x37\xfa\x21\x3d".to_vec(),
                ProtocolError::BadLength,
                1002,
            ),
        ];
        for (bytes, error, code) in cases {
            assert_eq!(decode_three_ways(bytes), Err(*error), "{bytes:?}");
            assert_eq!(error.close_code(), *code);
        }
        // A text message split inside a character is fine.
        let split = [
            client_frame(false, OP_TEXT, b"\xe2\x82"),
            client_frame(true, OP_CONTINUATION, b"\xac"),
        ]
        .concat();
        assert_eq!(
            decode_three_ways(&split),
            Ok(vec![Event::Message(Message::Text("€".into()))])
        );
    }

    #[test]
    fn too_big_is_refused_from_the_head_alone() {
        let mut decoder = Decoder::new(Role::Server, 100);
        // Only the head of a 101-byte frame: refused before its payload.
        let head = &client_frame(true, OP_BINARY, &[0; 101])[..6];
        assert_eq!(
            decoder.decode(&mut BytesMut::from(head)),
            Err(ProtocolError::MessageTooBig)
        );
        assert_eq!(ProtocolError::MessageTooBig.close_code(), 1009);
        // Exactly the limit passes; fragments adding up past it do not.
        let mut decoder = Decoder::new(Role::Server, 100);
        let ok = client_frame(true, OP_BINARY, &[0; 100]);
        assert!(matches!(
            decode_all(&mut decoder, &ok).as_deref(),
            Ok([Event::Message(_)])
        ));
        let fragments = [
            client_frame(false, OP_BINARY, &[0; 60]),
            client_frame(true, OP_CONTINUATION, &[0; 41]),
        ]
        .concat();
        assert_eq!(
            decode_all(&mut decoder, &fragments),
            Err(ProtocolError::MessageTooBig)
        );
        // Huge declared lengths (2^62 bytes) are refused, or under a
        // limit that allows them waited for, never allocated.
        let mut huge = BytesMut::from(&b"\x82\xff\x40\0\0\0\0\0\0\0"[..]);
        huge.put_slice(&MASK);
        let mut decoder = Decoder::new(Role::Server, 10 << 20);
        assert_eq!(
            decoder.decode(&mut huge.clone()),
            Err(ProtocolError::MessageTooBig)
        );
        let mut decoder = Decoder::new(Role::Server, usize::MAX);
        assert_eq!(decoder.decode(&mut huge), Ok(None));
        assert!(huge.capacity() < 1024);
    }

    #[test]
    fn every_prefix_of_valid_frames_needs_more() {
        let mut bytes = client_frame(false, OP_TEXT, "héllo".as_bytes());
        bytes.extend(client_frame(true, OP_PING, b"ping"));
        bytes.extend(client_frame(true, OP_CONTINUATION, &[b'x'; 300]));
        bytes.extend(client_frame(true, OP_BINARY, &[7; 70000]));
        bytes.extend(client_frame(true, OP_CLOSE, b"\x03\xe8ok"));
        let all = decode_all(&mut server(), &bytes).unwrap();
        assert_eq!(all.len(), 4);
        // Every cut through the heads and small frames, and through the
        // large payload every 997 bytes (all would be quadratic).
        let ends = bytes.len() - 400;
        let cuts = (0..400)
            .chain((400..ends).step_by(997))
            .chain(ends..bytes.len());
        for cut in cuts {
            let mut decoder = server();
            let mut buf = BytesMut::from(&bytes[..cut]);
            let mut events = Vec::new();
            while let Some(event) = decoder.decode(&mut buf).unwrap() {
                events.push(event);
            }
            assert!(events.len() < all.len(), "cut at {cut}");
            assert_eq!(events[..], all[..events.len()]);
            // The rest completes it.
            buf.put_slice(&bytes[cut..]);
            while let Some(event) = decoder.decode(&mut buf).unwrap() {
                events.push(event);
            }
            assert_eq!(events, all, "cut at {cut}");
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        // A small xorshift generator: deterministic, no dependency.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let len = (next() % 40) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 2 == 0 && !bytes.is_empty() {
                // Mostly plausible heads: masked, a known opcode.
                bytes[0] = (bytes[0] & 0x8f) | if round % 4 == 0 { 0 } else { 0x70 & bytes[0] };
                if let Some(b1) = bytes.get_mut(1) {
                    *b1 |= 0x80;
                }
            }
            for role in [Role::Server, Role::Client] {
                let mut decoder = Decoder::new(role, 64);
                let mut buf = BytesMut::from(&bytes[..]);
                // At most as many events as bytes; then an error or need-more.
                for _ in 0..=len {
                    match decoder.decode(&mut buf) {
                        Ok(Some(_)) => {}
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
    }

    #[test]
    fn compressed_messages_with_permessage_deflate() {
        use crate::websocket::deflate::{negotiate, CompressionOptions};
        let agreed = negotiate("permessage-deflate").unwrap().unwrap();
        let (mut deflater, _) = agreed.codecs(CompressionOptions::default());
        let with_deflate = || {
            let (_, inflater) = agreed.codecs(CompressionOptions::default());
            let mut decoder = server();
            decoder.set_inflater(inflater);
            decoder
        };
        let hello = deflater.compress("héllo héllo".as_bytes()).unwrap();
        // RSV1 on the first frame of a message: compressed.
        let whole = with_rsv1(client_frame(true, OP_TEXT, &hello));
        assert_eq!(
            decode_all(&mut with_deflate(), &whole),
            Ok(vec![Event::Message(Message::Text("héllo héllo".into()))])
        );
        // Fragmented: RSV1 on the first frame only.
        let again = deflater.compress(&[9; 1000]).unwrap();
        let (a, b) = again.split_at(again.len() / 2);
        let fragments = [
            with_rsv1(client_frame(false, OP_BINARY, a)),
            client_frame(true, OP_CONTINUATION, b),
        ]
        .concat();
        let mut decoder = with_deflate();
        assert!(decode_all(&mut decoder, &whole).is_ok());
        assert_eq!(
            decode_all(&mut decoder, &fragments),
            Ok(vec![Event::Message(Message::Binary(vec![9; 1000].into()))])
        );
        // Uncompressed messages still pass.
        assert!(decode_all(&mut with_deflate(), &client_frame(true, OP_TEXT, b"plain")).is_ok());
        // RSV1 on a continuation or a control frame, or without the extension: refused.
        let bad_continuation = [
            client_frame(false, OP_TEXT, b"a"),
            with_rsv1(client_frame(true, OP_CONTINUATION, b"b")),
        ]
        .concat();
        assert_eq!(
            decode_all(&mut with_deflate(), &bad_continuation),
            Err(ProtocolError::ReservedBits)
        );
        assert_eq!(
            decode_all(
                &mut with_deflate(),
                &with_rsv1(client_frame(true, OP_PING, b""))
            ),
            Err(ProtocolError::ReservedBits)
        );
        assert_eq!(
            decode_all(&mut server(), &whole),
            Err(ProtocolError::ReservedBits)
        );
        // Garbage marked compressed.
        let garbage = with_rsv1(client_frame(true, OP_BINARY, &[0xff; 20]));
        assert_eq!(
            decode_all(&mut with_deflate(), &garbage),
            Err(ProtocolError::BadCompression)
        );
        // Inflating past the limit: 1009.
        let bomb = deflater.compress(&vec![0; 2 << 20]).unwrap();
        let bomb = with_rsv1(client_frame(true, OP_BINARY, &bomb));
        let err = decode_all(&mut with_deflate(), &bomb).unwrap_err();
        assert_eq!(
            (err, err.close_code()),
            (ProtocolError::DecompressedTooBig, 1009)
        );
    }

    #[test]
    fn close_payloads_are_tornados() {
        assert_eq!(close_payload(None, None), b"");
        assert_eq!(close_payload(Some(1001), None), b"\x03\xe9");
        assert_eq!(close_payload(None, Some("bye")), b"\x03\xe8bye");
        // Cut to fit a control frame, at a character boundary.
        let long = "é".repeat(100);
        let payload = close_payload(Some(4000), Some(&long));
        assert!(payload.len() <= MAX_CONTROL_PAYLOAD);
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
    }

    #[test]
    fn accept_value_is_the_rfcs() {
        assert_eq!(
            compute_accept_value("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
