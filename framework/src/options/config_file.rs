//! Reading a Tornado config file without Python: the statements such files
//! are made of, `name = literal`, one per line, with comments and blank
//! lines. Anything else Python could run (imports, expressions, lists) is
//! refused with its line number, never skipped.

/// A Python literal on the right of `=`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    /// A `'...'` or `"..."` string, escapes decoded.
    Str(String),
    /// An integer, in decimal.
    Int(String),
    /// A float, as written (without `_`).
    Float(String),
    /// `True` or `False`.
    Bool(bool),
    /// `None`.
    None,
}

impl Literal {
    /// Python's type name, for errors (`str`, `int` ...).
    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Literal::Str(_) => "str",
            Literal::Int(_) => "int",
            Literal::Float(_) => "float",
            Literal::Bool(_) => "bool",
            Literal::None => "NoneType",
        }
    }
}

/// The assignments of a config file, each name once, in the order names
/// were first assigned and with their last value (what Python's module
/// namespace holds after running the file); or the first line that is not
/// an assignment of a literal, with why.
pub(super) fn assignments(text: &str) -> Result<Vec<(String, Literal)>, (usize, String)> {
    let mut out: Vec<(String, Literal)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let Some((name, value)) = assignment(line).map_err(|why| (number, why))? else {
            continue;
        };
        match out.iter_mut().find(|(seen, _)| *seen == name) {
            Some((_, old)) => *old = value,
            None => out.push((name, value)),
        }
    }
    Ok(out)
}

/// One line: `None` for a blank or comment line.
fn assignment(line: &str) -> Result<Option<(String, Literal)>, String> {
    let line = line.trim_start_matches('\u{feff}');
    let code = line.trim();
    if code.is_empty() || code.starts_with('#') {
        return Ok(None);
    }
    if line.starts_with([' ', '\t']) {
        return Err("unexpected indent".to_owned());
    }
    let name_len = code
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(code.len());
    let name = &code[..name_len];
    let rest = code[name_len..].trim_start();
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_');
    let Some(value) = rest
        .strip_prefix('=')
        .filter(|v| valid_name && !v.starts_with('='))
    else {
        return Err(not_read());
    };
    let (literal, after) = literal(value.trim_start())?;
    let after = after.trim_start();
    if !after.is_empty() && !after.starts_with('#') {
        return Err(not_read());
    }
    Ok(Some((name.to_owned(), literal)))
}

fn not_read() -> String {
    "only `name = value` lines with a literal value (a string, a number, True, False or None) \
     are read: Python's other statements are not run"
        .to_owned()
}

/// A literal at the start of `text`, and what follows it.
fn literal(text: &str) -> Result<(Literal, &str), String> {
    let word_end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    match &text[..word_end] {
        "True" => return Ok((Literal::Bool(true), &text[word_end..])),
        "False" => return Ok((Literal::Bool(false), &text[word_end..])),
        "None" => return Ok((Literal::None, &text[word_end..])),
        _ => {}
    }
    let first = text.chars().next().unwrap_or(' ');
    if first.is_ascii_digit() || matches!(first, '-' | '+' | '.') {
        return number(text);
    }
    string(text)
}

/// A string literal: `'...'` or `"..."`, optionally `r`/`u`-prefixed.
fn string(text: &str) -> Result<(Literal, &str), String> {
    let prefix_len = text.find(['\'', '"']).ok_or_else(not_read)?;
    let prefix = text[..prefix_len].to_ascii_lowercase();
    let raw = match prefix.as_str() {
        "" | "u" => false,
        "r" => true,
        "b" | "rb" | "br" => return Err("a bytes value: options take str".to_owned()),
        _ => return Err(not_read()),
    };
    let body = &text[prefix_len..];
    let quote = body.chars().next().unwrap_or('"');
    if body.starts_with(&quote.to_string().repeat(3)) {
        return Err("triple-quoted strings are not read".to_owned());
    }
    let mut out = String::new();
    let mut chars = body[1..].char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((Literal::Str(out), &body[1 + at + 1..])),
            '\\' => {
                let Some((_, escaped)) = chars.next() else {
                    break;
                };
                if raw {
                    out.push('\\');
                    out.push(escaped);
                } else {
                    escape(escaped, &mut chars, &mut out)?;
                }
            }
            c => out.push(c),
        }
    }
    Err("a string without its closing quote".to_owned())
}

/// Decodes the escape after a `\` (Python's rules; an unknown one stays as
/// written, backslash included).
fn escape(
    escaped: char,
    chars: &mut std::str::CharIndices<'_>,
    out: &mut String,
) -> Result<(), String> {
    let simple = match escaped {
        '\\' => Some('\\'),
        '\'' => Some('\''),
        '"' => Some('"'),
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'v' => Some('\u{b}'),
        _ => None,
    };
    if let Some(c) = simple {
        out.push(c);
        return Ok(());
    }
    let mut hex = |digits: usize| -> Result<(), String> {
        let code: String = chars.by_ref().take(digits).map(|(_, c)| c).collect();
        let value = (code.len() == digits)
            .then(|| u32::from_str_radix(&code, 16).ok())
            .flatten()
            .and_then(char::from_u32)
            .ok_or_else(|| format!("a bad \\{escaped} escape"))?;
        out.push(value);
        Ok(())
    };
    match escaped {
        'x' => hex(2),
        'u' => hex(4),
        'U' => hex(8),
        '0'..='7' => {
            // Up to three octal digits; the first is `escaped`.
            let mut code = escaped.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                let next = chars.clone().next();
                match next.and_then(|(_, c)| c.to_digit(8)) {
                    Some(digit) => {
                        code = code * 8 + digit;
                        chars.next();
                    }
                    None => break,
                }
            }
            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            Ok(())
        }
        other => {
            out.push('\\');
            out.push(other);
            Ok(())
        }
    }
}

