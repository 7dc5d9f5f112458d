//! (seccomp helper fills this in)
