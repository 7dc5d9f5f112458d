//! Filesystem attacks: reading hidden files, writing outside the writable areas, and getting
//! around the jail's view with symlinks, hardlinks, `/proc/<pid>/root`, setuid files and
//! device nodes.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::util::{jail, require_root, Workdir, EACCES, ENOENT, EPERM, EROFS, EXDEV, NOBODY};

#[test]
fn blocks_reading_etc_shadow() {
    if !require_root("blocks_reading_etc_shadow") {
        return;
    }
    let run = jail(&[]).py(r#"
attempt("shadow", lambda: open("/etc/shadow").read())
must("shadow-listed", "shadow" not in os.listdir("/etc"))
attempt("passwd", lambda: open("/etc/passwd").read())
"#);
    run.assert_errno("shadow", ENOENT);
    run.assert_ok("shadow-listed");
    // Control: the rest of /etc is readable, so the denial is the whiteout, not a broken /etc.
    run.assert_ok("passwd");
    run.assert_absent("root:$");
}

#[test]
fn blocks_reading_etc_gshadow_and_backups() {
    if !require_root("blocks_reading_etc_gshadow_and_backups") {
        return;
    }
    let run = jail(&[]).py(r#"
for f in ("gshadow", "gshadow-", "shadow-", "paddock"):
    attempt(f, lambda: os.stat("/etc/" + f))
attempt("group", lambda: open("/etc/group").read())
"#);
    for f in ["gshadow", "gshadow-", "shadow-", "paddock"] {
        run.assert_errno(f, ENOENT);
    }
    run.assert_ok("group");
}

#[test]
fn blocks_reading_other_users_homes() {
    if !require_root("blocks_reading_other_users_homes") {
        return;
    }
    let run = jail(&[]).py(r#"
attempt("root-home", lambda: os.listdir("/root"))
attempt("home", lambda: os.listdir("/home"))
attempt("root-ssh", lambda: open("/root/.ssh/id_rsa").read())
attempt("own-home", lambda: os.listdir(os.environ["HOME"]))
"#);
    run.assert_errno("root-home", ENOENT);
    run.assert_errno("home", ENOENT);
    run.assert_errno("root-ssh", ENOENT);
    // Control: the jail's own home (the workspace) is there.
    run.assert_ok("own-home");
}

#[test]
fn blocks_writing_outside_workspace_and_tmp() {
    if !require_root("blocks_writing_outside_workspace_and_tmp") {
        return;
    }
    let run = jail(&[]).py(r#"
for tag, p in (("usr", "/usr/paddock-x"), ("usr-bin", "/usr/bin/paddock-x"),
               ("etc", "/etc/paddock-x"), ("root", "/paddock-x")):
    attempt(tag, lambda: open(p, "w").close())
attempt("etc-passwd", lambda: open("/etc/passwd", "a").close())
attempt("var", lambda: open("/var/paddock-x", "w").close())
attempt("mkdir-var", lambda: os.mkdir("/var"))
attempt("workspace", lambda: open("/workspace/x", "w").close())
attempt("tmp", lambda: open("/tmp/x", "w").close())
"#);
    for tag in ["usr", "usr-bin", "etc", "root", "etc-passwd", "mkdir-var"] {
        run.assert_errno(tag, EROFS);
    }
    // /var does not exist in the jail at all, and cannot be created.
    run.assert_errno("var", ENOENT);
    run.assert_ok("workspace");
    run.assert_ok("tmp");
}

#[test]
fn blocks_symlink_from_workspace_to_etc_shadow() {
    if !require_root("blocks_symlink_from_workspace_to_etc_shadow") {
        return;
    }
    let wd = Workdir::root_owned();
    std::os::unix::fs::symlink("/etc/shadow", wd.path().join("shadow-link")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", wd.path().join("passwd-link")).unwrap();
    // Control: on the host the link resolves, so only the jail's view can stop it.
    assert!(std::fs::metadata(wd.path().join("shadow-link")).is_ok());
    let run = jail(&["--workdir", wd.arg()]).py(r#"
attempt("via-link", lambda: open("/workspace/shadow-link").read())
attempt("passwd-link", lambda: open("/workspace/passwd-link").read())
"#);
    run.assert_errno("via-link", ENOENT);
    run.assert_ok("passwd-link");
    assert_eq!(wd.entries(), ["passwd-link", "shadow-link"]);
}

#[test]
fn blocks_symlink_from_workspace_to_root_home() {
    if !require_root("blocks_symlink_from_workspace_to_root_home") {
        return;
    }
    let wd = Workdir::jail_owned();
    std::os::unix::fs::symlink("/root", wd.path().join("root-link")).unwrap();
    let run = jail(&["--workdir", wd.arg()]).py(
        r#"
attempt("host-link", lambda: os.listdir("/workspace/root-link"))
os.symlink("/root/.bashrc", "/workspace/made-inside")
attempt("made-inside", lambda: open("/workspace/made-inside").read())
attempt("usr-link", lambda: os.symlink("/usr", "/workspace/usr-link") or os.listdir("/workspace/usr-link/bin"))
"#,
    );
    run.assert_errno("host-link", ENOENT);
    run.assert_errno("made-inside", ENOENT);
    // Control: a link to something in the jail's view works.
    run.assert_ok("usr-link");
    assert_eq!(wd.entries(), ["made-inside", "root-link", "usr-link"]);
}

#[test]
fn blocks_hardlink_to_file_outside_writable_areas() {
    if !require_root("blocks_hardlink_to_file_outside_writable_areas") {
        return;
    }
    // The workdir sits on the host's root filesystem, like /usr and /etc, so only the
    // mount boundaries stop a link.
    let wd = Workdir::jail_owned();
    let run = jail(&["--workdir", wd.arg()]).py(r#"
attempt("usr-to-workspace", lambda: os.link("/usr/bin/id", "/workspace/id"))
attempt("etc-to-workspace", lambda: os.link("/etc/passwd", "/workspace/passwd"))
attempt("etc-to-tmp", lambda: os.link("/etc/passwd", "/tmp/passwd"))
open("/workspace/a", "w").close()
attempt("within-workspace", lambda: os.link("/workspace/a", "/workspace/b"))
"#);
    run.assert_errno("usr-to-workspace", EXDEV);
    run.assert_errno("etc-to-workspace", EXDEV);
    run.assert_errno("etc-to-tmp", EXDEV);
    run.assert_ok("within-workspace");
    assert_eq!(wd.entries(), ["a", "b"]);
}

#[test]
fn blocks_proc_pid_root_traversal_to_host_root() {
    if !require_root("blocks_proc_pid_root_traversal_to_host_root") {
        return;
    }
    let run = jail(&[]).py(
        r#"
attempt("init-root", lambda: os.stat("/proc/1/root/etc/shadow"))
attempt("init-root-list", lambda: os.listdir("/proc/1/root/"))
attempt("self-root-shadow", lambda: os.stat("/proc/self/root/etc/shadow"))
attempt("self-root-home", lambda: os.stat("/proc/self/root/root"))
must("self-root-is-jail", os.readlink("/proc/self/root") == "/" and os.path.isdir("/proc/self/root/workspace"))
must("dotdot-is-root", sorted(os.listdir("/..")) == sorted(os.listdir("/")))
"#,
    );
    // Init is not dumpable: its /proc entries are closed even to the same uid.
    run.assert_errno("init-root", EACCES);
    run.assert_errno("init-root-list", EACCES);
    run.assert_errno("self-root-shadow", ENOENT);
    run.assert_errno("self-root-home", ENOENT);
    run.assert_ok("self-root-is-jail");
    run.assert_ok("dotdot-is-root");
}

#[test]
fn blocks_setuid_binary_in_workspace() {
    if !require_root("blocks_setuid_binary_in_workspace") {
        return;
    }
    let wd = Workdir::root_owned();
    let id = wd.path().join("id");
    std::fs::copy("/usr/bin/id", &id).unwrap();
    std::os::unix::fs::chown(&id, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&id, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let run = jail(&["--workdir", wd.arg()])
        .sh("stat -c 'mode=%a owner=%u' /workspace/id; echo euid=$(/workspace/id -u); echo ruid=$(/workspace/id -ru)");
    // Control: the file really is setuid root as the jail sees it.
    run.assert_line("mode=4755 owner=0");
    run.assert_line(&format!("euid={NOBODY}"));
    run.assert_line(&format!("ruid={NOBODY}"));
    run.assert_exit(0);
    let meta = std::fs::metadata(&id).unwrap();
    assert_eq!((meta.mode() & 0o7777, meta.uid()), (0o4755, 0));
    assert_eq!(wd.entries(), ["id"]);
}

#[test]
fn blocks_block_device_nodes() {
    if !require_root("blocks_block_device_nodes") {
        return;
    }
    let run = jail(&[]).py(r#"
import stat
attempt("open-sda", lambda: os.open("/dev/sda", os.O_WRONLY | os.O_CREAT))
attempt("mknod-dev-sda", lambda: os.mknod("/dev/sda", stat.S_IFBLK | 0o600, os.makedev(8, 0)))
attempt("mknod-tmp-sda", lambda: os.mknod("/tmp/sda", stat.S_IFBLK | 0o600, os.makedev(8, 0)))
attempt("mknod-tmp-mem", lambda: os.mknod("/tmp/mem", stat.S_IFCHR | 0o600, os.makedev(1, 1)))
attempt("mkfifo-tmp", lambda: os.mkfifo("/tmp/fifo"))
"#);
    // /dev is outside Landlock's writable set (EACCES) and read-only to DAC for nobody.
    run.assert_errno("open-sda", EACCES);
    run.assert_errno("mknod-dev-sda", EACCES);
    // In writable places, Landlock refuses device nodes even before CAP_MKNOD is checked.
    run.assert_errno("mknod-tmp-sda", EACCES);
    run.assert_errno("mknod-tmp-mem", EACCES);
    run.assert_ok("mkfifo-tmp");
}

#[test]
fn blocks_device_node_in_workspace_but_allows_dev_shm_writes() {
    if !require_root("blocks_device_node_in_workspace_but_allows_dev_shm_writes") {
        return;
    }
    let wd = Workdir::jail_owned();
    let run = jail(&["--workdir", wd.arg()]).py(r#"
import stat
attempt("shm-write", lambda: open("/dev/shm/paddock-x", "w").write("hi"))
must("shm-read", open("/dev/shm/paddock-x").read() == "hi")
attempt("ws-chardev", lambda: os.mknod("/workspace/null", stat.S_IFCHR | 0o666, os.makedev(1, 3)))
attempt("ws-blockdev", lambda: os.mknod("/workspace/vda", stat.S_IFBLK | 0o666, os.makedev(254, 0)))
attempt("ws-fifo", lambda: os.mkfifo("/workspace/fifo"))
attempt("proc-comm", lambda: open("/proc/self/comm", "w").write("x"))
"#);
    run.assert_ok("shm-write");
    run.assert_ok("shm-read");
    // Landlock (no MAKE_CHAR/MAKE_BLOCK anywhere): EACCES, not the capability's EPERM.
    run.assert_errno("ws-chardev", EACCES);
    run.assert_errno("ws-blockdev", EACCES);
    run.assert_ok("ws-fifo");
    // A file DAC would let the uid write, outside Landlock's writable set.
    run.assert_errno("proc-comm", EACCES);
    assert_eq!(wd.entries(), ["fifo"]);
}

#[test]
fn blocks_world_writable_workspace_files_from_inherited_umask() {
    if !require_root("blocks_world_writable_workspace_files_from_inherited_umask") {
        return;
    }
    // Threat: files the agent creates land on the host; with umask 0 every host user could
    // rewrite them (and the directories' contents) before the operator reviews them.
    let wd = Workdir::jail_owned();
    let run = jail(&["--workdir", wd.arg()])
        .sh("umask; touch /workspace/file; mkdir /workspace/dir; echo done");
    run.assert_line("done");
    for name in ["file", "dir"] {
        let mode = std::fs::metadata(wd.path().join(name)).unwrap().mode();
        assert_eq!(
            mode & 0o002,
            0,
            "{name} created in the jail is world-writable on the host (mode {:o}); umask inside: {}",
            mode & 0o7777,
            run.stdout.lines().next().unwrap_or("")
        );
    }
}

#[test]
fn blocks_reading_run_and_host_state_dirs() {
    if !require_root("blocks_reading_run_and_host_state_dirs") {
        return;
    }
    let run = jail(&[]).py(r#"
for tag, p in (("run", "/run/paddock"), ("var-run", "/var/run"), ("boot", "/boot"),
               ("mnt", "/mnt"), ("srv", "/srv"), ("opt", "/opt")):
    attempt(tag, lambda: os.listdir(p))
attempt("usr", lambda: os.listdir("/usr/bin"))
"#);
    for tag in ["run", "var-run", "boot", "mnt", "srv", "opt"] {
        run.assert_errno(tag, ENOENT);
    }
    run.assert_ok("usr");
}

#[test]
fn blocks_chmod_of_system_files() {
    if !require_root("blocks_chmod_of_system_files") {
        return;
    }
    let run = jail(&[]).py(r#"
attempt("chmod-usr", lambda: os.chmod("/usr/bin/id", 0o4755))
attempt("chown-etc", lambda: os.chown("/etc/passwd", 65534, 65534))
open("/tmp/mine", "w").close()
attempt("chmod-own", lambda: os.chmod("/tmp/mine", 0o600))
attempt("chown-own-to-root", lambda: os.chown("/tmp/mine", 0, 0))
"#);
    run.assert_errno("chmod-usr", EROFS);
    run.assert_errno("chown-etc", EROFS);
    run.assert_ok("chmod-own");
    // Giving a file away needs CAP_CHOWN, which the jail lacks.
    run.assert_errno("chown-own-to-root", EPERM);
}
