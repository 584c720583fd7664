//! The header names the codec and the framework look up on every message,
//! recognized once, when a field line enters an [`HTTPHeaders`](super::HTTPHeaders):
//! a lookup or a framing check then compares one byte per line instead of
//! a name.

/// A field name the codec or the framework looks up on every message, or
/// `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldName {
    Other,
    Connection,
    ContentLength,
    ContentType,
    Date,
    Etag,
    Expect,
    Host,
    IfNoneMatch,
    Server,
    TransferEncoding,
}

impl FieldName {
    /// The name as Tornado normalizes it (`Content-Type`); `None` for `Other`.
    pub(crate) fn spelling(self) -> Option<&'static str> {
        Some(match self {
            FieldName::Other => return None,
            FieldName::Connection => "Connection",
            FieldName::ContentLength => "Content-Length",
            FieldName::ContentType => "Content-Type",
            FieldName::Date => "Date",
            FieldName::Etag => "Etag",
            FieldName::Expect => "Expect",
            FieldName::Host => "Host",
            FieldName::IfNoneMatch => "If-None-Match",
            FieldName::Server => "Server",
            FieldName::TransferEncoding => "Transfer-Encoding",
        })
    }
}

/// Which [`FieldName`] `name` is, ignoring ASCII case: the length and one
/// letter pick the candidate, one comparison of a word or three confirms it.
pub(crate) fn classify(name: &[u8]) -> FieldName {
    let first = name.first().map_or(0, |b| b | 0x20);
    let (candidate, literal) = match (name.len(), first) {
        (4, b'd') => (FieldName::Date, &DATE),
        (4, b'e') => (FieldName::Etag, &ETAG),
        (4, b'h') => (FieldName::Host, &HOST),
        (6, b'e') => (FieldName::Expect, &EXPECT),
        (6, b's') => (FieldName::Server, &SERVER),
        (10, b'c') => (FieldName::Connection, &CONNECTION),
        (12, b'c') => (FieldName::ContentType, &CONTENT_TYPE),
        (13, b'i') => (FieldName::IfNoneMatch, &IF_NONE_MATCH),
        (14, b'c') => (FieldName::ContentLength, &CONTENT_LENGTH),
        (17, b't') => (FieldName::TransferEncoding, &TRANSFER_ENCODING),
        _ => return FieldName::Other,
    };
    let words = words(name);
    let same = (0..3).all(|i| (words[i] | literal.letters[i]) == literal.words[i]);
    if same {
        candidate
    } else {
        FieldName::Other
    }
}

/// A lowercase name as the words [`words`] reads from a name of its length,
/// and where its letters are: a byte with bit 0x20 set there matches the
/// letter in either case, and only then (`x | 0x20 == 'a'` only for `A`, `a`).
struct Literal {
    words: [u64; 3],
    letters: [u64; 3],
}

const DATE: Literal = literal(b"date");
const ETAG: Literal = literal(b"etag");
const HOST: Literal = literal(b"host");
const EXPECT: Literal = literal(b"expect");
const SERVER: Literal = literal(b"server");
const CONNECTION: Literal = literal(b"connection");
const CONTENT_TYPE: Literal = literal(b"content-type");
const IF_NONE_MATCH: Literal = literal(b"if-none-match");
const CONTENT_LENGTH: Literal = literal(b"content-length");
const TRANSFER_ENCODING: Literal = literal(b"transfer-encoding");

/// Where [`words`] reads each word of a name `len` bytes long (4 to 24):
/// the bytes of word `i` start at `offsets[i]`; a name of 4 to 7 bytes
/// is read as two overlapping halves, bytes `0..4` and `len - 4..len`.
const fn offsets(len: usize) -> [usize; 3] {
    match len {
        0..=16 => [0, len.saturating_sub(8), 0],
        _ => [0, 8, len - 8],
    }
}

