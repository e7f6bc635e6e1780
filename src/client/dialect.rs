//! Dialects: how deployed registries depart from the spec, and how we speak to each.
//!
//! - `spdci` (default): the spec as written (latest-bundled `*_api_v1.0.0.yaml`).
//! - `opencrvs` (opencrvs/dci-crvs-api): `reg_type` is a lowercase event type (`birth`), no
//!   `reg_event_type`; `consent` (beside `search_criteria`, `{id, ts, purpose: {text, code,
//!   refUri}}`) and `locale` are required; OAuth2 credentials go in the token request's query
//!   string; date ranges are an `expression` with a `range` value.
//! - `openg2p` (OpenG2P registries): `reg_type` and `reg_record_type` are the literal `Individual`;
//!   an identifier lookup is an `expression` query whose `type` is the namespaced
//!   `ns:org:QueryType:expression` and whose value is `{"expression":{"query":{"search_text":{"$eq":v}}}}`;
//!   `consent` and `authorize` are required.
//! - `openspp2` (OpenSPP 2 `spp_dci`): its server verifies our signature over its own
//!   re-serialisation of the header (pydantic `model_dump(mode="json")` of `DCIMessageHeader`), so
//!   we send exactly that form: all ten fields in declaration order, `null` where absent, and
//!   `message_ts` as pydantic writes a UTC datetime. Its responses are signed over the header
//!   with its defaulted fields but sent without them: see [`openspp2_signed_header`].

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::canonical::{Node, Style};
use crate::client::request::SearchSpec;
use crate::error::Result;
use crate::model::{HeaderBuilder, MsgHeader, QueryType, SearchRequestItem};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    #[default]
    Spdci,
    Opencrvs,
    Openg2p,
    Openspp2,
}

impl Dialect {
    pub fn parse(s: &str) -> Result<Self> {
        use Dialect::*;
        let names = [
            ("spdci", Spdci),
            ("", Spdci),
            ("opencrvs", Opencrvs),
            ("openg2p", Openg2p),
            ("openspp2", Openspp2),
        ];
        let expected = "spdci, opencrvs, openg2p, openspp2";
        crate::client::datasource::parse_name(s, &names, "dialect", "dialect", expected)
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Spdci => "spdci",
            Dialect::Opencrvs => "opencrvs",
            Dialect::Openg2p => "openg2p",
            Dialect::Openspp2 => "openspp2",
        }
    }

    /// Whether OAuth2 client credentials go in the token request's query string (OpenCRVS)
    /// rather than the form body (RFC 6749).
    pub fn token_credentials_in_query(self) -> bool {
        self == Dialect::Opencrvs
    }

    /// Now, in this dialect's timestamp form.
    pub fn now_ts(self) -> String {
        self.format_ts(truncate_ts(Utc::now()))
    }

    /// The timestamp form this dialect writes for `message_ts` and item `timestamp`s.
    pub fn format_ts(self, t: DateTime<Utc>) -> String {
        match self {
            Dialect::Openspp2 => pydantic_utc(t),
            _ => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }
}

/// A UTC datetime as pydantic v2 writes it in JSON mode: `Z` for UTC, fractional seconds as
/// six digits when not zero and none when zero.
pub fn pydantic_utc(t: DateTime<Utc>) -> String {
    // Pydantic keeps microseconds; drop anything finer so the text is what it would re-serialise.
    let micros = t.nanosecond() % 1_000_000_000 / 1_000;
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    if micros == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{micros:06}Z")
    }
}

/// Truncates a time to the precision the dialect writes, so that signing and sending agree.
pub fn truncate_ts(t: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = t.nanosecond() / 1_000 * 1_000;
    t.with_nanosecond(nanos).unwrap_or(t)
}

/// The values of a request header.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderFields<'a> {
    pub message_id: &'a str,
    pub message_ts: DateTime<Utc>,
    pub action: &'a str,
    pub sender_id: &'a str,
    pub sender_uri: Option<&'a str>,
    pub receiver_id: Option<&'a str>,
    pub total_count: u64,
}

