use super::*;

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn parses_canonical_cidrs_only() {
    assert_eq!(net("10.213.0.0/16"), DEFAULT_POOL);
    assert_eq!(DEFAULT_POOL.to_string(), "10.213.0.0/16");
    for bad in [
        "10.213.0.1/16",
        "10.213.0.0",
        "10.213.0.0/33",
        "x/8",
        "10.0.0.0/x",
        "::1/128",
    ] {
        assert!(bad.parse::<Ipv4Net>().is_err(), "{bad}");
    }
}

#[test]
fn overlap_is_symmetric_and_exact() {
    assert!(net("10.0.0.0/8").overlaps(&net("10.213.0.0/16")));
    assert!(net("10.213.0.0/16").overlaps(&net("10.0.0.0/8")));
    assert!(net("10.213.5.0/24").overlaps(&net("10.213.0.0/16")));
    assert!(!net("10.214.0.0/16").overlaps(&net("10.213.0.0/16")));
    assert!(!net("10.212.255.0/24").overlaps(&net("10.213.0.0/16")));
    assert!(net("0.0.0.0/0").overlaps(&net("192.0.2.0/24")));
}

#[test]
fn allocates_lowest_free_pair_deterministically() {
    let mut p = Pool::new(DEFAULT_POOL).unwrap();
    let a = p.allocate().unwrap();
    let b = p.allocate().unwrap();
    assert_eq!(
        a,
        LinkPair {
            host: ip("10.213.0.0"),
            jail: ip("10.213.0.1")
        }
    );
    assert_eq!(
        b,
        LinkPair {
            host: ip("10.213.0.2"),
            jail: ip("10.213.0.3")
        }
    );
    assert_eq!(p.capacity(), 32768);
}

#[test]
fn released_pairs_are_reused_lowest_first() {
    let mut p = Pool::new(DEFAULT_POOL).unwrap();
    let pairs: Vec<_> = (0..5).map(|_| p.allocate().unwrap()).collect();
    p.release(pairs[3]).unwrap();
    p.release(pairs[1]).unwrap();
    assert_eq!(p.allocate().unwrap(), pairs[1]);
    assert_eq!(p.allocate().unwrap(), pairs[3]);
    assert_eq!(p.allocate().unwrap().host, ip("10.213.0.10"));
    // Releasing twice is harmless.
    p.release(pairs[0]).unwrap();
    p.release(pairs[0]).unwrap();
    assert_eq!(p.allocated(), 5);
}

#[test]
fn exhaustion_is_an_error_naming_the_pool() {
    let mut p = Pool::new(net("192.168.7.0/29")).unwrap();
    let all: Vec<_> = (0..4).map(|_| p.allocate().unwrap()).collect();
    let e = p.allocate().unwrap_err();
    assert!(matches!(e, NetError::PoolExhausted { capacity: 4, .. }));
    assert!(e.to_string().contains("192.168.7.0/29"));
    assert_eq!(all[3].jail, ip("192.168.7.7"));
    p.release(all[2]).unwrap();
    assert_eq!(p.allocate().unwrap(), all[2]);
}

#[test]
fn no_two_pairs_overlap_and_all_stay_in_the_pool() {
    let pool = net("10.50.0.0/22");
    let mut p = Pool::new(pool).unwrap();
    let mut seen = BTreeSet::new();
    while let Ok(pair) = p.allocate() {
        assert!(pool.contains_addr(pair.host) && pool.contains_addr(pair.jail));
        assert_eq!(u32::from(pair.jail), u32::from(pair.host) + 1);
        assert_eq!(u32::from(pair.host) % 2, 0);
        assert!(seen.insert(pair.host) && seen.insert(pair.jail));
    }
    assert_eq!(seen.len(), 1024);
}

#[test]
fn reserve_adopts_existing_pairs_and_refuses_doubles() {
    let mut p = Pool::new(DEFAULT_POOL).unwrap();
    let adopted = LinkPair {
        host: ip("10.213.0.0"),
        jail: ip("10.213.0.1"),
    };
    p.reserve(adopted).unwrap();
    assert!(matches!(
        p.reserve(adopted),
        Err(NetError::PairInUse { .. })
    ));
    assert_eq!(p.allocate().unwrap().host, ip("10.213.0.2"));
}

