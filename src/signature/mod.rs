//! The DCI `signature` field, in three profiles (one file each):
//! - [`spdci`]: HTTP-signature style string (OpenSPP 2 spp_dci); the default;
//! - [`jws_detached`]: detached JWS over the canonical JSON (OpenG2P registry-platform);
//! - [`jws_compact`]: attached compact JWS of {header, message} (opencrvs/dci-crvs-api).
//!
//! Verification always works on the envelope bytes as received ([`verify_bytes`]): the header and
//! message are canonicalised from the parsed [`Node`](crate::canonical::Node)s, never re-serialised
//! through typed structs (that would drop unknown fields and break peers' signatures).

pub mod jws_compact;
pub mod jws_detached;
pub mod spdci;

use serde_json::Value;

use crate::canonical::{self, FloatStyle, Node, Style};
use crate::error::{Error, Result};
use crate::keys::{Algorithm, SigningKey, VerifyingKey};

/// A signature profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    #[default]
    Spdci,
    JwsDetached,
    JwsCompact,
}

impl Profile {
    /// `spdci`, `jws-detached`, `jws-compact`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Spdci => "spdci",
            Profile::JwsDetached => "jws-detached",
            Profile::JwsCompact => "jws-compact",
        }
    }
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "spdci" | "dci" | "http-signature" => Ok(Profile::Spdci),
            "jws-detached" | "detached" | "openg2p" => Ok(Profile::JwsDetached),
            "jws-compact" | "compact" | "jws" | "opencrvs" => Ok(Profile::JwsCompact),
            _ => Err(Error::Config {
                field: "profile".into(),
                reason: format!(
                    "unknown signature profile {name:?} (spdci, jws-detached, jws-compact)"
                ),
            }),
        }
    }
}

/// The digest line of the spdci profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DigestAlgorithm {
    /// `digest: <b64 sha256>` (OpenSPP 2).
    #[default]
    Sha256,
    /// `digest: BLAKE-512=<b64 blake2b-512>` (the form of the spec's example).
    Blake512,
}

/// The `kid` a JWS profile puts in its protected header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JwsKid {
    /// `{sender_id}|{key_id}|{alg}`, as in the spdci profile (the default).
    #[default]
    Dci,
    /// The RFC 7638 JWK thumbprint of the public key, as opencrvs/dci-crvs-api publishes in its
    /// JWKS (and OpenG2P's key manager uses a thumbprint-style kid too).
    Thumbprint,
    /// No kid: the receiver picks the key by algorithm (opencrvs' first releases signed so).
    Omit,
}

/// Who signs and how: the key, the kid parts and the profile.
pub struct Signer {
    pub key: SigningKey,
    /// Our sender id (first part of the kid `{sender_id}|{key_id}|{alg}`).
    pub sender_id: String,
    /// The key id (second part of the kid).
    pub key_id: String,
    pub profile: Profile,
    pub digest: DigestAlgorithm,
    /// Seconds between `created` and `expires` (default 300).
    pub validity_secs: i64,
    /// The kid form of the JWS profiles (spdci always uses `{sender_id}|{key_id}|{alg}`).
    pub jws_kid: JwsKid,
    /// How jws-detached spells floats in the payload it signs. The default is orjson's spelling
    /// (`1e-7`), because OpenG2P recomputes the payload with orjson to verify; verification here
    /// accepts either spelling. spdci always uses Python's; jws-compact carries its payload.
    pub jws_floats: FloatStyle,
}

impl Signer {
    pub fn new(key: SigningKey, sender_id: impl Into<String>, key_id: impl Into<String>) -> Self {
        Signer {
            key,
            sender_id: sender_id.into(),
            key_id: key_id.into(),
            profile: Profile::Spdci,
            digest: DigestAlgorithm::Sha256,
            validity_secs: 300,
            jws_kid: JwsKid::Dci,
            jws_floats: FloatStyle::Orjson,
        }
    }

