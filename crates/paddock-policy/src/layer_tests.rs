use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::error::{Position, Problem};
use crate::net::{Credential, EgressRule, HttpRule, Method, TlsMode};
use crate::parse::parse_layer;
use crate::resolved::*;
use crate::Decision;

fn layer(kind: LayerKind, authority: Authority, source: &str, text: &str) -> Layer {
    let doc = parse_layer(source, text).unwrap().doc;
    Layer {
        kind,
        authority,
        source: source.into(),
        doc,
    }
}

fn admin(text: &str) -> Layer {
    layer(LayerKind::Role, Authority::Admin, "role.yaml", text)
}

fn owner(text: &str) -> Layer {
    layer(LayerKind::User, Authority::Owner, "user.yaml", text)
}

fn widening(layers: &[Layer]) -> (String, String, String) {
    match resolve(layers) {
        Err(PolicyError::ResolveWiden {
            at, value, limit, ..
        }) => (at.key, value, limit),
        other => panic!("expected a widening error, got {other:?}"),
    }
}

const GH_ROLE: &str = "network:
  dns: {allow: [\"*.corp.example\"]}
  egress:
    - name: gh
      host: \"*.github.com\"
      ports: [443, 8443]
      tls: inspect
      allow: [{methods: [GET, HEAD, POST], path: \"/repos/**\"}]
      deny: [{methods: [DELETE], path: \"/**\"}]
  credentials:
    - {env: GITHUB_TOKEN, secret: github-token, hosts: [api.github.com, uploads.github.com]}
";

#[test]
fn system_default_is_the_safe_baseline() {
    let p = system_default();
    assert_eq!(p.filesystem.root, RootFs::Host);
    assert_eq!(p.filesystem.tmp_size, ByteSize(256 << 20));
    assert_eq!(p.filesystem.landlock, LandlockMode::Required);
    assert_eq!(p.process.rlimits, BTreeMap::from([(RlimitKind::Core, 0)]));
    assert_eq!(p.resources.memory, Some(ByteSize(1 << 30)));
    assert_eq!(p.resources.pids, Some(512));
    assert_eq!((p.resources.cpus, p.resources.disk), (None, None));
    assert_eq!(p.network.mode, NetworkMode::Intranet);
    assert_eq!(p.network.private_ranges.len(), 3);
    assert!(
        p.network.egress.is_empty()
            && p.network.dns_allow.is_empty()
            && p.network.credentials.is_empty()
    );
    assert!(p.inference.models.is_empty());
    assert_eq!(
        (p.inference.max_concurrency, p.inference.tokens_per_day),
        (2, None)
    );
    assert_eq!(resolve(&[]).unwrap(), p);
}

#[test]
fn owner_may_narrow_limits() {
    let p = resolve(&[owner(
        "resources: {memory: 512M, cpus: 0.5}\nnetwork: {mode: none}\n",
    )])
    .unwrap();
    assert_eq!(p.resources.memory, Some(ByteSize(512 << 20)));
    assert_eq!(p.resources.cpus, Some(Cpus(500)));
    assert_eq!(p.network.mode, NetworkMode::None);
}

#[test]
fn blocks_owner_raising_memory_and_names_layer_field_and_limit() {
    let err = resolve(&[owner("version: 1\nresources:\n  memory: 8G\n")]).unwrap_err();
    let PolicyError::ResolveWiden {
        at,
        layer,
        value,
        limit,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (at.key.as_str(), *layer),
        ("resources.memory", LayerKind::User)
    );
    assert_eq!(at.position, Some(Position { line: 3, column: 3 }));
    assert_eq!((value.as_str(), limit.as_str()), ("8G", "1G"));
    let msg = err.to_string();
    assert!(
        msg.starts_with("user.yaml:3:3: resources.memory: 8G is wider than 1G"),
        "{msg}"
    );
    assert!(msg.contains("user layer"), "{msg}");
}

#[test]
fn admin_may_widen() {
    let p = resolve(&[admin("resources: {memory: 8G}\nnetwork: {mode: internet, dns: {allow: [x.example]}}\nfilesystem: {landlock: best_effort}\n")]).unwrap();
    assert_eq!(p.resources.memory, Some(ByteSize(8 << 30)));
    assert_eq!(p.network.mode, NetworkMode::Internet);
    assert_eq!(p.filesystem.landlock, LandlockMode::BestEffort);
}

#[test]
fn blocks_owner_stepping_up_network_mode_or_relaxing_landlock() {
    assert_eq!(
        widening(&[owner("network: {mode: internet}")]).0,
        "network.mode"
    );
    assert_eq!(
        widening(&[owner("filesystem: {landlock: best_effort}")]).0,
        "filesystem.landlock"
    );
    let relaxed = admin("filesystem: {landlock: best_effort}");
    let p = resolve(&[relaxed, owner("filesystem: {landlock: required}")]).unwrap();
    assert_eq!(p.filesystem.landlock, LandlockMode::Required);
}

#[test]
fn blocks_owner_lifting_a_limit_set_above() {
    let role = admin("resources: {disk: 5G}\ninference: {tokens_per_day: 1000, models: [a, b]}\nprocess: {rlimits: {nofile: 1024}}\n");
    assert_eq!(
        widening(&[role.clone(), owner("resources: {disk: 6G}")]).0,
        "resources.disk"
    );
    assert_eq!(
        widening(&[role.clone(), owner("inference: {tokens_per_day: 1001}")]).0,
        "inference.tokens_per_day"
    );
    assert_eq!(
        widening(&[role.clone(), owner("inference: {models: [a, c]}")]).1,
        "c"
    );
    assert_eq!(
        widening(&[role.clone(), owner("process: {rlimits: {core: 1}}")]).0,
        "process.rlimits.core"
    );
    assert_eq!(
        widening(&[role.clone(), owner("process: {rlimits: {nofile: 4096}}")]).0,
        "process.rlimits.nofile"
    );
    let p = resolve(&[role, owner("process: {rlimits: {nofile: 64, nproc: 100}}")]).unwrap();
    assert_eq!(
        p.process.rlimits,
        BTreeMap::from([
            (RlimitKind::Core, 0),
            (RlimitKind::Nofile, 64),
            (RlimitKind::Nproc, 100)
        ])
    );
}

#[test]
fn blocks_owner_widening_binds_and_unhiding() {
    let role = admin(
        "filesystem:\n  read_only: [/opt]\n  read_write: [/srv/work]\n  hidden: [/etc/paddock]\n",
    );
    let ok = owner("filesystem:\n  read_only: [/opt/tools, /srv/work/ref]\n  read_write: [/srv/work/a]\n  hidden: [/var/secret]\n");
    let p = resolve(&[role.clone(), ok]).unwrap();
    assert_eq!(p.filesystem.hidden.len(), 2, "hidden paths add up");
    let (key, value, _) = widening(&[
        role.clone(),
        owner("filesystem:\n  read_write: [/srv/work, /opt]\n"),
    ]);
    assert_eq!(
        (key.as_str(), value.as_str()),
        ("filesystem.read_write[1]", "/opt")
    );
    assert_eq!(
        widening(&[role.clone(), owner("filesystem: {read_only: [/home]}")]).0,
        "filesystem.read_only[0]"
    );
    assert_eq!(
        widening(&[role, owner("filesystem: {root: /srv/rootfs}")]).0,
        "filesystem.root"
    );
}

#[test]
fn blocks_a_lower_layer_hiding_a_bind_from_above() {
    let role = admin("filesystem: {read_only: [/opt/tools]}");
    let err = resolve(&[role, owner("filesystem: {hidden: [/opt]}")]).unwrap_err();
    let PolicyError::Validate { at, problem } = err else {
        panic!()
    };
    assert_eq!(
        (at.key.as_str(), problem.code()),
        ("filesystem.hidden", "hidden_but_bound")
    );
}

#[test]
fn owner_may_remove_or_tighten_egress_rules() {
    let tighter = "network:
  egress:
    - name: gh
      host: api.github.com
      ports: [443]
      tls: inspect
      allow: [{methods: [GET], path: \"/repos/x/**\"}]
      deny: [{path: \"/**\", methods: [DELETE, PUT]}]
  credentials:
    - {env: GITHUB_TOKEN, secret: github-token, hosts: [api.github.com]}
";
    let p = resolve(&[admin(GH_ROLE), owner(tighter)]).unwrap();
    assert_eq!(p.network.egress[0].ports.len(), 1);
    let none = resolve(&[
        admin(GH_ROLE),
        owner("network: {egress: [], credentials: []}"),
    ])
    .unwrap();
    assert!(none.network.egress.is_empty());
}

#[test]
fn blocks_owner_widening_egress() {
    let base = admin(GH_ROLE);
    let rule = |body: &str| {
        owner(&format!(
            "network:\n  egress:\n    - {{name: gh, host: api.github.com, tls: inspect, {body}}}\n"
        ))
    };
    let cases = [
        ("allow: [{methods: [GET], path: \"/**\"}], deny: [{methods: [DELETE]}]", "network.egress[0].allow[0]"),
        ("allow: [{methods: [PUT], path: \"/repos/**\"}], deny: [{methods: [DELETE]}]", "network.egress[0].allow[0]"),
        ("deny: [{methods: [DELETE]}]", "network.egress[0].allow"),
        ("allow: [{methods: [GET], path: \"/repos/**\"}]", "network.egress[0].deny"),
        ("ports: [443, 80], allow: [{methods: [GET], path: \"/repos/**\"}], deny: [{methods: [DELETE]}]", "network.egress[0].ports"),
    ];
    for (body, key) in cases {
        assert_eq!(widening(&[base.clone(), rule(body)]).0, key, "{body}");
    }
    let passthrough = owner("network:\n  egress: [{name: gh, host: api.github.com}]\n");
    assert_eq!(
        widening(&[base.clone(), passthrough]).0,
        "network.egress[0].tls"
    );
    let new_rule = owner("network:\n  egress: [{name: other, host: example.org}]\n");
    assert_eq!(
        widening(&[base.clone(), new_rule]).0,
        "network.egress[0].name"
    );
    let host = owner("network:\n  egress: [{name: gh, host: github.io.example, tls: inspect}]\n");
    assert_eq!(widening(&[base, host]).0, "network.egress[0].host");
}

#[test]
fn blocks_owner_widening_dns_and_credentials() {
    let base = admin(GH_ROLE);
    let ok = owner(
        "network: {dns: {allow: [git.corp.example, \"*.svc.corp.example\", api.github.com]}}",
    );
    assert!(resolve(&[base.clone(), ok]).is_ok());
    let wide = owner("network: {dns: {allow: [git.corp.example, evil.example]}}");
    assert_eq!(widening(&[base.clone(), wide]).0, "network.dns.allow[1]");
    let cred = owner("network:\n  credentials: [{env: GITHUB_TOKEN, secret: github-token, hosts: [evil.example]}]\n");
    assert_eq!(
        widening(&[base.clone(), cred]).0,
        "network.credentials[0].hosts[0]"
    );
    let other = owner("network:\n  credentials: [{env: GITHUB_TOKEN, secret: admin-token, hosts: [api.github.com]}]\n");
    assert_eq!(widening(&[base, other]).0, "network.credentials[0]");
}

#[test]
fn blocks_layers_out_of_order() {
    let session = layer(LayerKind::Session, Authority::Owner, "s.yaml", "");
    let role = admin("");
    assert!(matches!(
        resolve(&[session, role]),
        Err(PolicyError::ResolveOrder {
            layer: LayerKind::Role,
            previous: LayerKind::Session,
            ..
        })
    ));
}

#[test]
fn documents_built_in_code_are_validated_too() {
    let mut doc = crate::PolicyDoc::default();
    doc.filesystem.read_write = Some(vec![AbsPath::new("/").unwrap()]);
    let l = Layer {
        kind: LayerKind::Session,
        authority: Authority::Admin,
        source: "--rw flag".into(),
        doc,
    };
    let err = resolve(&[l]).unwrap_err();
    assert_eq!(err.to_string(), "--rw flag: filesystem.read_write[0]: \"/\" may not be writable; list the directories the agent needs");
    assert!(matches!(
        err,
        PolicyError::Validate {
            problem: Problem::RootWritable,
            ..
        }
    ));
}

// ---- property tests ----------------------------------------------------------------------

fn pick<T: Clone + std::fmt::Debug + 'static>(
    w: f64,
    pool: Vec<T>,
) -> impl Strategy<Value = Option<Vec<T>>> {
    let n = pool.len();
    proptest::option::weighted(w, proptest::sample::subsequence(pool, 0..=n))
}

fn paths(pool: &[&str]) -> Vec<AbsPath> {
    pool.iter().map(|p| AbsPath::new(p).unwrap()).collect()
}

fn http_entry() -> impl Strategy<Value = HttpRule> {
    let methods = proptest::sample::subsequence(
        vec![Method::Get, Method::Head, Method::Post, Method::Delete],
        1..=4,
    );
    let path = proptest::sample::select(vec!["/**", "/repos/**", "/repos/*/issues", "/user"]);
    (methods, path).prop_map(|(m, p)| HttpRule {
        methods: m.into_iter().collect(),
        path: p.parse().unwrap(),
    })
}

fn http_rules() -> impl Strategy<Value = Vec<HttpRule>> {
    proptest::collection::vec(http_entry(), 0..3)
}

fn egress_rule() -> impl Strategy<Value = EgressRule> {
    let named = proptest::sample::select(vec![
        ("gh", "api.github.com"),
        ("gh", "*.github.com"),
        ("corp", "*.corp.example"),
        ("corp", "git.corp.example"),
        ("pypi", "pypi.org"),
    ]);
    let ports = proptest::sample::subsequence(vec![443u16, 80, 8443], 1..=3);
    let tls = proptest::sample::select(vec![TlsMode::Inspect, TlsMode::Passthrough]);
    (named, ports, tls, http_rules(), http_rules()).prop_map(
        |((name, host), ports, tls, allow, deny)| {
            let (allow, deny) = if tls == TlsMode::Passthrough {
                (vec![], vec![])
            } else {
                (allow, deny)
            };
            EgressRule {
                name: name.into(),
                host: host.parse().unwrap(),
                ports: ports.into_iter().collect(),
                tls,
                allow,
                deny,
            }
        },
    )
}

fn credential() -> impl Strategy<Value = Credential> {
    let env = proptest::sample::select(vec![("GH", "gh-token"), ("GH", "other"), ("PIP", "pip")]);
    let hosts =
        proptest::sample::subsequence(vec!["api.github.com", "*.github.com", "pypi.org"], 1..=2);
    (env, hosts).prop_map(|((env, secret), hosts)| Credential {
        env: env.into(),
        secret: secret.into(),
        hosts: hosts.iter().map(|h| h.parse().unwrap()).collect(),
    })
}

prop_compose! {
    /// Random well-formed layers; `w` is the chance that each key is set.
    fn policy_doc(w: f64)(
        root in proptest::option::weighted(0.1, Just(RootFs::Host)),
        read_only in pick(w, paths(&["/opt", "/opt/tools", "/usr/share/doc"])),
        read_write in pick(w, paths(&["/work", "/work/sub", "/data"])),
        hidden in pick(w, paths(&["/etc/paddock", "/var/secret"])),
        tmp_size in proptest::option::weighted(w, (1u64..4096).prop_map(|m| ByteSize(m << 20))),
        landlock in proptest::option::weighted(w, prop_oneof![Just(LandlockMode::Required), Just(LandlockMode::BestEffort)]),
        rlimits in proptest::option::weighted(w, proptest::collection::btree_map(
            proptest::sample::select(vec![RlimitKind::Core, RlimitKind::Nofile, RlimitKind::Nproc]), 0u64..5000, 0..3)),
        memory in proptest::option::weighted(w, (1u64..8192).prop_map(|m| ByteSize(m << 20))),
        pids in proptest::option::weighted(w, 1u64..4096),
        cpus in proptest::option::weighted(w, (1u64..8000).prop_map(Cpus)),
        disk in proptest::option::weighted(w, (1u64..64).prop_map(|g| ByteSize(g << 30))),
        mode in proptest::option::weighted(w, prop_oneof![Just(NetworkMode::None), Just(NetworkMode::Intranet), Just(NetworkMode::Internet)]),
        ranges in pick(w, ["10.0.0.0/8", "10.1.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"].map(|r| r.parse::<crate::Cidr>().unwrap()).to_vec()),
        dns in pick(w, ["a.corp.example", "*.corp.example", "*.svc.corp.example", "api.github.com"].map(|h| h.parse::<crate::HostPattern>().unwrap()).to_vec()),
        egress in proptest::option::weighted(w, proptest::collection::vec(egress_rule(), 0..3)),
        credentials in proptest::option::weighted(w, proptest::collection::vec(credential(), 0..2)),
        models in pick(w, vec!["m1".to_owned(), "m2".to_owned(), "m3".to_owned()]),
        max_concurrency in proptest::option::weighted(w, 1u32..8),
        tokens_per_day in proptest::option::weighted(w, 1u64..1_000_000),
    ) -> crate::PolicyDoc {
        let mut d = crate::PolicyDoc::default();
        (d.filesystem.root, d.filesystem.read_only, d.filesystem.read_write) = (root, read_only, read_write);
        (d.filesystem.hidden, d.filesystem.tmp_size, d.filesystem.landlock) = (hidden, tmp_size, landlock);
        d.process.rlimits = rlimits;
        (d.resources.memory, d.resources.pids, d.resources.cpus, d.resources.disk) = (memory, pids, cpus, disk);
        (d.network.mode, d.network.private_ranges, d.network.dns.allow) = (mode, ranges, dns);
        (d.network.egress, d.network.credentials) = (egress, credentials);
        (d.inference.models, d.inference.max_concurrency, d.inference.tokens_per_day) = (models, max_concurrency, tokens_per_day);
        d
    }
}

fn le<T: Ord>(c: Option<T>, p: Option<T>) -> bool {
    match (c, p) {
        (_, None) => true,
        (Some(c), Some(p)) => c <= p,
        (None, Some(_)) => false,
    }
}

const NAMES: &[&str] = &[
    "api.github.com",
    "x.github.com",
    "github.com",
    "a.corp.example",
    "git.corp.example",
    "b.svc.corp.example",
    "pypi.org",
    "evil.example",
];

/// An oracle independent of `narrow.rs`: limits compared directly, and network behaviour
/// compared by asking both policies the same questions (DNS names, HTTP requests, credentials).
fn assert_within(c: &ResolvedPolicy, p: &ResolvedPolicy) {
    let (cf, pf) = (&c.filesystem, &p.filesystem);
    assert_eq!(cf.root, pf.root);
    assert!(cf
        .read_write
        .iter()
        .all(|x| pf.read_write.iter().any(|y| x.starts_with(y))));
    assert!(cf.read_only.iter().all(|x| pf
        .read_only
        .iter()
        .chain(&pf.read_write)
        .any(|y| x.starts_with(y))));
    assert!(pf.hidden.iter().all(|h| cf.hidden.contains(h)));
    assert!(cf.tmp_size <= pf.tmp_size);
    assert!(pf.landlock == LandlockMode::BestEffort || cf.landlock == LandlockMode::Required);
    for (k, v) in &p.process.rlimits {
        assert!(c.process.rlimits.get(k).is_some_and(|cv| cv <= v), "{k:?}");
    }
    let (cr, pr) = (&c.resources, &p.resources);
    assert!(
        le(cr.memory, pr.memory)
            && le(cr.pids, pr.pids)
            && le(cr.cpus, pr.cpus)
            && le(cr.disk, pr.disk)
    );
    let (cn, pn) = (&c.network, &p.network);
    assert!(cn.mode.breadth() <= pn.mode.breadth());
    assert!(cn
        .private_ranges
        .iter()
        .all(|r| pn.private_ranges.iter().any(|q| q.contains(r))));
    let requests = [
        (Method::Get, "/repos/x/issues"),
        (Method::Post, "/repos/x/issues"),
        (Method::Delete, "/user"),
        (Method::Head, "/"),
    ];
    for name in NAMES {
        assert!(!cn.dns_allows(name) || pn.dns_allows(name), "dns {name}");
        for port in [443, 80, 8443] {
            for (m, path) in requests {
                if let Decision::Allow { .. } = cn.decide_http(name, port, m, path) {
                    assert!(
                        matches!(pn.decide_http(name, port, m, path), Decision::Allow { .. }),
                        "{m:?} {name}:{port}{path}"
                    );
                }
            }
        }
        for cred in cn
            .credentials
            .iter()
            .filter(|x| x.hosts.iter().any(|h| h.matches(name)))
        {
            assert!(pn.credentials.iter().any(|x| x.env == cred.env
                && x.secret == cred.secret
                && x.hosts.iter().any(|h| h.matches(name))));
        }
    }
    let (ci, pi) = (&c.inference, &p.inference);
    assert!(ci.models.is_subset(&pi.models));
    assert!(ci.max_concurrency <= pi.max_concurrency && le(ci.tokens_per_day, pi.tokens_per_day));
}

fn as_layer(kind: LayerKind, authority: Authority, doc: crate::PolicyDoc) -> Layer {
    Layer {
        kind,
        authority,
        source: format!("{kind}.yaml"),
        doc,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn owner_layer_is_never_wider_than_its_parent(parent in policy_doc(0.6), child in policy_doc(0.08)) {
        let role = as_layer(LayerKind::Role, Authority::Admin, parent);
        let Ok(above) = resolve(std::slice::from_ref(&role)) else { return Ok(()) };
        let user = as_layer(LayerKind::User, Authority::Owner, child);
        if let Ok(below) = resolve(&[role, user]) {
            assert_within(&below, &above);
        }
    }

    #[test]
    fn owner_may_restate_what_it_inherits(parent in policy_doc(0.5)) {
        let role = as_layer(LayerKind::Role, Authority::Admin, parent.clone());
        let Ok(above) = resolve(std::slice::from_ref(&role)) else { return Ok(()) };
        let user = as_layer(LayerKind::User, Authority::Owner, parent);
        prop_assert_eq!(resolve(&[role, user]), Ok(above));
    }

    #[test]
    fn resolving_is_deterministic(a in policy_doc(0.5), b in policy_doc(0.5)) {
        let layers = [as_layer(LayerKind::Role, Authority::Admin, a), as_layer(LayerKind::Session, Authority::Owner, b)];
        prop_assert_eq!(resolve(&layers), resolve(&layers.clone()));
    }

    #[test]
    fn admin_may_widen_and_its_values_win(a in policy_doc(0.5), b in policy_doc(0.5)) {
        let first = as_layer(LayerKind::Role, Authority::Admin, a);
        let second = as_layer(LayerKind::Template, Authority::Admin, b.clone());
        match resolve(&[first, second]) {
            Err(PolicyError::ResolveWiden { .. }) => prop_assert!(false, "an admin layer was refused a widening"),
            Ok(p) => {
                if let Some(m) = b.resources.memory { prop_assert_eq!(p.resources.memory, Some(m)); }
                if let Some(m) = b.network.mode { prop_assert_eq!(p.network.mode, m); }
                if let Some(e) = b.network.egress { prop_assert_eq!(p.network.egress, e); }
            }
            Err(_) => {}
        }
    }
}

/// One edit an owner layer might make to an inherited egress rule, narrowing or not.
#[derive(Clone, Debug)]
enum Edit {
    Drop,
    DropPort,
    AddPort(u16),
    Tls(TlsMode),
    DropAllow,
    AddAllow(HttpRule),
    DropDeny,
    AddDeny(HttpRule),
    Host(&'static str),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        Just(Edit::Drop),
        Just(Edit::DropPort),
        proptest::sample::select(vec![443u16, 80, 8443]).prop_map(Edit::AddPort),
        prop_oneof![Just(TlsMode::Inspect), Just(TlsMode::Passthrough)].prop_map(Edit::Tls),
        Just(Edit::DropAllow),
        http_entry().prop_map(Edit::AddAllow),
        Just(Edit::DropDeny),
        http_entry().prop_map(Edit::AddDeny),
        proptest::sample::select(vec![
            "api.github.com",
            "x.github.com",
            "git.corp.example",
            "*.corp.example",
            "pypi.org"
        ])
        .prop_map(Edit::Host),
    ]
}

fn apply_edits(rules: &[EgressRule], edits: &[Vec<Edit>]) -> Vec<EgressRule> {
    let mut out = Vec::new();
    for (rule, edits) in rules.iter().zip(edits) {
        let mut r = rule.clone();
        let mut keep = true;
        for e in edits {
            match e {
                Edit::Drop => keep = false,
                Edit::DropPort => {
                    let first = r.ports.iter().next().copied();
                    if let Some(p) = first.filter(|_| r.ports.len() > 1) {
                        r.ports.remove(&p);
                    }
                }
                Edit::AddPort(p) => {
                    r.ports.insert(*p);
                }
                Edit::Tls(t) => r.tls = *t,
                Edit::DropAllow => {
                    r.allow.pop();
                }
                Edit::AddAllow(a) => r.allow.push(a.clone()),
                Edit::DropDeny => {
                    r.deny.pop();
                }
                Edit::AddDeny(d) => r.deny.push(d.clone()),
                Edit::Host(h) => r.host = h.parse().unwrap(),
            }
        }
        if keep {
            out.push(r);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn owner_egress_edits_never_allow_more(
        rules in proptest::collection::vec(egress_rule(), 1..4),
        edits in proptest::collection::vec(proptest::collection::vec(edit(), 0..3), 4),
        mode in prop_oneof![Just(NetworkMode::Intranet), Just(NetworkMode::Internet)],
    ) {
        let mut parent = crate::PolicyDoc::default();
        parent.network.mode = Some(mode);
        parent.network.egress = Some(rules.clone());
        let role = as_layer(LayerKind::Role, Authority::Admin, parent);
        let Ok(above) = resolve(std::slice::from_ref(&role)) else { return Ok(()) };
        let mut child = crate::PolicyDoc::default();
        child.network.egress = Some(apply_edits(&rules, &edits));
        if let Ok(below) = resolve(&[role, as_layer(LayerKind::User, Authority::Owner, child)]) {
            assert_within(&below, &above);
        }
    }
}
