//! `run`: one policy + one identity → one jail, start to finish, as straight-line steps.
//! `docs/jail.md` lists the same steps in prose; change both together.
//!
//! Everything that can fail for a reason the caller can fix fails *before* the first side
//! effect (steps 1–4). The only host state the jail creates is its cgroup, removed on every
//! path out of `run`; mounts and namespaces belong to the jail's init and die with it.

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::Pid;
use paddock_policy::{FilesystemPolicy, ProcessPolicy, ResourcePolicy, RlimitKind};

use crate::cgroup;
use crate::child::{self, CArray, ChildPlan, Stage};
use crate::error::JailError;
use crate::identity::Identity;
use crate::landlock::{self, LandlockStatus};
use crate::lower;
use crate::plan::{self, PlanInput, WorkspaceSource, WORKSPACE};
use crate::relay;
use crate::seccomp;
use crate::sys;

/// Host directory under which the jail's staging mountpoints live (empty directories; the
/// mounts on them exist only inside each jail's private mount namespace).
pub const STATE_DIR: &str = "/run/paddock";

/// Default size of an ephemeral workspace when the policy sets no `disk` limit.
pub const DEFAULT_EPHEMERAL_WORKSPACE: u64 = 1 << 30;

/// Stack of the workload between its clone and `execve` (raw syscalls only; generous).
const WORKLOAD_STACK: usize = 256 * 1024;

/// The jail's default `PATH`.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything needed to start one jail.
#[derive(Clone, Debug)]
pub struct JailSpec {
    /// Resolved `filesystem` policy.
    pub filesystem: FilesystemPolicy,
    /// Resolved `process` policy.
    pub process: ProcessPolicy,
    /// Resolved `resources` policy.
    pub resources: ResourcePolicy,
    /// Who the jail runs as.
    pub identity: Identity,
    /// The command and its arguments.
    pub command: Vec<OsString>,
    /// Extra environment variables (override the defaults).
    pub env: Vec<(OsString, OsString)>,
    /// Host directory mounted at `/workspace`; `None` for an ephemeral tmpfs.
    pub workdir: Option<PathBuf>,
    /// Give the jail a pty from its own devpts and relay it.
    pub tty: bool,
    /// Hostname inside the jail.
    pub hostname: String,
    /// Files shown in the jail's `/etc` over the host's (name, contents): e.g. the
    /// `resolv.conf` of a networked jail. Hidden files (`shadow`…) cannot be re-added.
    pub etc_files: Vec<(String, Vec<u8>)>,
}

/// Host-side work that must happen after the jail's namespaces exist and before anything in
/// the jail runs: joining its network namespace to the host (`paddock-net`), for instance.
pub trait StartHook {
    /// Called with init's pid (as the host sees it) after the clone and the cgroup limits,
    /// while init waits. An error stops the start: init is killed and nothing of the jail ran.
    fn before_release(&mut self, init_pid: u32) -> Result<(), JailError>;
}

/// The hook of a jail that needs nothing between clone and release.
pub struct NoHook;

impl StartHook for NoHook {
    fn before_release(&mut self, _init_pid: u32) -> Result<(), JailError> {
        Ok(())
    }
}

/// What the kernel enforces for a jail, read back or reported by the kernel.
#[derive(Clone, Debug)]
pub struct Enforcement {
    /// Landlock.
    pub landlock: LandlockStatus,
    /// Number of stacked seccomp filters installed.
    pub seccomp_filters: usize,
    /// Cgroup limits as the kernel holds them.
    pub cgroup: cgroup::Limits,
    /// Namespaces the jail has of its own.
    pub namespaces: &'static [&'static str],
}

/// How a jail ended.
#[derive(Clone, Debug)]
pub struct JailOutcome {
    /// The command's exit status; 128+N when it was killed by signal N.
    pub exit_code: i32,
    /// What was enforced.
    pub enforcement: Enforcement,
}