    /// The kid of the JWS protected header, per [`Signer::jws_kid`].
    pub fn jws_kid_value(&self) -> Option<String> {
        match self.jws_kid {
            JwsKid::Dci => Some(self.kid()),
            JwsKid::Thumbprint => Some(self.key.verifying_key().thumbprint()),
            JwsKid::Omit => None,
        }
    }
    /// The kid: `{sender_id}|{key_id}|{alg}`.
    pub fn kid(&self) -> String {
        format!(
            "{}|{}|{}",
            self.sender_id,
            self.key_id,
            self.key.algorithm().dci_name()
        )
    }
    /// The `signature` value for this header and message, created at `now` (unix seconds; None = clock).
    pub fn signature_for(
        &self,
        header: &Value,
        message: &Value,
        now: Option<i64>,
    ) -> Result<String> {
        let style = self.profile_style();
        let floats = self.profile_floats();
        with_scratch(|payload| {
            canonical_pair_value(payload, header, message, style, floats);
            self.sign_payload(payload, now)
        })
    }

    /// Sets `envelope["signature"]` over its header and message.
    pub fn sign_value(&self, envelope: &mut Value, now: Option<i64>) -> Result<()> {
        let obj = envelope
            .as_object_mut()
            .ok_or_else(|| Error::Json("envelope must be a JSON object".into()))?;
        let header = part(obj.get("header"), "header")?;
        let message = part(obj.get("message"), "message")?;
        let signature = self.signature_for(header, message, now)?;
        obj.insert("signature".into(), Value::String(signature));
        Ok(())
    }

