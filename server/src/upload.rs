//! File uploads: the spec's `FileInfo` form (`multipart/form-data` with `action`, `fileName`
//! the file, `fileFormat` `json` (default) or `csv`) on every async and receiving endpoint.
//!
//! The file is streamed: it is cut into records as its bytes arrive, and only the record being
//! read is held (at most `--max-body` bytes; the whole file at most `--max-upload`). Each
//! record is one request envelope and goes through [`routes::process`], the path of a JSON
//! request (token, sender, signature over the record's bytes, validation, replay, ...), so
//! each is acknowledged, stored, called back and found by txn/status as if sent alone. The
//! answer lists each record by its row: accepted (with its correlation_id) or rejected (with
//! the code and message a JSON request would have got). Records (docs/spec-decisions.md):
//! - json: envelopes one after another: a JSON array of them, one per line, or one alone;
//! - csv: a header row naming the columns `signature`, `header` and `message` (the spec's
//!   "signature/header/message entities as a file record"), each cell the JSON of that part.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dci::model::{AckResponse, ErrorCode};
use serde::Serialize;
use serde_json::{json, Value};

use super::op::Op;
use super::reply::{new_id, Reject};
use super::routes::process;
use super::AppState;

/// What a record is, as far as the file goes: its bytes, or why it could not be read.
type Cut = Result<Vec<u8>, String>;

/// Cuts a JSON file into its top-level objects (in an array or not), as bytes arrive.
#[derive(Default)]
pub struct JsonRecords {
    buf: Vec<u8>,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Where the file stopped being a list of objects: nothing after it is read.
    broken: bool,
    /// Inside an object larger than the limit: its bytes are dropped until it ends.
    oversize: bool,
    array_open: bool,
}

