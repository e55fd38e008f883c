//! Byte-string encodings used on the command line and by `dump`/`load`: C-style escapes,
//! base64 (RFC 4648, standard alphabet, padded) and JSON strings. Every encoder here has a
//! decoder that gives back exactly the original bytes.

/// Appends `bytes` with C-style escapes: printable ASCII (0x20..=0x7e) except `\` as is,
/// `\\`, `\t`, `\n`, `\r`, and `\xHH` (two lowercase hex digits) for every other byte. The
/// result is printable ASCII with no tab, newline or space-like control characters, so it can
/// be a field of a tab-separated line.
pub fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
        }
    }
}

/// `bytes` escaped as a `String` (for messages).
pub fn escape(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    escape_into(bytes, &mut out);
    String::from_utf8(out).expect("escaped bytes are ASCII")
}

/// At most `max` characters of `escape(bytes)`, with "..." when cut (for messages).
pub fn escape_short(bytes: &[u8], max: usize) -> String {
    let s = escape(bytes);
    if s.len() <= max {
        s
    } else {
        format!("{}...", &s[..max])
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes C-style escapes: `\\ \" \' \t \n \r \0 \a \b \f \v \e` and `\xHH` (exactly two hex
/// digits). Every other byte stands for itself. A backslash followed by anything else, or
/// at the end, is an error that says where.
pub fn unescape(s: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&c) = s.get(i + 1) else {
            return Err(format!("a lone backslash ends the text (at byte {i})"));
        };
        let decoded = match c {
            b'\\' => b'\\',
            b'"' => b'"',
            b'\'' => b'\'',
            b't' => b'\t',
            b'n' => b'\n',
            b'r' => b'\r',
            b'0' => 0,
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            b'e' => 27,
            b'x' => {
                let hi = s.get(i + 2).copied().and_then(hex_digit);
                let lo = s.get(i + 3).copied().and_then(hex_digit);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi << 4 | lo);
                        i += 4;
                        continue;
                    }
                    _ => return Err(format!("\\x at byte {i} needs two hex digits")),
                }
            }
            other => return Err(format!("unknown escape \\{} at byte {i}", escape(&[other]))),
        };
        out.push(decoded);
        i += 2;
    }
    Ok(out)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with `=` padding.
