//! Per-client and per-sender rate limits (`--rate-limit-client`, `--rate-limit-sender`): a
//! token bucket per key, `rate` requests a second with bursts of `burst`. Keys are only
//! authenticated client ids and registered sender ids, so the table is bounded by what the
//! operator registered.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A limit: `rate` requests per second, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub rate: f64,
    pub burst: f64,
}

impl Rate {
    /// `RPS` or `RPS:BURST` (burst defaults to RPS, at least 1).
    pub fn parse(s: &str) -> Result<Rate, String> {
        let (r, b) = s.split_once(':').unwrap_or((s, ""));
        let num = |t: &str, what: &str| -> Result<f64, String> {
            match t.trim().parse::<f64>() {
                Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
                _ => Err(format!("{what} must be a positive number, got {t:?}")),
            }
        };
        let rate = num(r, "requests per second")?;
        let burst = if b.is_empty() {
            rate.max(1.0)
        } else {
            num(b, "burst")?.max(1.0)
        };
        Ok(Rate { rate, burst })
    }
}

/// One token bucket per key.
#[derive(Debug)]
pub struct Limiter {
    limit: Rate,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    pub fn new(limit: Rate) -> Self {
        Limiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn limit(&self) -> Rate {
        self.limit
    }

    /// Takes one request from `key`'s bucket, or says how long until one is there.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let Rate { rate, burst } = self.limit;
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        };
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((burst, now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * rate;
        *tokens = (*tokens + refill).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }
}

/// The whole seconds of a `Retry-After` for a wait (at least 1: `Retry-After: 0` invites an
/// immediate retry that would be refused again).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rate_and_burst() {
        assert_eq!(
            Rate::parse("5:10"),
            Ok(Rate {
                rate: 5.0,
                burst: 10.0
            })
        );
        assert_eq!(
            Rate::parse("0.5"),
            Ok(Rate {
                rate: 0.5,
                burst: 1.0
            })
        );
        assert_eq!(
            Rate::parse("0"),
            Err("requests per second must be a positive number, got \"0\"".into())
        );
        assert_eq!(
            Rate::parse("5:x"),
            Err("burst must be a positive number, got \"x\"".into())
        );
    }

    #[test]
    fn a_burst_then_the_rate_per_key() {
        let l = Limiter::new(Rate::parse("2:3").unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.take("a", t0), Ok(()));
        }
        // The fourth waits half a second (2 a second); another key has its own bucket.
        assert_eq!(l.take("a", t0), Err(Duration::from_millis(500)));
        assert_eq!(l.take("b", t0), Ok(()));
        assert_eq!(l.take("a", t0 + Duration::from_millis(500)), Ok(()));
        assert!(l.take("a", t0 + Duration::from_millis(500)).is_err());
        assert_eq!(retry_after_secs(Duration::from_millis(500)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2100)), 3);
    }
}
