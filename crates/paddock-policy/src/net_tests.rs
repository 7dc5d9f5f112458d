use super::*;

fn host(s: &str) -> HostPattern {
    s.parse().unwrap()
}

fn glob(s: &str) -> PathGlob {
    s.parse().unwrap()
}

#[test]
fn cidrs_parse_canonical_ranges_only() {
    let c: Cidr = "10.0.0.0/8".parse().unwrap();
    assert_eq!(c.prefix(), 8);
    assert_eq!(c.to_string(), "10.0.0.0/8");
    assert!("fd00::/8".parse::<Cidr>().is_ok());
    for bad in [
        "10.0.0.1/8",
        "10.0.0.0",
        "10.0.0.0/33",
        "fd00::/129",
        "x/8",
        "10.0.0.0/",
        "10.0.0.0/+8",
    ] {
        assert!(bad.parse::<Cidr>().is_err(), "{bad}");
    }
}

#[test]
fn cidr_containment_respects_family_and_prefix() {
    let ten: Cidr = "10.0.0.0/8".parse().unwrap();
    let sub: Cidr = "10.1.0.0/16".parse().unwrap();
    let v6: Cidr = "::/0".parse().unwrap();
    assert!(ten.contains(&sub));
    assert!(!sub.contains(&ten));
    assert!(ten.overlaps(&sub));
    assert!(!v6.contains(&ten));
    assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(&ten));
}

#[test]
fn host_patterns_refuse_wildcards_and_public_suffixes() {
    assert_eq!(
        host("API.github.com"),
        HostPattern::Exact("api.github.com".into())
    );
    assert_eq!(
        host("*.svc.corp.example"),
        HostPattern::Suffix("svc.corp.example".into())
    );
    for bad in [
        "*",
        "*.",
        "com",
        "*.com",
        "co.uk",
        "*.co.uk",
        "*.github.io",
        "a.*.example",
        "**.x.org",
        "10.0.0.1",
        "-bad.example",
        "bad-.example",
        "a..b",
        "",
        "exa mple.org",
        "*example.org",
    ] {
        assert!(bad.parse::<HostPattern>().is_err(), "{bad:?}");
    }
}

#[test]
fn host_suffix_matches_names_strictly_below() {
    let p = host("*.corp.example");
    assert!(p.matches("git.corp.example"));
    assert!(p.matches("a.b.CORP.example"));
    assert!(!p.matches("corp.example"));
    assert!(!p.matches("evilcorp.example"));
    assert!(p.covers(&host("git.corp.example")));
    assert!(p.covers(&host("*.svc.corp.example")));
    assert!(!host("git.corp.example").covers(&p));
    assert!(!host("*.svc.corp.example").covers(&p));
}

#[test]
fn path_globs_match_segments() {
    assert!(glob("/**").matches("/"));
    assert!(glob("/**").matches("/a/b/c"));
    assert!(glob("/repos/*/issues").matches("/repos/x/issues"));
    assert!(!glob("/repos/*/issues").matches("/repos/x/y/issues"));
    assert!(glob("/repos/**/issues").matches("/repos/issues"));
    assert!(glob("/repos/**/issues").matches("/repos/a/b/issues"));
    assert!(glob("/v*/x").matches("/v1/x"));
    assert!(!glob("/v*/x").matches("/w1/x"));
    assert!(!glob("/a").matches("a"));
    for bad in ["a/b", "/a**", "/a b", "/a?x", "/a#b"] {
        assert!(bad.parse::<PathGlob>().is_err(), "{bad}");
    }
}

#[test]
fn path_glob_cover_is_conservative() {
    assert!(glob("/**").covers(&glob("/x/*")));
    assert!(glob("/repos/**").covers(&glob("/repos/*/issues")));
    assert!(glob("/repos/**").covers(&glob("/repos")));
    assert!(!glob("/repos/**").covers(&glob("/reposx/**")));
    assert!(glob("/repos/*").covers(&glob("/repos/abc")));
    assert!(!glob("/repos/*").covers(&glob("/**")));
}

#[test]
fn segment_match_handles_many_stars_quickly() {
    let g = glob(&format!("/{}b", "*a".repeat(100)));
    let start = std::time::Instant::now();
    assert!(!g.matches(&format!("/{}", "a".repeat(1000))));
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}
