//! The parent's side of a running jail: forward signals to the jail's init, relay the
//! terminal when there is one, and collect init's exit status.
//!
//! The parent never reads what the jail writes except to copy it to its own stdout (with
//! `--tty`); it parses nothing from the jail.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::JailError;

/// Signals the parent takes over and forwards (SIGCHLD tells it the jail ended).
pub(crate) const FORWARDED: &[Signal] = &[
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCHLD,
];

/// Blocks the forwarded signals; must happen before the clone so that none is lost.
pub(crate) fn block_signals() -> Result<SigSet, JailError> {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(*s);
    }
    set.thread_block().map_err(|errno| JailError::Host {
        action: "block signals",
        errno,
    })?;
    Ok(set)
}

/// Restores the host terminal's mode when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> Option<Self> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        Some(Self { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

fn copy_winsize(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    let mut ws: libc::winsize = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    if crate::sys::get_winsize(from.as_raw_fd(), &mut ws).is_ok() {
        let _ = crate::sys::set_winsize(to.as_raw_fd(), &ws);
    }
}

fn status_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// Waits for init to end, forwarding signals and relaying the pty; returns init's status
/// as an exit code (128+N for a signal).
pub(crate) fn supervise(
    init: Pid,
    signals: SigSet,
    master: Option<OwnedFd>,
) -> Result<i32, JailError> {
    let sfd =
        SignalFd::with_flags(&signals, SfdFlags::SFD_CLOEXEC).map_err(|errno| JailError::Host {
            action: "create a signalfd",
            errno,
        })?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let _raw = master.as_ref().and_then(|_| RawMode::enter());
    if let Some(m) = &master {
        copy_winsize(stdin.as_fd(), m.as_fd());
    }
    let mut stdin_open = master.is_some();
    // Once every slave is closed the master reports POLLHUP forever: stop polling it then,
    // or a workload that closed its terminal but keeps running would make us spin.
    let mut master_open = master.is_some();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        let mut master_slot = None;
        let mut stdin_slot = None;
        if let Some(m) = master.as_ref().filter(|_| master_open) {
            master_slot = Some(fds.len());
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
        }
        if master.is_some() && stdin_open {
            stdin_slot = Some(fds.len());
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(JailError::Terminal { errno }),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if master_slot.is_some_and(|i| ready[i]) {
            if let Some(m) = &master {
                match nix::unistd::read(m, &mut buf) {
                    Ok(n) if n > 0 => {
                        let _ = crate::sys::write_all(stdout.as_raw_fd(), &buf[..n]);
                    }
                    Err(Errno::EINTR | Errno::EAGAIN) => {}
                    // EOF or EIO: every slave is closed. Keep waiting for SIGCHLD only.
                    _ => master_open = false,
                }
            }
        }
        if stdin_slot.is_some_and(|i| ready[i]) {
            if let Some(m) = &master {
                match nix::unistd::read(&stdin, &mut buf) {
                    Ok(n) if n > 0 => {
                        let _ = crate::sys::write_all(m.as_raw_fd(), &buf[..n]);
                    }
                    _ => stdin_open = false,
                }
            }
        }
        if ready.first().copied().unwrap_or(false) {
            let Ok(Some(info)) = sfd.read_signal() else {
                continue;
            };
            let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            match sig {
                Signal::SIGCHLD => {
                    if let Ok(status) = waitpid(init, Some(WaitPidFlag::WNOHANG)) {
                        if let Some(code) = status_code(status) {
                            if let Some(m) = &master {
                                drain(m, stdout.as_raw_fd(), &mut buf);
                            }
                            return Ok(code);
                        }
                    }
                }
                Signal::SIGWINCH => {
                    if let Some(m) = &master {
                        copy_winsize(stdin.as_fd(), m.as_fd());
                    }
                }
                other => {
                    let _ = nix::sys::signal::kill(init, other);
                }
            }
        }
    }
}

/// Copies what is left in the pty after the jail ended.
fn drain(master: &OwnedFd, out: i32, buf: &mut [u8]) {
    let _ = nix::fcntl::fcntl(
        master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    for _ in 0..64 {
        match nix::unistd::read(master, buf) {
            Ok(n) if n > 0 => {
                let _ = crate::sys::write_all(out, &buf[..n]);
            }
            _ => break,
        }
    }
}

/// Waits for init after a failed setup, without forwarding anything.
pub(crate) fn reap(init: Pid) {
    let _ = waitpid(init, None);
}
