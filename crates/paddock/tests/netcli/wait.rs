//! Bounded waiting: every wait in the suite has a deadline, and says what it waited for when
//! the deadline passes.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Polls `f` every 20 ms until it returns `Some`, or `limit` passes (then `None`).
pub fn until<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Like [`until`], but panics naming `what` when the deadline passes.
pub fn expect<T>(limit: Duration, what: &str, f: impl FnMut() -> Option<T>) -> T {
    until(limit, f).unwrap_or_else(|| panic!("timed out after {limit:?} waiting for {what}"))
}

/// Wall-clock seconds since the epoch: the jail shares the host's clock, so its timestamps
/// and the servers' compare with the test's.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Lets packets in flight land (and servers write their logs) before asserting that
/// something did *not* arrive.
pub fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}
