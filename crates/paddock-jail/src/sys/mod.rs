//! Raw syscall wrappers: the only place in this crate where `unsafe` lives.
//! Everything here that runs after `fork` is async-signal-safe: no allocation, no locks.
#![allow(unsafe_code)]

pub mod seccomp;