/// The request header (`MsgHeader_V1.0.0`): built as the model's [`MsgHeader`], serialised,
/// then adapted to the dialect ([`Dialect::adapt_header`]).
pub fn build_header(dialect: Dialect, h: &HeaderFields<'_>) -> Value {
    let mut b = HeaderBuilder::new(h.action)
        .message_id(h.message_id)
        .message_ts(dialect.format_ts(h.message_ts))
        .sender_id(h.sender_id)
        .total_count(h.total_count as i64)
        .is_msg_encrypted(false);
    if let Some(u) = h.sender_uri {
        b = b.sender_uri(u);
    }
    if let Some(r) = h.receiver_id {
        b = b.receiver_id(r);
    }
    let header: Option<MsgHeader> = b.build().ok();
    dialect.adapt_header(serde_json::to_value(header).unwrap_or(Value::Null))
}

/// The header fields of OpenSPP 2's `DCIMessageHeader`, in declaration order: it signs its
/// own `model_dump(mode="json")` of the header, so all of them are sent, `null` where absent.
#[rustfmt::skip]
const OPENSPP2_HEADER_FIELDS: [&str; 10] = [
    "version", "message_id", "message_ts", "action", "sender_id", "sender_uri", "receiver_id",
    "total_count", "is_msg_encrypted", "meta",
];

impl Dialect {
    /// Adapts a request header built in the spec's form (`MsgHeader_V1.0.0` serialised) to
    /// this dialect: OpenSPP 2 gets every `DCIMessageHeader` field in its order, `null` where
    /// absent, and `receiver_id` (a required str there) `""` when we have none.
    pub fn adapt_header(self, header: Value) -> Value {
        let Value::Object(mut m) = header else {
            return header;
        };
        if self != Dialect::Openspp2 {
            return Value::Object(m);
        }
        let mut out = Map::new();
        for name in OPENSPP2_HEADER_FIELDS {
            let v = m.remove(name).unwrap_or(match name {
                "receiver_id" => Value::String(String::new()),
                "is_msg_encrypted" => Value::Bool(false),
                _ => Value::Null,
            });
            out.insert(name.to_string(), v);
        }
        out.extend(m);
        Value::Object(out)
    }

    /// Adapts a `search_request` item built in the spec's form to this dialect (see the
    /// module documentation for what each peer reads). `spec` tells what the caller set
    /// (a `reg_type` given is kept) and which shortcuts apply (identifier lookup, date
    /// range); `purpose_ref` is the `ref_uri` of default consent and authorize blocks.
    pub fn adapt_search_item(
        self,
        item: &mut SearchRequestItem,
        spec: &SearchSpec,
        purpose_ref: Option<&str>,
    ) {
        let ts = item.timestamp.clone();
        let c = &mut item.search_criteria;
        match self {
            Dialect::Spdci | Dialect::Openspp2 => {}
            Dialect::Opencrvs => {
                c.reg_type = Some(
                    spec.reg_type
                        .clone()
                        .unwrap_or_else(|| opencrvs_reg_type(spec.reg_event_type.as_deref())),
                );
                c.extra.remove("reg_event_type");
                c.reg_record_type = None;
                if let Some((a, f, t)) = spec.date_range_parts() {
                    c.query_type = QueryType::Expression;
                    c.query = opencrvs_range(&a, &f, &t);
                }
                // OpenCRVS reads consent beside search_criteria, in its own shape.
                let consent = c
                    .consent
                    .take()
                    .unwrap_or_else(|| opencrvs_consent(&item.reference_id, &ts, purpose_ref));
                item.extra.insert("consent".into(), consent);
                if item.locale.is_none() {
                    item.locale = Some("eng".into());
                }
            }
            Dialect::Openg2p => {
                c.reg_type = Some(spec.reg_type.clone().unwrap_or_else(|| "Individual".into()));
                if c.reg_record_type.is_none() {
                    c.reg_record_type = Some("Individual".into());
                }
                if let Some((_, v)) = spec.id_lookup() {
                    c.query_type = QueryType::Expression;
                    c.query = openg2p_search_text(&v);
                }
                if c.consent.is_none() {
                    c.consent = Some(default_consent(&ts, purpose_ref));
                }
                if c.authorize.is_none() {
                    c.authorize = Some(default_authorize(&ts, purpose_ref));
                }
            }
        }
    }
}

/// The default consent block sent where a dialect requires one (spec `Consent.jsonld`).
pub fn default_consent(ts: &str, purpose_ref: Option<&str>) -> Value {
    json!({
        "@context": "https://schema.spdci.org/common/v1/api-schemas/Consent.jsonld",
        "@type": "Consent",
        "ts": ts,
        "purpose": {
            "text": "Social protection programme verification",
            "code": "ELIGIBILITY_CHECK",
            "ref_uri": purpose_ref.unwrap_or("https://spdci.org"),
        }
    })
}