    /// Signs an envelope given as bytes (exact numbers kept); returns the signed envelope's bytes.
    ///
    /// The output keeps every member, in the order received, with strings and numbers exactly as
    /// written; only whitespace is dropped and `signature` is set (replaced in place, or added first).
    pub fn sign_bytes(&self, envelope: &[u8], now: Option<i64>) -> Result<Vec<u8>> {
        let root = canonical::parse(envelope)?;
        let (header, message) = envelope_parts(&root)?;
        let mut payload = Vec::with_capacity(envelope.len() + 64);
        canonical_pair_nodes_floats(
            &mut payload,
            header,
            message,
            self.profile_style(),
            self.profile_floats(),
        )?;
        let signature = self.sign_payload(&payload, now)?;
        let members = match &root {
            Node::Object(members) => members,
            _ => return Err(Error::Json("envelope must be a JSON object".into())),
        };
        let mut out = Vec::with_capacity(envelope.len() + signature.len() + 32);
        let mut sig_json = Vec::with_capacity(signature.len() + 2);
        canonical::write_str(&mut sig_json, &signature, Style::Utf8);
        out.push(b'{');
        let has_signature = members.iter().any(|(k, _)| k.decode() == "signature");
        if !has_signature {
            out.extend_from_slice(b"\"signature\":");
            out.extend_from_slice(&sig_json);
        }
        for (i, (key, value)) in members.iter().enumerate() {
            if i > 0 || !has_signature {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(key.raw().as_bytes());
            out.extend_from_slice(b"\":");
            if key.decode() == "signature" {
                out.extend_from_slice(&sig_json);
            } else {
                write_raw(&mut out, value);
            }
        }
        out.push(b'}');
        Ok(out)
    }

    fn profile_style(&self) -> Style {
        match self.profile {
            Profile::Spdci => Style::Ascii,
            Profile::JwsDetached | Profile::JwsCompact => Style::Utf8,
        }
    }

    fn profile_floats(&self) -> FloatStyle {
        match self.profile {
            Profile::JwsDetached => self.jws_floats,
            Profile::Spdci | Profile::JwsCompact => FloatStyle::Python,
        }
    }

    /// How this signer's profile writes canonical JSON (string escaping, float spelling), for
    /// a host that writes the canonical `{"header":..,"message":..}` bytes itself and signs
    /// them with [`Signer::sign_canonical`] (the Python binding, straight from its objects).
    pub fn canonical_form(&self) -> (Style, FloatStyle) {
        (self.profile_style(), self.profile_floats())
    }

    /// The signature over canonical `{"header":..,"message":..}` bytes written in this
    /// signer's [`Signer::canonical_form`].
    pub fn sign_canonical(&self, payload: &[u8], now: Option<i64>) -> Result<String> {
        self.sign_payload(payload, now)
    }

    /// Signs the canonical `{"header":..,"message":..}` bytes in this signer's profile.
    fn sign_payload(&self, payload: &[u8], now: Option<i64>) -> Result<String> {
        match self.profile {
            Profile::Spdci => {
                let created = now.unwrap_or_else(unix_now);
                let expires =
                    created
                        .checked_add(self.validity_secs)
                        .ok_or_else(|| Error::Config {
                            field: "validity_secs".into(),
                            reason: "created + validity overflows".into(),
                        })?;
                spdci::sign(
                    &self.key,
                    &self.kid(),
                    payload,
                    created,
                    expires,
                    self.digest,
                )
            }
            Profile::JwsDetached => {
                jws_detached::sign(&self.key, self.jws_kid_value().as_deref(), payload)
            }
            Profile::JwsCompact => {
                jws_compact::sign(&self.key, self.jws_kid_value().as_deref(), payload)
            }
        }
    }
}

/// Finds the key that verifies a signature.
pub trait KeyResolver {
    /// `kid` as found in the signature (None if the profile carries none); `alg` as declared.
    fn resolve(&self, kid: Option<&str>, alg: Algorithm) -> Result<VerifyingKey>;
}

impl KeyResolver for VerifyingKey {
    fn resolve(&self, _kid: Option<&str>, _alg: Algorithm) -> Result<VerifyingKey> {
        Ok(self.clone())
    }
}

impl KeyResolver for crate::keys::Jwks {
    fn resolve(&self, kid: Option<&str>, alg: Algorithm) -> Result<VerifyingKey> {
        if let Some(kid) = kid {
            return self.find(kid).cloned().ok_or_else(|| {
                Error::Key(format!("unknown key: no key with kid {kid:?} in the JWKS"))
            });
        }
        // No kid: accept only an unambiguous key of the declared algorithm.
        let mut fitting = self.keys.iter().filter(|(_, k)| k.algorithm() == alg);
        match (fitting.next(), fitting.next()) {
            (Some((_, key)), None) => Ok(key.clone()),
            (None, _) => Err(Error::Key(format!("no {} key in the JWKS", alg.dci_name()))),
            (Some(_), Some(_)) => Err(Error::Key(format!(
                "the signature names no kid and the JWKS holds several {} keys",
                alg.dci_name()
            ))),
        }
    }
}

/// One key known under one kid: the kid in a signature must match it.
#[derive(Debug, Clone)]
pub struct KeyWithKid {
    pub kid: String,
    pub key: VerifyingKey,
}

impl KeyResolver for KeyWithKid {
    fn resolve(&self, kid: Option<&str>, _alg: Algorithm) -> Result<VerifyingKey> {
        match kid {
            Some(k) if k != self.kid => Err(Error::Key(format!(
                "unknown key: the signature names kid {k:?}, the key is {:?}",
                self.kid
            ))),
            _ => Ok(self.key.clone()),
        }
    }
}

/// Verification settings.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The time to check against (unix seconds); None = the system clock.
    pub now: Option<i64>,
    /// How far in the future `created` may be (seconds; default 60).
    pub clock_skew_secs: i64,
    /// Which profile to expect; None = detect from the signature's form.
    pub profile: Option<Profile>,
}

/// Whether a kid of the DCI form `{sender_id}|{key_id}|{alg}` must name the envelope's
/// `header.sender_id`: a key that verifies a signature proves who signed only if the claimed
/// sender is the one the key belongs to (with a single key, nothing else ties them). Kids
/// without a sender part (JWS thumbprints, bare key ids) and signatures without a kid are not
/// checked. [`verify_bytes`] binds; [`verify_bytes_with`] takes the choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SenderBinding {
    /// The kid's sender must be `header.sender_id` (the default).
    #[default]
    KidMatchesHeader,
    /// No check (the caller ties key and sender itself).
    Off,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            now: None,
            clock_skew_secs: 60,
            profile: None,
        }
    }
}

/// The sender a DCI kid (`{sender_id}|{key_id}|{alg}`) names; None for other kid forms.
pub fn kid_sender(kid: &str) -> Option<&str> {
    let parts: Vec<&str> = kid.split('|').collect();
    (parts.len() == 3 && !parts[0].is_empty()).then_some(parts[0])
}

