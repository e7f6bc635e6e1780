//! What the checks share: the registry and our identity, sending (token, signing, the
//! library's transport), verifying against the registry's JWKS, and what an answer, an ACK, a
//! callback and a refusal must be.

use std::cell::RefCell;
use std::time::Duration;

use dci::client::request::{self, Ids};
use dci::client::transport::Transport;
use dci::client::{DCIClient, DataSource, SearchSpec};
use dci::keys::{Algorithm, Jwks, VerifyingKey};
use dci::signature::{self, KeyResolver, Signer, VerifyOptions};
use serde_json::{json, Value};

use super::openapi::Spec;
use super::receiver::{Callback, Receiver};
use super::Registry;

/// What the checks share: the registry, our identity, the transport and the receiver.
pub struct Ctx {
    pub base: String,
    pub registry: Registry,
    pub spec: &'static Spec,
    pub ds: DataSource,
    pub client: DCIClient,
    pub transport: Transport,
    pub signer: Signer,
    pub rx: Receiver,
    pub id_type: String,
    pub id_value: String,
    pub range_attr: String,
    pub event_type: Option<String>,
    pub callback_timeout: Duration,
    pub notify_trigger: Option<String>,
    pub unsigned_allowed: bool,
    pub token_url: Option<String>,
    pub jwks_url: Option<String>,
    pub state: RefCell<State>,
}

/// Values found by one check that later ones reuse (each check still works alone).
#[derive(Default)]
pub struct State {
    token: Option<Result<String, String>>,
    /// The token endpoint that gave it.
    pub token_endpoint: Option<String>,
    jwks: Option<Result<Jwks, String>>,
    pub subscription: Option<String>,
}

/// An HTTP answer as received.
pub struct Answer {
    pub status: u16,
    pub bytes: Vec<u8>,
    pub body: Value,
}

impl Answer {
    pub fn brief(&self) -> String {
        let e = &self.body["message"]["error"];
        if e.is_object() {
            return format!("HTTP {} {} {}", self.status, e["code"], e["message"]);
        }
        let s = String::from_utf8_lossy(&self.bytes);
        let cut: String = s.chars().take(300).collect();
        format!("HTTP {} {cut}", self.status)
    }
}

/// How a request authenticates.
#[derive(Clone, Copy, PartialEq)]
pub enum Auth {
    Token,
    None,
    Bogus,
}

/// The paths of the callbacks, as the spec names them.
pub fn callback_path(action: &str) -> &'static str {
    match action {
        "search" => "/registry/on-search",
        "subscribe" => "/registry/on-subscribe",
        "unsubscribe" => "/registry/on-unsubscribe",
        _ => "/registry/txn/on-status",
    }
}

pub fn origin(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    let mut o = format!("{}://{}", u.scheme(), u.host_str()?);
    if let Some(p) = u.port() {
        o.push_str(&format!(":{p}"));
    }
    Some(o)
}

/// Finds the registry's key by the signature's kid: the whole kid, else its key id part
/// (registries publish either).
struct ByKid<'a>(&'a Jwks);

impl KeyResolver for ByKid<'_> {
    fn resolve(&self, kid: Option<&str>, alg: Algorithm) -> dci::Result<VerifyingKey> {
        if let Some(k) = kid {
            if let Some(key) = self.0.find(k) {
                return Ok(key.clone());
            }
            if let Some(key) = k.split('|').nth(1).and_then(|id| self.0.find(id)) {
                return Ok(key.clone());
            }
        }
        self.0.resolve(kid, alg)
    }
}

