//! Canonical JSON as the DCI peers compute it before hashing.
//!
//! OpenSPP 2 (spp_dci) signs `json.dumps(obj, sort_keys=True, separators=(",", ":"))`, so the
//! canonical form here is byte-for-byte what CPython's `json` module writes:
//! - object keys sorted by code point, no whitespace;
//! - strings escaped as Python does: with `ensure_ascii=True` every character outside
//!   0x20..=0x7E becomes `\uXXXX` (lowercase hex, UTF-16 surrogate pairs above U+FFFF);
//!   with `ensure_ascii=False` (the OpenG2P JWS form) only `"`, `\` and control characters are escaped;
//! - integers exactly as written (Python ints have no size limit), `-0` as `0`;
//! - floats as Python's `repr(float)`: shortest round-trip digits, `1.0`, `1e+21`, `1e-07`.
//!
//! Two entry points: [`canonicalize_slice`] works on the bytes as received (verification must
//! never round-trip through typed structs), [`canonicalize_value`] on an in-memory
//! `serde_json::Value` (signing what we built).

use std::borrow::Cow;
use std::convert::Infallible;

use serde_json::Value;

use crate::error::{Error, Result};

/// How strings are escaped: Python's `ensure_ascii` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `ensure_ascii=True` (Python's default; the spdci profile).
    Ascii,
    /// `ensure_ascii=False`: non-ASCII characters are written as raw UTF-8 (the jws-detached profile).
    Utf8,
}

/// How non-integer numbers are spelled: the JSON libraries of the peers disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FloatStyle {
    /// CPython's `repr(float)` (`json.dumps`): `1e-07`, `1e-05`, `1e+21` (OpenSPP 2, Python peers).
    #[default]
    Python,
    /// orjson (3.x, as measured with 3.13): exponent digits unpadded (`1e-7`, `1e+21`) and plain
    /// decimals down to 1e-5 (`0.00001`, `1e-6`); OpenG2P signs `orjson.dumps(.., OPT_SORT_KEYS)`.
    Orjson,
}

/// A JSON value parsed without copying: strings and numbers borrow the input bytes.
#[derive(Debug, Clone)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    /// The number's text exactly as received (already checked against the JSON grammar).
    Number(&'a str),
    String(JsonStr<'a>),
    Array(Vec<Node<'a>>),
    /// Members in the order received; keys are unique (duplicates are rejected by the parser).
    Object(Vec<(JsonStr<'a>, Node<'a>)>),
}

/// The raw text between the quotes of a JSON string.
#[derive(Debug, Clone, Copy)]
pub struct JsonStr<'a> {
    raw: &'a str,
    has_escapes: bool,
}

impl<'a> JsonStr<'a> {
    /// The string's value, with escapes decoded.
    pub fn decode(&self) -> Cow<'a, str> {
        if !self.has_escapes {
            return Cow::Borrowed(self.raw);
        }
        // The parser has already validated every escape, so decoding cannot fail here.
        Cow::Owned(decode_escapes(self.raw).unwrap_or_default())
    }

    /// The raw text between the quotes, escapes not decoded.
    pub fn raw(&self) -> &'a str {
        self.raw
    }
}

impl<'a> Node<'a> {
    /// Member `key` of an object node.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(members) => members
                .iter()
                .find(|(k, _)| k.decode() == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The decoded value of a string node.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        match self {
            Node::String(s) => Some(s.decode()),
            _ => None,
        }
    }

    /// Appends this node's canonical form to `out`.
    pub fn write_canonical(&self, out: &mut Vec<u8>, style: Style) -> Result<()> {
        self.write_canonical_floats(out, style, FloatStyle::Python)
    }

