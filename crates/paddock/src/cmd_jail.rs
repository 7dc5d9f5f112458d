//! `paddock jail`: build a `JailSpec` from the flags and the policy file, reserve its network
//! (`jail_net`), run it, remove what it used, and map the outcome to an exit code.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use paddock_jail::{Identity, JailError, JailSpec};
use paddock_policy::{Authority, Layer, LayerKind, PolicyDoc, ResolvedPolicy, MAX_POLICY_BYTES};

use crate::cli::JailArgs;
use crate::jail_control;
use crate::jail_net::{self, JailNet, NetHook, SharedNet};

/// Runs the command; returns the process exit code.
pub fn run(args: JailArgs) -> i32 {
    match prepare_and_execute(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("paddock: error: {e:#}");
            e.downcast_ref::<JailError>()
                .map_or(125, JailError::exit_code)
        }
    }
}

fn prepare_and_execute(args: &JailArgs) -> Result<i32> {
    if let Some(name) = &args.name {
        jail_control::check_name(name)?;
    }
    let (layer, policy) = policy(args)?;
    let mut spec = spec(args, &policy)?;
    let net = JailNet::prepare(&policy.network, args.name.as_deref())?;
    if let Some(net) = &net {
        spec.etc_files
            .push(("resolv.conf".into(), net.resolv_conf()));
    }
    let net: SharedNet = Arc::new(Mutex::new(net));
    let name = args.name.clone();
    let control = Arc::new(Mutex::new(None));
    let mut hook = NetHook {
        net: Arc::clone(&net),
        after: name.map(|name| {
            let control = Arc::clone(&control);
            Box::new(move |net: SharedNet| {
                let (listener, socket) = jail_control::bind(&name)?;
                jail_control::serve(listener, net, layer)?;
                *control
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(socket);
                Ok(())
            }) as Box<dyn FnOnce(SharedNet) -> Result<()>>
        }),
    };
    let outcome = paddock_jail::run_with(&spec, &mut hook);
    // The socket first, so no change arrives while the segment goes.
    control
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    let released = jail_net::lock(&net).take().map(JailNet::release);
    let outcome = outcome?;
    if let Some(released) = released {
        released?;
    }
    if args.verbose {
        eprintln!("paddock: {}", paddock_jail::describe(&outcome.enforcement));
    }
    Ok(outcome.exit_code)
}

fn spec(args: &JailArgs, policy: &ResolvedPolicy) -> Result<JailSpec> {
    let policy = policy.clone();
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
        etc_files: Vec::new(),
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

/// The operator's policy file and flags form one admin layer over the built-in default; the
/// layer is kept so that a hot change can be resolved over it.
fn policy(args: &JailArgs) -> Result<(Layer, ResolvedPolicy)> {
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
    if let Some(mode) = args.net {
        doc.network.mode = Some(mode);
    }
    if !args.dns_allow.is_empty() {
        let allow = doc.network.dns.allow.get_or_insert_with(Vec::new);
        allow.extend(args.dns_allow.iter().cloned());
    }
    let layer = Layer {
        kind: LayerKind::System,
        authority: Authority::Admin,
        source,
        doc,
    };
    let resolved = paddock_policy::resolve(std::slice::from_ref(&layer))?;
    Ok((layer, resolved))
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
