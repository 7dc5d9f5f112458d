//! The root side of the shared DNS filter: find the filter that serves this network namespace,
//! upstream and audit file, or start it (as the egress account, never root), and hold a lease
//! on it for one jail.
//!
//! # One filter per (network namespace, upstream, audit file)
//!
//! Every `paddock jail` with the same settings shares one `paddock egress dns` process. Its
//! control socket is `/run/paddock-egress/dns-<key>.sock` (outside `/run/paddock`, which is
//! root-only), the key a hash of the three settings, so a jail never talks to a filter that
//! resolves through another upstream or records elsewhere. Finding or starting it happens under `/run/paddock/dns.lock`, so two
//! jails starting together start one filter.
//!
//! # Lifetime
//!
//! A jail's entry in the filter lives as long as its control connection ([`DnsLease`]): when
//! `paddock jail` exits, even by SIGKILL, the kernel closes the connection and the filter forgets
//! the jail. The filter exits on its own about a second after its last connection closed, so the
//! last jail out never leaves it orphaned.
//!
//! # What it must never do
//!
//! - Run the filter as root: it parses packets from jails.
//! - Hand the filter more than its sockets: it gets the audit file as stdout, a pipe as stderr
//!   (for its "ready" line), nothing else, an empty environment and no supplementary groups.

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use paddock_egress::control::ControlClient;
use paddock_policy::HostPattern;

use crate::net_env::NetEnv;

/// Where the filters' control sockets live (owned by the egress account, mode 0700).
const EGRESS_DIR: &str = "/run/paddock-egress";
/// How long a starting filter may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one control request may take.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(3);

/// One jail's hold on the shared filter.
pub struct DnsLease {
    client: ControlClient,
    /// The filter's UDP/TCP port (the jails' port 53 is redirected there).
    pub port: u16,
}

impl DnsLease {
    /// Finds or starts the filter for `env`.
    pub fn acquire(env: &NetEnv) -> Result<Self> {
        let key = instance_key(env)?;
        let state = Path::new(paddock_jail::STATE_DIR);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(state)
            .with_context(|| format!("cannot create {}", state.display()))?;
        // One lock for every filter: finding one takes a connect and a hello (well under a
        // millisecond), and a lock file per setting would pile up (tests use many settings).
        let lock_path = state.join("dns.lock");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| e)
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
        let socket = Path::new(EGRESS_DIR).join(format!("dns-{key:016x}.sock"));
        if let Ok(lease) = Self::connect(&socket) {
            return Ok(lease);
        }
        start_filter(env, &socket)?;
        Self::connect(&socket).with_context(|| {
            format!(
                "the DNS filter started but does not answer on {}",
                socket.display()
            )
        })
    }

    fn connect(socket: &Path) -> Result<Self> {
        let mut client = ControlClient::connect(socket, CONTROL_TIMEOUT)?;
        let port = client.hello()?;
        Ok(Self { client, port })
    }

    /// Lets `client` (a jail's address) resolve `allow`; in force when this returns.
    pub fn set(&mut self, client: IpAddr, jail: &str, allow: &[HostPattern]) -> Result<()> {
        Ok(self.client.set(client, jail, allow)?)
    }

    /// Forgets `client` now (closing the lease would too).
    pub fn remove(&mut self, client: IpAddr) -> Result<()> {
        Ok(self.client.remove(client)?)
    }
}

/// FNV-1a over the settings that make two filters different.
fn instance_key(env: &NetEnv) -> Result<u64> {
    let netns = fs::metadata("/proc/self/ns/net")
        .context("cannot stat /proc/self/ns/net")?
        .ino();
    let text = format!("{netns}\0{}\0{}", env.upstream, env.audit.display());
    Ok(text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }))
}

/// Starts `paddock egress dns` as the egress account and waits for its ready line.
fn start_filter(env: &NetEnv, socket: &Path) -> Result<()> {
    let user = paddock_jail::Identity::from_user_name(&env.egress_user).with_context(|| {
        format!(
            "the DNS filter runs as {:?} (PADDOCK_EGRESS_USER); create it with \
             `useradd --system --no-create-home --shell /usr/sbin/nologin {}`",
            env.egress_user, env.egress_user
        )
    })?;
    let dir = Path::new(EGRESS_DIR);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid))
        .with_context(|| format!("cannot hand {} to {}", dir.display(), env.egress_user))?;
    let audit = open_audit(&env.audit)?;
    let exe = fs::read_link("/proc/self/exe").context("cannot find the paddock binary")?;
    let mut child = Command::new(&exe)
        .args(["egress", "dns", "--socket"])
        .arg(socket)
        .arg("--upstream")
        .arg(env.upstream.to_string())
        .env_clear()
        .current_dir("/")
        .uid(user.uid)
        .gid(user.gid)
        // Its own process group: a ^C in the terminal of the jail that started it must not
        // take the filter of every other jail with it.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(audit)
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start the DNS filter ({} egress dns)", exe.display()))?;
    let Some(stderr) = child.stderr.take() else {
        bail!("the DNS filter's stderr pipe is missing");
    };
    match wait_ready(stderr) {
        Ok(()) => Ok(()),
        Err(said) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the DNS filter did not start: {said}")
        }
    }
}

/// Reads the filter's stderr until its `ready` line; the text it wrote instead otherwise.
fn wait_ready(mut stderr: std::process::ChildStderr) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut said = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let text = String::from_utf8_lossy(&said);
        if text.lines().any(|l| l.starts_with("ready ")) {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no ready line within {READY_TIMEOUT:?}; it said: {}",
                text.trim()
            ));
        }
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [nix::poll::PollFd::new(
            stderr.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
        match stderr.read(&mut buf) {
            Ok(0) => {
                return Err(format!(
                    "it exited: {}",
                    String::from_utf8_lossy(&said).trim()
                ))
            }
            Ok(n) if said.len() < 64 * 1024 => said.extend_from_slice(&buf[..n]),
            Ok(_) => return Err("it wrote too much without being ready".into()),
            Err(e) => return Err(format!("cannot read its output: {e}")),
        }
    }
}

/// The audit file, opened by root for appending (the filter cannot open it itself).
fn open_audit(path: &Path) -> Result<fs::File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
        .with_context(|| {
            format!(
                "cannot open the audit file {} (PADDOCK_AUDIT)",
                path.display()
            )
        })
}
