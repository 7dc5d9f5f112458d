//! What the user typed, as clap structs. Nothing here acts.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use paddock_policy::{ByteSize, Cpus};

/// Paddock: kernel-enforced jails for AI agents.
#[derive(Debug, Parser)]
#[command(name = "paddock", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one command in one jail, as root, with no daemon.
    Jail(Box<JailArgs>),
    /// Report which isolation layers this kernel supports.
    Doctor(DoctorArgs),
}

#[derive(Debug, Args)]
pub struct JailArgs {
    /// Policy file (YAML); the built-in default policy applies to what it leaves out.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Run as this account (its uid, gid and groups). Default: the account named by
    /// PADDOCK_JAIL_USER, else `nobody`.
    #[arg(long, value_name = "NAME", conflicts_with = "uid")]
    pub user: Option<String>,
    /// Run as this uid (the account's gid and groups when it has one, else gid = uid).
    #[arg(long, value_name = "N")]
    pub uid: Option<u32>,
    /// Host directory mounted writable at /workspace (default: an ephemeral tmpfs).
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// Memory limit, e.g. 512M (overrides resources.memory).
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<ByteSize>,
    /// Maximum number of processes and threads (overrides resources.pids).
    #[arg(long, value_name = "N")]
    pub pids: Option<u64>,
    /// CPU bandwidth in CPUs, e.g. 1.5 (overrides resources.cpus).
    #[arg(long, value_name = "CPUS")]
    pub cpus: Option<Cpus>,
    /// Give the command a terminal (a pty from the jail's own devpts).
    #[arg(long)]
    pub tty: bool,
    /// Extra environment variable for the command (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Hostname inside the jail.
    #[arg(long, default_value = "paddock")]
    pub hostname: String,
    /// Print what the kernel enforced (Landlock ABI, seccomp, cgroup limits) to stderr.
    #[arg(long, short)]
    pub verbose: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}
