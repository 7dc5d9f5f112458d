//! Paddock's policy model (CONTRACT STUB: the policy helper replaces this file's body, keeping
//! every public name in `resolved.rs` as it is).
#![deny(missing_docs)]

pub mod resolved;
pub use resolved::*;
