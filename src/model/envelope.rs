//! The envelope `{signature, header, message}` and the encrypted message form.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::{validate_envelope_as, MessageKind};
use super::{Extra, MsgCallbackHeader, MsgHeader};
use crate::error::{Error, Result};

/// A DCI envelope. `H` is [`MsgHeader`] for requests and [`MsgCallbackHeader`] for callbacks.
/// A callback may omit `message` (the spec requires only `header` there): use
/// `Envelope<Option<M>, MsgCallbackHeader>` to read those.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<M, H = MsgHeader> {
    /// The `signature` string; absent on unsigned messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    pub header: H,
    pub message: M,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A request envelope with a typed header and the message kept as JSON (dispatch on
/// `header.action` first, then parse the message with [`Envelope::message_as`]).
pub type RawEnvelope = Envelope<Value, MsgHeader>;

/// A callback envelope with the message kept as JSON.
pub type RawCallbackEnvelope = Envelope<Value, MsgCallbackHeader>;

/// A callback envelope (on-search, notify, txn-on-status, synchronous responses).
pub type CallbackEnvelope<M> = Envelope<M, MsgCallbackHeader>;

impl<M, H> Envelope<M, H> {
    pub fn new(header: H, message: M) -> Self {
        Envelope {
            signature: None,
            header,
            message,
            extra: Extra::new(),
        }
    }
}

impl<M: Serialize, H: Serialize> Envelope<M, H> {
    /// The envelope as a JSON value (what gets signed and sent).
    pub fn to_value(&self) -> Result<Value> {
        serde_json::to_value(self).map_err(|e| Error::Json(e.to_string()))
    }
}

impl<M: DeserializeOwned, H: DeserializeOwned> Envelope<M, H> {
    /// Parses an envelope from bytes; errors name the JSON problem.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::Json(e.to_string()))
    }

    /// Reads an envelope from a JSON value.
    pub fn from_value(value: Value) -> Result<Self> {
        serde_json::from_value(value).map_err(|e| Error::Json(e.to_string()))
    }
}

impl<H> Envelope<Value, H> {
    /// Parses the JSON message into a typed message.
    pub fn message_as<M: DeserializeOwned>(&self) -> Result<M> {
        serde_json::from_value(self.message.clone())
            .map_err(|e| Error::Json(format!("message: {e}")))
    }

    /// Whether the message is an [`EncryptedMessage`] (has a `ciphertext`).
    pub fn is_encrypted(&self) -> bool {
        self.message.get("ciphertext").is_some()
    }
}

impl<M: DciMessage, H: Serialize> Envelope<M, H> {
    /// Checks the whole envelope against the spec's constraints for `M`; lists every violation.
    pub fn validate(&self) -> Result<()> {
        validate_envelope_as(M::KIND, &self.to_value()?)
    }
}

/// A typed message body with the kind of envelope it travels in.
pub trait DciMessage: Serialize {
    const KIND: MessageKind;

    /// Checks this message against the spec's constraints; paths start at the message
    /// (`search_request[0].reference_id`).
    fn validate(&self) -> Result<()> {
        let v = serde_json::to_value(self).map_err(|e| Error::Json(e.to_string()))?;
        super::validate::validate_message_as(Self::KIND, &v)
    }

    /// Number of items the message carries (for `header.total_count`).
    fn item_count(&self) -> usize;
}

/// A callback may carry no message: `Envelope<Option<M>, MsgCallbackHeader>`.
impl<M: DciMessage> DciMessage for Option<M> {
    const KIND: MessageKind = M::KIND;

    fn validate(&self) -> Result<()> {
        match self {
            Some(m) => m.validate(),
            None => Ok(()),
        }
    }

    fn item_count(&self) -> usize {
        self.as_ref().map_or(0, DciMessage::item_count)
    }
}

/// A message that is either plain or encrypted (`oneOf` in the spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MaybeEncrypted<M> {
    Encrypted(Box<EncryptedMessage>),
    Plain(M),
}

/// `EncryptedMessage`: a flattened JWE, carried through untouched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncryptedMessage {
    pub header: JweHeader,
    pub ciphertext: String,
    pub encrypted_key: String,
    pub tag: String,
    pub iv: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The JWE protected header of an [`EncryptedMessage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JweHeader {
    pub alg: String,
    pub enc: String,
    pub kid: String,
    #[serde(flatten)]
    pub extra: Extra,
}