impl JsonRecords {
    /// Feeds `chunk`; returns the records it completed.
    pub fn push(&mut self, chunk: &[u8], max: usize) -> Vec<Cut> {
        let mut out = Vec::new();
        for &b in chunk {
            if self.broken {
                break;
            }
            if self.depth == 0 {
                match b {
                    b' ' | b'\t' | b'\r' | b'\n' | b',' => {}
                    b'[' if !self.array_open => self.array_open = true,
                    b']' if self.array_open => self.array_open = false,
                    b'{' => {
                        self.depth = 1;
                        self.buf.clear();
                        self.buf.push(b);
                        self.oversize = false;
                    }
                    other => {
                        self.broken = true;
                        out.push(Err(format!(
                            "not a JSON envelope: found {:?} where an object should start; \
                             nothing after it was read",
                            other as char
                        )));
                    }
                }
                continue;
            }
            if !self.oversize {
                if self.buf.len() >= max {
                    self.oversize = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.push(b);
                }
            }
            if self.in_string {
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        out.push(if self.oversize {
                            Err(format!(
                                "the envelope exceeds the limit of {max} bytes (max_body)"
                            ))
                        } else {
                            Ok(std::mem::take(&mut self.buf))
                        });
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The end of the file: an object still open is reported.
    pub fn finish(&mut self) -> Vec<Cut> {
        if self.depth > 0 && !self.broken {
            vec![Err("the file ends inside an envelope".into())]
        } else {
            Vec::new()
        }
    }
}

/// Cuts a CSV file (RFC 4180: `,` between fields, `"` quoting with `""` inside, CRLF or LF
/// between records) into records of fields, as bytes arrive.
#[derive(Default)]
pub struct CsvRecords {
    fields: Vec<Vec<u8>>,
    field: Vec<u8>,
    size: usize,
    quoted: bool,
    /// A `"` was just read inside a quoted field: `""` or the end of the quotes.
    quote_seen: bool,
    started: bool,
}

impl CsvRecords {
    fn end_field(&mut self) {
        self.fields.push(std::mem::take(&mut self.field));
    }

    fn end_record(&mut self, max: usize) -> Option<Result<Vec<Vec<u8>>, String>> {
        self.end_field();
        let fields = std::mem::take(&mut self.fields);
        let size = std::mem::replace(&mut self.size, 0);
        self.started = false;
        // A blank line is no record.
        if fields.len() == 1 && fields[0].is_empty() {
            return None;
        }
        Some(if size > max {
            Err(format!(
                "the row exceeds the limit of {max} bytes (max_body)"
            ))
        } else {
            Ok(fields)
        })
    }

    pub fn push(&mut self, chunk: &[u8], max: usize) -> Vec<Result<Vec<Vec<u8>>, String>> {
        let mut out = Vec::new();
        for &b in chunk {
            self.size += 1;
            // Past the limit the row's bytes are not kept; it is reported at its end.
            let keep = self.size <= max;
            if self.quoted {
                if self.quote_seen {
                    self.quote_seen = false;
                    if b == b'"' {
                        if keep {
                            self.field.push(b'"');
                        }
                        continue;
                    }
                    self.quoted = false;
                } else {
                    if b == b'"' {
                        self.quote_seen = true;
                    } else if keep {
                        self.field.push(b);
                    }
                    continue;
                }
            }
            match b {
                b'"' if self.field.is_empty() => {
                    self.quoted = true;
                    self.started = true;
                }
                b',' => {
                    self.started = true;
                    self.end_field();
                }
                b'\n' => out.extend(self.end_record(max)),
                b'\r' => {}
                _ => {
                    self.started = true;
                    if keep {
                        self.field.push(b);
                    }
                }
            }
        }
        out
    }

    pub fn finish(&mut self, max: usize) -> Vec<Result<Vec<Vec<u8>>, String>> {
        if self.quoted && !self.quote_seen {
            return vec![Err("the file ends inside a quoted field".into())];
        }
        if self.started || !self.field.is_empty() || !self.fields.is_empty() {
            return self.end_record(max).into_iter().collect();
        }
        Vec::new()
    }
}

/// The envelope bytes of a CSV row, given where its `signature`, `header` and `message`
/// columns are: `{"signature": <the cell as a string>, "header": <JSON>, "message": <JSON>}`.
fn csv_envelope(row: &[Vec<u8>], cols: &[usize; 3]) -> Cut {
    let cell = |i: usize| row.get(i).map(Vec::as_slice).unwrap_or_default();
    let text = |name: &str, i: usize| {
        std::str::from_utf8(cell(i)).map_err(|_| format!("column {name}: not UTF-8"))
    };
    let signature = text("signature", cols[0])?;
    let mut out = Vec::with_capacity(row.iter().map(Vec::len).sum::<usize>() + 64);
    out.extend_from_slice(b"{\"signature\":");
    out.extend_from_slice(
        serde_json::to_string(signature)
            .unwrap_or_default()
            .as_bytes(),
    );
    for (name, i) in [("header", cols[1]), ("message", cols[2])] {
        let t = text(name, i)?.trim();
        if t.is_empty() {
            return Err(format!(
                "column {name}: empty (the JSON of the envelope's {name})"
            ));
        }
        out.extend_from_slice(format!(",\"{name}\":").as_bytes());
        out.extend_from_slice(t.as_bytes());
    }
    out.push(b'}');
    Ok(out)
}

/// The envelopes of CSV rows; the first row read is the header row, which sets `cols`.
fn csv_cuts(
    cols: &mut Option<[usize; 3]>,
    rows: Vec<Result<Vec<Vec<u8>>, String>>,
) -> Result<Vec<Cut>, Reject> {
    let mut cuts = Vec::new();
    for r in rows {
        match (&cols, r) {
            (None, Ok(head)) => {
                let find = |n: &str| {
                    head.iter()
                        .position(|h| String::from_utf8_lossy(h).trim().eq_ignore_ascii_case(n))
                };
                match (find("signature"), find("header"), find("message")) {
                    (Some(s), Some(h), Some(m)) => *cols = Some([s, h, m]),
                    _ => {
                        return Err(Reject::bad(
                            "fileName: the CSV header row must name the columns signature, header and message",
                        ))
                    }
                }
            }
            (None, Err(m)) => {
                return Err(Reject::bad(format!("fileName: the CSV header row: {m}")))
            }
            (Some(c), Ok(row)) => cuts.push(csv_envelope(&row, c)),
            (Some(_), Err(m)) => cuts.push(Err(m)),
        }
    }
    Ok(cuts)
}

/// One record's outcome in the upload's answer.
#[derive(Debug, Serialize)]
struct Accepted {
    row: usize,
    correlation_id: String,
}

#[derive(Debug, Serialize)]
struct Rejected {
    row: usize,
    code: String,
    message: String,
}

#[derive(Default)]
struct Report {
    rows: usize,
    accepted: Vec<Accepted>,
    rejected: Vec<Rejected>,
}

impl Report {
    fn bad(&mut self, row: usize, code: &str, message: impl Into<String>) {
        self.rejected.push(Rejected {
            row,
            code: code.to_string(),
            message: message.into(),
        });
    }
}

/// The format named by the form, else by the file part (its Content-Type or name), else the
/// spec's default `json`.
fn format_of(
    form: Option<&str>,
    part_type: Option<&str>,
    name: Option<&str>,
) -> Result<&'static str, String> {
    let guess = || {
        let t = part_type.unwrap_or_default().to_ascii_lowercase();
        let n = name.unwrap_or_default().to_ascii_lowercase();
        if t.contains("csv") || n.ends_with(".csv") {
            "csv"
        } else {
            "json"
        }
    };
    match form.map(|f| f.trim().to_ascii_lowercase()) {
        None => Ok(guess()),
        Some(f) if f == "json" => Ok("json"),
        Some(f) if f == "csv" => Ok("csv"),
        Some(f) => Err(format!(
            "fileFormat: {f:?} is not supported; use json or csv"
        )),
    }
}

struct Upload<'a> {
    state: &'a AppState,
    registry: &'static str,
    op: Op,
    headers: HeaderMap,
    report: Report,
}

impl Upload<'_> {
    /// Runs one record through the request path and records its outcome.
    async fn record(&mut self, cut: Cut) {
        self.report.rows += 1;
        let row = self.report.rows;
        let bytes = match cut {
            Ok(b) => b,
            Err(m) => return self.report.bad(row, ErrorCode::RequestBad.as_str(), m),
        };
        let resp = process(
            self.state,
            self.registry,
            self.op,
            &self.headers,
            &bytes,
            new_id(),
        )
        .await;
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let m = &v["message"];
        if status.is_success() && m["ack_status"] == "ACK" {
            self.report.accepted.push(Accepted {
                row,
                correlation_id: m["correlation_id"].as_str().unwrap_or_default().into(),
            });
        } else {
            let code = m["error"]["code"].as_str().unwrap_or("err.request.bad");
            let message = m["error"]["message"].as_str().unwrap_or("rejected");
            self.report.bad(row, code, message);
        }
    }
}