/// The words of `name` (4 to 24 bytes) compared by [`classify`]; unused ones are 0.
fn words(name: &[u8]) -> [u64; 3] {
    let len = name.len();
    let word = |at: usize| {
        let bytes = name.get(at..at + 8).and_then(|w| w.try_into().ok());
        u64::from_le_bytes(bytes.unwrap_or([0; 8]))
    };
    let half = |at: usize| {
        let bytes = name.get(at..at + 4).and_then(|w| w.try_into().ok());
        u64::from(u32::from_le_bytes(bytes.unwrap_or([0; 4])))
    };
    let [a, b, c] = offsets(len);
    match len {
        0..=7 => [half(0) | (half(len.saturating_sub(4)) << 32), 0, 0],
        8..=16 => [word(a), word(b), 0],
        _ => [word(a), word(b), word(c)],
    }
}

/// [`words`] and the letter masks of a lowercase literal, at compile time.
const fn literal(name: &[u8]) -> Literal {
    let len = name.len();
    let mut literal = Literal {
        words: [0; 3],
        letters: [0; 3],
    };
    // (word, byte offset in the name, width in bytes, shift in the word)
    let pieces: [(usize, usize, usize, u32); 3] = if len < 8 {
        [(0, 0, 4, 0), (0, len - 4, 4, 32), (2, 0, 0, 0)]
    } else {
        let at = offsets(len);
        [
            (0, at[0], 8, 0),
            (1, at[1], 8, 0),
            (2, at[2], if len > 16 { 8 } else { 0 }, 0),
        ]
    };
    let mut p = 0;
    while p < 3 {
        let (word, from, width, shift) = pieces[p];
        let mut i = 0;
        while i < width {
            let byte = name[from + i];
            let bit = shift + 8 * i as u32;
            literal.words[word] |= (byte as u64) << bit;
            if byte.is_ascii_lowercase() {
                literal.letters[word] |= 0x20 << bit;
            }
            i += 1;
        }
        p += 1;
    }
    literal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::httputil::names_eq;

    /// Every known name, with every byte changed to every value, is
    /// classified as `names_eq` against the known spellings says.
    #[test]
    fn agrees_with_names_eq_for_every_single_byte_change() {
        let known = [
            ("date", FieldName::Date),
            ("etag", FieldName::Etag),
            ("host", FieldName::Host),
            ("expect", FieldName::Expect),
            ("server", FieldName::Server),
            ("connection", FieldName::Connection),
            ("content-type", FieldName::ContentType),
            ("if-none-match", FieldName::IfNoneMatch),
            ("content-length", FieldName::ContentLength),
            ("transfer-encoding", FieldName::TransferEncoding),
        ];
        for (spelled, _) in known {
            for at in 0..spelled.len() {
                for byte in 0..=255u8 {
                    let mut name = spelled.as_bytes().to_vec();
                    name[at] = byte;
                    let expected = known
                        .iter()
                        .find(|(other, _)| names_eq(other.as_bytes(), &name))
                        .map_or(FieldName::Other, |&(_, kind)| kind);
                    assert_eq!(classify(&name), expected, "{name:?}");
                }
            }
        }
    }

    #[test]
    fn known_names_in_any_case_and_nothing_else() {
        for (name, expected) in [
            ("Connection", FieldName::Connection),
            ("content-LENGTH", FieldName::ContentLength),
            ("Content-Type", FieldName::ContentType),
            ("DATE", FieldName::Date),
            ("ETag", FieldName::Etag),
            ("expect", FieldName::Expect),
            ("Host", FieldName::Host),
            ("If-None-Match", FieldName::IfNoneMatch),
            ("Server", FieldName::Server),
            ("Transfer-Encoding", FieldName::TransferEncoding),
            ("Hosts", FieldName::Other),
            ("Dat", FieldName::Other),
            ("Data", FieldName::Other),
            ("Content-Typf", FieldName::Other),
            ("Set-Cookie", FieldName::Other),
            ("", FieldName::Other),
            // '@' | 0x20 is '`', never a name's letter: no false candidate.
            ("@ate", FieldName::Other),
            ("Transfer-Encodinf", FieldName::Other),
            ("Xransfer-Encoding", FieldName::Other),
            ("Transfer_Encoding", FieldName::Other),
            ("Content-Lengtg", FieldName::Other),
            ("Exoect", FieldName::Other),
        ] {
            assert_eq!(classify(name.as_bytes()), expected, "{name}");
            if let Some(spelled) = expected.spelling() {
                assert!(spelled.eq_ignore_ascii_case(name));
                assert_eq!(classify(spelled.as_bytes()), expected);
            }
        }
    }
}