impl Ctx {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The bearer token, fetched once through the library client (at `--token-url`, else
    /// under the URL, else at its origin).
    pub fn token(&self) -> Result<String, String> {
        if let Some(t) = &self.state.borrow().token {
            return t.clone();
        }
        let mut endpoint = match &self.token_url {
            Some(u) if u.starts_with('/') => self.url(u),
            Some(u) => u.clone(),
            None => self.url("/oauth2/client/token"),
        };
        let mut got = self.client.oauth2_token().map_err(|e| e.to_string());
        if got.is_err() && self.token_url.is_none() {
            if let Some(o) = origin(&self.base).filter(|o| *o != self.base) {
                let at_origin = format!("{o}/oauth2/client/token");
                let mut ds = self.ds.clone();
                if let dci::client::AuthConfig::OAuth2 { token_url, .. } = &mut ds.auth {
                    *token_url = Some(at_origin.clone());
                }
                if let Ok(Ok(t)) = DCIClient::new(ds).map(|c| c.oauth2_token()) {
                    got = Ok(t);
                    endpoint = at_origin;
                }
            }
        }
        let t = got.and_then(|t| t.ok_or_else(|| "no OAuth2 token".to_string()));
        let mut st = self.state.borrow_mut();
        st.token = Some(t.clone());
        st.token_endpoint = Some(endpoint);
        t
    }

    /// The registry's JWKS, fetched once.
    pub fn jwks(&self) -> Result<Jwks, String> {
        if let Some(j) = &self.state.borrow().jwks {
            return j.clone();
        }
        let mut urls = Vec::new();
        match &self.jwks_url {
            Some(u) if u.starts_with('/') => urls.push(self.url(u)),
            Some(u) => urls.push(u.clone()),
            None => {
                urls.push(self.url("/.well-known/jwks.json"));
                if let Some(o) = origin(&self.base).filter(|o| *o != self.base) {
                    urls.push(format!("{o}/.well-known/jwks.json"));
                }
            }
        }
        let mut why = Vec::new();
        let mut found = None;
        for u in &urls {
            match self.transport.get(u) {
                Ok(r) if r.status == 200 => {
                    let parsed = serde_json::from_slice::<Value>(&r.body)
                        .map_err(|e| format!("{u}: not JSON: {e}"))
                        .and_then(|v| Jwks::from_json(&v).map_err(|e| format!("{u}: {e}")));
                    match parsed {
                        Ok(j) if j.keys.is_empty() => why.push(format!("{u}: no signing key")),
                        Ok(j) => {
                            found = Some(j);
                            break;
                        }
                        Err(e) => why.push(e),
                    }
                }
                Ok(r) => why.push(format!("{u}: HTTP {}", r.status)),
                Err(e) => why.push(format!("{u}: {e}")),
            }
        }
        let j = found.ok_or_else(|| format!("no JWKS: {}", why.join("; ")));
        self.state.borrow_mut().jwks = Some(j.clone());
        j
    }

    /// Verifies a signed answer over the bytes received.
    pub fn verify(&self, bytes: &[u8]) -> Result<String, String> {
        let jwks = self.jwks()?;
        let v = signature::verify_bytes(bytes, &ByKid(&jwks), &VerifyOptions::default()).map_err(
            |e| format!("the answer's signature does not verify against the registry's JWKS: {e}"),
        )?;
        Ok(v.kid.unwrap_or_default())
    }

    /// The unsigned envelope of a request: header in the spec's form, `sender_uri` to our
    /// receiver for the async actions.
    pub fn envelope(&self, action: &str, message: Value, async_: bool) -> Value {
        let ids = Ids::fresh();
        let mut header = request::request_header(&self.ds, action, &ids, 1);
        if async_ {
            header["sender_uri"] = json!(format!("{}{}", self.rx.base, callback_path(action)));
        }
        json!({"signature": "", "header": header, "message": message})
    }

    pub fn sign(&self, env: &mut Value) -> Result<(), String> {
        self.signer
            .sign_value(env, None)
            .map_err(|e| format!("signing: {e}"))
    }

    pub fn search_message(&self, spec: &SearchSpec) -> Result<Value, String> {
        let mut ids = Ids::fresh();
        let m = request::search_request(&self.ds, spec, &mut ids).map_err(|e| e.to_string())?;
        serde_json::to_value(m).map_err(|e| e.to_string())
    }

    pub fn by_id(&self) -> SearchSpec {
        SearchSpec::by_id(&self.id_type, &self.id_value).page(1, 10)
    }

    pub fn range(&self) -> SearchSpec {
        SearchSpec::date_range(&self.range_attr, "1900-01-01", "2100-12-31")
    }

    /// A signed search envelope of `spec`.
    pub fn signed_search(&self, spec: &SearchSpec, async_: bool) -> Result<Value, String> {
        let mut env = self.envelope("search", self.search_message(spec)?, async_);
        self.sign(&mut env)?;
        Ok(env)
    }

    pub fn post(&self, path: &str, body: &[u8], auth: Auth) -> Result<Answer, String> {
        let bearer = match auth {
            Auth::Token => Some(format!("Bearer {}", self.token()?)),
            Auth::Bogus => Some("Bearer invalid-token".to_string()),
            Auth::None => None,
        };
        let url = self.url(path);
        let r = self
            .transport
            .post_json(&url, body, bearer.as_deref(), None)
            .map_err(|e| format!("POST {url}: {e}"))?;
        let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        Ok(Answer {
            status: r.status,
            bytes: r.body,
            body,
        })
    }

    pub fn post_env(&self, path: &str, env: &Value) -> Result<Answer, String> {
        let bytes = serde_json::to_vec(env).map_err(|e| e.to_string())?;
        self.post(path, &bytes, Auth::Token)
    }

    /// The answer's schema violations for `POST path` with its status.
    pub fn schema(&self, path: &str, a: &Answer) -> Result<(), String> {
        if !a.body.is_object() {
            return Err(format!("the answer is not a JSON object: {}", a.brief()));
        }
        let Some(s) = self.spec.response_schema(path, a.status) else {
            return Ok(());
        };
        schema_result(self.spec.validate(s, &a.body), "answer")
    }

    /// A sync answer: HTTP 200, valid against the spec, signed and verified, the reply action,
    /// our transaction id, and not rejected.
    pub fn expect_sync(
        &self,
        path: &str,
        sent: &Value,
        a: &Answer,
        action: &str,
    ) -> Result<String, String> {
        if a.status != 200 {
            return Err(format!("want HTTP 200; got {}", a.brief()));
        }
        self.schema(path, a)?;
        if signature::is_missing(a.body["signature"].as_str()) {
            return Err("the sync answer is not signed".into());
        }
        let kid = self.verify(&a.bytes)?;
        let h = &a.body["header"];
        if h["action"] != action {
            return Err(format!("header.action is {}, want {action:?}", h["action"]));
        }
        if h["status"] == "rjct" {
            return Err(format!(
                "the answer is a rejection: {}",
                h["status_reason_code"]
            ));
        }
        ids_match(&a.body, sent, None)?;
        receiver_is_us(h, &self.ds.our_sender_id)?;
        Ok(format!("signed ({kid}), {action}, valid against the spec"))
    }

    /// An async answer: HTTP 200/202, the spec's Ack with ACK and a correlation id; verified
    /// if signed.
    pub fn expect_ack(&self, path: &str, a: &Answer) -> Result<String, String> {
        if a.status != 200 && a.status != 202 {
            return Err(format!(
                "want HTTP 200 or 202 with an ACK; got {}",
                a.brief()
            ));
        }
        self.schema(path, a)?;
        if !signature::is_missing(a.body["signature"].as_str()) {
            self.verify(&a.bytes)?;
        }
        let m = &a.body["message"];
        if m["ack_status"] != "ACK" {
            return Err(format!("want ack_status ACK; got {}", a.brief()));
        }
        m["correlation_id"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("the ACK has no correlation_id: {}", a.brief()))
    }

    /// Waits for the callback of `action` for `sent`, and checks it: signed and verified,
    /// valid against the spec's schema of the callback endpoint, its action, our transaction
    /// id and the ACK's correlation id.
    pub fn expect_callback(
        &self,
        action: &str,
        sent: &Value,
        corr: &str,
    ) -> Result<(Callback, String), String> {
        let reply = reply_action(action);
        let txn = sent["message"]["transaction_id"].clone();
        let cb = self
            .rx
            .wait(self.callback_timeout, |c| {
                c.body["message"]["transaction_id"] == txn
            })
            .ok_or_else(|| {
                format!(
                    "no callback for transaction {txn} within {} s; received: {:?}",
                    self.callback_timeout.as_secs(),
                    self.rx.seen()
                )
            })?;
        let path = callback_path(action);
        if !cb.path.ends_with(path.trim_start_matches("/registry")) {
            return Err(format!(
                "the callback went to {}, want .../{}",
                cb.path,
                path.rsplit('/').next().unwrap_or(path)
            ));
        }
        if let Some(s) = self.spec.request_schema(path) {
            schema_result(self.spec.validate(s, &cb.body), "callback")?;
        }
        if signature::is_missing(cb.body["signature"].as_str()) {
            return Err("the callback is not signed".into());
        }
        let kid = self
            .verify(&cb.bytes)
            .map_err(|e| format!("callback: {e}"))?;
        if cb.body["header"]["action"] != reply {
            return Err(format!(
                "callback header.action is {}, want {reply:?}",
                cb.body["header"]["action"]
            ));
        }
        ids_match(&cb.body, sent, Some(corr))?;
        receiver_is_us(&cb.body["header"], &self.ds.our_sender_id)?;
        Ok((
            cb,
            format!("ACK, then {reply} signed ({kid}), valid against the spec"),
        ))
    }

    /// A refusal: HTTP 4xx (or 200 with ERR/NACK, a rjct header or rjct items), valid
    /// against the spec for its status, verified if signed, carrying one of `codes` (any
    /// code when `codes` is empty).
    pub fn expect_reject(&self, path: &str, a: &Answer, codes: &[&str]) -> Result<String, String> {
        if a.status >= 500 {
            return Err(format!("server error instead of a refusal: {}", a.brief()));
        }
        let found = codes_of(&a.body);
        let refused = (400..500).contains(&a.status)
            || matches!(
                a.body["message"]["ack_status"].as_str(),
                Some("ERR" | "NACK")
            )
            || a.body["header"]["status"] == "rjct"
            || items_rejected(&a.body);
        if !refused {
            return Err(format!("not refused: {}", a.brief()));
        }
        if a.body.is_object() {
            // A refusal is the endpoint's answer for its status or, for a status the
            // endpoint does not list, the spec's generic Ack with an error.
            if let Err(e) = self.schema(path, a) {
                let ack_ok = self
                    .spec
                    .ack_schema()
                    .is_some_and(|s| self.spec.validate(s, &a.body).is_empty());
                if !ack_ok {
                    return Err(e);
                }
            }
            if !signature::is_missing(a.body["signature"].as_str()) {
                self.verify(&a.bytes)?;
            }
        }
        if !codes.is_empty() && !found.iter().any(|c| codes.contains(&c.as_str())) {
            return Err(format!(
                "refused (HTTP {}), but with {found:?}, want one of {codes:?}: {}",
                a.status,
                a.brief()
            ));
        }
        Ok(format!("HTTP {} {}", a.status, found.join(" ")))
    }
}

pub fn schema_result(v: Vec<String>, what: &str) -> Result<(), String> {
    if v.is_empty() {
        Ok(())
    } else {
        let n = v.len();
        let shown: Vec<String> = v.into_iter().take(5).collect();
        Err(format!(
            "the {what} is not valid against the spec ({n} violation(s)): {}",
            shown.join("; ")
        ))
    }
}

/// The reply action of a request action.
pub fn reply_action(action: &str) -> &'static str {
    match action {
        "search" => "on-search",
        "subscribe" => "on-subscribe",
        "unsubscribe" => "on-unsubscribe",
        _ => "txn-on-status",
    }
}

