use super::*;
use crate::names::JailId;
use crate::nft::{plan_jail, plan_remove_jail, Egress, JailRules, TableConfig};
use crate::pool::LinkPair;

/// What `nft -j list table inet paddock` printed for a table holding one jail's raw chain.
const LISTING: &str = r#"{"nftables": [
 {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
 {"table": {"family": "inet", "name": "paddock", "handle": 1}},
 {"set": {"family": "inet", "name": "uplinks", "table": "paddock", "type": "ifname", "handle": 9, "elem": ["eth0"]}},
 {"map": {"family": "inet", "name": "jail_raw", "table": "paddock", "type": "ifname", "handle": 8, "map": "verdict",
   "elem": [["pdk1h", {"goto": {"target": "j_1_raw"}}]]}},
 {"chain": {"family": "inet", "table": "paddock", "name": "j_1_raw", "handle": 2}},
 {"chain": {"family": "inet", "table": "paddock", "name": "raw_prerouting", "handle": 4, "type": "filter", "hook": "prerouting", "prio": -300, "policy": "accept"}},
 {"rule": {"family": "inet", "table": "paddock", "chain": "j_1_raw", "handle": 20, "expr": [{"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.213.0.1"}}, {"drop": null}]}}
]}"#;

#[test]
fn parses_a_listing() {
    let s = TableState::parse(LISTING).unwrap();
    assert_eq!(s.chains["j_1_raw"], 1);
    assert_eq!(s.chains["raw_prerouting"], 0);
    assert_eq!(s.maps["jail_raw"]["pdk1h"], "goto j_1_raw");
    assert!(s.sets["uplinks"].contains("eth0"));
}

#[test]
fn garbage_listing_is_an_error() {
    assert!(matches!(
        TableState::parse("nope"),
        Err(NetError::NftOutput { .. })
    ));
    assert!(TableState::parse("{}").is_err());
}

fn cfg() -> TableConfig {
    TableConfig {
        table: TableName::default(),
        pool: crate::pool::DEFAULT_POOL,
        uplinks: vec![],
    }
}

fn jail() -> JailRules {
    JailRules {
        id: JailId::new("1").unwrap(),
        pair: LinkPair {
            host: [10, 213, 0, 0].into(),
            jail: [10, 213, 0, 1].into(),
        },
        egress: Egress::Internet,
        dns_port: 53,
        host_ports: vec![],
    }
}

/// The state a kernel would hold after `plan_jail(jail())`.
fn installed() -> TableState {
    let mut s = TableState::default();
    for (map, suffix) in crate::nft::JAIL_MAPS {
        let chain = format!("j_1_{suffix}");
        let n = match suffix {
            "raw" => 1,
            "dnat" => 2,
            _ => 4,
        };
        s.chains.insert(chain.clone(), n);
        s.maps
            .entry(map.to_string())
            .or_default()
            .insert("pdk1h".into(), format!("goto {chain}"));
    }
    s
}

#[test]
fn read_back_that_matches_the_plan_holds() {
    installed()
        .holds(&TableName::default(), &plan_jail(&cfg(), &jail()))
        .unwrap();
}

#[test]
fn a_missing_rule_is_named() {
    let mut s = installed();
    s.chains.insert("j_1_forward".into(), 3);
    let e = s
        .holds(&TableName::default(), &plan_jail(&cfg(), &jail()))
        .unwrap_err();
    assert_eq!(e, "chain j_1_forward holds 3 rules, 4 were installed");
}

#[test]
fn a_missing_chain_or_element_is_named() {
    let mut s = installed();
    s.chains.remove("j_1_dnat");
    let e = s
        .holds(&TableName::default(), &plan_jail(&cfg(), &jail()))
        .unwrap_err();
    assert_eq!(e, "chain j_1_dnat is missing");
    let mut s = installed();
    s.maps.get_mut("jail_input").unwrap().clear();
    let e = s
        .holds(&TableName::default(), &plan_jail(&cfg(), &jail()))
        .unwrap_err();
    assert!(
        e.starts_with("map jail_input: element pdk1h is None"),
        "{e}"
    );
}

#[test]
fn removal_holds_only_when_everything_is_gone() {
    let remove = plan_remove_jail(&cfg(), &JailId::new("1").unwrap());
    let e = installed()
        .holds(&TableName::default(), &remove)
        .unwrap_err();
    assert!(
        e.contains("should be gone") || e.contains("element pdk1h"),
        "{e}"
    );
    TableState::default()
        .holds(&TableName::default(), &remove)
        .unwrap();
}

#[test]
fn missing_nft_binary_is_an_actionable_error() {
    let nft = Nft::new(std::path::Path::new("/nonexistent/nft"));
    let e = nft.read_back(&TableName::default()).unwrap_err();
    assert!(matches!(e, NetError::SpawnNft { .. }));
    assert!(e.to_string().contains("apt-get install nftables"));
}
