//! Per-client token buckets. A jail that floods the filter (a tunnelling tool, a runaway loop)
//! gets REFUSED instead of CPU and audit volume; other jails are unaffected.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Clients tracked at once. Jail addresses are anti-spoofed by nftables, so reaching this means
/// something is wrong; new clients are then refused (fail closed) until idle buckets expire.
const MAX_TRACKED_CLIENTS: usize = 65_536;

/// At most one audit event per client per this interval while it is over its limit.
const AUDIT_INTERVAL: Duration = Duration::from_secs(1);

/// A token bucket's shape: a sustained rate and a burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Queries per second a client may sustain.
    pub per_second: u32,
    /// Queries a client may send at once after being idle.
    pub burst: u32,
}

impl Default for RateLimit {
    /// 100 queries per second with a burst of 200: far above what a build or an agent needs,
    /// far below what a DNS tunnel wants.
    fn default() -> Self {
        Self {
            per_second: 100,
            burst: 200,
        }
    }
}

/// The limiter's verdict on one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Within the limit.
    Yes,
    /// Over the limit. `audit` is `Some(n)` when an event is due: `n` earlier over-limit queries
    /// went unreported since the last event.
    Limited { audit: Option<u64> },
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
    last_event: Option<Instant>,
    suppressed: u64,
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    /// Keyed by every source address that reaches the port, spoofed ones from outside included,
    /// and inserted into by each: so it keeps std's randomly keyed SipHash (a predictable hasher
    /// would let a sender pick addresses that share one probe chain and make every lookup walk
    /// it) and is bounded by `MAX_TRACKED_CLIENTS`. The policy table's cheaper hasher is safe
    /// only because root chooses its keys (`table.rs`).
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `client`'s bucket at time `now`.
    pub(crate) fn admit(&self, client: IpAddr, now: Instant) -> Admit {
        let burst = f64::from(self.limit.burst);
        let rate = f64::from(self.limit.per_second);
        // A poisoned lock only means another task panicked mid-update; the counters are still
        // numbers, so keep limiting rather than fail open.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if !buckets.contains_key(&client) && buckets.len() >= MAX_TRACKED_CLIENTS {
            let full_after = Duration::from_secs_f64(burst / rate);
            buckets.retain(|_, b| now.saturating_duration_since(b.refilled) < full_after);
            if buckets.len() >= MAX_TRACKED_CLIENTS {
                return Admit::Limited { audit: None };
            }
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: burst,
            refilled: now,
            last_event: None,
            suppressed: 0,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Admit::Yes;
        }
        let due = bucket
            .last_event
            .is_none_or(|t| now.saturating_duration_since(t) >= AUDIT_INTERVAL);
        if due {
            bucket.last_event = Some(now);
            let suppressed = bucket.suppressed;
            bucket.suppressed = 0;
            Admit::Limited {
                audit: Some(suppressed),
            }
        } else {
            bucket.suppressed += 1;
            Admit::Limited { audit: None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn allows_the_burst_then_limits() {
        let l = RateLimiter::new(RateLimit {
            per_second: 10,
            burst: 5,
        });
        let t = Instant::now();
        for _ in 0..5 {
            assert_eq!(l.admit(ip("10.0.0.1"), t), Admit::Yes);
        }
        assert_eq!(
            l.admit(ip("10.0.0.1"), t),
            Admit::Limited { audit: Some(0) }
        );
        assert_eq!(l.admit(ip("10.0.0.1"), t), Admit::Limited { audit: None });
        // Another client has its own bucket.
        assert_eq!(l.admit(ip("10.0.0.2"), t), Admit::Yes);
        // 100 ms later one token is back.
        let later = t + Duration::from_millis(100);
        assert_eq!(l.admit(ip("10.0.0.1"), later), Admit::Yes);
    }

    #[test]
    fn audits_at_most_once_per_second_with_a_count() {
        let l = RateLimiter::new(RateLimit {
            per_second: 1,
            burst: 1,
        });
        let t = Instant::now();
        assert_eq!(l.admit(ip("10.0.0.1"), t), Admit::Yes);
        assert_eq!(
            l.admit(ip("10.0.0.1"), t),
            Admit::Limited { audit: Some(0) }
        );
        for _ in 0..10 {
            assert_eq!(l.admit(ip("10.0.0.1"), t), Admit::Limited { audit: None });
        }
        // One second later a token is back; the next refusal after it reports the 10.
        let later = t + Duration::from_secs(1);
        assert_eq!(l.admit(ip("10.0.0.1"), later), Admit::Yes);
        assert_eq!(
            l.admit(ip("10.0.0.1"), later),
            Admit::Limited { audit: Some(10) }
        );
    }
}
