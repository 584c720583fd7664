//! permessage-deflate (RFC 7692): negotiating it from the client's
//! `Sec-WebSocket-Extensions` offer, and compressing and decompressing
//! whole messages. Pure: no I/O.
//!
//! # Tornado
//! `_PerMessageDeflateCompressor`, `_PerMessageDeflateDecompressor` and
//! `WebSocketProtocol13._create_compressors`.

use std::io::Write;

use flate2::write::DeflateEncoder;
use flate2::{Compression, Decompress, FlushDecompress};

use super::frame::ProtocolError;

/// What a handler's `get_compression_options` returns to enable
/// permessage-deflate.
///
/// # Tornado
/// The dict `WebSocketHandler.get_compression_options()` returns:
/// `compression_level` (default 6, Tornado's `GZIP_LEVEL`). Tornado's
/// `mem_level` has no equivalent in the pure-Rust deflate used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressionOptions {
    /// The deflate level, 0 (none) to 9 (best).
    pub compression_level: u32,
}

impl Default for CompressionOptions {
    fn default() -> Self {
        CompressionOptions {
            compression_level: 6,
        }
    }
}

/// The trailer a sync flush ends with, which RFC 7692 leaves off the wire.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The parameters both sides agreed on, as the client offered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Agreed {
    /// The parameters, name and value, sorted by name (Tornado answers
    /// with them so).
    params: Vec<(String, String)>,
}

impl Agreed {
    /// The `Sec-WebSocket-Extensions` value to answer with.
    pub(crate) fn header(&self) -> String {
        let mut header = String::from("permessage-deflate");
        for (name, value) in &self.params {
            header.push_str("; ");
            header.push_str(name);
            header.push('=');
            header.push_str(value);
        }
        header
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The server's compressor and the decompressor for the client's
    /// messages.
    pub(crate) fn codecs(&self, options: CompressionOptions) -> (Deflater, Inflater) {
        let deflater = Deflater {
            level: Compression::new(options.compression_level.min(9)),
            persistent: self.get("server_no_context_takeover").is_none(),
            // Compressing with a window under 15 bits is beyond the pure-Rust
            // deflate: messages then go out uncompressed, which RFC 7692
            // allows (RSV1 clear).
            enabled: self
                .get("server_max_window_bits")
                .map_or(true, |bits| bits == "15"),
            encoder: None,
        };
        let inflater = Inflater {
            persistent: self.get("client_no_context_takeover").is_none(),
            // A 15-bit window decodes what any smaller one encoded.
            decompress: Decompress::new(false),
        };
        (deflater, inflater)
    }
}

/// Reads the client's `Sec-WebSocket-Extensions` offer as Tornado does:
/// the first `permessage-deflate` in the list, with its `name=value`
/// parameters (names lowercased, values unquoted; parameters without a
/// value are dropped, as Tornado's `_parse_header` drops them).
/// `Ok(None)`: nothing offered. `Err`: a parameter Tornado refuses (an
/// unknown one, or window bits outside 8-15), for which Tornado drops the
/// connection without an answer.
pub(crate) fn negotiate(offer: &str) -> Result<Option<Agreed>, ()> {
    for extension in offer.split(',') {
        let mut parts = extension.split(';');
        if parts.next().map(str::trim) != Some("permessage-deflate") {
            continue;
        }
        let mut params: Vec<(String, String)> = Vec::new();
        for part in parts {
            let Some((name, value)) = part.split_once('=') else {
                continue;
            };
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            match name.as_str() {
                "server_no_context_takeover" | "client_no_context_takeover" => {}
                "server_max_window_bits" | "client_max_window_bits" => match value.parse::<u8>() {
                    Ok(8..=15) => {}
                    _ => return Err(()),
                },
                _ => return Err(()),
            }
            params.retain(|(n, _)| *n != name);
            params.push((name, value.to_owned()));
        }
        params.sort();
        return Ok(Some(Agreed { params }));
    }
    Ok(None)
}

/// Compresses outgoing messages.
///
/// # Tornado
/// `_PerMessageDeflateCompressor`.
pub(crate) struct Deflater {
    level: Compression,
    persistent: bool,
    enabled: bool,
    /// The compressor kept between messages (context takeover).
    encoder: Option<DeflateEncoder<Vec<u8>>>,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("persistent", &self.persistent)
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl Deflater {
    /// `data` compressed, without the sync flush's trailer; `None` to send
    /// it uncompressed.
    pub(crate) fn compress(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        if !self.enabled {
            return None;
        }
        let level = self.level;
        let encoder = match (&mut self.encoder, self.persistent) {
            (Some(encoder), true) => encoder,
            (slot, _) => slot.insert(DeflateEncoder::new(Vec::new(), level)),
        };
        // Writing to a Vec cannot fail; if the encoder did, the message
        // goes out uncompressed and the context starts again.
        if encoder
            .write_all(data)
            .and_then(|()| encoder.flush())
            .is_err()
        {
            self.encoder = None;
            return None;
        }
        let mut out = std::mem::take(encoder.get_mut());
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        Some(out)
    }
}

/// Decompresses incoming messages, refusing any that inflate past the
/// maximum message size.
///
/// # Tornado
/// `_PerMessageDeflateDecompressor`.
pub(crate) struct Inflater {
    persistent: bool,
    decompress: Decompress,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("persistent", &self.persistent)
            .finish()
    }
}

impl Inflater {
    /// A decompressor keeping its context between messages.
    #[cfg(test)]
    pub(crate) fn new() -> Inflater {
        Inflater {
            persistent: true,
            decompress: Decompress::new(false),
        }
    }