/// Refuses a verified signature whose kid names another sender than `header.sender_id`.
fn check_sender_binding(verified: &Verified, header: &Node<'_>) -> Result<()> {
    let Some(kid) = verified.kid.as_deref() else {
        return Ok(());
    };
    let Some(signer) = kid_sender(kid) else {
        return Ok(());
    };
    // A header without a sender is refused by message validation, not here.
    let Some(Node::String(sender)) = header.get("sender_id") else {
        return Ok(());
    };
    let sender = sender.decode();
    if sender != signer {
        return Err(Error::SignatureInvalid(format!(
            "the signature's kid {kid:?} names sender {signer:?}, but header.sender_id is {sender:?}"
        )));
    }
    Ok(())
}

/// What a successful verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub profile: Profile,
    pub algorithm: Algorithm,
    pub kid: Option<String>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
}

/// Verifies an envelope over the bytes as received; the kid's sender must be
/// `header.sender_id` ([`SenderBinding::KidMatchesHeader`]).
pub fn verify_bytes(
    envelope: &[u8],
    keys: &dyn KeyResolver,
    opts: &VerifyOptions,
) -> Result<Verified> {
    verify_bytes_with(envelope, keys, opts, SenderBinding::KidMatchesHeader)
}

/// [`verify_bytes`] with an explicit [`SenderBinding`].
pub fn verify_bytes_with(
    envelope: &[u8],
    keys: &dyn KeyResolver,
    opts: &VerifyOptions,
    binding: SenderBinding,
) -> Result<Verified> {
    if let Some(result) = verify_streamed(envelope, keys, opts, binding) {
        return result;
    }
    verify_tree(envelope, keys, opts, binding)
}

/// The escaping style a profile canonicalises in.
fn style_of(profile: Profile) -> Style {
    match profile {
        Profile::Spdci => Style::Ascii,
        Profile::JwsDetached | Profile::JwsCompact => Style::Utf8,
    }
}