pub fn base64_encode_into(bytes: &[u8], out: &mut Vec<u8>) {
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let v = (chunk[0] as u32) << 16
            | (chunk.get(1).copied().unwrap_or(0) as u32) << 8
            | chunk.get(2).copied().unwrap_or(0) as u32;
        out.push(B64[(v >> 18) as usize & 63]);
        out.push(B64[(v >> 12) as usize & 63]);
        out.push(if n > 1 {
            B64[(v >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if n > 2 { B64[v as usize & 63] } else { b'=' });
    }
}

/// Strict standard base64: length a multiple of 4, padding only at the end, no whitespace.
pub fn base64_decode(s: &[u8]) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(4) {
        return Err(format!(
            "base64 text of {} characters is not a multiple of 4",
            s.len()
        ));
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let quads = s.len() / 4;
    for (qi, q) in s.chunks(4).enumerate() {
        let last = qi + 1 == quads;
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return Err("misplaced '=' padding in base64 text".into());
        }
        let mut v = 0u32;
        for (j, &c) in q.iter().enumerate() {
            let d = if j >= 4 - pad {
                0
            } else {
                val(c).ok_or_else(|| format!("invalid base64 character {:?}", escape(&[c])))?
            };
            v = v << 6 | d;
        }
        out.push((v >> 16) as u8);
        if pad < 2 {
            out.push((v >> 8) as u8);
        }
        if pad < 1 {
            out.push(v as u8);
        }
    }
    Ok(out)
}

/// Appends `s` as a JSON string literal (with quotes). Non-ASCII characters are written as
/// UTF-8; `"`, `\` and control characters are escaped.
pub fn json_string_into(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// A scalar JSON value, as `load` accepts them.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonScalar {
    Str(String),
    Num(String),
    Bool(bool),
    Null,
}

/// Parses one JSON object whose values are scalars (strings, numbers, booleans, null):
/// the shape of a `dump --format json` line. Returns the members in order.
pub fn parse_flat_object(text: &[u8]) -> Result<Vec<(String, JsonScalar)>, String> {
    let mut p = Parser { s: text, i: 0 };
    p.ws();
    p.expect(b'{')?;
    let mut members = Vec::new();
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let name = p.string()?;
            p.ws();
            p.expect(b':')?;
            p.ws();
            let value = p.scalar()?;
            members.push((name, value));
            p.ws();
            match p.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(p.err("expected ',' or '}'")),
            }
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("unexpected text after the object"));
    }
    Ok(members)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        format!("{what} at column {}", self.i + 1)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        if b.is_some() {
            self.i += 1;
        }
        b
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, want: u8) -> Result<(), String> {
        if self.peek() == Some(want) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", want as char)))
        }
    }

    fn scalar(&mut self) -> Result<JsonScalar, String> {
        match self.peek() {
            Some(b'"') => Ok(JsonScalar::Str(self.string()?)),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.i += 1;
                }
                let num = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
                Ok(JsonScalar::Num(num.to_string()))
            }
            _ if self.s[self.i..].starts_with(b"true") => {
                self.i += 4;
                Ok(JsonScalar::Bool(true))
            }
            _ if self.s[self.i..].starts_with(b"false") => {
                self.i += 5;
                Ok(JsonScalar::Bool(false))
            }
            _ if self.s[self.i..].starts_with(b"null") => {
                self.i += 4;
                Ok(JsonScalar::Null)
            }
            _ => Err(self.err("expected a string, number, true, false or null")),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .next()
                .and_then(hex_digit)
                .ok_or_else(|| self.err("\\u needs four hex digits"))?;
            v = v << 4 | d as u32;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.next() else {
                return Err(self.err("unterminated string"));
            };
            match b {
                b'"' => break,
                b'\\' => {
                    let c = self.next().ok_or_else(|| self.err("unterminated string"))?;
                    let ch = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                if self.next() != Some(b'\\') || self.next() != Some(b'u') {
                                    return Err(self.err("unpaired UTF-16 surrogate"));
                                }
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(self.err("unpaired UTF-16 surrogate"));
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            char::from_u32(code)
                                .ok_or_else(|| self.err("unpaired UTF-16 surrogate"))?
                        }
                        _ => return Err(self.err("unknown escape in string")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return Err(self.err("control character in string")),
                _ => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not valid UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255u8).collect();
        let mut e = Vec::new();
        escape_into(&all, &mut e);
        assert!(e.iter().all(|&b| (0x20..=0x7e).contains(&b)));
        assert_eq!(unescape(&e).unwrap(), all);
        assert_eq!(escape(b"a\tb\\c\n\x00\xff"), "a\\tb\\\\c\\n\\x00\\xff");
        assert_eq!(
            unescape(b"\\0\\e\\X").unwrap_err(),
            "unknown escape \\X at byte 4"
        );
        assert!(unescape(b"abc\\").is_err());
        assert!(unescape(b"\\x4").is_err());
    }

    #[test]
    fn base64_round_trips() {
        for n in 0..40usize {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let mut e = Vec::new();
            base64_encode_into(&data, &mut e);
            assert_eq!(base64_decode(&e).unwrap(), data, "{n}");
        }
        let mut e = Vec::new();
        base64_encode_into(b"foobar", &mut e);
        assert_eq!(e, b"Zm9vYmFy");
        assert_eq!(base64_decode(b"Zm8=").unwrap(), b"fo");
        assert!(base64_decode(b"Zm8").is_err());
        assert!(base64_decode(b"Z=8=").is_err());
        assert!(base64_decode(b"Zm8*").is_err());
    }

    #[test]
    fn json_objects() {
        let mut line = Vec::new();
        line.extend_from_slice(b"{\"key\":");
        json_string_into("a\"b\\c\n\u{1}é😀", &mut line);
        line.extend_from_slice(b", \"n\": 12, \"t\": true, \"z\": null}");
        let m = parse_flat_object(&line).unwrap();
        assert_eq!(
            m[0],
            ("key".into(), JsonScalar::Str("a\"b\\c\n\u{1}é😀".into()))
        );
        assert_eq!(m[1], ("n".into(), JsonScalar::Num("12".into())));
        assert_eq!(m[2], ("t".into(), JsonScalar::Bool(true)));
        assert_eq!(m[3], ("z".into(), JsonScalar::Null));
        let m = parse_flat_object(br#"{"k":"\ud83d\ude00\u00e9"}"#).unwrap();
        assert_eq!(m[0].1, JsonScalar::Str("😀é".into()));
        assert!(parse_flat_object(br#"{"k":"\ud83d"}"#).is_err());
        assert!(parse_flat_object(br#"{"k":"a"} x"#).is_err());
        assert!(parse_flat_object(br#"{"k" "a"}"#).is_err());
        assert_eq!(parse_flat_object(b" {} ").unwrap(), vec![]);
    }
}
