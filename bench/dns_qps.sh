#!/usr/bin/env bash
# DNS filter throughput: queries per second of paddock's DNS filter against dnsmasq configured
# with the same allowlist, driven by the same dnsperf command in the same run. See
# bench/README.md; results go to docs/benchmarks.md ("DNS filter throughput").
#
#   sudo bench/dns_qps.sh                      # 3 runs of 10 s per workload and server
#   sudo RUNS=5 DURATION=20 bench/dns_qps.sh
#
# Everything runs in two network namespaces this script creates and deletes on exit; nothing
# talks to a real resolver:
#
#   <ns>-up   an authority for corp.test (dnsmasq: every name under corp.test is A 10.99.9.10,
#             TTL 300) on 10.99.0.1, reached over a veth pair
#   <ns>-srv  the two servers under test and dnsperf, over loopback:
#             - paddock egress dns (as $EGRESS_USER), one client per source address below,
#               each allowed "*.corp.test"; upstream 10.99.0.1:53
#             - dnsmasq on 127.0.0.1:53: --server=/corp.test/10.99.0.1, --address=/#/ (NXDOMAIN
#               for every other name), --cache-size=10000 (the filter's cache size)
#
# The filter limits each client address to 100 queries/s (burst 200) and has no switch to
# lift that (deliberately). So that dnsperf, one process on 127.0.0.1, is not one client, an
# nftables rule in <ns>-srv rewrites the source address of each query to the next of CLIENTS
# addresses in 10.77.0.0/16 (round robin, stateless, both servers alike) and the reply's
# destination back; every one of those addresses is registered with the filter. Each address
# then stays under its limit (the script prints the per-address rate and the REFUSED count, which
# must be 0). A separate check sends from one address to show the limit itself.
#
# Workloads, each for both servers, same dnsperf flags:
#   allowed  ALLOWED_NAMES names under corp.test, repeated (both caches warmed first)
#   denied   unique names under evil.test (never forwarded by either server)
#
# Environment:
#   RUNS           timed runs per workload and server (default 3, at least 3); the order of the
#                  two servers alternates from run to run
#   DURATION       seconds per run (dnsperf -l; default 10)
#   DNSPERF_FLAGS  extra dnsperf flags, the same for both servers (default "-c 4 -q 100 -t 2")
#   CLIENTS        source addresses the load is spread over (default 2048)
#   ALLOWED_NAMES  distinct allowed names (default 300)
#   DENIED_NAMES   distinct denied names; must exceed what one run sends (default 2000000)
#   PADDOCK        the paddock binary (default target/release/paddock); copied first, so a
#                  concurrent rebuild cannot swap it mid-run
#   EGRESS_USER    the account the filter runs as (default paddock-net)
#   OUT            directory for the raw dnsperf outputs (default: a new temporary one, kept)
#   PROFILE        1: after the timed runs, one more run per workload against the filter under
#                  `perf record -g`; OUT/perf-<workload>.txt has the flat profile (self time by
#                  symbol) and the time under each syscall (kernel stacks only: the release build
#                  has no frame pointers, so user-space call chains are not resolved)
#
# Installs nothing. Needs: root, dnsperf, dnsmasq (dnsmasq-base), dig (bind9-dnsutils), nft
# (nftables), ip (iproute2), setpriv (util-linux), python3.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
DNSPERF_FLAGS=${DNSPERF_FLAGS:--c 4 -q 100 -t 2}
CLIENTS=${CLIENTS:-2048}
ALLOWED_NAMES=${ALLOWED_NAMES:-300}
DENIED_NAMES=${DENIED_NAMES:-2000000}
EGRESS_USER=${EGRESS_USER:-paddock-net}

