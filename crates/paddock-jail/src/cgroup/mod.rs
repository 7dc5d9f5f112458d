//! (cgroup helper fills this in)