/// message.transaction_id is ours, correlation_id present (and the ACK's, when given).
pub fn ids_match(got: &Value, sent: &Value, corr: Option<&str>) -> Result<(), String> {
    let want = &sent["message"]["transaction_id"];
    let m = &got["message"];
    if &m["transaction_id"] != want {
        return Err(format!(
            "message.transaction_id is {}, want {want}",
            m["transaction_id"]
        ));
    }
    match (m["correlation_id"].as_str(), corr) {
        (None, _) | (Some(""), _) => Err("message.correlation_id is missing".into()),
        (Some(c), Some(w)) if c != w => Err(format!(
            "message.correlation_id is {c:?}, the ACK's was {w:?}"
        )),
        _ => Ok(()),
    }
}

pub fn receiver_is_us(h: &Value, us: &str) -> Result<(), String> {
    match h["receiver_id"].as_str() {
        Some(r) if r != us => Err(format!("header.receiver_id is {r:?}, we are {us:?}")),
        _ => Ok(()),
    }
}

pub fn items_rejected(b: &Value) -> bool {
    ["search_response", "subscribe_response"].iter().any(|k| {
        b["message"][*k]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|i| i["status"] == "rjct"))
    })
}

/// Every DCI code in a refusal: message.error.code, header.status_reason_code, errors[].code
/// and the items' status_reason_code.
pub fn codes_of(b: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |v: &Value| {
        if let Some(s) = v.as_str() {
            if !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        }
    };
    push(&b["message"]["error"]["code"]);
    push(&b["header"]["status_reason_code"]);
    for e in b["errors"].as_array().into_iter().flatten() {
        push(&e["code"]);
    }
    for k in ["search_response", "subscribe_response"] {
        for i in b["message"][k].as_array().into_iter().flatten() {
            push(&i["status_reason_code"]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_from_every_place_a_refusal_puts_them() {
        let b = json!({
            "header": {"status": "rjct", "status_reason_code": "rjct.message_ts.invalid"},
            "message": {"ack_status": "ERR", "error": {"code": "err.request.bad"}},
            "errors": [{"code": "rjct.message_ts.invalid"}, {"code": "x.y"}],
        });
        assert_eq!(
            codes_of(&b),
            ["err.request.bad", "rjct.message_ts.invalid", "x.y"]
        );
        let items = json!({"message": {"search_response": [
            {"status": "rjct", "status_reason_code": "rjct.sort.invalid"}]}});
        assert_eq!(codes_of(&items), ["rjct.sort.invalid"]);
        assert!(items_rejected(&items));
        let mixed =
            json!({"message": {"search_response": [{"status": "rjct"}, {"status": "succ"}]}});
        assert!(!items_rejected(&mixed));
    }

    #[test]
    fn answers_must_carry_our_transaction_and_the_acks_correlation() {
        let sent = json!({"message": {"transaction_id": "t1"}});
        let ok = json!({"message": {"transaction_id": "t1", "correlation_id": "c1"}});
        assert!(ids_match(&ok, &sent, Some("c1")).is_ok());
        let e = ids_match(&ok, &sent, Some("c2")).unwrap_err();
        assert_eq!(e, "message.correlation_id is \"c1\", the ACK's was \"c2\"");
        let other = json!({"message": {"transaction_id": "t2", "correlation_id": "c1"}});
        assert_eq!(
            ids_match(&other, &sent, None).unwrap_err(),
            "message.transaction_id is \"t2\", want \"t1\""
        );
        assert!(receiver_is_us(&json!({"receiver_id": "me"}), "me").is_ok());
        assert!(receiver_is_us(&json!({"receiver_id": "you"}), "me").is_err());
    }

    #[test]
    fn origin_drops_the_path() {
        assert_eq!(
            origin("http://127.0.0.1:8080/social").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            origin("https://r.example.org/api/v1").as_deref(),
            Some("https://r.example.org")
        );
    }
}
