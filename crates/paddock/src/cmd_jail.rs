//! `paddock jail`: build a `JailSpec` from the flags and the policy file, run it, and map
//! the outcome to an exit code.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use paddock_jail::{Identity, JailError, JailSpec};
use paddock_policy::{Authority, Layer, LayerKind, PolicyDoc, ResolvedPolicy, MAX_POLICY_BYTES};

use crate::cli::JailArgs;

/// Runs the command; returns the process exit code.
pub fn run(args: JailArgs) -> i32 {
    match spec(&args).and_then(|s| execute(&s, args.verbose)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("paddock: error: {e:#}");
            e.downcast_ref::<JailError>()
                .map_or(125, JailError::exit_code)
        }
    }
}

fn execute(spec: &JailSpec, verbose: bool) -> Result<i32> {
    let outcome = paddock_jail::run(spec)?;
    if verbose {
        eprintln!("paddock: {}", paddock_jail::describe(&outcome.enforcement));
    }
    Ok(outcome.exit_code)
}

fn spec(args: &JailArgs) -> Result<JailSpec> {
    let policy = policy(args)?;
    Ok(JailSpec {
        filesystem: policy.filesystem,
        process: policy.process,
        resources: policy.resources,
        identity: identity(args)?,
        command: args.command.clone(),
        env: env(&args.env)?,
        workdir: args.workdir.clone(),
        tty: args.tty,
        hostname: args.hostname.clone(),
    })
}

/// `--user`, then `--uid`, then the account named by `PADDOCK_JAIL_USER`, then `nobody`.
fn identity(args: &JailArgs) -> Result<Identity> {
    Ok(match (&args.user, args.uid) {
        (Some(name), _) => Identity::from_user_name(name)?,
        (None, Some(uid)) => Identity::from_uid(uid)?,
        (None, None) => match std::env::var("PADDOCK_JAIL_USER") {
            Ok(name) if !name.is_empty() => Identity::from_user_name(&name)
                .with_context(|| format!("PADDOCK_JAIL_USER={name:?}"))?,
            _ => Identity::nobody()?,
        },
    })
}

fn env(pairs: &[String]) -> Result<Vec<(OsString, OsString)>> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.into(), v.into())),
            _ => bail!("--env {p:?}: expected KEY=VALUE"),
        })
        .collect()
}

/// The operator's policy file and flags form one admin layer over the built-in default.
fn policy(args: &JailArgs) -> Result<ResolvedPolicy> {
    let (source, mut doc) = match &args.policy {
        Some(path) => (path.display().to_string(), read_policy(path)?),
        None => ("command line".to_string(), PolicyDoc::default()),
    };
    if let Some(m) = args.memory {
        doc.resources.memory = Some(m);
    }
    if let Some(p) = args.pids {
        doc.resources.pids = Some(p);
    }
    if let Some(c) = args.cpus {
        doc.resources.cpus = Some(c);
    }
    let layer = Layer {
        kind: LayerKind::System,
        authority: Authority::Admin,
        source,
        doc,
    };
    Ok(paddock_policy::resolve(&[layer])?)
}

fn read_policy(path: &Path) -> Result<PolicyDoc> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open policy {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_POLICY_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read policy {} (is it UTF-8 text?)", path.display()))?;
    let parsed = paddock_policy::parse_layer(&path.display().to_string(), &text)?;
    for w in &parsed.warnings {
        eprintln!("paddock: warning: {w}");
    }
    Ok(parsed.doc)
}
