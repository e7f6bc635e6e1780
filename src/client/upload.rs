//! File uploads (the spec's `FileInfo`, `multipart/form-data`): many request envelopes in one
//! file, which the registry admits one by one and reports by row (docs/client.md, "Uploads";
//! the file layouts are in docs/spec-decisions.md).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `fileFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Envelopes one after another: a JSON array, one per line, or one alone.
    Json,
    /// A header row naming `signature`, `header`, `message`; each cell that part's JSON (the
    /// signature as its string).
    Csv,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Json => "json",
            FileFormat::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<FileFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Some(FileFormat::Json),
            "csv" => Some(FileFormat::Csv),
            _ => None,
        }
    }
}

/// A row the registry accepted: its request is acknowledged and answered by callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadAccepted {
    /// From 1 (for csv, after the header row).
    pub row: usize,
    pub correlation_id: String,
}

/// A row the registry refused, with the code and message a single request would have got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRejected {
    pub row: usize,
    pub code: String,
    pub message: String,
}

/// The registry's answer to an upload (`message.upload` of its Ack).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadReport {
    /// `ACK` when every row was accepted, else `ERR`.
    pub ack_status: String,
    pub correlation_id: String,
    #[serde(default)]
    pub file_name: Option<String>,
    pub file_format: String,
    pub rows: usize,
    pub accepted: Vec<UploadAccepted>,
    pub rejected: Vec<UploadRejected>,
}

impl UploadReport {
    /// The report in a registry's answer (None when the answer has none).
    pub fn from_ack(ack: &Value) -> Option<UploadReport> {
        let m = ack.get("message")?;
        let mut up = m.get("upload")?.clone();
        let o = up.as_object_mut()?;
        o.insert("ack_status".into(), m.get("ack_status")?.clone());
        o.insert(
            "correlation_id".into(),
            m.get("correlation_id").cloned().unwrap_or_default(),
        );
        serde_json::from_value(up).ok()
    }
}

/// The `multipart/form-data` body of a FileInfo form: `action`, `fileFormat`, then the file
/// (the registry reads the file as it streams, so the fields come first).
pub(crate) fn form<R: std::io::Read + Send + 'static>(
    action: &str,
    format: FileFormat,
    file_name: &str,
    file: R,
) -> crate::Result<reqwest::blocking::multipart::Form> {
    let mime = match format {
        FileFormat::Json => "application/json",
        FileFormat::Csv => "text/csv",
    };
    let part = reqwest::blocking::multipart::Part::reader(file)
        .file_name(file_name.to_string())
        .mime_str(mime)
        .map_err(|e| crate::Error::Internal(format!("upload part type {mime}: {e}")))?;
    Ok(reqwest::blocking::multipart::Form::new()
        .text("action", action.to_string())
        .text("fileFormat", format.as_str())
        .part("fileName", part))
}
