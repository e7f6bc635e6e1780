//! `dci envelope search`: print a ready search request envelope (unsigned; pipe it to `dci sign`).

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{CmdResult, Failure};

#[derive(Subcommand, Debug)]
pub enum EnvelopeCommand {
    /// A search request for one idtype-value, predicate or expression query.
    Search(SearchArgs),
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("query").required(true).args(["idtype", "predicate", "expression"])))]
pub struct SearchArgs {
    /// Identifier type of an idtype-value query (UIN, BRN, ...); needs --value.
    #[arg(long, requires = "value")]
    pub idtype: Option<String>,
    /// Identifier value of an idtype-value query.
    #[arg(long, requires = "idtype")]
    pub value: Option<String>,
    /// A predicate query: a JSON array of {seq_num, expression1, condition, expression2}.
    #[arg(long)]
    pub predicate: Option<String>,
    /// An expression query: a JSON object (or a JSON string for other grammars).
    #[arg(long)]
    pub expression: Option<String>,
    /// Registry type (search_criteria.reg_type).
    #[arg(long)]
    pub reg_type: Option<String>,
    /// Record type (search_criteria.reg_record_type).
    #[arg(long)]
    pub reg_record_type: Option<String>,
    /// header.sender_id.
    #[arg(long, default_value = "dci-cli")]
    pub sender_id: String,
    /// header.sender_uri (callback for async search).
    #[arg(long)]
    pub sender_uri: Option<String>,
    /// header.receiver_id.
    #[arg(long)]
    pub receiver_id: Option<String>,
    /// search_request[0].locale (ISO 639-3).
    #[arg(long, default_value = "eng")]
    pub locale: String,
    /// pagination.page_size.
    #[arg(long)]
    pub page_size: Option<u64>,
}

pub fn run(cmd: EnvelopeCommand) -> CmdResult {
    match cmd {
        EnvelopeCommand::Search(args) => {
            let env = search(&args, chrono::Utc::now())?;
            let text =
                serde_json::to_string_pretty(&env).map_err(|e| Failure::usage(e.to_string()))?;
            println!("{text}");
            Ok(())
        }
    }
}

fn parse_json(flag: &str, text: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::usage(format!("--{flag} is not JSON: {e}")))
}

/// The search request envelope for these arguments at `now`.
pub fn search(args: &SearchArgs, now: chrono::DateTime<chrono::Utc>) -> Result<Value, Failure> {
    let (query_type, query) = match (&args.idtype, &args.value, &args.predicate, &args.expression) {
        (Some(t), Some(v), None, None) => ("idtype-value", json!({"type": t, "value": v})),
        (None, None, Some(p), None) => {
            let q = parse_json("predicate", p)?;
            if !q.is_array() {
                return Err(Failure::usage(
                    "--predicate must be a JSON array of predicate items",
                ));
            }
            ("predicate", q)
        }
        (None, None, None, Some(x)) => ("expression", parse_json("expression", x)?),
        _ => {
            return Err(Failure::usage(
                "give exactly one query: --idtype with --value, --predicate or --expression",
            ))
        }
    };
    let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut criteria = json!({"version": "1.0.0"});
    if let Some(r) = &args.reg_type {
        criteria["reg_type"] = json!(r);
    }
    if let Some(r) = &args.reg_record_type {
        criteria["reg_record_type"] = json!(r);
    }
    criteria["query_type"] = json!(query_type);
    criteria["query"] = query;
    if let Some(size) = args.page_size {
        if size == 0 {
            return Err(Failure::usage("--page-size must be at least 1"));
        }
        criteria["pagination"] = json!({"page_size": size, "page_number": 1});
    }
    let mut header = json!({
        "version": "1.0.0",
        "message_id": uuid::Uuid::new_v4().to_string(),
        "message_ts": ts,
        "action": "search",
        "sender_id": args.sender_id,
    });
    if let Some(uri) = &args.sender_uri {
        header["sender_uri"] = json!(uri);
    }
    if let Some(r) = &args.receiver_id {
        header["receiver_id"] = json!(r);
    }
    header["total_count"] = json!(1);
    header["is_msg_encrypted"] = json!(false);
    Ok(json!({
        "signature": "",
        "header": header,
        "message": {
            "transaction_id": uuid::Uuid::new_v4().to_string(),
            "search_request": [{
                "reference_id": uuid::Uuid::new_v4().to_string(),
                "timestamp": ts,
                "search_criteria": criteria,
                "locale": args.locale,
            }],
        },
    }))
}
