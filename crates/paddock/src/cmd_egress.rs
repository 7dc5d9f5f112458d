//! `paddock egress dns`: the DNS filter process that `paddock jail` starts as the egress account
//! (see `dns_service`). Its stdout is the audit file, its stderr a pipe that gets one
//! `ready <port>` line; it exits on its own when no jail has used it for a second.

use std::io::Write;
use std::time::Duration;

use paddock_egress::service::{self, ServiceConfig};

use crate::cli::EgressDnsArgs;

/// Runs the filter; returns the process exit code.
pub fn dns(args: &EgressDnsArgs) -> i32 {
    let mut cfg = ServiceConfig::new(args.socket.clone(), args.upstream);
    cfg.idle_exit = Duration::from_millis(args.idle_exit_ms);
    let audit = Box::new(std::io::stdout());
    let ready = |port: u16| {
        let mut err = std::io::stderr();
        let _ = writeln!(err, "ready {port}");
        let _ = err.flush();
    };
    match service::run(cfg, audit, ready) {
        Ok(()) => 0,
        Err(e) => {
            // stderr may be closed by now (the starter stops reading after "ready").
            let _ = writeln!(std::io::stderr(), "paddock egress dns: error: {e}");
            1
        }
    }
}
