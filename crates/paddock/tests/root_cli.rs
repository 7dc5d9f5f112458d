//! CLI behaviour of `paddock jail` and `paddock doctor` on the real machine: bad input gives
//! one clear error line, a non-zero exit and no leftovers; exit statuses, stdin, terminals
//! and signals pass through the jail.
//!
//! Root only (STYLE rule 13): without root every test prints why and returns, unless `CI`
//! is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "escape/util.rs"]
#[allow(dead_code)]
mod util;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::{assert_host_clean, jail, paddock_bin, require_root, run_command, shell_quote, Run};

/// Runs `paddock <args>` with no stdin.
fn paddock(args: &[&str]) -> Run {
    let mut c = Command::new(paddock_bin());
    c.args(args);
    let run = run_command(c, None);
    assert_host_clean(run.pid);
    run
}

/// Non-empty stderr lines.
fn error_lines(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// Exactly one stderr line, starting `paddock: error:` and containing every `needle`.
fn assert_one_error(run: &Run, needles: &[&str]) {
    let lines = error_lines(run);
    assert_eq!(lines.len(), 1, "expected one error line: {:?}", run.stderr);
    assert!(lines[0].starts_with("paddock: error: "), "{:?}", lines[0]);
    for n in needles {
        assert!(lines[0].contains(n), "{:?} lacks {n:?}", lines[0]);
    }
    assert!(run.stdout.is_empty(), "stdout: {:?}", run.stdout);
}

#[test]
fn unknown_flag_is_a_usage_error() {
    if !require_root("unknown_flag_is_a_usage_error") {
        return;
    }
    let run = paddock(&["jail", "--no-such-flag", "--", "true"]);
    run.assert_exit(2);
    let first = error_lines(&run)[0];
    assert_eq!(first, "error: unexpected argument '--no-such-flag' found");
}

#[test]
fn policy_making_root_writable_names_file_line_and_key() {
    if !require_root("policy_making_root_writable_names_file_line_and_key") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(&file, "filesystem: { read_write: [\"/\"] }\n").unwrap();
    let path = file.to_str().unwrap();
    let run = paddock(&["jail", "--net", "none", "--policy", path, "--", "true"]);
    run.assert_exit(125);
    assert_one_error(
        &run,
        &[
            &format!("{path}:1:"),
            "filesystem.read_write[0]",
            "may not be writable",
        ],
    );
}

#[test]
fn policy_with_unknown_key_names_file_line_and_key() {
    if !require_root("policy_with_unknown_key_names_file_line_and_key") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(&file, "filesystem:\n  tmp_size: 8M\n  bogus_key: 1\n").unwrap();
    let path = file.to_str().unwrap();
    let run = paddock(&["jail", "--net", "none", "--policy", path, "--", "true"]);
    run.assert_exit(125);
    assert_one_error(
        &run,
        &[
            &format!("{path}:3:3"),
            "filesystem.bogus_key",
            "unknown field",
        ],
    );
}

#[test]
fn missing_command_is_a_usage_error() {
    if !require_root("missing_command_is_a_usage_error") {
        return;
    }
    for args in [&["jail"][..], &["jail", "--"][..]] {
        let run = paddock(args);
        run.assert_exit(2);
        assert_eq!(
            error_lines(&run)[0],
            "error: the following required arguments were not provided:"
        );
        run.assert_stderr_contains("<CMD>...");
    }
}

#[test]
fn not_root_is_refused() {
    if !require_root("not_root_is_refused") {
        return;
    }
    // A copy nobody can reach: the build tree may sit below a directory closed to others.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("paddock");
    std::fs::copy(paddock_bin(), &bin).unwrap();
    let mut c = Command::new("setpriv");
    c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(&bin)
        .args(["jail", "--net", "none", "--", "true"]);
    let run = run_command(c, None);
    run.assert_exit(125);
    assert_one_error(&run, &["paddock jail must run as root"]);
    assert_host_clean(run.pid);
}

#[test]
fn unknown_user_is_refused() {
    if !require_root("unknown_user_is_refused") {
        return;
    }
    let run = paddock(&[
        "jail",
        "--net",
        "none",
        "--user",
        "no-such-user-xyz",
        "--",
        "true",
    ]);
    run.assert_exit(125);
    assert_one_error(&run, &["unknown user \"no-such-user-xyz\""]);
}

#[test]
fn missing_workdir_is_refused() {
    if !require_root("missing_workdir_is_refused") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let path = missing.to_str().unwrap();
    let run = paddock(&["jail", "--net", "none", "--workdir", path, "--", "true"]);
    run.assert_exit(125);
    assert_one_error(
        &run,
        &[&format!("workdir {path}"), "No such file or directory"],
    );
    assert!(!missing.exists());
}

#[test]
fn command_not_found_exits_127() {
    if !require_root("command_not_found_exits_127") {
        return;
    }
    let run = paddock(&["jail", "--net", "none", "--", "no-such-command-xyz"]);
    run.assert_exit(127);
    assert_one_error(
        &run,
        &["no-such-command-xyz: command not found in the jail"],
    );
}

#[test]
fn runs_unprivileged_and_cannot_read_shadow() {
    if !require_root("runs_unprivileged_and_cannot_read_shadow") {
        return;
    }
    let run = jail(&[]).sh("id -u; cat /etc/shadow");
    run.assert_line("65534");
    run.assert_stderr_contains("cat: /etc/shadow: No such file or directory");
    run.assert_exit(1);
}

#[test]
fn exit_status_propagates() {
    if !require_root("exit_status_propagates") {
        return;
    }
    jail(&[]).sh("exit 7").assert_exit(7);
    jail(&[]).sh("kill -TERM $$").assert_exit(143);
    jail(&[]).sh("true").assert_exit(0);
}

#[test]
fn stdin_passes_through() {
    if !require_root("stdin_passes_through") {
        return;
    }
    let run = jail(&[]).stdin(b"hello\n").run(&["cat"]);
    run.assert_exit(0);
    assert_eq!(run.stdout, "hello\n");
}

#[test]
fn tty_gives_the_command_a_terminal() {
    if !require_root("tty_gives_the_command_a_terminal") {
        return;
    }
    let inner = format!(
        "{} jail --net none --tty -- sh -c {}",
        shell_quote(paddock_bin()),
        shell_quote("tty; test -t 0 && echo TTY")
    );
    let mut c = Command::new("script");
    c.args(["-qec", &inner, "/dev/null"]);
    let run = run_command(c, None);
    run.assert_line("/dev/pts/0");
    run.assert_line("TTY");
}

#[test]
fn doctor_lists_the_layers() {
    if !require_root("doctor_lists_the_layers") {
        return;
    }
    let run = paddock(&["doctor"]);
    run.assert_exit(0);
    for layer in ["landlock", "seccomp", "cgroups", "namespaces"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with("ok") && l.contains(layer)),
            "doctor: {}",
            run.stdout
        );
    }
}

