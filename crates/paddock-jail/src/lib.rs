//! One policy + one identity → one isolated process tree (Linux only).
#![deny(missing_docs)]

pub mod cgroup;
pub mod seccomp;
mod sys;
