//! The results of a run: the terminal table, the JSON report and the self-contained HTML page.

use serde::Serialize;
use serde_json::json;

/// pass, fail or skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub status: Status,
    /// Why it failed or was skipped; for a pass, what was seen.
    pub reason: String,
    pub ms: u64,
}

/// What was run against what.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub url: String,
    pub registry: String,
    pub profile: String,
    pub sender_id: String,
    pub started: String,
    pub tool: String,
}

pub fn counts(results: &[CheckResult]) -> (usize, usize, usize) {
    let n = |s| results.iter().filter(|r| r.status == s).count();
    (n(Status::Pass), n(Status::Fail), n(Status::Skip))
}

/// The terminal table: id, result with the reason, time.
pub fn table(results: &[CheckResult]) -> String {
    let idw = results.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    let mut out = format!("{:idw$}  {:6}  {:>7}  reason\n", "id", "result", "ms");
    for r in results {
        let reason = one_line(&r.reason, 160);
        out.push_str(&format!(
            "{:idw$}  {:6}  {:>7}  {reason}\n",
            r.id,
            r.status.name(),
            r.ms
        ));
    }
    let (p, f, s) = counts(results);
    out.push_str(&format!("\n{p} passed, {f} failed, {s} skipped\n"));
    out
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > max {
        format!("{}...", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

pub fn to_json(info: &RunInfo, results: &[CheckResult]) -> serde_json::Value {
    let (p, f, s) = counts(results);
    json!({
        "run": info,
        "summary": {"pass": p, "fail": f, "skip": s, "total": results.len()},
        "checks": results,
    })
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// One HTML file with its style inline: no script, font or image from elsewhere.
pub fn to_html(info: &RunInfo, results: &[CheckResult]) -> String {
    let (p, f, s) = counts(results);
    let mut rows = String::new();
    for r in results {
        rows.push_str(&format!(
            "<tr class=\"{st}\"><td><code>{id}</code></td><td>{title}</td><td class=\"st\">{st}</td><td>{ms}</td><td>{reason}</td></tr>\n",
            st = r.status.name(),
            id = esc(&r.id),
            title = esc(&r.title),
            ms = r.ms,
            reason = esc(&r.reason),
        ));
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DCI conformance: {url}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .35em .6em; text-align: left; vertical-align: top; }}
td:last-child {{ word-break: break-word; }}
tr.pass .st {{ color: #176f2c; font-weight: bold; }}
tr.fail {{ background: #fdecea; }}
tr.fail .st {{ color: #b3261e; font-weight: bold; }}
tr.skip .st {{ color: #7a6a00; }}
.summary span {{ margin-right: 1.5em; }}
</style></head><body>
<h1>DCI conformance report</h1>
<p>Registry <code>{url}</code> ({registry}), signature profile {profile}, sender <code>{sender}</code>, started {started}, {tool}.</p>
<p class="summary"><span>{p} passed</span><span>{f} failed</span><span>{s} skipped</span></p>
<table><thead><tr><th>id</th><th>check</th><th>result</th><th>ms</th><th>reason</th></tr></thead>
<tbody>
{rows}</tbody></table>
</body></html>
"#,
        url = esc(&info.url),
        registry = esc(&info.registry),
        profile = esc(&info.profile),
        sender = esc(&info.sender_id),
        started = esc(&info.started),
        tool = esc(&info.tool),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (RunInfo, Vec<CheckResult>) {
        let info = RunInfo {
            url: "http://r.example/<x>".into(),
            registry: "crvs".into(),
            profile: "spdci".into(),
            sender_id: "s".into(),
            started: "2025-01-01T00:00:00Z".into(),
            tool: "dci 0.1.0".into(),
        };
        let results = vec![
            CheckResult {
                id: "a.b".into(),
                title: "A".into(),
                status: Status::Pass,
                reason: String::new(),
                ms: 3,
            },
            CheckResult {
                id: "c".into(),
                title: "C".into(),
                status: Status::Fail,
                reason: "bad <b>".into(),
                ms: 12,
            },
        ];
        (info, results)
    }

    #[test]
    fn html_is_escaped_and_self_contained() {
        let (info, results) = sample();
        let h = to_html(&info, &results);
        assert!(h.contains("bad &lt;b&gt;"));
        assert!(h.contains("http://r.example/&lt;x&gt;"));
        assert!(!h.contains("<script") && !h.contains("<link") && !h.contains("src="));
    }

    #[test]
    fn table_and_json_count_each_result() {
        let (info, results) = sample();
        let t = table(&results);
        assert!(t.contains("1 passed, 1 failed, 0 skipped"), "{t}");
        let j = to_json(&info, &results);
        assert_eq!(j["summary"]["fail"], 1);
        assert_eq!(j["checks"][1]["status"], "fail");
        assert_eq!(j["checks"][1]["id"], "c");
    }
}