    /// Appends this node's canonical form to `out`, spelling floats per `floats`.
    pub fn write_canonical_floats(
        &self,
        out: &mut Vec<u8>,
        style: Style,
        floats: FloatStyle,
    ) -> Result<()> {
        match self {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(true) => out.extend_from_slice(b"true"),
            Node::Bool(false) => out.extend_from_slice(b"false"),
            Node::Number(text) => write_number_text(out, text, floats)?,
            Node::String(s) => write_json_str(out, s, style),
            Node::Array(items) => write_seq(out, b'[', b']', items, |out, item| {
                item.write_canonical_floats(out, style, floats)
            })?,
            Node::Object(members) => {
                let mut sorted: Vec<(u64, Cow<'a, str>, &JsonStr<'a>, &Node<'a>)> = members
                    .iter()
                    .map(|(k, v)| {
                        let d = k.decode();
                        (key_prefix(d.as_bytes()), d, k, v)
                    })
                    .collect();
                // Byte order of UTF-8 equals code point order, which is how Python sorts str keys.
                sorted.sort_unstable_by(|a, b| {
                    a.0.cmp(&b.0)
                        .then_with(|| a.1.as_bytes().cmp(b.1.as_bytes()))
                });
                write_seq(out, b'{', b'}', sorted, |out, (_, _, key, value)| {
                    write_json_str(out, key, style);
                    out.push(b':');
                    value.write_canonical_floats(out, style, floats)
                })?;
            }
        }
        Ok(())
    }

    /// This node's canonical form as bytes.
    pub fn to_canonical(&self, style: Style) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_canonical(&mut out, style)?;
        Ok(out)
    }
}

/// Parses one JSON document (RFC 8259; duplicate object keys are refused, because two peers
/// that keep different duplicates would see different messages under one signature).
pub fn parse(bytes: &[u8]) -> Result<Node<'_>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::Json(format!("input is not UTF-8 (at byte {})", e.valid_up_to())))?;
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ws();
    let node = p.value()?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err("trailing characters after the JSON document"));
    }
    Ok(node)
}

/// The canonical form of a JSON document given as bytes.
pub fn canonicalize_slice(bytes: &[u8], style: Style) -> Result<Vec<u8>> {
    parse(bytes)?.to_canonical(style)
}

/// The canonical form of an in-memory value.
///
/// `serde_json::Value` holds integers up to 64 bits; larger integers arrive as floats, so
/// sign from bytes ([`canonicalize_slice`]) when a message carries such numbers.
pub fn canonicalize_value(value: &Value, style: Style) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value, style);
    out
}

/// Appends the canonical form of `value` to `out`.
pub fn write_value(out: &mut Vec<u8>, value: &Value, style: Style) {
    write_value_floats(out, value, style, FloatStyle::Python)
}

/// Appends the canonical form of `value` to `out`, spelling floats per `floats`.
pub fn write_value_floats(out: &mut Vec<u8>, value: &Value, style: Style, floats: FloatStyle) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                if i < 0 {
                    out.push(b'-');
                }
                write_u64(out, i.unsigned_abs());
            } else if let Some(u) = n.as_u64() {
                write_u64(out, u);
            } else {
                let x = n.as_f64().unwrap_or(f64::NAN);
                match floats {
                    FloatStyle::Python => write_python_float(out, x),
                    FloatStyle::Orjson => write_orjson_float(out, x),
                }
            }
        }
        Value::String(s) => write_str(out, s, style),
        Value::Array(items) => {
            let Ok(()) = write_seq(out, b'[', b']', items, |out, item| {
                write_value_floats(out, item, style, floats);
                Ok::<(), Infallible>(())
            });
        }
        Value::Object(map) => {
            // Sort the (key, value) pairs themselves: looking values up by key again would
            // hash every key a second time.
            let mut members: Vec<(u64, &String, &Value)> = map
                .iter()
                .map(|(k, v)| (key_prefix(k.as_bytes()), k, v))
                .collect();
            members.sort_unstable_by(|a, b| {
                a.0.cmp(&b.0)
                    .then_with(|| a.1.as_bytes().cmp(b.1.as_bytes()))
            });
            let Ok(()) = write_seq(out, b'{', b'}', members, |out, (_, key, value)| {
                write_str(out, key, style);
                out.push(b':');
                write_value_floats(out, value, style, floats);
                Ok::<(), Infallible>(())
            });
        }
    }
}

