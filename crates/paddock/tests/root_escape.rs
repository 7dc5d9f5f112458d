//! The escape suite: each `blocks_<attack>` test runs one attack inside the real
//! `paddock jail` and asserts the exact denial, with a positive control where one makes
//! sense, then checks that the host is left clean (no cgroup, no mount).
//!
//! Root only (STYLE rule 13): without root every test prints why and returns, unless `CI`
//! is set. Attack scripts use `python3` with ctypes for raw syscalls; syscall numbers are
//! x86_64's, so `kernel` runs only there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "escape/fs.rs"]
mod fs;
#[cfg(target_arch = "x86_64")]
#[path = "escape/kernel.rs"]
mod kernel;
#[path = "escape/limits.rs"]
mod limits;
#[path = "escape/net.rs"]
mod net;
#[path = "escape/proc.rs"]
mod proc;
// Shared with root_cli.rs, which uses a different subset.
#[path = "escape/util.rs"]
#[allow(dead_code)]
mod util;
