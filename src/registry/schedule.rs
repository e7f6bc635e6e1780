//! Scheduled notifications: a subscription's `subscribe_criteria.frequency` (the spec's
//! `EventFrequency {start_time, end_time, frequency}`).
//!
//! The spec calls `frequency` "a cron expression" and gives the Quartz example
//! `0 0 0 5,15 * ? *` (seconds, minutes, hours, day of month, month, day of week, optional
//! year; `?` for "any"; days of week 1-7 = SUN-SAT). That is the grammar of the `cron` crate,
//! so expressions are read by it unchanged. `start_time` and `end_time` are the window: an
//! event outside it is dropped (docs/spec-decisions.md, "Scheduled notifications").
//!
//! Events inside the window wait in the store (the subscription's pending batch, written in
//! the transaction of the change that caused them) and go out as one notify at the first
//! tick of the expression after the batch's oldest event; a batch whose next tick falls after
//! `end_time` goes out at `end_time`, so no event of the window is lost. Whether a batch is
//! due depends only on what the store holds and the clock, so a restart resumes the schedule.

use std::str::FromStr;

use crate::model::Frequency;
use chrono::{DateTime, TimeZone, Utc};

/// A subscription's schedule: the cron expression as the subscriber sent it and the window
/// (Unix milliseconds, both ends included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub cron: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Reads a `frequency.frequency` expression; the error says what the expected form is.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    cron::Schedule::from_str(expr.trim()).map_err(|e| {
        format!(
            "{expr:?} is not a cron expression this registry can schedule ({e}); expected \
             \"sec min hour day-of-month month day-of-week [year]\", e.g. \"0 0 0 5,15 * ? *\""
        )
    })
}

fn millis(ts: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.timestamp_millis())
}

impl Schedule {
    /// The schedule of a subscribe request's `frequency`, or the problems of each field (the
    /// path below `frequency`, and the rule), checked against `now_ms`.
    pub fn from_frequency(f: &Frequency, now_ms: i64) -> Result<Schedule, Vec<(String, String)>> {
        let mut errs = Vec::new();
        let mut time = |key: &str, v: &Option<String>| match v.as_deref().map(millis) {
            Some(Some(ms)) => Some(ms),
            // Missing or malformed: the core's schema check names those.
            _ => {
                errs.push((
                    key.to_string(),
                    "required: an RFC 3339 date-time".to_string(),
                ));
                None
            }
        };
        let start = time("start_time", &f.start_time);
        let end = time("end_time", &f.end_time);
        let cron = f.frequency.as_deref().unwrap_or_default();
        if let Err(e) = parse_cron(cron) {
            errs.push(("frequency".into(), e));
        }
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                errs.push(("end_time".into(), "must be after start_time".into()));
            } else if e <= now_ms {
                errs.push((
                    "end_time".into(),
                    "is in the past: nothing would ever be sent".into(),
                ));
            }
        }
        match (start, end) {
            (Some(start_ms), Some(end_ms)) if errs.is_empty() => Ok(Schedule {
                cron: cron.trim().to_string(),
                start_ms,
                end_ms,
            }),
            _ => Err(errs),
        }
    }

    /// Whether an event at `at_ms` lies in the window.
    pub fn covers(&self, at_ms: i64) -> bool {
        (self.start_ms..=self.end_ms).contains(&at_ms)
    }

    /// When a batch whose oldest event is at `first_ms` goes out: the expression's first tick
    /// after it, or `end_time` when no tick is left in the window (None: the stored
    /// expression no longer parses, which validation at subscribe time prevents).
    pub fn due_at(&self, first_ms: i64) -> Option<i64> {
        let cron = parse_cron(&self.cron).ok()?;
        let first = Utc.timestamp_millis_opt(first_ms).single()?;
        let tick = cron.after(&first).next().map(|t| t.timestamp_millis());
        Some(match tick {
            Some(t) if t <= self.end_ms => t,
            _ => self.end_ms.max(first_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ts: &str) -> i64 {
        millis(ts).unwrap()
    }

    fn freq(start: &str, end: &str, cron: &str) -> Frequency {
        Frequency {
            start_time: Some(start.into()),
            end_time: Some(end.into()),
            frequency: Some(cron.into()),
            extra: Default::default(),
        }
    }

    #[test]
    fn the_spec_example_is_read_as_quartz() {
        // "At 00:00:00am, on the 5th and 15th day, every month".
        let s = Schedule::from_frequency(
            &freq(
                "2030-01-01T00:00:00Z",
                "2031-01-01T00:00:00Z",
                "0 0 0 5,15 * ? *",
            ),
            ms("2029-01-01T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            s.due_at(ms("2030-01-06T12:00:00Z")),
            Some(ms("2030-01-15T00:00:00Z"))
        );
        assert_eq!(
            s.due_at(ms("2030-01-15T00:00:00Z")),
            Some(ms("2030-02-05T00:00:00Z"))
        );
        // The last batch of the window goes out when the window closes.
        assert_eq!(
            s.due_at(ms("2030-12-20T08:00:00Z")),
            Some(ms("2031-01-01T00:00:00Z"))
        );
        assert!(s.covers(ms("2030-01-01T00:00:00Z")) && s.covers(ms("2031-01-01T00:00:00Z")));
        assert!(!s.covers(ms("2029-12-31T23:59:59.999Z")));
        assert!(!s.covers(ms("2031-01-01T00:00:00.001Z")));
    }

    #[test]
    fn every_few_seconds() {
        let s = Schedule::from_frequency(
            &freq(
                "2030-01-01T00:00:00Z",
                "2030-01-02T00:00:00Z",
                "*/10 * * * * ?",
            ),
            0,
        )
        .unwrap();
        assert_eq!(
            s.due_at(ms("2030-01-01T10:00:03.500Z")),
            Some(ms("2030-01-01T10:00:10Z"))
        );
        assert_eq!(
            s.due_at(ms("2030-01-01T10:00:10Z")),
            Some(ms("2030-01-01T10:00:20Z"))
        );
    }

    #[test]
    fn bad_frequencies_name_their_field() {
        let now = ms("2030-06-01T00:00:00Z");
        let errs = Schedule::from_frequency(
            &freq("2030-01-01T00:00:00Z", "2029-01-01T00:00:00Z", "every day"),
            now,
        )
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["frequency", "end_time"]);
        assert!(
            errs[0]
                .1
                .starts_with("\"every day\" is not a cron expression"),
            "{}",
            errs[0].1
        );
        assert_eq!(errs[1].1, "must be after start_time");
        let errs = Schedule::from_frequency(
            &freq(
                "2029-01-01T00:00:00Z",
                "2030-01-01T00:00:00Z",
                "0 * * * * ?",
            ),
            now,
        )
        .unwrap_err();
        assert_eq!(
            errs,
            [(
                "end_time".to_string(),
                "is in the past: nothing would ever be sent".to_string()
            )]
        );
        // Five fields (minute-first Unix cron) are not the spec's form.
        let errs = Schedule::from_frequency(
            &freq("2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z", "0 0 * * *"),
            now,
        )
        .unwrap_err();
        assert_eq!(errs[0].0, "frequency");
    }
}
