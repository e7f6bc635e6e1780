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
    let mut out = Vec::with_capacity(bytes.len());
    write_canonical_slice(&mut out, bytes, style, FloatStyle::Python)?;
    Ok(out)
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
    let mut w = ValueWriter {
        style,
        floats,
        members: Vec::new(),
    };
    w.value(out, value);
}

/// The in-memory writer: one stack of object members shared by every level, so sorting an
/// object's keys does not allocate a vector per object.
struct ValueWriter<'v> {
    style: Style,
    floats: FloatStyle,
    /// (key prefix, key, value) of the objects being written, innermost last.
    members: Vec<(u64, &'v str, &'v Value)>,
}

impl<'v> ValueWriter<'v> {
    fn value(&mut self, out: &mut Vec<u8>, value: &'v Value) {
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
                    match self.floats {
                        FloatStyle::Python => write_python_float(out, x),
                        FloatStyle::Orjson => write_orjson_float(out, x),
                    }
                }
            }
            Value::String(s) => write_str(out, s, self.style),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.value(out, item);
                }
                out.push(b']');
            }
            Value::Object(map) => {
                // Sort the (key, value) pairs themselves: looking values up by key again would
                // hash every key a second time.
                let base = self.members.len();
                self.members.extend(
                    map.iter()
                        .map(|(k, v)| (key_prefix(k.as_bytes()), k.as_str(), v)),
                );
                let level = &mut self.members[base..];
                if !level.is_sorted_by(|a, b| prefix_then_key(a.0, a.1, b.0, b.1).is_le()) {
                    level.sort_unstable_by(|a, b| prefix_then_key(a.0, a.1, b.0, b.1));
                }
                out.push(b'{');
                for j in base..self.members.len() {
                    let (_, key, value) = self.members[j];
                    if j > base {
                        out.push(b',');
                    }
                    write_str(out, key, self.style);
                    out.push(b':');
                    self.value(out, value);
                }
                out.push(b'}');
                self.members.truncate(base);
            }
        }
    }
}

/// Key order: Python sorts str keys by code point, which is the byte order of UTF-8; the
/// 8-byte prefixes decide most comparisons without a byte-string comparison.
#[inline]
fn prefix_then_key(pa: u64, a: &str, pb: u64, b: &str) -> std::cmp::Ordering {
    pa.cmp(&pb).then_with(|| a.as_bytes().cmp(b.as_bytes()))
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
    let ascii = style == Style::Ascii;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(w) = word_at(bytes, i) {
            if !string_stops(w) && !(ascii && non_ascii_or_del(w)) {
                i += 8;
                continue;
            }
        }
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

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `i` as one little-endian word, if there are eight.
#[inline]
fn word_at(b: &[u8], i: usize) -> Option<u64> {
    let chunk = b.get(i..i.checked_add(8)?)?;
    Some(u64::from_le_bytes(chunk.try_into().ok()?))
}

/// Whether any byte of `w` is below `n` (exact for n <= 128; bit-twiddling "hasless").
#[inline]
fn has_byte_below(w: u64, n: u8) -> bool {
    w.wrapping_sub(ONES * n as u64) & !w & HIGHS != 0
}

/// Whether any byte of `w` equals `c`.
#[inline]
fn has_byte(w: u64, c: u8) -> bool {
    has_byte_below(w ^ (ONES * c as u64), 1)
}

/// Whether a word of string bytes holds a quote, a backslash or a control character: the
/// bytes that end a plain run both when parsing and when escaping.
#[inline]
fn string_stops(w: u64) -> bool {
    has_byte_below(w, 0x20) || has_byte(w, b'"') || has_byte(w, b'\\')
}

/// Whether a word holds a byte that `ensure_ascii` escapes besides those: DEL or non-ASCII.
#[inline]
fn non_ascii_or_del(w: u64) -> bool {
    w & HIGHS != 0 || has_byte(w, 0x7f)
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
fn shortest_digits(x: f64) -> (Digits, i32) {
    use std::io::Write as _;
    // Rust's `{:e}` gives the shortest digits that round-trip, as Python's repr and orjson do.
    // Written to the stack: a message with thousands of floats should not allocate for each.
    let mut sci = [0u8; 40];
    let mut rest = &mut sci[..];
    let _ = write!(rest, "{:e}", x.abs());
    let len = 40 - rest.len();
    let sci = std::str::from_utf8(&sci[..len]).unwrap_or("0e0");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits = Digits {
        buf: [0; 24],
        len: 0,
    };
    for b in mantissa.bytes().filter(|b| *b != b'.') {
        if digits.len < digits.buf.len() {
            digits.buf[digits.len] = b;
            digits.len += 1;
        }
    }
    (digits, exp + 1)
}

/// Up to 17 significant digits (an f64's shortest round-trip form never needs more).
struct Digits {
    buf: [u8; 24],
    len: usize,
}

impl std::ops::Deref for Digits {
    type Target = str;
    fn deref(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("0")
    }
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
        write_u64(out, e as u64);
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
            // Skip ordinary bytes quickly, eight at a time while none of them is a quote, a
            // backslash or a control character; then byte by byte up to the one that is.
            while let Some(w) = word_at(self.b, self.i) {
                if string_stops(w) {
                    break;
                }
                self.i += 8;
            }
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
        Ok(Node::Number(self.number_text()?))
    }

    /// The text of the number starting here, checked against the JSON grammar.
    fn number_text(&mut self) -> Result<&'a str> {
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
        Ok(&self.s[start..self.i])
    }
}

