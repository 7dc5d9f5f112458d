use super::*;

fn cfg() -> TableConfig {
    TableConfig {
        table: TableName::default(),
        pool: crate::pool::DEFAULT_POOL,
        uplinks: vec![],
    }
}

fn jail(egress: Egress) -> JailRules {
    JailRules {
        id: JailId::new("7").unwrap(),
        pair: LinkPair {
            host: Ipv4Addr::new(10, 213, 0, 14),
            jail: Ipv4Addr::new(10, 213, 0, 15),
        },
        egress,
        dns_port: 5353,
        host_ports: vec![],
    }
}

fn intranet() -> Egress {
    Egress::Intranet {
        ranges: vec![
            "10.0.0.0/8".parse().unwrap(),
            "172.16.0.0/12".parse().unwrap(),
        ],
    }
}

/// The rules `batch` adds to `chain`, as compact JSON.
fn rules_of(batch: &Batch, chain: &str) -> Vec<String> {
    batch
        .commands()
        .iter()
        .filter_map(|c| c.get("add")?.get("rule"))
        .filter(|r| r["chain"] == chain)
        .map(|r| r["expr"].to_string())
        .collect()
}

#[test]
fn every_command_targets_paddocks_table_only() {
    let mut b = plan_table(&cfg());
    b.extend(plan_jail(&cfg(), &jail(intranet())));
    b.extend(plan_remove_jail(&cfg(), &JailId::new("7").unwrap()));
    b.extend(plan_remove_all(&TableName::default()));
    for c in b.commands() {
        let (verb, inner) = c.as_object().unwrap().iter().next().unwrap();
        assert!(["add", "flush", "delete"].contains(&verb.as_str()), "{c}");
        let (kind, body) = inner.as_object().unwrap().iter().next().unwrap();
        assert_ne!(kind, "ruleset", "never flush the ruleset: {c}");
        assert_eq!(body["family"], "inet", "{c}");
        let table = body.get("table").or_else(|| body.get("name")).unwrap();
        if kind == "table" {
            assert_eq!(body["name"], "paddock");
        } else {
            assert_eq!(body["table"], "paddock", "{c} ({table})");
        }
    }
}

#[test]
fn base_chains_match_only_pdk_links_and_the_pool() {
    let b = plan_table(&cfg());
    for (chain, ..) in BASE_CHAINS {
        let rules = rules_of(&b, chain);
        assert!(!rules.is_empty(), "{chain}");
        for r in rules {
            assert!(
                r.contains("\"pdk*\"") || r.contains("\"vmap\"") || r.contains("@uplinks"),
                "{chain}: {r}"
            );
        }
    }
    // Base chains accept by default: the host's own traffic is never judged here.
    for c in b.commands() {
        if let Some(ch) = c.get("add").and_then(|a| a.get("chain")) {
            assert_eq!(ch["policy"], "accept", "{ch}");
        }
    }
    let post = rules_of(&b, "nat_postrouting");
    assert!(post[0].contains("10.213.0.0") && post[0].contains("masquerade"));
}

#[test]
fn base_chains_hook_at_standard_priorities() {
    let b = plan_table(&cfg());
    let hooks: Vec<(String, String, i64)> = b
        .commands()
        .iter()
        .filter_map(|c| c.get("add")?.get("chain"))
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["hook"].as_str().unwrap().to_string(),
                c["prio"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hooks,
        [
            ("raw_prerouting".into(), "prerouting".into(), -300),
            ("nat_prerouting".into(), "prerouting".into(), -100),
            ("input".into(), "input".into(), 0),
            ("forward".into(), "forward".into(), 0),
            ("nat_postrouting".into(), "postrouting".into(), 100),
        ]
    );
}

#[test]
fn forward_drops_jail_to_jail_before_any_jail_rule() {
    let r = rules_of(&plan_table(&cfg()), "forward");
    assert!(r[0].contains("iifname") && r[0].contains("oifname") && r[0].contains("drop"));
    assert!(r[1].contains("@jail_forward"));
    assert!(
        r[2].contains("drop"),
        "unknown pdk links are dropped: {}",
        r[2]
    );
}

#[test]
fn blocks_spoofed_sources_from_a_jail() {
    let r = rules_of(&plan_jail(&cfg(), &jail(intranet())), "j_7_raw");
    assert_eq!(
        r,
        [
            r#"[{"match":{"left":{"payload":{"field":"saddr","protocol":"ip"}},"op":"!=","right":"10.213.0.15"}},{"drop":null}]"#
        ]
    );
}

