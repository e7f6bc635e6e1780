//! Messages: build request envelopes and search requests, validate against the spec
//! (dci::model). Results are dicts shaped like the wire JSON.

use dci::client::Dialect;
use dci::model::{
    self, CallbackHeaderBuilder, DciMessage, Envelope, HeaderBuilder, MessageKind,
    SearchRequestBuilder,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use serde_json::Value;

use crate::conv;
use crate::errors::IntoPy;
use crate::query::PyQuery;
use crate::signature::PySigner;

/// A new random id (UUID v4) for ``message_id``, ``transaction_id`` and ``reference_id``.
#[pyfunction]
pub fn new_id() -> String {
    model::new_id()
}

/// The callback action answering a request action (``"search"`` -> ``"on-search"``,
/// ``"txn-status"`` -> ``"txn-on-status"``), or None.
#[pyfunction]
pub fn callback_action(action: &str) -> Option<&'static str> {
    model::callback_action(action)
}

/// `builder = builder.field(value)` for each optional argument that was given (each builder
/// method is named for its argument).
macro_rules! set_given {
    ($builder:ident: $($field:ident),+ $(,)?) => {
        $(
            if let Some(v) = $field {
                $builder = $builder.$field(v);
            }
        )+
    };
}

/// One ``(query_type, query)`` pair from a Query, a ``{"query_type", "query"}`` dict or a
/// 2-tuple.
fn query_pair(obj: &Bound<'_, PyAny>, at: &str) -> PyResult<(String, Value)> {
    if let Ok(q) = obj.cast::<PyQuery>() {
        let (qt, v) = q.get().inner.to_wire();
        return Ok((qt.to_string(), v));
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        let (qt, q): (String, Bound<'_, PyAny>) = t.extract()?;
        let q = conv::to_value(&q, at)?;
        dci::query::Query::parse(&qt, &q).py_err()?;
        return Ok((qt, q));
    }
    let v = conv::to_value(obj, at)?;
    let qt = v.get("query_type").and_then(Value::as_str).ok_or_else(|| {
        crate::errors::to_pyerr(dci::Error::Validation(vec![dci::Violation::new(
            format!("{at}.query_type"),
            "required (a Query, a (query_type, query) tuple or a {\"query_type\", \"query\"} dict)",
        )]))
    })?;
    let q = v.get("query").cloned().unwrap_or(Value::Null);
    dci::query::Query::parse(qt, &q).py_err()?;
    Ok((qt.to_string(), q))
}

/// Builds a ``SearchRequest`` message (``{"transaction_id", "search_request": [...]}``) with
/// one item per query. ``queries``: a Query (or a list of them; ``(query_type, query)``
/// tuples and ``{"query_type", "query"}`` dicts work too). ``sort``: a list of
/// ``(attribute_name, "asc" | "desc")`` or of ``{"attribute_name", "sort_order"}``. The
/// result is validated; ids and timestamps are generated unless given.
#[pyfunction]
#[pyo3(signature = (queries, *, transaction_id = None, reg_type = None, reg_record_type = None,
    response_entity = None, page_size = None, page_number = 1, sort = None, consent = None,
    authorize = None, locale = None))]
#[allow(clippy::too_many_arguments)]
pub fn search_request<'py>(
    py: Python<'py>,
    queries: &Bound<'py, PyAny>,
    transaction_id: Option<String>,
    reg_type: Option<String>,
    reg_record_type: Option<String>,
    response_entity: Option<String>,
    page_size: Option<i64>,
    page_number: i64,
    sort: Option<&Bound<'py, PyList>>,
    consent: Option<&Bound<'py, PyAny>>,
    authorize: Option<&Bound<'py, PyAny>>,
    locale: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut b = SearchRequestBuilder::new();
    set_given!(b: transaction_id, reg_type, reg_record_type, response_entity, locale);
    if let Some(size) = page_size {
        b = b.pagination(size, page_number);
    }
    if let Some(sort) = sort {
        for (i, item) in sort.iter().enumerate() {
            let (name, order): (String, String) = match item.extract() {
                Ok(pair) => pair,
                Err(_) => {
                    let v = conv::to_value(&item, &format!("sort[{i}]"))?;
                    let keys = dci::query::parse_sort(&Value::Array(vec![v])).py_err()?;
                    let k = &keys[0];
                    (k.attribute_name.clone(), k.sort_order.as_str().to_string())
                }
            };
            b = b.sort(name, &order);
        }
    }
    if let Some(v) = consent {
        b = b.consent(conv::to_value(v, "consent")?);
    }
    if let Some(v) = authorize {
        b = b.authorize(conv::to_value(v, "authorize")?);
    }
    let list: Vec<Bound<'py, PyAny>> = if let Ok(l) = queries.cast::<PyList>() {
        l.iter().collect()
    } else {
        vec![queries.clone()]
    };
    for (i, q) in list.iter().enumerate() {
        let (qt, v) = query_pair(q, &format!("queries[{i}]"))?;
        b = b.query(&qt, v);
    }
    let msg = b.build().py_err()?;
    conv::ser_to_py(py, &msg)
}