    /// The message `data` inflates to, at most `max` bytes.
    pub(crate) fn decompress(&mut self, data: &[u8], max: usize) -> Result<Vec<u8>, ProtocolError> {
        if !self.persistent {
            self.decompress.reset(false);
        }
        let mut input = Vec::with_capacity(data.len() + TAIL.len());
        input.extend_from_slice(data);
        input.extend_from_slice(&TAIL);
        let mut out: Vec<u8> = Vec::new();
        let mut consumed = 0;
        loop {
            let room = max.saturating_add(1).saturating_sub(out.len());
            if room == 0 {
                return Err(ProtocolError::DecompressedTooBig);
            }
            out.reserve(room.min(64 * 1024));
            let (in_before, out_before) = (self.decompress.total_in(), out.len());
            let rest = input.get(consumed..).unwrap_or_default();
            self.decompress
                .decompress_vec(rest, &mut out, FlushDecompress::Sync)
                .map_err(|_| ProtocolError::BadCompression)?;
            let read =
                usize::try_from(self.decompress.total_in() - in_before).unwrap_or(usize::MAX);
            consumed = consumed.saturating_add(read);
            let spare = out.len() < out.capacity();
            if out.len() > max {
                return Err(ProtocolError::DecompressedTooBig);
            }
            if consumed >= input.len() && spare {
                return Ok(out);
            }
            if read == 0 && out.len() == out_before && spare {
                // No progress with room to spare: the data ended mid-stream.
                return Err(ProtocolError::BadCompression);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_are_read_as_tornado_reads_them() {
        let agreed = |offer: &str| negotiate(offer).map(|a| a.map(|a| a.header()));
        assert_eq!(agreed(""), Ok(None));
        assert_eq!(agreed("x-webkit-deflate-frame"), Ok(None));
        assert_eq!(
            agreed("permessage-deflate; client_max_window_bits"),
            Ok(Some("permessage-deflate".into()))
        );
        assert_eq!(
            agreed("x-other, permessage-deflate; Server_Max_Window_Bits=\"10\"; client_max_window_bits=12, permessage-deflate"),
            Ok(Some(
                "permessage-deflate; client_max_window_bits=12; server_max_window_bits=10".into()
            ))
        );
        assert_eq!(
            agreed("permessage-deflate; client_max_window_bits=16"),
            Err(())
        );
        assert_eq!(
            agreed("permessage-deflate; client_max_window_bits=x"),
            Err(())
        );
        assert_eq!(agreed("permessage-deflate; unknown=1"), Err(()));
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover() {
        for offer in [
            "permessage-deflate",
            "permessage-deflate; server_no_context_takeover=1; client_no_context_takeover=1",
        ] {
            let agreed = negotiate(offer).unwrap().unwrap();
            let (mut deflater, _) = agreed.codecs(CompressionOptions::default());
            let (_, mut inflater) = agreed.codecs(CompressionOptions::default());
            for message in [
                &b"hello hello hello"[..],
                b"",
                &[7; 100_000],
                b"hello hello hello",
            ] {
                let compressed = deflater.compress(message).unwrap();
                assert!(!compressed.ends_with(&TAIL));
                assert_eq!(inflater.decompress(&compressed, 1 << 20).unwrap(), message);
            }
        }
    }

    #[test]
    fn a_small_server_window_sends_uncompressed() {
        let agreed = negotiate("permessage-deflate; server_max_window_bits=10")
            .unwrap()
            .unwrap();
        let (mut deflater, _) = agreed.codecs(CompressionOptions::default());
        assert_eq!(deflater.compress(b"x"), None);
    }

    #[test]
    fn inflating_past_the_limit_or_garbage_is_refused() {
        let agreed = negotiate("permessage-deflate").unwrap().unwrap();
        let (mut deflater, _) = agreed.codecs(CompressionOptions::default());
        let bomb = deflater.compress(&vec![0; 10 << 20]).unwrap();
        assert!(bomb.len() < 20_000);
        assert_eq!(
            Inflater::new().decompress(&bomb, 1 << 20),
            Err(ProtocolError::DecompressedTooBig)
        );
        assert_eq!(
            Inflater::new().decompress(&[0xff; 40], 1 << 20),
            Err(ProtocolError::BadCompression)
        );
        // Random bytes: an error or a message, never a panic.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2000 {
            let data: Vec<u8> = (0..(state % 64))
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = Inflater::new().decompress(&data, 1 << 16);
        }
    }
}