die() { echo "dns_qps.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: it creates network namespaces and nftables rules"
for v in RUNS DURATION CLIENTS ALLOWED_NAMES DENIED_NAMES; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a whole number above 0"
done
[ "$RUNS" -ge 3 ] || die "RUNS=$RUNS: use at least 3 runs (medians)"
[ "$CLIENTS" -le 65000 ] || die "CLIENTS must be at most 65000 (10.77.0.0/16)"
missing=()
for tool in dnsperf:dnsperf dnsmasq:dnsmasq-base dig:bind9-dnsutils nft:nftables ip:iproute2 \
  setpriv:util-linux python3:python3; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool%%:*} (Debian package: ${tool#*:})")
done
if [ "${#missing[@]}" -gt 0 ]; then
  printf 'dns_qps.sh: missing: %s\n' "${missing[@]}" >&2
  exit 1
fi
id "$EGRESS_USER" >/dev/null 2>&1 || die "no account $EGRESS_USER: run scripts/setup.sh or set EGRESS_USER"

if [ -z "${PADDOCK:-}" ]; then
  [ -x "$repo/target/release/paddock" ] ||
    die "no paddock binary: run 'cargo build --release -p paddock' or set PADDOCK=/path/to/paddock"
  PADDOCK=$repo/target/release/paddock
fi
[ -x "$PADDOCK" ] || die "PADDOCK=$PADDOCK is not an executable file"

OUT=${OUT:-$(mktemp -d /tmp/paddock-bench-dns.XXXXXX)}
mkdir -p "$OUT"
work=$(mktemp -d /tmp/paddock-dnsqps.XXXXXX)
ns_up=pdkqps-$$-up
ns_srv=pdkqps-$$-srv
pids=()
cleanup() {
  exec 7>&- 2>/dev/null || true
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$ns_srv" 2>/dev/null || true
  ip netns del "$ns_up" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The binary, readable and executable by the egress user.
chmod 0755 "$work"
cp "$PADDOCK" "$work/paddock"
chmod 0755 "$work/paddock"
mkdir "$work/ctl"
chown "$EGRESS_USER:" "$work/ctl"
chmod 0700 "$work/ctl"

# Background processes are started with `ip netns exec` directly (not this function), so that
# `$!` is the server's own pid (ip and setpriv exec their command) and its CPU time can be read.
in_srv() { ip netns exec "$ns_srv" "$@"; }

echo "== machine"
echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "kernel:    $(uname -r) ($(uname -m))"
echo "cpu:       $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), nproc $(nproc)"
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (start)"
echo "dnsperf:   $(dnsperf -h 2>&1 | grep -m1 '^Version' || echo unknown)"
echo "dnsmasq:   $(dnsmasq --version | head -1)"
echo "paddock:   $PADDOCK, sha256 $(sha256sum "$work/paddock" | cut -c1-12)…"
echo "repo at:   $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
echo "raw:       $OUT"

echo "== set-up"
ip netns add "$ns_up"
ip netns add "$ns_srv"
veth_up=pdkq$$u
veth_srv=pdkq$$s
ip link add "$veth_up" netns "$ns_up" type veth peer name "$veth_srv" netns "$ns_srv"
ip -n "$ns_up" addr add 10.99.0.1/24 dev "$veth_up"
ip -n "$ns_srv" addr add 10.99.0.2/24 dev "$veth_srv"
for ns in "$ns_up" "$ns_srv"; do ip -n "$ns" link set lo up; done
ip -n "$ns_up" link set "$veth_up" up
ip -n "$ns_srv" link set "$veth_srv" up
# The load's source addresses (rewritten to by nftables, below) and the single-client check's.
ip -n "$ns_srv" addr add 10.77.0.0/16 dev lo
ip -n "$ns_srv" addr add 10.78.0.1/32 dev lo

# The authority: every name under corp.test, TTL 300; it refuses everything else.
ip netns exec "$ns_up" dnsmasq -C /dev/null --keep-in-foreground --no-resolv --no-hosts \
  --bind-interfaces --listen-address=10.99.0.1 --port=53 --address=/corp.test/10.99.9.10 \
  --local-ttl=300 --log-queries --user=nobody --pid-file= --log-facility=- 2>"$work/upstream.log" &
pids+=($!)

# dnsmasq under test: the filter's allowlist, its cache size.
ip netns exec "$ns_srv" dnsmasq -C /dev/null --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
  --listen-address=127.0.0.1 --port=53 --server=/corp.test/10.99.0.1 --address=/#/ \
  --cache-size=10000 --user=nobody --pid-file= --log-facility=- 2>"$work/dnsmasq.log" &
dnsmasq_pid=$!
pids+=("$dnsmasq_pid")
dnsmasq_port=53

# The filter, as `paddock jail` starts it: unprivileged, audit on stdout (appended, so the file
# can be emptied between runs), `ready <port>` on stderr.
audit=$work/audit.jsonl
: >"$audit"
ip netns exec "$ns_srv" setpriv --reuid "$EGRESS_USER" --regid "$EGRESS_USER" --clear-groups \
  "$work/paddock" egress dns --socket "$work/ctl/dns.sock" --upstream 10.99.0.1:53 \
  --idle-exit-ms 600000 >>"$audit" 2>"$work/filter.err" &
filter_pid=$!
pids+=("$filter_pid")
for _ in $(seq 100); do
  grep -q '^ready ' "$work/filter.err" 2>/dev/null && break
  kill -0 "$filter_pid" 2>/dev/null || die "the filter exited: $(cat "$work/filter.err")"
  sleep 0.05
done
filter_port=$(sed -n 's/^ready \([0-9]*\)$/\1/p' "$work/filter.err")
[ -n "$filter_port" ] || die "the filter did not report ready: $(cat "$work/filter.err")"

# Register the clients over the control socket and hold the connection (the entries go when
# it closes) until this script ends: its stdin is fd 7.
cat >"$work/control.py" <<'EOF'
import ipaddress, json, socket, sys
path, clients, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_UNIX)
sock.connect(path)
f = sock.makefile("rw")
def ask(request):
    f.write(json.dumps(request) + "\n")
    f.flush()
    reply = json.loads(f.readline())
    if reply.get("status") != "ok":
        sys.exit(f"control {request['op']}: {reply}")
    return reply
ask({"op": "hello"})
base = int(ipaddress.ip_address("10.77.0.0"))
addresses = [str(ipaddress.ip_address(base + 1 + i)) for i in range(clients)] + ["10.78.0.1"]
for client in addresses:
    ask({"op": "set", "client": client, "jail": "bench", "allow": ["*.corp.test"]})
with open(ready, "w") as out:
    out.write(f"{len(addresses)}\n")
sys.stdin.read()
EOF
mkfifo "$work/hold"
python3 "$work/control.py" "$work/ctl/dns.sock" "$CLIENTS" "$work/registered" <"$work/hold" &
pids+=($!)
exec 7>"$work/hold"
for _ in $(seq 600); do [ -s "$work/registered" ] && break; sleep 0.05; done
[ -s "$work/registered" ] || die "registering $CLIENTS clients with the filter failed"

# Round-robin source addresses: a query from 127.0.0.1 to either server leaves loopback's
# prerouting with the next of the CLIENTS addresses as source; the reply to such an address
# gets 127.0.0.1 back as both source and destination, so dnsperf's socket receives it.
{
  echo "table ip pdkqps {"
  echo "  map srcs { typeof numgen inc mod $CLIENTS : ip saddr; elements = {"
  python3 -c "
import ipaddress
base = int(ipaddress.ip_address('10.77.0.0'))
print(',\n'.join(f'    {i} : {ipaddress.ip_address(base + 1 + i)}' for i in range($CLIENTS)))"
  echo "  } }"
  echo "  chain pre { type filter hook prerouting priority raw;"
  for port in "$dnsmasq_port" "$filter_port"; do
    echo "    iif lo ip saddr 127.0.0.1 udp dport $port ip saddr set numgen inc mod $CLIENTS map @srcs"
    echo "    iif lo ip daddr 10.77.0.0/16 udp sport $port ip saddr set 127.0.0.1 ip daddr set 127.0.0.1"
  done
  echo "  }"
  echo "}"
} >"$work/rules.nft"
in_srv nft -f "$work/rules.nft"

# Both servers answer an allowed name with the authority's address and deny the rest.
for port in "$dnsmasq_port" "$filter_port"; do
  got=$(in_srv dig +short +time=2 +tries=1 -p "$port" @127.0.0.1 check.corp.test A)
  [ "$got" = 10.99.9.10 ] || die "server on port $port: check.corp.test gave '$got', not 10.99.9.10"
  status=$(in_srv dig +time=2 +tries=1 -p "$port" @127.0.0.1 check.evil.test A |
    sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
  [ "$status" = NXDOMAIN ] || die "server on port $port: check.evil.test gave $status, not NXDOMAIN"
done
grep -q '"client":"10.77.' "$audit" || die "the filter did not see a rewritten source address"
echo "filter: port $filter_port, $(cat "$work/registered") clients registered; dnsmasq: port 53"

python3 - "$work" "$ALLOWED_NAMES" "$DENIED_NAMES" <<'EOF'
import random, string, sys
work, allowed, denied = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(f"{work}/allowed.txt", "w") as f:
    f.writelines(f"host{i:05d}.corp.test A\n" for i in range(allowed))
rng = random.Random(20261123)
alphabet = string.ascii_lowercase + string.digits
seen = set()
with open(f"{work}/denied.txt", "w") as f:
    while len(seen) < denied:
        label = "".join(rng.choices(alphabet, k=16))
        if label not in seen:
            seen.add(label)
            f.write(f"{label}.evil.test A\n")
EOF

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# One dnsperf run: run <name> <server> <port> <pid> <workload file> [extra flags]
run() {
  local name=$1 server=$2 port=$3 pid=$4 file=$5
  shift 5
  local before after
  before=$(cpu_ticks "$pid")
  # shellcheck disable=SC2086 # DNSPERF_FLAGS is a list of flags
  in_srv dnsperf -s 127.0.0.1 -p "$port" -d "$file" $DNSPERF_FLAGS "$@" >"$OUT/$name.txt" 2>&1 ||
    die "dnsperf failed for $name: $(tail -3 "$OUT/$name.txt")"
  after=$(cpu_ticks "$pid")
  echo "server_cpu_seconds: $(python3 -c "print(($after - $before) / $ticks)")" >>"$OUT/$name.txt"
  if [ "$server" = paddock ]; then
    echo "audit_lines: $(wc -l <"$audit")" >>"$OUT/$name.txt"
    : >"$audit"
  fi
  printf '%-28s %s\n' "$name" "$(grep -E 'Queries per second' "$OUT/$name.txt" | tr -s ' ')"
}

echo "== warm-up (each allowed name once per server; fills both caches)"
run warm-dnsmasq dnsmasq "$dnsmasq_port" "$dnsmasq_pid" "$work/allowed.txt" -n 1
run warm-paddock paddock "$filter_port" "$filter_pid" "$work/allowed.txt" -n 1
sleep 1

echo "== runs: dnsperf -s 127.0.0.1 -p PORT -d FILE -l $DURATION $DNSPERF_FLAGS"
for r in $(seq "$RUNS"); do
  if [ $((r % 2)) -eq 1 ]; then order=(paddock dnsmasq); else order=(dnsmasq paddock); fi
  for workload in allowed denied; do
    for server in "${order[@]}"; do
      if [ "$server" = paddock ]; then
        run "run$r-$workload-paddock" paddock "$filter_port" "$filter_pid" \
          "$work/$workload.txt" -l "$DURATION"
      else
        run "run$r-$workload-dnsmasq" dnsmasq "$dnsmasq_port" "$dnsmasq_pid" \
          "$work/$workload.txt" -l "$DURATION"
      fi
    done
  done
done

echo "== the rate limit itself: allowed names from one address (10.78.0.1), paddock only"
run single-client-paddock paddock "$filter_port" "$filter_pid" "$work/allowed.txt" \
  -l "$DURATION" -a 10.78.0.1

if [ "${PROFILE:-0}" = 1 ]; then
  command -v perf >/dev/null 2>&1 || die "PROFILE=1 needs perf (Debian package: linux-perf)"
  echo "== profile: the filter under perf record, one run per workload"
  for workload in allowed denied; do
    perf record -F 999 -g -p "$filter_pid" -o "$OUT/perf-$workload.data" -q 2>/dev/null &
    perf_pid=$!
    sleep 0.5
    run "profile-$workload-paddock" paddock "$filter_port" "$filter_pid" \
      "$work/$workload.txt" -l "$DURATION"
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    {
      echo "# self time by shared object"
      perf report -i "$OUT/perf-$workload.data" --no-children --sort dso -g none --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$'
      echo "# self time by symbol (>= 0.4 %)"
      perf report -i "$OUT/perf-$workload.data" --no-children --sort dso,symbol -g none \
        --percent-limit 0.4 --stdio 2>/dev/null | grep -v '^#' | grep -v '^$'
      echo "# time under each syscall and in softirq (children, kernel stacks)"
      perf report -i "$OUT/perf-$workload.data" --children --sort symbol -g none --stdio \
        2>/dev/null | grep -E '\] (__x64_sys_[a-z_0-9]+|ksys_write|handle_softirqs|ext4_buffered_write_iter)( |$)'
    } | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' >"$OUT/perf-$workload.txt"
    echo "$OUT/perf-$workload.txt"
  done
fi

echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (end)"
echo "upstream questions (authority log lines): $(grep -c 'query\[' "$work/upstream.log" || true)"

python3 - "$OUT" "$RUNS" "$CLIENTS" "$DENIED_NAMES" <<'EOF'
import glob, os, re, statistics, sys
out, runs, clients, denied_names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def parse(path):
    text = open(path).read()
    num = lambda pat: float(re.search(pat, text).group(1)) if re.search(pat, text) else 0.0
    codes = dict((c, int(n)) for c, n in re.findall(r"([A-Z]+) (\d+) \(", text.split("Response codes:")[-1].split("\n")[0]))
    return {
        "qps": num(r"Queries per second:\s+([\d.]+)"),
        "sent": num(r"Queries sent:\s+(\d+)"),
        "completed": num(r"Queries completed:\s+(\d+)"),
        "lost": num(r"Queries lost:\s+(\d+)"),
        "latency": num(r"Average Latency \(s\):\s+([\d.]+)"),
        "cpu": num(r"server_cpu_seconds:\s+([\d.]+)"),
        "audit": num(r"audit_lines:\s+(\d+)"),
        "codes": codes,
    }

print("\n== results (medians over %d runs)" % runs)
print("| workload | server | q/s median | q/s per run | lost (median) | avg latency ms | server CPU µs/query | rcodes (run 1) |")
print("|---|---|---:|---|---:|---:|---:|---|")
med = {}
for workload in ("allowed", "denied"):
    for server in ("paddock", "dnsmasq"):
        rs = [parse(f"{out}/run{r}-{workload}-{server}.txt") for r in range(1, runs + 1)]
        qps = [r["qps"] for r in rs]
        med[workload, server] = statistics.median(qps)
        lost = statistics.median(r["lost"] for r in rs)
        lat = statistics.median(r["latency"] for r in rs) * 1000
        cpu = statistics.median(r["cpu"] / r["completed"] * 1e6 for r in rs if r["completed"])
        codes = ", ".join(f"{c} {n}" for c, n in rs[0]["codes"].items())
        print(f"| {workload} | {server} | {med[workload, server]:,.0f} | "
              f"{' / '.join(f'{q:,.0f}' for q in qps)} | {lost:,.0f} | {lat:.3f} | {cpu:.2f} | {codes} |")
        for i, r in enumerate(rs, 1):
            if server == "paddock":
                refused = r["codes"].get("REFUSED", 0)
                if refused:
                    print(f"WARNING: run {i} {workload}: {refused} REFUSED: the per-address rate limit bound; raise CLIENTS")
                if r["audit"] != r["completed"]:
                    print(f"note: run {i} {workload}: {r['audit']:.0f} audit lines for {r['completed']:.0f} answered queries")
            if workload == "denied" and r["sent"] > denied_names:
                print(f"WARNING: run {i} {server} sent {r['sent']:.0f} > DENIED_NAMES: denied names repeated")
print()
for workload in ("allowed", "denied"):
    p, d = med[workload, "paddock"], med[workload, "dnsmasq"]
    print(f"ratio paddock/dnsmasq, {workload}: {p / d:.2f}  "
          f"(per source address: {p / clients:.1f} q/s against the filter's limit of 100)")
s = parse(f"{out}/single-client-paddock.txt")
print(f"single address: {s['qps']:,.0f} answers/s, rcodes {s['codes']}")
EOF