/// The number of items a request message carries, for ``header.total_count``.
fn item_count(kind: Option<MessageKind>, message: &Value) -> PyResult<usize> {
    fn count<M: DciMessage + serde::de::DeserializeOwned>(v: &Value) -> dci::Result<usize> {
        let m: M = serde_json::from_value(v.clone())
            .map_err(|e| dci::Error::Json(format!("message: {e}")))?;
        Ok(m.item_count())
    }
    let r = match kind {
        Some(MessageKind::SearchRequest) => count::<model::SearchRequest>(message),
        Some(MessageKind::SubscribeRequest) => count::<model::SubscribeRequest>(message),
        Some(MessageKind::NotifyEventRequest) => count::<model::NotifyEventRequest>(message),
        Some(MessageKind::UnSubscribeRequest) => count::<model::UnSubscribeRequest>(message),
        Some(MessageKind::TxnStatusRequest) => count::<model::TxnStatusRequest>(message),
        _ => Ok(0),
    };
    // A message too broken to read gets every violation named, not a serde message.
    r.or_else(|e| match kind {
        Some(k) => model::validate_message_as(k, message).and(Err(e)),
        None => Err(e),
    })
    .py_err()
}

/// The number of items of a response message: its first `*_response` list.
fn response_items(message: &Value) -> i64 {
    message
        .as_object()
        .and_then(|m| {
            m.iter()
                .find(|(k, v)| k.ends_with("_response") && v.is_array())
                .and_then(|(_, v)| v.as_array().map(Vec::len))
        })
        .unwrap_or(0) as i64
}

/// Builds an envelope ``{"signature", "header", "message"}`` for ``action`` (one of the
/// registry API's: ``"search"``, ``"on-search"``, ``"subscribe"``, ``"unsubscribe"``,
/// ``"txn-status"``, ``"txn-on-status"``, ``"notify"``, ...; anything else, such as
/// ``"on_search"``, is refused naming ``header.action``) around ``message`` (a dict).
/// Callback actions (``on-*``, ``txn-on-status``) need ``status`` (``succ``, ``rjct``,
/// ``pdng``, ``rcvd``) and take ``completed_count``. ``total_count`` defaults to the message's
/// item count; ``message_id`` and ``message_ts`` are generated unless given. ``dialect``
/// writes the header in that dialect's normal form (``openspp2``: every field of OpenSPP 2's
/// header model, in order, ``message_ts`` as pydantic writes it), so that a signature over it
/// is what OpenSPP 2 verifies. The envelope is validated. With ``signer`` it is signed (at
/// ``now``, unix seconds, for tests); else ``signature`` is ``""``.
#[pyfunction]
#[pyo3(signature = (action, message, *, sender_id, receiver_id = None, sender_uri = None,
    message_id = None, message_ts = None, total_count = None, meta = None, signer = None,
    now = None, status = None, completed_count = None, dialect = None))]