/// One member of an object being canonicalised from bytes: its decoded key, where the key
/// was read, and where its `"key":value` was written in the output.
struct Member<'a> {
    prefix: u64,
    key: Cow<'a, str>,
    at: usize,
    start: usize,
    end: usize,
}

fn member_order(a: &Member<'_>, b: &Member<'_>) -> std::cmp::Ordering {
    prefix_then_key(a.prefix, &a.key, b.prefix, &b.key)
}

thread_local! {
    /// The reorder buffer of [`Canon`], kept between messages like the signature scratch.
    static REORDER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reorder buffers larger than this are freed after use rather than kept.
const REORDER_KEEP: usize = 8 << 20;

/// The canonical writer that works straight on the received bytes, without building a
/// [`Node`] tree: each value is written as it is parsed; an object's members are written in
/// the order received and, when that is not the sorted order, moved into it through one copy
/// of the object's bytes. Same grammar, limits and errors as [`parse`] (it uses its lexer).
struct Canon<'a> {
    p: Parser<'a>,
    style: Style,
    floats: FloatStyle,
    /// Members of the objects being written, innermost last (one stack for every level).
    members: Vec<Member<'a>>,
    reorder: Vec<u8>,
}

impl<'a> Canon<'a> {
    fn new(bytes: &'a [u8], style: Style, floats: FloatStyle) -> Result<Self> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            Error::Json(format!("input is not UTF-8 (at byte {})", e.valid_up_to()))
        })?;
        Ok(Canon {
            p: Parser {
                s: text,
                b: text.as_bytes(),
                i: 0,
                depth: 0,
            },
            style,
            floats,
            members: Vec::new(),
            reorder: REORDER.with(|r| r.take()),
        })
    }

    /// The whole input as one document (whitespace around it allowed).
    fn document(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.p.ws();
        self.value(out)?;
        self.p.ws();
        if self.p.i != self.p.b.len() {
            return Err(self.p.err("trailing characters after the JSON document"));
        }
        Ok(())
    }

    fn value(&mut self, out: &mut Vec<u8>) -> Result<()> {
        match self.p.b.get(self.p.i) {
            Some(b'{') => self.object(out),
            Some(b'[') => self.array(out),
            Some(b'"') => {
                let s = self.p.string()?;
                self.string(out, &s);
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => {
                let text = self.p.number_text()?;
                write_number_text(out, text, self.floats)
            }
            // Literals and errors.
            _ => self
                .p
                .value()?
                .write_canonical_floats(out, self.style, self.floats),
        }
    }

    fn string(&self, out: &mut Vec<u8>, s: &JsonStr<'_>) {
        if !s.has_escapes && self.style == Style::Utf8 {
            // Nothing to decode, and raw UTF-8 needs no escaping: the received text is canonical.
            out.reserve(s.raw.len() + 2);
            out.push(b'"');
            out.extend_from_slice(s.raw.as_bytes());
            out.push(b'"');
        } else {
            write_json_str(out, s, self.style);
        }
    }

    fn array(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.p.enter()?;
        self.p.i += 1;
        self.p.ws();
        out.push(b'[');
        if !self.p.closes(b']') {
            let mut first = true;
            loop {
                self.p.ws();
                if !first {
                    out.push(b',');
                }
                first = false;
                self.value(out)?;
                self.p.ws();
                if self.p.separator(b']', "expected ',' or ']'")? {
                    break;
                }
            }
        }
        out.push(b']');
        Ok(())
    }

    fn object(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.p.enter()?;
        self.p.i += 1;
        self.p.ws();
        out.push(b'{');
        if self.p.closes(b'}') {
            out.push(b'}');
            return Ok(());
        }
        let base = self.members.len();
        let content = out.len();
        loop {
            self.p.ws();
            if self.p.b.get(self.p.i) != Some(&b'"') {
                return Err(self.p.err("expected a string key"));
            }
            let at = self.p.i;
            let key = self.p.string()?;
            self.p.ws();
            if self.p.b.get(self.p.i) != Some(&b':') {
                return Err(self.p.err("expected ':'"));
            }
            self.p.i += 1;
            self.p.ws();
            if self.members.len() > base {
                out.push(b',');
            }
            let start = out.len();
            self.string(out, &key);
            out.push(b':');
            self.value(out)?;
            let key = key.decode();
            self.members.push(Member {
                prefix: key_prefix(key.as_bytes()),
                key,
                at,
                start,
                end: out.len(),
            });
            self.p.ws();
            if self.p.separator(b'}', "expected ',' or '}'")? {
                break;
            }
        }
        self.sort_members(out, base, content)?;
        out.push(b'}');
        Ok(())
    }

    /// Puts the members written since `content` in key order and refuses duplicate keys
    /// (strictly increasing keys have none; otherwise equal keys end up side by side).
    fn sort_members(&mut self, out: &mut Vec<u8>, base: usize, content: usize) -> Result<()> {
        let level = &mut self.members[base..];
        if !level.is_sorted_by(|a, b| member_order(a, b).is_lt()) {
            // Stable, so of two equal keys the one received later comes second.
            level.sort_by(member_order);
            if let Some(pair) = level
                .windows(2)
                .find(|w| member_order(&w[0], &w[1]).is_eq())
            {
                return Err(Error::Json(format!(
                    "duplicate object key {:?} at byte {}",
                    pair[1].key, pair[1].at
                )));
            }
            self.reorder.clear();
            self.reorder.extend_from_slice(&out[content..]);
            out.truncate(content);
            for (j, m) in level.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(&self.reorder[m.start - content..m.end - content]);
            }
        }
        self.members.truncate(base);
        Ok(())
    }
}