/// Verification with the canonical pair written straight from the received bytes (one pass,
/// no tree of the message). None when the envelope needs the tree: it is malformed (the tree
/// path gives the error), or a JWS payload needs more than a byte comparison (a jws-detached
/// signature that may cover orjson's float spelling; a compact payload that is not canonical).
/// The checks and their order are those of [`verify_tree`].
fn verify_streamed(
    envelope: &[u8],
    keys: &dyn KeyResolver,
    opts: &VerifyOptions,
    binding: SenderBinding,
) -> Option<Result<Verified>> {
    with_scratch(|payload| {
        let parts = canonical::envelope_pair(
            envelope,
            payload,
            opts.profile.map(style_of),
            |sig| match sig {
                Node::String(s) => style_of(detect_profile(&s.decode())),
                _ => Style::Ascii,
            },
        )
        .ok()?;
        let signature = match &parts.signature {
            None | Some(Node::Null) => {
                return Some(Err(Error::SignatureMissing(
                    "the envelope has no signature".into(),
                )))
            }
            Some(Node::String(s)) => s.decode(),
            Some(_) => {
                return Some(Err(Error::SignatureMalformed(
                    "\"signature\" must be a string".into(),
                )))
            }
        };
        if is_missing(Some(&signature)) {
            return Some(Err(Error::SignatureMissing(format!(
                "{:?} is not a signature",
                shorten(&signature)
            ))));
        }
        let header = parts.header?;
        if !parts.message {
            return None;
        }
        let profile = opts.profile.unwrap_or_else(|| detect_profile(&signature));
        let verified = match profile {
            Profile::Spdci => spdci::verify(&signature, payload, keys, opts),
            Profile::JwsDetached => match jws_detached::verify(&signature, payload, keys) {
                Err(Error::SignatureInvalid(_)) => return None,
                other => other,
            },
            Profile::JwsCompact => match jws_compact::check(&signature, keys) {
                Ok((verified, signed)) if signed == *payload => Ok(verified),
                Ok(_) => return None,
                Err(e) => Err(e),
            },
        };
        let verified = match verified {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        if binding == SenderBinding::KidMatchesHeader {
            let header = match canonical::parse(header) {
                Ok(h) => h,
                Err(e) => return Some(Err(e)),
            };
            if let Err(e) = check_sender_binding(&verified, &header) {
                return Some(Err(e));
            }
        }
        Some(Ok(verified))
    })
}

/// Verification over the parsed tree of the envelope: every case, malformed input included.
fn verify_tree(
    envelope: &[u8],
    keys: &dyn KeyResolver,
    opts: &VerifyOptions,
    binding: SenderBinding,
) -> Result<Verified> {
    let root = canonical::parse(envelope)?;
    if !matches!(root, Node::Object(_)) {
        return Err(Error::Json("envelope must be a JSON object".into()));
    }
    let signature = match root.get("signature") {
        None | Some(Node::Null) => {
            return Err(Error::SignatureMissing(
                "the envelope has no signature".into(),
            ))
        }
        Some(Node::String(s)) => s.decode(),
        Some(_) => {
            return Err(Error::SignatureMalformed(
                "\"signature\" must be a string".into(),
            ))
        }
    };
    if is_missing(Some(&signature)) {
        return Err(Error::SignatureMissing(format!(
            "{:?} is not a signature",
            shorten(&signature)
        )));
    }
    let (header, message) = envelope_parts(&root)?;
    let profile = match opts.profile {
        Some(p) => p,
        None => detect_profile(&signature),
    };
    let verified = verify_profile(profile, &signature, header, message, keys, opts)?;
    if binding == SenderBinding::KidMatchesHeader {
        check_sender_binding(&verified, header)?;
    }
    Ok(verified)
}

/// Verifies `signature` over `header` and `message` in `profile`.
fn verify_profile(
    profile: Profile,
    signature: &str,
    header: &Node<'_>,
    message: &Node<'_>,
    keys: &dyn KeyResolver,
    opts: &VerifyOptions,
) -> Result<Verified> {
    match profile {
        Profile::Spdci => with_scratch(|payload| {
            canonical_pair_nodes(payload, header, message, Style::Ascii)?;
            spdci::verify(signature, payload, keys, opts)
        }),
        Profile::JwsDetached => with_scratch(|payload| {
            canonical_pair_nodes(payload, header, message, Style::Utf8)?;
            match jws_detached::verify(signature, payload, keys) {
                // OpenG2P canonicalises with orjson, which spells some floats differently from
                // Python (1e-7 against 1e-07, 0.00001 against 1e-05), while the wire may carry
                // either. Only when the message holds a float, and only when the orjson bytes
                // differ, try them as well: a signature is valid if it covers either form.
                Err(Error::SignatureInvalid(reason)) if has_float_pair(header, message) => {
                    let mut orjson = Vec::with_capacity(payload.len());
                    canonical_pair_nodes_floats(
                        &mut orjson,
                        header,
                        message,
                        Style::Utf8,
                        FloatStyle::Orjson,
                    )?;
                    if orjson == *payload {
                        Err(Error::SignatureInvalid(reason))
                    } else {
                        jws_detached::verify(signature, &orjson, keys)
                    }
                }
                other => other,
            }
        }),
        Profile::JwsCompact => jws_compact::verify(signature, header, message, keys),
    }
}

/// The profile a signature value is written in: JWS (`eyJ...`) is detached when its payload
/// segment is empty, compact otherwise; anything else is the spdci parameter list.
pub fn detect_profile(signature: &str) -> Profile {
    let s = signature.trim();
    if looks_like_jws(s) {
        let mut parts = s.split('.');
        let _ = parts.next();
        match parts.next() {
            Some("") => Profile::JwsDetached,
            _ => Profile::JwsCompact,
        }
    } else {
        Profile::Spdci
    }
}

/// Whether a `signature` value is absent in substance: no value, an empty one, or one of the
/// placeholder words that unsigned senders put there (`unsigned`, `unsigned-stub`, `TODO`, ...).
///
/// Any other value is a signature claim and must verify: a garbage value such as
/// `invalid-signature` is refused as invalid, never waved through as "missing" under an
/// optional signature policy (the spdci-compliance suite checks exactly that).
pub fn is_missing(signature: Option<&str>) -> bool {
    let Some(s) = signature else { return true };
    let s = s.trim();
    let s = s.strip_prefix("Signature:").unwrap_or(s).trim();
    s.is_empty() || PLACEHOLDERS.iter().any(|p| s.eq_ignore_ascii_case(p))
}

/// Values peers send in place of a signature (compared case-insensitively).
const PLACEHOLDERS: &[&str] = &[
    "unsigned",
    "unsigned-stub",
    "todo",
    "null",
    "none",
    "placeholder",
    "n/a",
    "-",
];

/// A JWS starts with the base64url of `{"` and holds only base64url characters and dots.
fn looks_like_jws(s: &str) -> bool {
    s.starts_with("eyJ")
        && s.contains('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        let head: String = s.chars().take(40).collect();
        format!("{head}...")
    } else {
        s.to_owned()
    }
}

/// Larger scratch buffers are freed after use rather than kept for the next message.
const SCRATCH_KEEP: usize = 8 << 20;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with an empty per-thread buffer for canonical bytes: a server signs and verifies
/// message after message, and growing a fresh buffer to 1 MB each time costs more than the
/// hashing. Re-entrant calls fall back to a fresh buffer.
fn with_scratch<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let out = f(&mut buf);
            if buf.capacity() > SCRATCH_KEEP {
                *buf = Vec::new();
            }
            out
        }
        Err(_) => f(&mut Vec::new()),
    })
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The envelope's `header` and `message` nodes.
pub(crate) fn envelope_parts<'n, 'a>(root: &'n Node<'a>) -> Result<(&'n Node<'a>, &'n Node<'a>)> {
    if !matches!(root, Node::Object(_)) {
        return Err(Error::Json("envelope must be a JSON object".into()));
    }
    let header = part(root.get("header"), "header")?;
    let message = part(root.get("message"), "message")?;
    Ok((header, message))
}