#[test]
fn verbose_prints_the_enforcement_summary() {
    if !require_root("verbose_prints_the_enforcement_summary") {
        return;
    }
    let run = jail(&["-v", "--pids", "77"]).run(&["true"]);
    run.assert_exit(0);
    run.assert_stderr_contains("landlock ABI");
    run.assert_stderr_contains("seccomp 1 filter(s)");
    run.assert_stderr_contains("pids=77");
}

#[test]
fn sigterm_is_forwarded_to_the_command() {
    if !require_root("sigterm_is_forwarded_to_the_command") {
        return;
    }
    let mut child = Command::new(paddock_bin())
        .args(["jail", "--net", "none", "--", "sh", "-c"])
        // A foreground loop rather than `sleep 30 & wait`: dash points an asynchronous
        // command's stdin at /dev/null, which the jail cannot open yet (see
        // `dev_null_and_friends_are_usable_in_the_jail`), and that is not what this tests.
        .arg(r#"trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.1; done"#)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(rest.trim(), "got-term");
    assert_eq!(status.code(), Some(3));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_host_clean(pid);
}

#[test]
fn dev_null_and_friends_are_usable_in_the_jail() {
    if !require_root("dev_null_and_friends_are_usable_in_the_jail") {
        return;
    }
    // Ordinary programs write to /dev/null and read /dev/urandom; the jail creates these
    // nodes, so they must open.
    let run = jail(&[]).sh(
        "echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c",
    );
    run.assert_line("null-ok");
    assert_eq!(
        run.stdout.lines().filter(|l| l.trim() == "4").count(),
        2,
        "{}",
        run.stderr
    );
}

#[test]
fn default_identity_comes_from_paddock_jail_user() {
    if !require_root("default_identity_comes_from_paddock_jail_user") {
        return;
    }
    // `daemon` (uid 1) exists on every Debian system.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paddock"))
        .env("PADDOCK_JAIL_USER", "daemon")
        .args(["jail", "--net", "none", "--", "id", "-un"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "daemon",
        "{out:?}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paddock"))
        .env("PADDOCK_JAIL_USER", "no-such-user-xyz")
        .args(["jail", "--net", "none", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PADDOCK_JAIL_USER") && err.contains("unknown user"),
        "{err}"
    );
}

/// Regression: once every pty slave was closed, the parent polled a master that reports
/// POLLHUP forever and spun at 100 % CPU until the jail ended.
#[test]
fn tty_relay_does_not_spin_after_the_workload_closes_its_terminal() {
    if !require_root("tty_relay_does_not_spin_after_the_workload_closes_its_terminal") {
        return;
    }
    let marker = format!("spin-check-{}", std::process::id());
    let inner = format!(
        "{} jail --net none --tty --hostname {marker} -- sh -c 'exec >/dev/null 2>&1 </dev/null; sleep 2'",
        paddock_bin()
    );
    let mut script = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // Every paddock process of this jail (the parent, and init, which shares its argv).
    let cpu = paddock_cpu_with_marker(&marker);
    let status = script.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(cpu.1 >= 1, "found no paddock process carrying {marker}");
    assert!(
        cpu.0 < Duration::from_millis(300),
        "paddock used {:?} of CPU in 1.5 s",
        cpu.0
    );
}

/// Summed user+system CPU of processes whose argv contains `marker`, and how many there were.
fn paddock_cpu_with_marker(marker: &str) -> (Duration, usize) {
    let mut total = 0u64;
    let mut found = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let path = entry.path();
        let Ok(cmdline) = std::fs::read(path.join("cmdline")) else {
            continue;
        };
        let argv = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !argv.contains(marker) || !argv.contains("jail") || argv.starts_with("script") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .collect();
        // After the comm field, index 0 is field 3 (state); utime is field 14, stime 15.
        total += fields[14 - 3].parse::<u64>().unwrap() + fields[15 - 3].parse::<u64>().unwrap();
        found += 1;
    }
    (Duration::from_millis(total * 10), found)
}

/// An interactive shell under `--tty`: keystrokes in, output and the window size out,
/// driven through a private tmux server like a person at a terminal.
#[test]
fn tty_runs_an_interactive_shell() {
    if !require_root("tty_runs_an_interactive_shell") {
        return;
    }
    let sock = format!("paddock-test-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &sock])
            .args(args)
            .output()
            .unwrap()
    };
    let cmd = format!("{} jail --net none --tty -- sh", paddock_bin());
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "100",
        "-y",
        "20",
        &cmd,
    ]);
    assert!(started.status.success(), "{started:?}");
    let pane = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = tmux(&["capture-pane", "-t", "t", "-p"]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.contains(want) || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // The shell's prompt appears, then it computes what we typed and knows the window size.
    assert!(pane("$").contains('$'));
    tmux(&[
        "send-keys",
        "-t",
        "t",
        "echo answer-$((40+2)); stty size; tty",
        "Enter",
    ]);
    let text = pane("/dev/pts/");
    assert!(text.contains("answer-42"), "{text}");
    assert!(text.contains("20 100"), "{text}");
    assert!(text.contains("/dev/pts/0"), "{text}");
    tmux(&["send-keys", "-t", "t", "exit", "Enter"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux(&["has-session", "-t", "t"]).status.success() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let still = tmux(&["has-session", "-t", "t"]).status.success();
    tmux(&["kill-server"]);
    assert!(!still, "the shell did not exit");
}

/// `filesystem.root: <dir>` builds the jail from that directory instead of the host's system
/// directories, with the same guarantees: its `/etc/shadow` is absent, its files read-only.
#[test]
fn rootfs_directory_policy_runs_from_that_root() {
    if !require_root("rootfs_directory_policy_runs_from_that_root") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    for d in ["bin", "etc"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    // Debian's busybox-static: one static binary is a whole userland.
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox-static installed");
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "nobody:x:65534:65534:nobody:/:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(root.join("etc/shadow"), "root:SECRET-HASH:1::::::\n").unwrap();
    std::fs::write(root.join("etc/marker"), "from-the-rootfs\n").unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        format!("filesystem:\n  root: {}\n", root.display()),
    )
    .unwrap();
    let out = Command::new(paddock_bin())
        .args(["jail", "--net", "none", "--policy"])
        .arg(&policy)
        .args([
            "--",
            "/bin/busybox",
            "sh",
            "-c",
            "cat /etc/marker; ls /usr 2>&1 | head -1; cat /etc/shadow 2>&1; touch /bin/x 2>&1; busybox id -u",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("from-the-rootfs"), "{out:?}");
    // The host's /usr is not there: only the rootfs's entries are.
    assert!(stdout.contains("No such file or directory"), "{stdout}");
    assert!(
        stdout.contains("can't open '/etc/shadow': No such file or directory"),
        "{stdout}"
    );
    assert!(!stdout.contains("SECRET-HASH"), "{stdout}");
    assert!(stdout.contains("Read-only file system"), "{stdout}");
    assert!(stdout.trim_end().ends_with("65534"), "{stdout}");
}

/// The command starts with every signal at its default: Rust's runtime ignores SIGPIPE in
/// paddock itself, and an ignored disposition would survive `execve` (`yes | head` would
/// then spin on EPIPE instead of dying).
#[test]
fn the_command_starts_with_no_signal_ignored_or_blocked() {
    if !require_root("the_command_starts_with_no_signal_ignored_or_blocked") {
        return;
    }
    let out = Command::new(paddock_bin())
        .args([
            "jail",
            "--net",
            "none",
            "--",
            "grep",
            "-E",
            "^Sig(Ign|Blk):",
            "/proc/self/status",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("SigIgn:\t0000000000000000"), "{stdout}");
    assert!(stdout.contains("SigBlk:\t0000000000000000"), "{stdout}");
}

/// Regression: the uid change in init cleared its parent-death signal, so a SIGKILLed
/// `paddock jail` left its jail running. Now the whole jail dies with it.
#[test]
fn sigkill_of_paddock_ends_the_jail() {
    if !require_root("sigkill_of_paddock_ends_the_jail") {
        return;
    }
    let marker = format!("pdk-orphan-{}", std::process::id());
    let mut child = Command::new(paddock_bin())
        .args(["jail", "--net", "none", "--", "sh", "-c"])
        .arg(format!("echo ready; sleep 60; : {marker}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    // Wait (bounded) until the command runs, so the kill hits a jail that is up.
    let running = || {
        Command::new("pgrep")
            .args(["-f", &marker])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(running(), "the jail's command never started");
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!running(), "the jail outlived a SIGKILLed paddock");
}