impl Drop for Canon<'_> {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.reorder);
        if buf.capacity() <= REORDER_KEEP {
            REORDER.with(|r| *r.borrow_mut() = buf);
        }
    }
}

/// Appends the canonical form of the JSON document `bytes` to `out`, floats spelled per
/// `floats`, without building a tree (the verifier's path for large messages).
pub fn write_canonical_slice(
    out: &mut Vec<u8>,
    bytes: &[u8],
    style: Style,
    floats: FloatStyle,
) -> Result<()> {
    Canon::new(bytes, style, floats)?.document(out)
}

/// What [`envelope_pair`] found at the top of an envelope besides the canonical pair.
#[derive(Debug)]
pub struct EnvelopeParts<'a> {
    /// The `signature` member's value, if there is one.
    pub signature: Option<Node<'a>>,
    /// The `header` member's text as received (None: no header).
    pub header: Option<&'a [u8]>,
    /// Whether there is a `message` member.
    pub message: bool,
    /// The style the pair was written in.
    pub style: Style,
}

/// Parses an envelope (a JSON object) and writes the canonical `{"header":h,"message":m}` of
/// its header and message to `out` in one pass over the bytes: what a verifier hashes.
///
/// The escaping style is `style` when known; otherwise `style_of` picks it from the
/// `signature` member (the profile is known from the signature's form). When the signature
/// comes after header or message, the pair is written raw UTF-8 first and escaped after.
/// `out` holds a complete pair only when both parts are present.
pub fn envelope_pair<'a>(
    bytes: &'a [u8],
    out: &mut Vec<u8>,
    style: Option<Style>,
    style_of: impl Fn(&Node<'a>) -> Style,
) -> Result<EnvelopeParts<'a>> {
    let mut c = Canon::new(bytes, style.unwrap_or(Style::Utf8), FloatStyle::Python)?;
    let mut parts = EnvelopeParts {
        signature: None,
        header: None,
        message: false,
        style: style.unwrap_or(Style::Utf8),
    };
    let mut decided = style.is_some();
    let mut deferred = false;
    // A message received before the header waits here (the pair starts with the header).
    let mut early_message: Option<Vec<u8>> = None;
    let mut keys: Vec<(Cow<'a, str>, usize)> = Vec::new();
    c.p.ws();
    if c.p.b.get(c.p.i) != Some(&b'{') {
        return Err(Error::Json("envelope must be a JSON object".into()));
    }
    c.p.enter()?;
    c.p.i += 1;
    c.p.ws();
    if !c.p.closes(b'}') {
        loop {
            c.p.ws();
            if c.p.b.get(c.p.i) != Some(&b'"') {
                return Err(c.p.err("expected a string key"));
            }
            let at = c.p.i;
            let key = c.p.string()?.decode();
            c.p.ws();
            if c.p.b.get(c.p.i) != Some(&b':') {
                return Err(c.p.err("expected ':'"));
            }
            c.p.i += 1;
            c.p.ws();
            let from = c.p.i;
            match key.as_ref() {
                "header" | "message" if !keys.iter().any(|(k, _)| *k == key) => {
                    if !decided {
                        deferred = true;
                    }
                    if key == "header" {
                        out.extend_from_slice(b"{\"header\":");
                        c.value(out)?;
                        out.extend_from_slice(b",\"message\":");
                        parts.header = Some(&bytes[from..c.p.i]);
                        if let Some(m) = early_message.take() {
                            out.extend_from_slice(&m);
                            out.push(b'}');
                        }
                    } else if parts.header.is_some() {
                        c.value(out)?;
                        out.push(b'}');
                    } else {
                        let mut m = Vec::new();
                        c.value(&mut m)?;
                        early_message = Some(m);
                    }
                    parts.message |= key == "message";
                }
                "signature" => {
                    let node = c.p.value()?;
                    if !decided {
                        c.style = style_of(&node);
                        parts.style = c.style;
                        decided = true;
                    }
                    parts.signature = Some(node);
                }
                // Other members (and duplicates, refused below) are checked, not written.
                _ => {
                    c.p.value()?;
                }
            }
            keys.push((key, at));
            c.p.ws();
            if c.p.separator(b'}', "expected ',' or '}'")? {
                break;
            }
        }
    }
    c.p.ws();
    if c.p.i != c.p.b.len() {
        return Err(c.p.err("trailing characters after the JSON document"));
    }
    keys.sort();
    if let Some(pair) = keys.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::Json(format!(
            "duplicate object key {:?} at byte {}",
            pair[1].0, pair[1].1
        )));
    }
    if deferred && parts.style == Style::Ascii {
        let utf8 = std::mem::take(out);
        escape_canonical_to_ascii(out, &utf8);
    }
    Ok(parts)
}

/// Turns canonical JSON written raw UTF-8 into its `ensure_ascii` form: the two differ only in
/// the characters inside strings that `ensure_ascii` escapes (DEL and non-ASCII); everything
/// else, escapes included, is the same byte for byte.
fn escape_canonical_to_ascii(out: &mut Vec<u8>, utf8: &[u8]) {
    let text = std::str::from_utf8(utf8).unwrap_or_default();
    out.reserve(utf8.len());
    let mut start = 0;
    for (i, ch) in text.char_indices() {
        if ch.is_ascii() && ch != '\u{7f}' {
            continue;
        }
        out.extend_from_slice(&utf8[start..i]);
        let mut units = [0u16; 2];
        for unit in ch.encode_utf16(&mut units) {
            push_u_escape(out, *unit);
        }
        start = i + ch.len_utf8();
    }
    out.extend_from_slice(&utf8[start..]);
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