/// `POST` of a FileInfo form to the endpoint of `op`.
pub async fn handle(
    state: AppState,
    registry: &'static str,
    op: Op,
    headers: HeaderMap,
    body: Body,
    correlation_id: String,
) -> Response {
    let fail = |r: Reject| super::reply::rejection(r, &state, op, None, &correlation_id);
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = match multer::parse_boundary(ct) {
        Ok(b) => b,
        Err(e) => return fail(Reject::bad(format!("Content-Type: {e}"))),
    };
    let limit = state.config.max_upload_bytes;
    let max = state.config.max_body_bytes;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit as u64));
    let mut form =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut up = Upload {
        state: &state,
        registry,
        op,
        headers: headers.clone(),
        report: Report::default(),
    };
    let (mut action, mut format, mut file_name, mut seen_file) = (None, None, None, false);
    let form_error = |e: multer::Error| {
        match e {
        multer::Error::StreamSizeExceeded { .. } => Reject::bad(format!(
            "the upload exceeds the limit of {limit} bytes (max_upload); rows before the limit were processed"
        ))
        .with_status(StatusCode::PAYLOAD_TOO_LARGE.as_u16()),
        other => match super::conn::BodyTimeout::of(&other) {
            Some(t) => Reject::bad(t.to_string()).with_status(StatusCode::REQUEST_TIMEOUT.as_u16()),
            None => Reject::bad(format!("multipart/form-data: {other}")),
        },
    }
    };
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return fail(form_error(e)),
        };
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "action" | "fileFormat" => {
                let text = match field.text().await {
                    Ok(t) => t,
                    Err(e) => return fail(form_error(e)),
                };
                if name == "action" {
                    let want = op.action();
                    if text.trim() != want.as_str() {
                        return fail(Reject::bad(format!(
                            "action: {:?}; this endpoint expects {:?}",
                            text.trim(),
                            want.as_str()
                        )));
                    }
                    action = Some(text);
                } else {
                    format = Some(text);
                }
            }
            "fileName" => {
                if seen_file {
                    return fail(Reject::bad("fileName: one file per upload"));
                }
                seen_file = true;
                if action.is_none() {
                    return fail(Reject::bad(
                        "action: required before fileName (the file is processed as it streams)",
                    ));
                }
                file_name = field.file_name().map(str::to_string);
                let part_type = field.content_type().map(|m| m.to_string());
                let fmt = match format_of(
                    format.as_deref(),
                    part_type.as_deref(),
                    file_name.as_deref(),
                ) {
                    Ok(f) => f,
                    Err(m) => return fail(Reject::bad(m)),
                };
                format = Some(fmt.to_string());
                let mut json = JsonRecords::default();
                let mut csv = CsvRecords::default();
                let mut cols: Option<[usize; 3]> = None;
                loop {
                    let chunk = match field.chunk().await {
                        Ok(Some(c)) => c,
                        Ok(None) => break,
                        Err(e) => return fail(form_error(e)),
                    };
                    let cuts = if fmt == "json" {
                        json.push(&chunk, max)
                    } else {
                        match csv_cuts(&mut cols, csv.push(&chunk, max)) {
                            Ok(c) => c,
                            Err(r) => return fail(r),
                        }
                    };
                    for cut in cuts {
                        up.record(cut).await;
                    }
                }
                let cuts = if fmt == "json" {
                    json.finish()
                } else {
                    match csv_cuts(&mut cols, csv.finish(max)) {
                        Ok(c) => c,
                        Err(r) => return fail(r),
                    }
                };
                for cut in cuts {
                    up.record(cut).await;
                }
            }
            // Other form fields are not the spec's: read past them.
            _ => while let Ok(Some(_)) = field.chunk().await {},
        }
    }
    if !seen_file {
        return fail(Reject::bad(
            "fileName: required (the file part of the FileInfo form)",
        ));
    }
    answer(
        correlation_id,
        file_name,
        format.unwrap_or_default(),
        up.report,
    )
}

