//! Network segments, the root side (stub: being built for the network issue).
#![deny(missing_docs)]
