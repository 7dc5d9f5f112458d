//! `paddock` run inside a test's host namespace: `nsenter --net=/run/netns/HOST paddock …`
//! execs the binary, so the child's pid is paddock's (its cgroups are named after it). Not
//! `ip netns exec`: that also gives the command a fresh sysfs on /sys, which hides the cgroup
//! filesystem mounted below it, and paddock then (rightly) refuses to start. Every run is
//! bounded: a run past its limit is killed and reported, never waited on forever.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::topo::Topology;
use crate::util::{assert_host_clean, paddock_bin, Run};

/// The default limit of one `paddock` run.
pub const LIMIT: Duration = Duration::from_secs(30);

/// A `paddock jail` invocation in a test's host namespace, being assembled.
pub struct NetJail<'a> {
    topo: &'a Topology,
    opts: Vec<String>,
    env: Vec<(String, String)>,
}

impl Topology {
    /// `paddock jail OPTS -- …` in this test's host namespace, with the uplinks, the upstream
    /// resolver and the audit file set in its environment.
    pub fn jail(&self, opts: &[&str]) -> NetJail<'_> {
        NetJail {
            topo: self,
            opts: opts.iter().map(|s| (*s).to_string()).collect(),
            env: Vec::new(),
        }
    }

    /// `paddock ARGS` (e.g. `policy set …`) in this test's host namespace, bounded.
    pub fn paddock(&self, args: &[&str]) -> Run {
        let mut c = self.command();
        c.arg(paddock_bin()).args(args);
        collect(spawn(c), LIMIT)
    }

    fn command(&self) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.host)).arg("--");
        c.env("PADDOCK_NET_UPLINKS", format!("{},{}", self.ti, self.te))
            .env("PADDOCK_DNS_UPSTREAM", format!("{}:53", self.intra_ip()))
            .env("PADDOCK_AUDIT", self.audit())
            .env_remove("PADDOCK_NET_POOL");
        c
    }
}

impl NetJail<'_> {
    /// Sets an environment variable of the `paddock` process.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    fn command(&self, cmd: &[&str]) -> Command {
        let mut c = self.topo.command();
        c.arg(paddock_bin()).arg("jail").args(&self.opts).arg("--");
        c.args(cmd);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs `cmd` in the jail and waits (at most [`LIMIT`]); checks no cgroup or mount of
    /// this paddock is left.
    pub fn run(self, cmd: &[&str]) -> Run {
        let run = collect(spawn(self.command(cmd)), LIMIT);
        assert_host_clean(run.pid);
        run
    }

    /// Starts `cmd` in the jail and returns at once.
    pub fn spawn(self, cmd: &[&str]) -> Background {
        spawn(self.command(cmd))
    }
}

/// A `paddock` process running in the background, killed on drop if still running.
pub struct Background {
    child: Option<Child>,
    pid: u32,
    out: Pipe,
    err: Pipe,
    started: Instant,
}

/// What a reader thread collected from one pipe, and whether the pipe is closed.
#[derive(Clone, Default)]
struct Pipe(Arc<Mutex<(Vec<u8>, bool)>>);

impl Pipe {
    fn read_from(r: Option<impl Read + Send + 'static>) -> Self {
        let pipe = Pipe::default();
        let Some(mut r) = r else {
            pipe.0.lock().unwrap().1 = true;
            return pipe;
        };
        let p = pipe.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => p.0.lock().unwrap().0.extend_from_slice(&buf[..n]),
                }
            }
            p.0.lock().unwrap().1 = true;
        });
        pipe
    }

    fn closed(&self) -> bool {
        self.0.lock().unwrap().1
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap().0).into_owned()
    }
}

impl Background {
    /// SIGKILLs the paddock process (only it: what it started must clean up after itself).
    pub fn kill(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
        }
    }

    /// Waits at most `limit` for it to end (killing it then) and collects its output.
    pub fn finish(self, limit: Duration) -> Run {
        collect(self, limit)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(mut c: Command) -> Background {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn nsenter paddock");
    let out = Pipe::read_from(child.stdout.take());
    let err = Pipe::read_from(child.stderr.take());
    Background {
        pid: child.id(),
        child: Some(child),
        out,
        err,
        started: Instant::now(),
    }
}

fn collect(mut bg: Background, limit: Duration) -> Run {
    let mut child = bg.child.take().expect("child not yet collected");
    let deadline = Instant::now() + limit;
    let mut killed = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for paddock") {
            break s;
        }
        if Instant::now() >= deadline && !killed {
            let _ = child.kill();
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    // A process paddock left holding its stdout or stderr (it should leave none) must not
    // hang the test: wait a bounded time for the pipes to close, then take what arrived.
    let closed = super::wait::until(Duration::from_secs(3), || {
        (bg.out.closed() && bg.err.closed()).then_some(())
    });
    let mut stderr = bg.err.text();
    if killed {
        stderr.push_str(&format!("\n[test: killed after {limit:?}]\n"));
    }
    if closed.is_none() {
        stderr.push_str("\n[test: stdout/stderr still open 3 s after paddock exited]\n");
    }
    Run {
        code,
        stdout: bg.out.text(),
        stderr,
        pid: bg.pid,
        elapsed: bg.started.elapsed(),
    }
}