#[allow(clippy::too_many_arguments)]
pub fn envelope<'py>(
    py: Python<'py>,
    action: &str,
    message: &Bound<'py, PyAny>,
    sender_id: String,
    receiver_id: Option<String>,
    sender_uri: Option<String>,
    message_id: Option<String>,
    message_ts: Option<String>,
    total_count: Option<i64>,
    meta: Option<&Bound<'py, PyAny>>,
    signer: Option<&PySigner>,
    now: Option<i64>,
    status: Option<String>,
    completed_count: Option<i64>,
    dialect: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = model::known_action(action).py_err()?;
    let dialect = crate::signature::dialect(dialect)?;
    let message = conv::to_value(message, "message")?;
    let message_ts = message_ts.or_else(|| (dialect != Dialect::Spdci).then(|| dialect.now_ts()));
    let callback = action.starts_with("on-") || action == "txn-on-status";
    let count = match total_count {
        Some(n) => n,
        // A callback counts its response items (`search_response`, ...).
        None if callback => completed_count.unwrap_or_else(|| response_items(&message)),
        None => item_count(Some(kind), &message)? as i64,
    };
    let header: Value = if callback {
        let status = status.ok_or_else(|| {
            crate::errors::to_pyerr(dci::Error::Validation(vec![dci::Violation::new(
                "header.status",
                format!("required for {action} (succ, rjct, pdng or rcvd)"),
            )]))
        })?;
        let mut h = CallbackHeaderBuilder::new(action, model::RequestStatus::from_wire(&status))
            .sender_id(sender_id)
            .total_count(count);
        set_given!(h: receiver_id, message_id, message_ts, completed_count);
        let mut v = serde_json::to_value(h.build())
            .map_err(dci::Error::from)
            .py_err()?;
        if let Value::Object(m) = &mut v {
            if let Some(u) = sender_uri {
                m.insert("sender_uri".into(), Value::String(u));
            }
            if let Some(x) = meta {
                m.insert("meta".into(), conv::to_value(x, "meta")?);
            }
        }
        v
    } else {
        for (given, name) in [
            (status.is_some(), "status"),
            (completed_count.is_some(), "completed_count"),
        ] {
            if given {
                return Err(crate::errors::to_pyerr(dci::Error::Validation(vec![
                    dci::Violation::new(
                        format!("header.{name}"),
                        format!("only for callback actions (on-search, ...), not {action}"),
                    ),
                ])));
            }
        }
        let mut h = HeaderBuilder::new(action).sender_id(sender_id);
        set_given!(h: receiver_id, sender_uri, message_id, message_ts);
        if let Some(v) = meta {
            h = h.meta(conv::to_value(v, "meta")?);
        }
        h = h.total_count(count);
        let header = h.build().py_err()?;
        dialect.adapt_header(
            serde_json::to_value(header)
                .map_err(dci::Error::from)
                .py_err()?,
        )
    };
    let mut env = Envelope::new(header, message).to_value().py_err()?;
    model::validate_envelope_as(kind, &env).py_err()?;
    match signer {
        Some(s) => py.detach(|| s.inner.sign_value(&mut env, now)).py_err()?,
        None => {
            if let Value::Object(m) = &mut env {
                // The spec requires the member; an empty value marks an unsigned message.
                m.insert("signature".into(), Value::String(String::new()));
            }
        }
    }
    // signature first, as peers print it.
    let mut ordered = serde_json::Map::new();
    if let Value::Object(m) = env {
        if let Some(s) = m.get("signature") {
            ordered.insert("signature".into(), s.clone());
        }
        for (k, v) in m {
            if k != "signature" {
                ordered.insert(k, v);
            }
        }
    }
    conv::to_py(py, &Value::Object(ordered))
}

/// Validates an envelope (or, for kind ``"ack"``, an ack body) against the spec. ``kind``:
/// a schema name (``"SearchRequest"``), an action (``"on-search"``) or an IBR/DR endpoint
/// name (``"enrolled"``, ``"disabled"``); None = chosen from ``header.action``. Raises
/// ValidationError listing every violation (``.violations``), ``.field`` the first.
#[pyfunction]
#[pyo3(signature = (envelope, kind = None))]
pub fn validate(py: Python<'_>, envelope: &Bound<'_, PyAny>, kind: Option<&str>) -> PyResult<()> {
    let v = envelope_value(envelope)?;
    py.detach(|| match kind {
        Some(k) => model::validate_value(k, &v),
        None => model::validate_envelope_value(&v),
    })
    .py_err()
}

/// Validates a message body alone (paths start at the message: ``search_request[0]...``).
#[pyfunction]
pub fn validate_message(py: Python<'_>, kind: &str, message: &Bound<'_, PyAny>) -> PyResult<()> {
    let k: MessageKind = kind.parse().py_err()?;
    let v = conv::to_value(message, "message")?;
    py.detach(|| model::validate_message_as(k, &v)).py_err()
}

/// A dict, or JSON text (bytes or str) parsed by the core.
fn envelope_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.cast::<PyDict>().is_ok() {
        return conv::to_value(obj, "envelope");
    }
    let bytes = conv::json_bytes(obj)?;
    serde_json::from_slice(&bytes)
        .map_err(dci::Error::from)
        .py_err()
}
