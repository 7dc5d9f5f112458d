//! Root tests of the nftables plan against the real kernel, inside a scratch network namespace
//! (so the host's own ruleset is never touched): install, read back, replace, remove.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed setup step is a failed test

mod common;

use paddock_net::nft::{plan_jail, plan_table};
use paddock_net::sys::in_netns;
use paddock_net::{Egress, JailId, JailRules, LinkPair, Nft, TableConfig, TableName};

fn cfg() -> TableConfig {
    TableConfig {
        table: TableName::default(),
        pool: paddock_net::pool::DEFAULT_POOL,
        uplinks: vec!["eth9".into()],
    }
}

fn jail(id: &str, n: u8, egress: Egress) -> JailRules {
    JailRules {
        id: JailId::new(id).unwrap(),
        pair: LinkPair {
            host: [10, 213, 0, 2 * n].into(),
            jail: [10, 213, 0, 2 * n + 1].into(),
        },
        egress,
        dns_port: 5353,
        host_ports: vec![3128],
    }
}

#[test]
fn root_nft_install_read_back_replace_remove() {
    if !common::root_or_skip("root_nft_install_read_back_replace_remove") {
        return;
    }
    let ns = common::TestNs::new(&format!("pdktnft{}", common::tag()));
    let netns = ns.open();
    in_netns(&netns, || {
        let nft = Nft::default();
        let cfg = cfg();
        let intranet = Egress::Intranet {
            ranges: vec![
                "10.0.0.0/8".parse().unwrap(),
                "192.168.0.0/16".parse().unwrap(),
            ],
        };
        let a = jail("1", 0, intranet.clone());
        let b = jail("2", 1, Egress::Internet);
        assert_eq!(nft.read_back(&cfg.table).unwrap(), None);

        let mut batch = plan_table(&cfg);
        batch.extend(plan_jail(&cfg, &a));
        nft.apply_verified(&cfg.table, &batch).unwrap();
        let state = nft.install_jail(&cfg, &b).unwrap();
        assert_eq!(state.chains["forward"], 6);
        assert_eq!(state.chains["j_1_forward"], 6);
        assert_eq!(state.chains["j_2_forward"], 4);
        assert_eq!(state.maps["jail_forward"]["pdk2h"], "goto j_2_forward");
        assert!(state.sets["uplinks"].contains("eth9"));

        // The base plan is idempotent and keeps the jails.
        let state = nft.apply_verified(&cfg.table, &plan_table(&cfg)).unwrap();
        assert_eq!(state.chains["forward"], 6);
        assert_eq!(state.maps["jail_raw"].len(), 2);

        // Hot reload: jail 1 becomes internet, in one batch, twice (idempotent).
        let a2 = jail("1", 0, Egress::Internet);
        nft.install_jail(&cfg, &a2).unwrap();
        let state = nft.install_jail(&cfg, &a2).unwrap();
        assert_eq!(state.chains["j_1_forward"], 4);

        // Removing jail 1 leaves jail 2 whole; removing it again succeeds.
        let state = nft.remove_jail(&cfg, &a.id).unwrap();
        assert!(!state.chains.contains_key("j_1_forward"));
        assert_eq!(state.chains["j_2_forward"], 4);
        assert_eq!(state.maps["jail_input"].len(), 1);
        nft.remove_jail(&cfg, &a.id).unwrap();

        let text = std::process::Command::new("nft")
            .args(["list", "table", "inet", "paddock"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        eprintln!("{text}");
        assert!(
            text.contains("iifname \"pdk*\" meta nfproto ipv6 drop"),
            "{text}"
        );
        assert!(text.contains("ip saddr != 10.213.0.3 drop"), "{text}");

        nft.remove_all(&cfg.table).unwrap();
        assert_eq!(nft.read_back(&cfg.table).unwrap(), None);
        nft.remove_all(&cfg.table).unwrap();
    })
    .unwrap();
}
