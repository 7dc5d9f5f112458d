//! `paddock doctor`: print what each isolation layer looks like on this machine; exit 1
//! when a layer the default policy requires is missing.

use paddock_jail::probe::{self, Status};

use crate::cli::DoctorArgs;

/// Runs the probes and prints them; returns the exit code.
pub fn run(args: &DoctorArgs) -> i32 {
    let checks = probe::probe_all();
    if args.json {
        let items: Vec<String> = checks
            .iter()
            .map(|c| {
                let (ok, detail) = match &c.status {
                    Status::Available(d) => (true, d),
                    Status::Missing(d) => (false, d),
                };
                format!(
                    "{{\"layer\":{:?},\"required\":{},\"available\":{},\"detail\":{:?}}}",
                    c.layer, c.required, ok, detail
                )
            })
            .collect();
        println!("[{}]", items.join(","));
    } else {
        for c in &checks {
            let (mark, detail) = match &c.status {
                Status::Available(d) => ("ok     ", d),
                Status::Missing(d) if c.required => ("MISSING", d),
                Status::Missing(d) => ("absent ", d),
            };
            let req = if c.required { "required" } else { "optional" };
            println!("{mark} {:<11} {req}  {detail}", c.layer);
        }
    }
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.fails())
        .map(|c| c.layer)
        .collect();
    if failed.is_empty() {
        0
    } else {
        eprintln!(
            "paddock: error: required layers missing: {}",
            failed.join(", ")
        );
        1
    }
}