/// A number literal with an optional sign: an integer (decimal, `0x`,
/// `0o`, `0b`, `_` between digits) or a float.
fn number(text: &str) -> Result<(Literal, &str), String> {
    let end = text
        .char_indices()
        .find(|&(at, c)| {
            !(c.is_ascii_alphanumeric()
                || matches!(c, '_' | '.')
                || (matches!(c, '+' | '-')
                    && (at == 0 || matches!(text[..at].chars().last(), Some('e' | 'E')))))
        })
        .map_or(text.len(), |(at, _)| at);
    let written = &text[..end];
    let (negative, unsigned) = match written.as_bytes().first() {
        Some(b'-') => (true, &written[1..]),
        Some(b'+') => (false, &written[1..]),
        _ => (false, written),
    };
    let bad = || format!("{written:?} is not a number");
    if unsigned.starts_with('_') || unsigned.ends_with('_') || unsigned.contains("__") {
        return Err(bad());
    }
    let digits = unsigned.replace('_', "");
    let radix = match digits.get(..2).map(str::to_ascii_lowercase).as_deref() {
        Some("0x") => Some(16),
        Some("0o") => Some(8),
        Some("0b") => Some(2),
        _ => None,
    };
    let sign = if negative { "-" } else { "" };
    let literal = if let Some(radix) = radix {
        let value = u128::from_str_radix(&digits[2..], radix).map_err(|_| bad())?;
        Literal::Int(format!("{sign}{value}"))
    } else if digits.bytes().all(|b| b.is_ascii_digit()) && !digits.is_empty() {
        // Python refuses `007` (but not `000`).
        if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|b| b != b'0') {
            return Err(bad());
        }
        let value = digits.trim_start_matches('0');
        Literal::Int(format!(
            "{sign}{}",
            if value.is_empty() { "0" } else { value }
        ))
    } else if digits.parse::<f64>().is_ok()
        && !digits.contains(|c: char| c.is_ascii_alphabetic() && !matches!(c, 'e' | 'E'))
    {
        Literal::Float(format!("{sign}{digits}"))
    } else {
        return Err(bad());
    };
    Ok((literal, &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<Literal, String> {
        match assignment(line) {
            Ok(Some((_, literal))) => Ok(literal),
            Ok(None) => Err("nothing".to_owned()),
            Err(why) => Err(why),
        }
    }

    #[test]
    fn literals_read_as_python_reads_them() {
        let str_ = |s: &str| Ok(Literal::Str(s.to_owned()));
        let int = |s: &str| Ok(Literal::Int(s.to_owned()));
        assert_eq!(one("port = 80"), int("80"));
        assert_eq!(one("port=8_080  # comment"), int("8080"));
        assert_eq!(one("n = -0x1F"), int("-31"));
        assert_eq!(one("n = 0o17"), int("15"));
        assert_eq!(one("n = 0b101"), int("5"));
        assert_eq!(one("n = 000"), int("0"));
        assert_eq!(one("f = 1.5e3"), Ok(Literal::Float("1.5e3".to_owned())));
        assert_eq!(one("f = .5"), Ok(Literal::Float(".5".to_owned())));
        assert_eq!(one("f = -2e-3"), Ok(Literal::Float("-2e-3".to_owned())));
        assert_eq!(one("debug = True"), Ok(Literal::Bool(true)));
        assert_eq!(one("debug = None"), Ok(Literal::None));
        assert_eq!(
            one("host = 'db.example.com:3306'"),
            str_("db.example.com:3306")
        );
        assert_eq!(
            one(r#"s = "a\tb\n\x41\u00e9\101\\""#),
            str_("a\tb\nA\u{e9}A\\")
        );
        assert_eq!(
            one(r#"s = "it's # not a comment""#),
            str_("it's # not a comment")
        );
        assert_eq!(one(r"s = r'C:\dir\n'"), str_(r"C:\dir\n"));
        assert_eq!(one(r"s = '\d'"), str_(r"\d"));
        assert_eq!(one("s = u'x'"), str_("x"));
        assert_eq!(one("s = ''"), str_(""));
        assert_eq!(one("# only a comment"), Err("nothing".to_owned()));
        assert_eq!(one("   "), Err("nothing".to_owned()));
    }

    #[test]
    fn other_python_is_refused() {
        for line in [
            "import os",
            "port = 8000 + 1",
            "port = os.environ['PORT']",
            "hosts = ['a', 'b']",
            "s = 'unterminated",
            "s = '''triple'''",
            "s = b'bytes'",
            "s = f'{x}'",
            "s = 'a' 'b'",
            "  port = 80",
            "port == 80",
            "1port = 80",
            "n = 007",
            "n = 1__0",
            "n = 1_",
            "n = 0xZZ",
            "n = 1j",
            "a = b = 1",
            "x = 1; y = 2",
            "if True:",
        ] {
            assert!(one(line).is_err(), "{line}");
        }
    }

    #[test]
    fn the_last_assignment_wins_in_the_first_ones_place() {
        let read = assignments("a = 1\nb = 'x'\na = 2\n").unwrap();
        assert_eq!(
            read,
            [
                ("a".to_owned(), Literal::Int("2".to_owned())),
                ("b".to_owned(), Literal::Str("x".to_owned()))
            ]
        );
        assert_eq!(assignments("a = 1\nimport os\n").unwrap_err().0, 2);
    }
}