/// The default authorize block sent where a dialect requires one (spec `Authorize.jsonld`).
pub fn default_authorize(ts: &str, purpose_ref: Option<&str>) -> Value {
    json!({
        "@context": "https://schema.spdci.org/common/v1/api-schemas/Authorize.jsonld",
        "@type": "Authorize",
        "ts": ts,
        "purpose": {
            "text": "Social protection programme verification",
            "code": "ELIGIBILITY_CHECK",
            "ref_uri": purpose_ref.unwrap_or("https://spdci.org"),
        }
    })
}

/// The consent block OpenCRVS requires beside `search_criteria`: `{id, ts, purpose: {text, code,
/// refUri}}` (camelCase `refUri`, as its request validation reads it).
pub fn opencrvs_consent(id: &str, ts: &str, purpose_ref: Option<&str>) -> Value {
    json!({
        "id": format!("consent-{id}"),
        "ts": ts,
        "purpose": {
            "text": "Social protection programme verification",
            "code": "ELIGIBILITY_CHECK",
            "refUri": purpose_ref.unwrap_or("https://spdci.org"),
        }
    })
}

/// The OpenCRVS `reg_type` for an event type: the lowercase event name (`birth`, `death`).
pub fn opencrvs_reg_type(event_type: Option<&str>) -> String {
    let e = event_type.unwrap_or("birth");
    // `spdci-common:RegistryEventType:LiveBirth` -> `LiveBirth`
    let last = e.rsplit([':', '/', '#']).next().unwrap_or(e);
    match last
        .to_ascii_lowercase()
        .replace(['_', '-', ' '], "")
        .as_str()
    {
        "livebirth" | "birth" => "birth".into(),
        "death" => "death".into(),
        other => other.to_string(),
    }
}

/// The OpenCRVS date range: an `expression` whose value maps the attribute to a `range`.
pub fn opencrvs_range(attribute: &str, from: &str, to: &str) -> Value {
    json!({
        "type": "ns:org:QueryType:expression",
        "value": {attribute: {"type": "range", "gte": from, "lte": to}}
    })
}

/// The openg2p identifier lookup query.
pub fn openg2p_search_text(value: &Value) -> Value {
    json!({
        "type": "ns:org:QueryType:expression",
        "value": {"expression": {"query": {"search_text": {"$eq": value}}}}
    })
}

/// The fields of OpenSPP 2's response header models that have a non-None default, with that
/// default as JSON text: `DCIMessageHeader` (`version`, `total_count`, `is_msg_encrypted`) and,
/// for a `DCICallbackHeader` (a header with `status`), `completed_count`.
const OPENSPP2_HEADER_DEFAULTS: [(&str, &str); 3] = [
    ("version", "\"1.0.0\""),
    ("total_count", "0"),
    ("is_msg_encrypted", "false"),
];
const OPENSPP2_CALLBACK_HEADER_DEFAULTS: [(&str, &str); 1] = [("completed_count", "0")];

/// The header OpenSPP 2 signed for a response or callback whose header arrived as `header`:
/// its sync responses are signed over the header dumped with `exclude_none` but sent with
/// `exclude_unset` too, so fields left at a non-None default are signed yet absent on the wire.
/// Returns the received header with only those absent defaults added, as JSON text, or `None`
/// when the header is not an object or lacks none of them (nothing else to try). Received
/// fields are never dropped or changed.
pub fn openspp2_signed_header(header: &Node<'_>) -> Result<Option<Vec<u8>>> {
    if !matches!(header, Node::Object(_)) {
        return Ok(None);
    }
    let callback = header.get("status").is_some();
    let missing: Vec<(&str, &str)> = OPENSPP2_HEADER_DEFAULTS
        .iter()
        .chain(
            OPENSPP2_CALLBACK_HEADER_DEFAULTS
                .iter()
                .filter(|_| callback),
        )
        .filter(|(name, _)| header.get(name).is_none())
        .copied()
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let mut out = header.to_canonical(Style::Ascii)?;
    // `out` is `{...}`: reopen it, append the defaults, close it again.
    out.pop();
    for (name, value) in missing {
        if out.len() > 1 {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"{name}\":{value}").as_bytes());
    }
    out.push(b'}');
    Ok(Some(out))
}
