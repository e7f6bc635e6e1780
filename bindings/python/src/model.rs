//! Messages: build request envelopes and search requests, validate against the spec
//! (dci::model). Results are dicts shaped like the wire JSON.

use dci::model::{self, DciMessage, Envelope, HeaderBuilder, MessageKind, SearchRequestBuilder};
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

/// Builds a request envelope ``{"signature", "header", "message"}`` for ``action``
/// (``"search"``, ``"subscribe"``, ``"unsubscribe"``, ``"txn-status"``, ``"notify"``, ...)
/// around ``message`` (a dict). ``total_count`` defaults to the message's item count;
/// ``message_id`` and ``message_ts`` are generated unless given. The envelope is
/// validated for the registry API's actions. With ``signer`` the envelope
/// is signed (at ``now``, unix seconds, for tests); else ``signature`` is ``""``.
#[pyfunction]
#[pyo3(signature = (action, message, *, sender_id, receiver_id = None, sender_uri = None,
    message_id = None, message_ts = None, total_count = None, meta = None, signer = None,
    now = None))]
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
) -> PyResult<Bound<'py, PyAny>> {
    let message = conv::to_value(message, "message")?;
    let mut h = HeaderBuilder::new(action).sender_id(sender_id);
    set_given!(h: receiver_id, sender_uri, message_id, message_ts);
    if let Some(v) = meta {
        h = h.meta(conv::to_value(v, "meta")?);
    }
    let count = match total_count {
        Some(n) => n,
        None => item_count(MessageKind::from_action(action), &message)? as i64,
    };
    h = h.total_count(count);
    let header = h.build().py_err()?;
    let mut env = Envelope::new(header, message).to_value().py_err()?;
    if let Some(kind) = MessageKind::from_action(action) {
        model::validate_envelope_as(kind, &env).py_err()?;
    }
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