/// Writes `items` between `open` and `close`, comma-separated, each one by `each`.
fn write_seq<T, E>(
    out: &mut Vec<u8>,
    open: u8,
    close: u8,
    items: impl IntoIterator<Item = T>,
    mut each: impl FnMut(&mut Vec<u8>, T) -> Result<(), E>,
) -> Result<(), E> {
    out.push(open);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, item)?;
    }
    out.push(close);
    Ok(())
}

fn write_json_str(out: &mut Vec<u8>, s: &JsonStr<'_>, style: Style) {
    if !s.has_escapes {
        write_str(out, s.raw, style);
    } else {
        write_str(out, &s.decode(), style);
    }
}

/// The first 8 bytes of a key as a big-endian integer (zero-padded): comparing these first
/// orders most keys without a byte-string comparison; equal prefixes fall back to the full key.
#[inline]
fn key_prefix(key: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = key.len().min(8);
    buf[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(buf)
}

/// Appends the decimal digits of `v`.
fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Bytes written as they are, per style: printable ASCII except `"` and `\` (Ascii), and
/// also every byte of a multi-byte UTF-8 character (Utf8).
const fn plain_table(utf8: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 256 {
        // ensure_ascii escapes everything outside 0x20..=0x7e, DEL included.
        t[b] = b != b'"' as usize && b != b'\\' as usize && (b < 0x7f || utf8);
        b += 1;
    }
    t
}

static PLAIN_ASCII: [bool; 256] = plain_table(false);
static PLAIN_UTF8: [bool; 256] = plain_table(true);

/// Writes `s` as a quoted JSON string escaped the way Python's json module does.
pub fn write_str(out: &mut Vec<u8>, s: &str, style: Style) {
    let table = match style {
        Style::Ascii => &PLAIN_ASCII,
        Style::Utf8 => &PLAIN_UTF8,
    };
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Copy runs of bytes that need no escaping in one go; escape the rest.
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if table[b as usize] {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if b < 0x80 {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                _ => push_u_escape(out, b as u16),
            }
            i += 1;
        } else {
            // Only reached with Style::Ascii: escape the whole character as UTF-16 units.
            let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                push_u_escape(out, *unit);
            }
            i += ch.len_utf8();
        }
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn push_u_escape(out: &mut Vec<u8>, unit: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((unit >> shift) & 0xf) as usize]);
    }
}

/// Whether a node holds a non-integer number anywhere (the only values whose canonical
/// spelling depends on [`FloatStyle`]).
pub fn has_float(node: &Node<'_>) -> bool {
    match node {
        Node::Number(text) => text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')),
        Node::Array(items) => items.iter().any(has_float),
        Node::Object(members) => members.iter().any(|(_, v)| has_float(v)),
        _ => false,
    }
}

/// Writes a number received as text: integers as Python ints, the rest as floats in `floats` style.
fn write_number_text(out: &mut Vec<u8>, text: &str, floats: FloatStyle) -> Result<()> {
    let is_integer = !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
    if is_integer {
        // Python's int() of "-0" is 0; every other integer keeps its exact digits.
        if text == "-0" {
            out.push(b'0');
        } else {
            out.extend_from_slice(text.as_bytes());
        }
        return Ok(());
    }
    let value: f64 = text
        .parse()
        .map_err(|_| Error::Json(format!("invalid number {text:?}")))?;
    match floats {
        FloatStyle::Python => write_python_float(out, value),
        FloatStyle::Orjson => write_orjson_float(out, value),
    }
    Ok(())
}

/// Writes `x` as orjson 3.x does: the shortest round-trip digits like Python, but plain
/// decimals for 1e-5 <= |x| < 1e16, exponent digits unpadded (`1e-7`, `1e+21`), and `null` for
/// non-finite values (orjson cannot write NaN or infinity).
pub fn write_orjson_float(out: &mut Vec<u8>, x: f64) {
    if !x.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    write_finite(out, x, -5, false);
}

/// Writes a finite `x`, both writers' way: `0.0` / `-0.0` for zeros, else the sign and the
/// shortest digits through [`write_digits`].
fn write_finite(out: &mut Vec<u8>, x: f64, min_decpt: i32, pad_exp: bool) {
    if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    let (digits, decpt) = shortest_digits(x);
    if x < 0.0 {
        out.push(b'-');
    }
    write_digits(out, &digits, decpt, min_decpt, pad_exp);
}

/// The shortest round-trip decimal digits of |x| and the decimal point's position relative
/// to the first digit (`0.05` -> ("5", -1)).
fn shortest_digits(x: f64) -> (String, i32) {
    // Rust's `{:e}` gives the shortest digits that round-trip, as Python's repr and orjson do.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exp + 1)
}

/// Writes digits with the decimal point at `decpt`: plain when `min_decpt < decpt <= 16`,
/// else `d.ddde±X` (exponent zero-padded to two digits when `pad_exp`).
fn write_digits(out: &mut Vec<u8>, digits: &str, decpt: i32, min_decpt: i32, pad_exp: bool) {
    let nd = digits.len() as i32;
    if decpt > min_decpt && decpt <= 16 {
        if decpt <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-decpt) as usize));
            out.extend_from_slice(digits.as_bytes());
        } else if decpt >= nd {
            out.extend_from_slice(digits.as_bytes());
            out.extend(std::iter::repeat_n(b'0', (decpt - nd) as usize));
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits.as_bytes()[..decpt as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits.as_bytes()[decpt as usize..]);
        }
    } else {
        let exp = decpt - 1;
        out.push(digits.as_bytes()[0]);
        if nd > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits.as_bytes()[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if pad_exp && e < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(e.to_string().as_bytes());
    }
}

/// Writes `x` exactly as Python's `repr(float)` (and so `json.dumps`) spells it.
pub fn write_python_float(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    write_finite(out, x, -4, true);
}

/// Objects up to this many members check for duplicate keys pairwise; larger ones use a set.
const LINEAR_KEY_CHECK: usize = 16;

/// Whether two keys are the same string (raw comparison when neither has escapes).
fn same_key(a: &JsonStr<'_>, b: &JsonStr<'_>) -> bool {
    if !a.has_escapes && !b.has_escapes {
        a.raw == b.raw
    } else {
        a.decode() == b.decode()
    }
}

/// Nesting limit: deeper documents are refused instead of exhausting the stack.
const MAX_DEPTH: usize = 128;

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, what: &str) -> Error {
        Error::Json(format!("{what} at byte {}", self.i))
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<Node<'a>> {
        match self.b.get(self.i) {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Node::String(self.string()?)),
            Some(b't') => self.literal("true", Node::Bool(true)),
            Some(b'f') => self.literal("false", Node::Bool(false)),
            Some(b'n') => self.literal("null", Node::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn literal(&mut self, word: &str, node: Node<'a>) -> Result<Node<'a>> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(node)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nesting deeper than 128 levels"));
        }
        Ok(())
    }

    /// Consumes `close` (the container's `}` or `]`) when it is next, leaving the nesting level.
    fn closes(&mut self, close: u8) -> bool {
        if self.b.get(self.i) != Some(&close) {
            return false;
        }
        self.i += 1;
        self.depth -= 1;
        true
    }

    /// After a member or an item: a `,` (another follows: false) or `close` (the end: true).
    fn separator(&mut self, close: u8, expected: &str) -> Result<bool> {
        if self.b.get(self.i) == Some(&b',') {
            self.i += 1;
            return Ok(false);
        }
        if self.closes(close) {
            return Ok(true);
        }
        Err(self.err(expected))
    }

    fn object(&mut self) -> Result<Node<'a>> {
        self.enter()?;
        self.i += 1;
        let mut members: Vec<(JsonStr<'a>, Node<'a>)> = Vec::new();
        let mut seen: Option<std::collections::HashSet<Cow<'a, str>>> = None;
        self.ws();
        if self.closes(b'}') {
            return Ok(Node::Object(members));
        }
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a string key"));
            }
            let key_at = self.i;
            let key = self.string()?;
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err("expected ':'"));
            }
            self.i += 1;
            self.ws();
            let value = self.value()?;
            let duplicate = if members.len() < LINEAR_KEY_CHECK {
                members.iter().any(|(k, _)| same_key(k, &key))
            } else {
                // Large objects: a set keeps the check linear (pairwise would be quadratic).
                let set =
                    seen.get_or_insert_with(|| members.iter().map(|(k, _)| k.decode()).collect());
                !set.insert(key.decode())
            };
            if duplicate {
                return Err(Error::Json(format!(
                    "duplicate object key {:?} at byte {key_at}",
                    key.decode()
                )));
            }
            members.push((key, value));
            self.ws();
            if self.separator(b'}', "expected ',' or '}'")? {
                return Ok(Node::Object(members));
            }
        }
    }

    fn array(&mut self) -> Result<Node<'a>> {
        self.enter()?;
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.closes(b']') {
            return Ok(Node::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            if self.separator(b']', "expected ',' or ']'")? {
                return Ok(Node::Array(items));
            }
        }
    }

    fn string(&mut self) -> Result<JsonStr<'a>> {
        self.i += 1; // opening quote
        let start = self.i;
        let mut has_escapes = false;
        loop {
            // Skip ordinary bytes quickly; stop at a quote, a backslash or a control character.
            while let Some(&c) = self.b.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            match self.b.get(self.i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    has_escapes = true;
                    self.i += 2;
                }
                Some(&c) if c < 0x20 => {
                    return Err(self.err("unescaped control character in string"))
                }
                Some(_) => self.i += 1,
            }
        }
        if self.i > self.b.len() {
            return Err(self.err("unterminated string"));
        }
        let raw = &self.s[start..self.i];
        self.i += 1; // closing quote
        if has_escapes {
            decode_escapes(raw)
                .map_err(|what| Error::Json(format!("{what} in string at byte {start}")))?;
        }
        Ok(JsonStr { raw, has_escapes })
    }

    fn number(&mut self) -> Result<Node<'a>> {
        let start = self.i;
        let b = self.b;
        let digits = |i: &mut usize| {
            let from = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i - from
        };
        if b[self.i] == b'-' {
            self.i += 1;
        }
        match b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut self.i);
            }
            _ => return Err(self.err("invalid number")),
        }
        if b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(&mut self.i) == 0 {
                return Err(self.err("invalid number: no digits after '.'"));
            }
        }
        if matches!(b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(&mut self.i) == 0 {
                return Err(self.err("invalid number: no digits in exponent"));
            }
        }
        Ok(Node::Number(&self.s[start..self.i]))
    }
}

/// Decodes the escapes of a raw JSON string; refuses bad escapes and lone surrogates.
fn decode_escapes(raw: &str) -> std::result::Result<String, &'static str> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hi = hex4(&mut chars)?;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    if chars.next() != Some('\\') || chars.next() != Some('u') {
                        return Err("lone surrogate escape");
                    }
                    let lo = hex4(&mut chars)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err("lone surrogate escape");
                    }
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else if (0xDC00..0xE000).contains(&hi) {
                    return Err("lone surrogate escape");
                } else {
                    hi
                };
                out.push(char::from_u32(code).ok_or("invalid \\u escape")?);
            }
            _ => return Err("invalid escape"),
        }
    }
    Ok(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> std::result::Result<u32, &'static str> {
    let mut v = 0;
    for _ in 0..4 {
        let d = chars
            .next()
            .and_then(|c| c.to_digit(16))
            .ok_or("invalid \\u escape")?;
        v = v * 16 + d;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        String::from_utf8(canonicalize_slice(s.as_bytes(), Style::Ascii).unwrap()).unwrap()
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        assert_eq!(
            canon(r#"{ "b": 1, "a": [true, null, {"d":"x","c":2}] }"#),
            r#"{"a":[true,null,{"c":2,"d":"x"}],"b":1}"#
        );
    }

    #[test]
    fn escapes_like_python_ensure_ascii() {
        assert_eq!(canon(r#""é中文😀""#), r#""\u00e9\u4e2d\u6587\ud83d\ude00""#);
        assert_eq!(
            canon(r#""a\"b\\c\/d\n\u0001\u007f""#),
            r#""a\"b\\c/d\n\u0001\u007f""#
        );
        let utf8 = canonicalize_slice("\"é\\u007f\\u0001\"".as_bytes(), Style::Utf8).unwrap();
        assert_eq!(String::from_utf8(utf8).unwrap(), "\"é\u{7f}\\u0001\"");
    }

    #[test]
    fn numbers_like_python() {
        assert_eq!(
            canon("[1.0, 0.1, 1e21, 1e-07, 1E400, -0, -0.0, 100, 1.5e16, 1e16, 0.0001, 0.00001]"),
            "[1.0,0.1,1e+21,1e-07,Infinity,0,-0.0,100,1.5e+16,1e+16,0.0001,1e-05]"
        );
        assert_eq!(
            canon("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(
            canon("[123456789012345678.0, 1e15, 3.14159]"),
            "[1.2345678901234568e+17,1000000000000000.0,3.14159]"
        );
    }

    #[test]
    fn numbers_like_orjson() {
        let text = "[1.0,0.1,1e21,1e-07,1e16,1.5e16,123456789012345678.0,1e15,0.0001,1e-5,1e-6,\
                    1.5e-5,3.14159,-0.0,5e-324,1.7976931348623157e308,2.5e20,1E400,-7,12345678901234567890]";
        let mut out = Vec::new();
        parse(text.as_bytes())
            .unwrap()
            .write_canonical_floats(&mut out, Style::Utf8, FloatStyle::Orjson)
            .unwrap();
        // Measured with orjson 3.13 (python_tests/test_peers.py checks the live library).
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[1.0,0.1,1e+21,1e-7,1e+16,1.5e+16,1.2345678901234568e+17,1000000000000000.0,0.0001,\
             0.00001,1e-6,0.000015,3.14159,-0.0,5e-324,1.7976931348623157e+308,2.5e+20,null,-7,\
             12345678901234567890]"
        );
        assert!(has_float(&parse(b"{\"a\":[1,{\"b\":2.0}]}").unwrap()));
        assert!(!has_float(&parse(b"{\"a\":[1,{\"b\":\"2.0\"}]}").unwrap()));
    }

    #[test]
    fn value_and_slice_agree() {
        let text = r#"{"z":[1,2.5,"é"],"a":{"y":null,"x":false},"n":-7}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            canonicalize_value(&value, Style::Ascii),
            canonicalize_slice(text.as_bytes(), Style::Ascii).unwrap()
        );
    }

    #[test]
    fn value_and_slice_agree_on_long_floats() {
        // Found by the canonical_json fuzz target: serde_json's default float parser is not
        // correctly rounded, so a value read through `Value` was 1 ULP off (...912e17) from
        // the number CPython reads (6.789012345678911e+17), and signer and verifier disagreed.
        let text = "[678901234567891121.0,2.2250738585072011e-308,0.30000000000000004441]";
        let value: Value = serde_json::from_str(text).unwrap();
        let bytes = canonicalize_slice(text.as_bytes(), Style::Ascii).unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "[6.789012345678911e+17,2.225073858507201e-308,0.30000000000000004]"
        );
        assert_eq!(
            String::from_utf8(canonicalize_value(&value, Style::Ascii)).unwrap(),
            String::from_utf8(bytes).unwrap()
        );
    }

    #[test]
    fn refuses_bad_json() {
        for bad in [
            "{",
            "{\"a\":1,\"a\":2}",
            "[1,]",
            "01",
            "\"\\ud800\"",
            "\"a\u{1}\"",
            "nul",
            "1 2",
            "\"\\x\"",
        ] {
            assert!(
                matches!(
                    canonicalize_slice(bad.as_bytes(), Style::Ascii),
                    Err(Error::Json(_))
                ),
                "{bad}"
            );
        }
        // Duplicates are found in large objects too (the set path), with escapes decoded.
        let mut big: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        big.push_str("\"k\\u0031\":0");
        assert!(
            canonicalize_slice(format!("{{{big}}}").as_bytes(), Style::Ascii)
                .unwrap_err()
                .to_string()
                .contains("duplicate object key \"k1\"")
        );
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(canonicalize_slice(deep.as_bytes(), Style::Ascii).is_err());
    }
}