/// The upload's answer: the spec's Ack (`ACK` when every record was accepted, else `ERR`
/// with `err.request.bad`) with `message.upload` listing each record by row.
fn answer(
    correlation_id: String,
    file_name: Option<String>,
    format: String,
    r: Report,
) -> Response {
    let mut ack = serde_json::to_value(AckResponse::ack(&correlation_id)).unwrap_or_default();
    let all = r.rejected.is_empty() && r.rows > 0;
    if !all {
        let first = r
            .rejected
            .first()
            .map(|b| format!("; row {}: {}", b.row, b.message))
            .unwrap_or_default();
        let summary = if r.rows == 0 {
            "the file holds no records".to_string()
        } else {
            format!("{} of {} rows rejected{first}", r.rejected.len(), r.rows)
        };
        ack["message"]["ack_status"] = json!("ERR");
        ack["message"]["error"] = json!({"code": ErrorCode::RequestBad.as_str(),
            "message": super::reply::truncate(&summary, dci::model::MAX_MESSAGE_LEN)});
    }
    ack["message"]["upload"] = json!({
        "file_name": file_name, "file_format": format, "rows": r.rows,
        "accepted": r.accepted, "rejected": r.rejected,
    });
    (StatusCode::OK, axum::Json(ack)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut_all(text: &str, chunk: usize, max: usize) -> Vec<Cut> {
        let mut j = JsonRecords::default();
        let mut out = Vec::new();
        for c in text.as_bytes().chunks(chunk) {
            out.extend(j.push(c, max));
        }
        out.extend(j.finish());
        out
    }

    #[test]
    fn json_files_are_cut_into_envelopes_at_any_chunk_size() {
        let text = r#"[ {"a": "x}{\"", "b": [1, {"c": 2}]},
 {"d": 3} ]"#;
        for chunk in [1, 2, 7, 1000] {
            let got: Vec<String> = cut_all(text, chunk, 1000)
                .into_iter()
                .map(|c| String::from_utf8(c.unwrap()).unwrap())
                .collect();
            assert_eq!(
                got,
                [r#"{"a": "x}{\"", "b": [1, {"c": 2}]}"#, r#"{"d": 3}"#]
            );
        }
        // One per line, and a lone envelope.
        assert_eq!(cut_all("{\"a\":1}\n{\"b\":2}\n", 3, 100).len(), 2);
        let too_big = cut_all(r#"{"a": "0123456789"} {"b": 1} 7 {"c": 1}"#, 4, 12);
        assert_eq!(
            too_big[0],
            Err("the envelope exceeds the limit of 12 bytes (max_body)".into())
        );
        assert_eq!(too_big[1], Ok(br#"{"b": 1}"#.to_vec()));
        assert!(too_big[2]
            .as_ref()
            .unwrap_err()
            .starts_with("not a JSON envelope: found '7'"));
        assert_eq!(too_big.len(), 3);
        assert_eq!(
            cut_all(r#"{"a": 1"#, 2, 100),
            [Err("the file ends inside an envelope".into())]
        );
    }

    #[test]
    fn csv_rows_follow_rfc_4180() {
        let text =
            "signature,header,message\r\n\"\",\"{\"\"a\"\":1}\",\"{\"\"b\"\":\n2}\"\n\nx,y,z";
        for chunk in [1, 3, 1000] {
            let mut c = CsvRecords::default();
            let mut rows = Vec::new();
            for part in text.as_bytes().chunks(chunk) {
                rows.extend(c.push(part, 1000));
            }
            rows.extend(c.finish(1000));
            let rows: Vec<Vec<String>> = rows
                .into_iter()
                .map(|r| {
                    r.unwrap()
                        .into_iter()
                        .map(|f| String::from_utf8(f).unwrap())
                        .collect()
                })
                .collect();
            assert_eq!(
                rows,
                [
                    vec!["signature", "header", "message"],
                    vec!["", "{\"a\":1}", "{\"b\":\n2}"],
                    vec!["x", "y", "z"]
                ]
            );
        }
        let env = csv_envelope(
            &[
                b"sig\"1".to_vec(),
                b" {\"h\":1} ".to_vec(),
                b"{\"m\":2}".to_vec(),
            ],
            &[0, 1, 2],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(env).unwrap(),
            r#"{"signature":"sig\"1","header":{"h":1},"message":{"m":2}}"#
        );
        assert_eq!(
            csv_envelope(&[b"".to_vec(), b"".to_vec()], &[0, 1, 2]),
            Err("column header: empty (the JSON of the envelope's header)".into())
        );
    }
}
