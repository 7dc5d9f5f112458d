//! Egress, the unprivileged side (stub: being built for the network issue).
#![deny(missing_docs)]