const NAMESPACES: &[&str] = &["mount", "pid", "ipc", "uts", "net", "cgroup"];

/// The root and /proc steps in words, so an error from inside the jail can say which failed.
struct StepWords {
    root: Vec<String>,
    proc: Vec<String>,
}

/// Wall-clock marks of one start, printed to stderr as one JSON line when `PADDOCK_TIMING`
/// is set (see `bench/`). Costs nothing otherwise.
struct Timing {
    start: std::time::Instant,
    marks: Vec<(&'static str, std::time::Duration)>,
    enabled: bool,
}

impl Timing {
    fn new() -> Self {
        Self {
            start: std::time::Instant::now(),
            marks: Vec::new(),
            enabled: std::env::var_os("PADDOCK_TIMING").is_some(),
        }
    }
    fn mark(&mut self, what: &'static str) {
        if self.enabled {
            self.marks.push((what, self.start.elapsed()));
        }
    }
    fn report(&self) {
        if !self.enabled {
            return;
        }
        let fields: Vec<String> = self
            .marks
            .iter()
            .map(|(k, d)| format!("\"{k}\":{}", d.as_micros()))
            .collect();
        eprintln!("{{\"paddock_timing_us\":{{{}}}}}", fields.join(","));
    }
}

/// Runs one jail to completion. The caller must be root and single-threaded.
pub fn run(spec: &JailSpec) -> Result<JailOutcome, JailError> {
    run_with(spec, &mut NoHook)
}

/// [`run`], with `hook` called between the clone and the moment init may go on. The caller
/// must be root and single-threaded (the hook may start threads: the fork is behind it).
pub fn run_with(spec: &JailSpec, hook: &mut dyn StartHook) -> Result<JailOutcome, JailError> {
    let mut timing = Timing::new();
    // 1. Preconditions: root, one thread (we fork), a command, a usable workdir.
    if sys::geteuid() != 0 {
        return Err(JailError::NotRoot);
    }
    ensure_single_threaded()?;
    if spec.command.is_empty() {
        return Err(JailError::NoCommand);
    }
    let workspace = workspace_source(spec)?;
    // 2. Kernel layers, prepared first so a missing one stops us before any side effect.
    let writable = writable_inside(&spec.filesystem);
    let ll = landlock::prepare(spec.filesystem.landlock, &writable)?;
    let filters = seccomp::build(spec.process.seccomp)?;
    // 3. The filesystem view: host facts, pure plan, lowered to raw steps.
    let facts = crate::host::gather(&spec.filesystem)?;
    let state = Path::new(STATE_DIR);
    let (stage, scratch) = (state.join("stage"), state.join("scratch"));
    let ops = plan::plan_root(&PlanInput {
        fs: &spec.filesystem,
        host: &facts,
        workspace: &workspace,
        stage: &stage,
        scratch: &scratch,
        shm_size: spec.filesystem.tmp_size.bytes(),
        etc_files: &spec.etc_files,
    })?;
    let root_ops = lower::lower_root(&ops)?;
    let proc_ops = lower::lower_proc()?;
    let steps = StepWords {
        root: root_ops.iter().map(lower::RawOp::describe).collect(),
        proc: proc_ops.iter().map(lower::RawOp::describe).collect(),
    };
    // 4. The command, resolved against the jail's PATH by init (candidates built here).
    let (exec_candidates, argv, envp) = exec_plan(spec)?;
    prepare_host_state_dirs(&stage, &scratch)?;
    // 5. The cgroup: the first host state we create; removed on every path below.
    timing.mark("planned");
    let hierarchies = cgroup::detect()?;
    let limits = cgroup::Limits {
        memory_bytes: spec.resources.memory.map(|m| m.bytes()),
        pids: spec.resources.pids,
        cpu_millis: spec.resources.cpus.map(|c| c.millis()),
    };
    let name = format!("jail-{}-{}", std::process::id(), unique_suffix());
    // Directories now (the child is cloned straight into the v2 group); the limits are written
    // and read back after the clone, while the child builds its root, and before it may run
    // anything (it waits for our byte).
    let cg = cgroup::create_unlimited(&hierarchies, &name, &limits)?;
    timing.mark("cgroup_created");
    let enforcement = Enforcement {
        landlock: ll.status.clone(),
        seccomp_filters: filters.len(),
        cgroup: cg.enforced().clone(),
        namespaces: NAMESPACES,
    };
    let plan = ChildPlan {
        root_ops,
        proc_ops,
        stage_dir: lower::cstr(&stage)?,
        hostname: spec.hostname.as_bytes().to_vec(),
        landlock_fd: ll.fd.as_ref().map(AsRawFd::as_raw_fd),
        landlock_rules: ll.rules,
        rlimits: rlimits(&spec.process),
        uid: spec.identity.uid,
        gid: spec.identity.gid,
        groups: spec.identity.groups.clone(),
        seccomp: filters,
        cwd: CString::from(c"/workspace"),
        exec_candidates,
        argv,
        envp,
        cgroup_join: Vec::new(),
        sync_fd: -1,
        err_fd: -1,
        tty_sock: None,
        keep_fds: Vec::new(),
        workload_stack: std::cell::RefCell::new(vec![0; WORKLOAD_STACK]),
    };
    let entry = cgroup_entry(&cg, hierarchies.v2_root())?;
    let result = start_and_wait(plan, spec, entry, &cg, &steps, hook, &mut timing);
    timing.mark("jail_ended");
    // 6. Whatever happened, nothing of the jail may outlive `run`.
    let killed = cg.kill_all();
    let removed = cg.remove();
    drop(ll.fd);
    // Groups left by `paddock jail` runs that were SIGKILLed (their init died with them, so
    // the groups are empty). Best effort, after our own jail ended: never on the start path.
    let _ = cgroup::remove_stale(&hierarchies, jail_group_alive);
    timing.mark("cleaned_up");
    timing.report();
    let exit_code = result?;
    killed?;
    removed?;
    Ok(JailOutcome {
        exit_code,
        enforcement,
    })
}

/// Clones init into new namespaces, places it in the cgroup, and waits for the jail to end.
fn start_and_wait(
    mut plan: ChildPlan,
    spec: &JailSpec,
    entry: CgroupEntry,
    cg: &cgroup::JailCgroup,
    steps: &StepWords,
    hook: &mut dyn StartHook,
    timing: &mut Timing,
) -> Result<i32, JailError> {
    let host = |action: &'static str| move |errno: Errno| JailError::Host { action, errno };
    let (sync_r, sync_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(host("create a pipe"))?;
    let (err_r, err_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(host("create a pipe"))?;
    let tty = if spec.tty {
        let (a, b) = nix::sys::socket::socketpair(
            nix::sys::socket::AddressFamily::Unix,
            nix::sys::socket::SockType::Stream,
            None,
            nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        )
        .map_err(host("create a socket pair"))?;
        Some((a, b))
    } else {
        None
    };
    plan.sync_fd = sync_r.as_raw_fd();
    plan.err_fd = err_w.as_raw_fd();
    plan.tty_sock = tty.as_ref().map(|(_, child)| child.as_raw_fd());
    plan.keep_fds = [
        Some(plan.sync_fd),
        Some(plan.err_fd),
        plan.tty_sock,
        plan.landlock_fd,
    ]
    .into_iter()
    .flatten()
    .collect();
    plan.keep_fds.sort_unstable();
    let parent_ends: Vec<i32> = [Some(sync_w.as_raw_fd()), Some(err_r.as_raw_fd())]
        .into_iter()
        .chain([tty.as_ref().map(|(p, _)| p.as_raw_fd())])
        .flatten()
        .collect();
    let signals = relay::block_signals()?;
    let flags = libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWPID;
    plan.cgroup_join = entry.v1_tasks;
    let forked = match &entry.v2_dir {
        Some(dir) => match sys::clone3_into_cgroup(flags, dir.as_raw_fd()) {
            // Kernels before 5.7: plain clone, and init joins the v2 group by writing "0".
            Err(Errno::ENOSYS | Errno::E2BIG | Errno::EINVAL) => {
                plan.cgroup_join.extend(entry.v2_procs.clone());
                sys::clone_fork(flags)
            }
            other => other,
        },
        None => sys::clone_fork(flags),
    };
    let pid = match forked.map_err(host("create the jail's namespaces"))? {
        sys::Forked::Child => {
            for fd in &parent_ends {
                sys::close(*fd);
            }
            child::run_init(&plan)
        }
        sys::Forked::Parent(pid) => Pid::from_raw(pid),
    };
    timing.mark("cloned");
    drop(sync_r);
    drop(err_w);
    let tty_parent = tty.map(|(p, _child)| p);
    // The limits, before the byte that lets init go on: nothing of the jail runs unlimited.
    // (Init joins its v1 groups itself, see child.rs.) EOF instead of the byte stops init.
    let prepared = cg
        .apply_limits()
        .map_err(JailError::from)
        .inspect(|()| timing.mark("limits_applied"))
        .and_then(|()| hook.before_release(pid.as_raw().unsigned_abs()));
    if let Err(e) = prepared {
        drop(sync_w);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        relay::reap(pid);
        return Err(e);
    }
    timing.mark("hook_done");
    let _ = sys::write_all(sync_w.as_raw_fd(), b"G");
    // `sync_w` stays open until the jail ends: init checks it for a hang-up after its uid
    // change (which clears the parent-death signal), see child.rs.
    let master = match &tty_parent {
        Some(sock) => {
            sys::recv_fd(sock.as_raw_fd()).map_err(|errno| JailError::Terminal { errno })?
        }
        None => None,
    };
    drop(tty_parent);
    if let Some(err) = read_setup_error(&err_r, spec, steps) {
        relay::reap(pid);
        return Err(err);
    }
    drop(err_r);
    timing.mark("command_started");
    if spec.tty && master.is_none() {
        relay::reap(pid);
        return Err(JailError::Terminal { errno: Errno::EIO });
    }
    let status = relay::supervise(pid, signals, master);
    drop(sync_w);
    status
}

/// Reads the child's `(stage, detail, errno)` record, if any; EOF means the command started.
fn read_setup_error(err_r: &OwnedFd, spec: &JailSpec, steps: &StepWords) -> Option<JailError> {
    let mut rec = [0u8; 12];
    let mut got = 0;
    while got < rec.len() {
        match sys::read(err_r.as_raw_fd(), &mut rec[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    if got < rec.len() {
        return None;
    }
    let word = |i: usize| u32::from_le_bytes([rec[i], rec[i + 1], rec[i + 2], rec[i + 3]]);
    let stage = Stage::from_u32(word(0))?;
    let detail = word(4);
    let errno = Errno::from_raw(word(8) as i32);
    let command = spec
        .command
        .first()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default();
    Some(match stage {
        Stage::Exec if errno == Errno::ENOENT => JailError::CommandNotFound { command },
        Stage::Exec => JailError::CommandNotExecutable { command, errno },
        Stage::BuildRoot | Stage::MountProc => {
            let words = if stage == Stage::BuildRoot {
                &steps.root
            } else {
                &steps.proc
            };
            let what = usize::try_from(detail)
                .ok()
                .and_then(|i| words.get(i))
                .map_or_else(|| format!("step {detail}"), Clone::clone);
            JailError::Setup {
                stage,
                detail: format!(" ({what})"),
                errno,
            }
        }
        _ => JailError::Setup {
            stage,
            detail: String::new(),
            errno,
        },
    })
}

fn ensure_single_threaded() -> Result<(), JailError> {
    let threads = std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(1);
    if threads > 1 {
        return Err(JailError::MultiThreaded { threads });
    }
    Ok(())
}

fn workspace_source(spec: &JailSpec) -> Result<WorkspaceSource, JailError> {
    let Some(dir) = &spec.workdir else {
        return Ok(WorkspaceSource::Ephemeral {
            size: spec
                .resources
                .disk
                .map_or(DEFAULT_EPHEMERAL_WORKSPACE, |d| d.bytes()),
            uid: spec.identity.uid,
            gid: spec.identity.gid,
        });
    };
    let bad = |reason: &str| JailError::Workdir {
        path: dir.clone(),
        reason: reason.to_string(),
    };
    // Threat: a workdir that is a symlink could point the writable bind anywhere.
    let meta = std::fs::symlink_metadata(dir).map_err(|e| bad(&format!("{e}")))?;
    if meta.file_type().is_symlink() {
        return Err(bad("is a symlink; give the real directory"));
    }
    if !meta.is_dir() {
        return Err(bad("is not a directory"));
    }
    let canon = std::fs::canonicalize(dir).map_err(|e| bad(&format!("{e}")))?;
    if canon == Path::new("/") {
        return Err(bad("the host's root cannot be the workspace"));
    }
    Ok(WorkspaceSource::HostDir(canon))
}

fn writable_inside(fs: &FilesystemPolicy) -> Vec<String> {
    let mut w = vec![WORKSPACE.to_string()];
    w.extend(fs.read_write.iter().map(|p| p.as_str().to_string()));
    w
}

fn prepare_host_state_dirs(stage: &Path, scratch: &Path) -> Result<(), JailError> {
    use std::os::unix::fs::DirBuilderExt;
    for d in [stage, scratch] {
        if d.is_dir() {
            continue;
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(d)
            .map_err(|source| JailError::Inspect {
                path: d.to_path_buf(),
                source,
            })?;
    }
    Ok(())
}

fn unique_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ d.as_secs())
        .unwrap_or(0)
}

fn rlimits(p: &ProcessPolicy) -> Vec<(libc::c_int, u64)> {
    p.rlimits
        .iter()
        .map(|(k, v)| {
            let res = match k {
                RlimitKind::Nofile => libc::RLIMIT_NOFILE,
                RlimitKind::Nproc => libc::RLIMIT_NPROC,
                RlimitKind::Core => libc::RLIMIT_CORE,
                RlimitKind::Fsize => libc::RLIMIT_FSIZE,
                RlimitKind::Stack => libc::RLIMIT_STACK,
                RlimitKind::Cpu => libc::RLIMIT_CPU,
                RlimitKind::As => libc::RLIMIT_AS,
                RlimitKind::Memlock => libc::RLIMIT_MEMLOCK,
            };
            (res as libc::c_int, *v)
        })
        .collect()
}

fn cstring(s: &[u8]) -> Result<CString, JailError> {
    CString::new(s).map_err(|_| JailError::NulInArgument {
        what: String::from_utf8_lossy(s).into_owned(),
    })
}

/// Candidate paths for the command (PATH search as the jail sees it), argv and envp.
fn exec_plan(spec: &JailSpec) -> Result<(Vec<CString>, CArray, CArray), JailError> {
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), DEFAULT_PATH.into()),
        ("HOME".into(), WORKSPACE.into()),
        ("SHELL".into(), "/bin/sh".into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("PADDOCK_JAIL".into(), "1".into()),
    ];
    let user = spec
        .identity
        .name
        .clone()
        .unwrap_or_else(|| spec.identity.uid.to_string());
    env.push(("USER".into(), user.clone().into()));
    env.push(("LOGNAME".into(), user.into()));
    match std::env::var_os("TERM") {
        Some(t) => env.push(("TERM".into(), t)),
        None if spec.tty => env.push(("TERM".into(), "xterm-256color".into())),
        None => {}
    }
    for (k, v) in &spec.env {
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
    let path_var = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| DEFAULT_PATH.into());
    let cmd = spec.command.first().ok_or(JailError::NoCommand)?;
    let cmd_bytes = cmd.as_bytes();
    let candidates = if cmd_bytes.contains(&b'/') {
        vec![cstring(cmd_bytes)?]
    } else {
        path_var
            .as_bytes()
            .split(|b| *b == b':')
            .filter(|d| !d.is_empty())
            .map(|d| cstring(&[d, b"/", cmd_bytes].concat()))
            .collect::<Result<Vec<_>, _>>()?
    };
    let argv = spec
        .command
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = env
        .iter()
        .map(|(k, v)| cstring(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((candidates, CArray::new(argv), CArray::new(envp)))
}

/// How init joins the jail's cgroups: v1 hierarchies by writing "0" into their `tasks`
/// file (a thread moving itself needs no global lock); the v2 group, if any, by being
/// cloned straight into it (`CLONE_INTO_CGROUP`).
struct CgroupEntry {
    v1_tasks: Vec<CString>,
    v2_dir: Option<OwnedFd>,
    v2_procs: Option<CString>,
}

fn cgroup_entry(cg: &cgroup::JailCgroup, v2_root: Option<&Path>) -> Result<CgroupEntry, JailError> {
    let mut entry = CgroupEntry {
        v1_tasks: Vec::new(),
        v2_dir: None,
        v2_procs: None,
    };
    for dir in cg.paths() {
        if !v2_root.is_some_and(|root| dir.starts_with(root)) {
            entry.v1_tasks.push(lower::cstr(&dir.join("tasks"))?);
            continue;
        }
        let fd = nix::fcntl::open(
            &dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|errno| JailError::Host {
            action: "open the jail's cgroup v2 directory",
            errno,
        })?;
        entry.v2_dir = Some(fd);
        entry.v2_procs = Some(lower::cstr(&dir.join("cgroup.procs"))?);
    }
    Ok(entry)
}

/// Whether the `paddock jail` process that owns group `name` (`jail-<pid>-<n>`) still runs.
/// Names of any other shape belong to someone else and count as alive: never touched.
fn jail_group_alive(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("jail-") else {
        return true;
    };
    match rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) {
        Some(pid) => Path::new("/proc").join(pid.to_string()).exists(),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jail_groups_of_dead_pids_count_as_stale() {
        let me = std::process::id();
        assert!(jail_group_alive(&format!("jail-{me}-7")));
        // Pid 0 never names a process in /proc.
        assert!(!jail_group_alive("jail-0-1"));
        // Someone else's naming scheme is never touched.
        assert!(jail_group_alive("session-42"));
        assert!(jail_group_alive("roottest-cg-1-a"));
        assert!(jail_group_alive("jail-notapid-1"));
    }

    #[test]
    fn exec_plan_searches_path_and_overrides_env() {
        let spec = JailSpec {
            filesystem: paddock_policy::system_default().filesystem,
            process: paddock_policy::system_default().process,
            resources: paddock_policy::system_default().resources,
            identity: Identity::new(1000, 1000, vec![], Some("alice".into())).unwrap(),
            command: vec!["ls".into(), "-l".into()],
            env: vec![
                ("PATH".into(), "/opt/bin:/usr/bin".into()),
                ("X".into(), "1".into()),
            ],
            workdir: None,
            tty: false,
            hostname: "h".into(),
            etc_files: Vec::new(),
        };
        let (cands, _argv, envp) = exec_plan(&spec).unwrap();
        let cands: Vec<&[u8]> = cands.iter().map(|c| c.to_bytes()).collect();
        assert_eq!(cands, vec![&b"/opt/bin/ls"[..], b"/usr/bin/ls"]);
        // PATH HOME SHELL LANG PADDOCK_JAIL USER LOGNAME [TERM] X, then the NULL terminator:
        // the PATH override replaced the default rather than adding a second PATH.
        let term = usize::from(std::env::var_os("TERM").is_some());
        assert_eq!(envp.as_slice().len(), 8 + term + 1);
    }
}
