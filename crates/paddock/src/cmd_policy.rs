//! `paddock policy set --jail NAME [--wait] FILE`: validate a policy file here (errors name
//! file, line, column and key), then hand it to the running jail's control socket.

use std::io::Read;

use anyhow::{Context, Result};
use paddock_policy::MAX_POLICY_BYTES;

use crate::cli::PolicySetArgs;
use crate::jail_control;

/// Runs the command; returns the process exit code.
pub fn set(args: &PolicySetArgs) -> i32 {
    match send(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("paddock: error: {e:#}");
            1
        }
    }
}

fn send(args: &PolicySetArgs) -> Result<()> {
    let source = args.file.display().to_string();
    let mut text = String::new();
    std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open policy {source}"))?
        .take(MAX_POLICY_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read policy {source} (is it UTF-8 text?)"))?;
    // Checked here too, so that a mistake is reported with its position before anything is sent.
    jail_control::parse_dynamic(&source, &text)?;
    jail_control::send(&args.jail, &source, &text, args.wait)
}