#[test]
fn blocks_metadata_other_jails_and_foreign_dns_before_allowing() {
    for egress in [intranet(), Egress::Internet] {
        let r = rules_of(&plan_jail(&cfg(), &jail(egress)), "j_7_forward");
        assert!(
            r[0].contains("169.254.0.0")
                && r[0].contains("100.100.100.200")
                && r[0].ends_with(r#"{"drop":null}]"#),
            "{}",
            r[0]
        );
        assert!(
            r[1].contains("10.213.0.0") && r[1].contains("admin-prohibited"),
            "{}",
            r[1]
        );
        assert!(
            r[2].contains("[53,853]") && r[2].contains("drop"),
            "{}",
            r[2]
        );
    }
}

#[test]
fn intranet_allows_its_ranges_and_rejects_the_rest_fast() {
    let r = rules_of(&plan_jail(&cfg(), &jail(intranet())), "j_7_forward");
    assert_eq!(r.len(), 6);
    assert!(
        r[3].contains(r#"{"prefix":{"addr":"10.0.0.0","len":8}}"#)
            && r[3].contains("172.16.0.0")
            && r[3].contains("accept")
    );
    assert!(r[4].contains("tcp reset"));
    assert!(r[5].contains("admin-prohibited"));
}

#[test]
fn intranet_with_no_ranges_rejects_everything() {
    let r = rules_of(
        &plan_jail(&cfg(), &jail(Egress::Intranet { ranges: vec![] })),
        "j_7_forward",
    );
    assert_eq!(r.len(), 5);
    assert!(!r.iter().any(|x| x.ends_with(r#"{"accept":null}]"#)));
}

#[test]
fn internet_accepts_after_the_guards() {
    let r = rules_of(&plan_jail(&cfg(), &jail(Egress::Internet)), "j_7_forward");
    assert_eq!(r.len(), 4);
    assert_eq!(r[3], r#"[{"accept":null}]"#);
}

#[test]
fn host_is_reachable_only_on_the_gateways_service_ports() {
    let mut j = jail(intranet());
    j.host_ports = vec![3128, 5353];
    let r = rules_of(&plan_jail(&cfg(), &j), "j_7_input");
    assert_eq!(r.len(), 4);
    assert!(
        r[0].contains(r#""right":"10.213.0.14""#)
            && r[0].contains("[3128,5353]")
            && r[0].contains("accept"),
        "{}",
        r[0]
    );
    assert!(r[2].contains("tcp reset") && r[3].contains("admin-prohibited"));
}

#[test]
fn dns_to_the_gateway_is_redirected_to_the_filter() {
    let r = rules_of(&plan_jail(&cfg(), &jail(intranet())), "j_7_dnat");
    assert_eq!(r.len(), 2);
    for (rule, proto) in r.iter().zip(["udp", "tcp"]) {
        assert!(
            rule.contains(proto)
                && rule.contains(r#""right":53"#)
                && rule.contains(r#"{"redirect":{"port":5353}}"#),
            "{rule}"
        );
    }
}

#[test]
fn jail_batch_points_every_map_at_its_own_chain() {
    let b = plan_jail(&cfg(), &jail(intranet()));
    let elems: Vec<String> = b
        .commands()
        .iter()
        .filter_map(|c| c.get("add")?.get("element"))
        .map(|e| format!("{} {}", e["name"].as_str().unwrap(), e["elem"]))
        .collect();
    assert_eq!(
        elems,
        [
            r#"jail_raw [["pdk7h",{"goto":{"target":"j_7_raw"}}]]"#,
            r#"jail_dnat [["pdk7h",{"goto":{"target":"j_7_dnat"}}]]"#,
            r#"jail_input [["pdk7h",{"goto":{"target":"j_7_input"}}]]"#,
            r#"jail_forward [["pdk7h",{"goto":{"target":"j_7_forward"}}]]"#,
        ]
    );
    // It flushes only its own chains.
    for c in b.commands() {
        if let Some(f) = c.get("flush") {
            assert!(
                f["chain"]["name"].as_str().unwrap().starts_with("j_7_"),
                "{c}"
            );
        }
    }
}

#[test]
fn removing_a_jail_touches_only_its_own_objects() {
    let b = plan_remove_jail(&cfg(), &JailId::new("7").unwrap());
    for c in b.commands() {
        if let Some(d) = c.get("delete") {
            let s = d.to_string();
            assert!(s.contains("j_7_") || s.contains("pdk7h"), "{s}");
            assert!(d.get("table").is_none(), "never the table: {s}");
        }
    }
    let deletes = b
        .commands()
        .iter()
        .filter(|c| c.get("delete").is_some())
        .count();
    assert_eq!(deletes, 8);
}

#[test]
fn remove_all_deletes_only_paddocks_table() {
    let b = plan_remove_all(&TableName::new("paddock_t1").unwrap());
    assert_eq!(
        b.to_json(),
        r#"{"nftables":[{"add":{"table":{"family":"inet","name":"paddock_t1"}}},{"delete":{"table":{"family":"inet","name":"paddock_t1"}}}]}"#
    );
}

#[test]
fn uplinks_fill_the_guard_set() {
    let mut c = cfg();
    c.uplinks = vec!["eth0".into(), "bond0".into()];
    let s = plan_table(&c).to_json();
    assert!(
        s.contains(r#""elem":["eth0","bond0"],"family":"inet","name":"uplinks""#),
        "{s}"
    );
}

#[test]
fn egress_follows_the_policy_mode() {
    let mut net = paddock_policy::system_default().network;
    net.mode = paddock_policy::NetworkMode::None;
    assert_eq!(Egress::from_policy(&net), None);
    net.mode = paddock_policy::NetworkMode::Internet;
    assert_eq!(Egress::from_policy(&net), Some(Egress::Internet));
    net.mode = paddock_policy::NetworkMode::Intranet;
    net.private_ranges =
        vec![paddock_policy::Cidr::new("192.168.0.0".parse().unwrap(), 16).unwrap()];
    assert_eq!(
        Egress::from_policy(&net),
        Some(Egress::Intranet {
            ranges: vec!["192.168.0.0/16".parse().unwrap()]
        })
    );
}