#[test]
fn refuses_pairs_from_elsewhere() {
    let mut p = Pool::new(DEFAULT_POOL).unwrap();
    for (h, j) in [
        ("10.214.0.0", "10.214.0.1"),
        ("10.213.0.1", "10.213.0.2"),
        ("10.213.0.0", "10.213.0.5"),
    ] {
        let pair = LinkPair {
            host: ip(h),
            jail: ip(j),
        };
        assert!(matches!(p.reserve(pair), Err(NetError::NotInPool { .. })));
        assert!(p.release(pair).is_err());
    }
}

#[test]
fn pools_too_small_for_two_pairs_are_refused() {
    assert!(Pool::new(net("10.0.0.0/31")).is_err());
    assert!(Pool::new(net("10.0.0.0/32")).is_err());
    assert_eq!(Pool::new(net("10.0.0.0/30")).unwrap().capacity(), 2);
}

const ROUTES: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
pdk0h\t0000D50A\t00000000\t0001\t0\t0\t0\tFEFFFFFF\t0\t0\t0
";

#[test]
fn reads_proc_net_route_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("route");
    std::fs::write(&path, ROUTES).unwrap();
    let routes = read_host_routes(&path).unwrap();
    let dests: Vec<String> = routes
        .iter()
        .map(|r| format!("{} {}", r.iface, r.dest))
        .collect();
    assert_eq!(
        dests,
        [
            "eth0 0.0.0.0/0",
            "eth0 192.168.0.0/24",
            "docker0 172.17.0.0/16",
            "pdk0h 10.213.0.0/31"
        ]
    );
}

#[test]
fn route_reader_names_file_and_line_on_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("route");
    std::fs::write(&path, "header\neth0\tZZ\n").unwrap();
    let e = read_host_routes(&path).unwrap_err().to_string();
    assert!(e.contains("line 2") && e.contains("route"), "{e}");
    std::fs::write(&path, "header\neth0\t00000000\t0\t0\t0\t0\t0\t00FF00FF\n").unwrap();
    assert!(read_host_routes(&path).is_err());
    let missing = read_host_routes(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(missing, NetError::ReadRoutes { .. }));
}

#[test]
fn refuses_a_pool_that_overlaps_a_host_route() {
    let routes = parse_host_routes(ROUTES).unwrap();
    // The default route and Paddock's own veths do not count.
    overlaps_host_routes(&DEFAULT_POOL, &routes).unwrap();
    let e = overlaps_host_routes(&net("192.168.0.0/16"), &routes).unwrap_err();
    assert!(matches!(e, NetError::PoolOverlapsRoute { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("192.168.0.0/24") && msg.contains("eth0") && msg.contains("PADDOCK_NET_POOL"),
        "{msg}"
    );
    assert!(overlaps_host_routes(&net("172.16.0.0/12"), &routes).is_err());
}

#[test]
fn policy_ranges_keep_ipv4_only() {
    let v4 = paddock_policy::Cidr::new("10.0.0.0".parse().unwrap(), 8).unwrap();
    let v6 = paddock_policy::Cidr::new("fd00::".parse().unwrap(), 8).unwrap();
    assert_eq!(Ipv4Net::from_policy(&[v4, v6]), vec![net("10.0.0.0/8")]);
}

#[test]
fn allocate_after_goes_round_robin_and_skips_used_pairs() {
    let mut p = Pool::new("10.213.0.0/29".parse().unwrap()).unwrap();
    let a = p.allocate_after(None).unwrap();
    assert_eq!(a.host.to_string(), "10.213.0.0");
    p.release(a).unwrap();
    let b = p.allocate_after(Some(a)).unwrap();
    assert_eq!(
        b.host.to_string(),
        "10.213.0.2",
        "a just-freed pair is not handed out again"
    );
    let c = p.allocate_after(Some(b)).unwrap();
    let d = p.allocate_after(Some(c)).unwrap();
    assert_eq!(d.host.to_string(), "10.213.0.6");
    // Wraps around to the free pair at the start.
    assert_eq!(p.allocate_after(Some(d)).unwrap(), a);
    assert!(p.allocate_after(Some(a)).is_err(), "full");
    // A hint outside the pool starts from the beginning.
    p.release(c).unwrap();
    let out = LinkPair {
        host: "10.9.0.0".parse().unwrap(),
        jail: "10.9.0.1".parse().unwrap(),
    };
    assert_eq!(p.allocate_after(Some(out)).unwrap(), c);
}
