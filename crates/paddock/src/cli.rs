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
    /// Change the policy of a running jail.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The network segments' shared state (the nftables table, uplink forwarding).
    #[command(subcommand)]
    Net(NetCommand),
    /// Paddock's unprivileged egress services (started by Paddock itself, not by hand).
    #[command(subcommand, hide = true)]
    Egress(EgressCommand),
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Replace the dynamic policy (network mode, private ranges, DNS allowlist) of a running
    /// jail started with `paddock jail --name NAME`.
    Set(PolicySetArgs),
}

#[derive(Debug, Args)]
pub struct PolicySetArgs {
    /// The jail's name (`paddock jail --name`).
    #[arg(long, value_name = "NAME")]
    pub jail: String,
    /// Return only once the change is in force (rules installed, DNS filter updated).
    #[arg(long)]
    pub wait: bool,
    /// Policy file (YAML); only its `network` section may be set.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum NetCommand {
    /// When no networked jail runs in this network namespace: delete Paddock's nftables table
    /// and switch the uplinks' forwarding back off.
    Down,
    /// Remove one ended jail's rules, link and lease (run by `paddock jail` on exit).
    #[command(hide = true)]
    Release {
        /// The jail's id (as in `pdk<id>h`).
        #[arg(long, value_name = "ID")]
        jail_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EgressCommand {
    /// The DNS filter shared by the jails of this host (runs as the egress user, never root).
    Dns(EgressDnsArgs),
}

#[derive(Debug, Args)]
pub struct EgressDnsArgs {
    /// Control socket to create.
    #[arg(long, value_name = "PATH")]
    pub socket: PathBuf,
    /// Upstream resolver, IP:PORT.
    #[arg(long, value_name = "IP:PORT")]
    pub upstream: std::net::SocketAddr,
    /// Exit after this many milliseconds without any jail connected.
    #[arg(long, value_name = "MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_exit_ms: u64,
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
    /// Network mode: none (loopback only), intranet (private ranges) or internet (NAT);
    /// overrides network.mode. Default: the policy's, else intranet.
    #[arg(long, value_name = "MODE")]
    pub net: Option<paddock_policy::NetworkMode>,
    /// A name the jail may resolve: exact or `*.suffix` (repeatable; adds to network.dns.allow).
    #[arg(long = "dns-allow", value_name = "PATTERN")]
    pub dns_allow: Vec<paddock_policy::HostPattern>,
    /// Name the jail, so that `paddock policy set --jail NAME` can change it while it runs.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
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