/// An envelope's `header` or `message` as found, or the error naming the missing part.
fn part<T>(found: Option<T>, name: &str) -> Result<T> {
    found.ok_or_else(|| Error::Json(format!("envelope has no {name:?}")))
}

/// Appends the canonical `{"header":h,"message":m}` ("header" sorts before "message").
pub(crate) fn canonical_pair_nodes(
    out: &mut Vec<u8>,
    header: &Node<'_>,
    message: &Node<'_>,
    style: Style,
) -> Result<()> {
    canonical_pair_nodes_floats(out, header, message, style, FloatStyle::Python)
}

/// [`canonical_pair_nodes`] with floats spelled per `floats`.
pub(crate) fn canonical_pair_nodes_floats(
    out: &mut Vec<u8>,
    header: &Node<'_>,
    message: &Node<'_>,
    style: Style,
    floats: FloatStyle,
) -> Result<()> {
    out.extend_from_slice(b"{\"header\":");
    header.write_canonical_floats(out, style, floats)?;
    out.extend_from_slice(b",\"message\":");
    message.write_canonical_floats(out, style, floats)?;
    out.push(b'}');
    Ok(())
}

fn has_float_pair(header: &Node<'_>, message: &Node<'_>) -> bool {
    canonical::has_float(header) || canonical::has_float(message)
}

/// Appends the canonical `{"header":h,"message":m}` of in-memory values.
pub(crate) fn canonical_pair_value(
    out: &mut Vec<u8>,
    header: &Value,
    message: &Value,
    style: Style,
    floats: FloatStyle,
) {
    out.extend_from_slice(b"{\"header\":");
    canonical::write_value_floats(out, header, style, floats);
    out.extend_from_slice(b",\"message\":");
    canonical::write_value_floats(out, message, style, floats);
    out.push(b'}');
}

/// Writes a node compactly, members in received order, strings and numbers exactly as received.
fn write_raw(out: &mut Vec<u8>, node: &Node<'_>) {
    match node {
        Node::Null => out.extend_from_slice(b"null"),
        Node::Bool(true) => out.extend_from_slice(b"true"),
        Node::Bool(false) => out.extend_from_slice(b"false"),
        Node::Number(text) => out.extend_from_slice(text.as_bytes()),
        Node::String(s) => {
            out.push(b'"');
            out.extend_from_slice(s.raw().as_bytes());
            out.push(b'"');
        }
        Node::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_raw(out, item);
            }
            out.push(b']');
        }
        Node::Object(members) => {
            out.push(b'{');
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(key.raw().as_bytes());
                out.extend_from_slice(b"\":");
                write_raw(out, value);
            }
            out.push(b'}');
        }
    }
}
