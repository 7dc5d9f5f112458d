#!/usr/bin/env bash
# Jail start-up latency: start → /bin/true → exit, paddock against bubblewrap and firejail,
# measured in one run on one machine. See bench/README.md; results go to docs/benchmarks.md.
#
#   sudo bench/jail_start.sh                 # 300 runs per command
#   sudo RUNS=500 ROUNDS=10 bench/jail_start.sh
#
# Environment:
#   RUNS     timed runs per command, in total over all rounds (default 300, at least 200)
#   ROUNDS   rounds; each round runs every command RUNS/ROUNDS times, in a rotated order,
#            so that machine noise hits every tool alike (default 30)
#   WARMUP   untimed runs per command at the start of each round (default 3); they also
#            absorb the previous tool's asynchronous teardown (namespaces, cgroups)
#   PADDOCK  the paddock binary (default: target/release/paddock, else `paddock` on PATH);
#            it is copied to a temporary directory first, so a concurrent rebuild of
#            target/ cannot swap the binary in the middle of the measurement
#   PADDOCK_ALT  optional second paddock binary (e.g. the static build setup.sh installs),
#            measured in the same rounds as "paddock-alt"
#   OUT      directory for the raw hyperfine JSON (default: a new temporary directory, kept)
#
# Installs nothing. Needs: root, hyperfine, bwrap (bubblewrap), firejail, python3.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-300}
ROUNDS=${ROUNDS:-30}
WARMUP=${WARMUP:-3}

die() { echo "jail_start.sh: $*" >&2; exit 1; }
# "static" or "dynamic": a dynamically linked ELF has a PT_INTERP program header.
linkage() {
  command -v readelf >/dev/null 2>&1 || { echo "linkage unknown (no readelf)"; return; }
  if readelf -lW "$1" | grep -q INTERP; then echo dynamic; else echo static; fi
}

[ "$(id -u)" -eq 0 ] || die "run as root: paddock jail, and firejail's --net=none, need it"
[[ "$RUNS" =~ ^[0-9]+$ && "$ROUNDS" =~ ^[1-9][0-9]*$ && "$WARMUP" =~ ^[0-9]+$ ]] ||
  die "RUNS, ROUNDS and WARMUP must be whole numbers (ROUNDS at least 1)"
[ "$RUNS" -ge 200 ] || die "RUNS=$RUNS: use at least 200 runs per command"
per_round=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
[ "$per_round" -ge 2 ] || die "RUNS/ROUNDS must be at least 2 (hyperfine needs two runs)"

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=("hyperfine (Debian package: hyperfine)")
command -v bwrap >/dev/null 2>&1 || missing+=("bwrap (Debian package: bubblewrap)")
command -v firejail >/dev/null 2>&1 || missing+=("firejail (Debian package: firejail)")
command -v python3 >/dev/null 2>&1 || missing+=("python3 (Debian package: python3)")
if [ "${#missing[@]}" -gt 0 ]; then
  printf 'jail_start.sh: missing: %s\n' "${missing[@]}" >&2
  echo "jail_start.sh: install with: apt-get install hyperfine bubblewrap firejail python3" >&2
  exit 1
fi

if [ -z "${PADDOCK:-}" ]; then
  if [ -x "$repo/target/release/paddock" ]; then
    PADDOCK=$repo/target/release/paddock
  elif command -v paddock >/dev/null 2>&1; then
    PADDOCK=$(command -v paddock)
  else
    die "no paddock binary: run 'cargo build --release -p paddock' or set PADDOCK=/path/to/paddock"
  fi
fi
[ -x "$PADDOCK" ] || die "PADDOCK=$PADDOCK is not an executable file"

OUT=${OUT:-$(mktemp -d /tmp/paddock-bench.XXXXXX)}
mkdir -p "$OUT"
snap=$(mktemp -d /tmp/paddock-bin.XXXXXX)
trap 'rm -rf "$snap"' EXIT
cp "$PADDOCK" "$snap/paddock"
pd=$snap/paddock

# The commands. Every one must exit 0 (hyperfine stops on a failure).
names=(paddock bwrap-minimal bwrap-rootbind firejail)
cmds=(
  "$pd jail --net none -- /bin/true"
  "bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin --proc /proc --dev /dev /bin/true"
  "bwrap --unshare-all --die-with-parent --ro-bind / / /bin/true"
  "firejail --noprofile --net=none --quiet /bin/true"
)

if [ -n "${PADDOCK_ALT:-}" ]; then
  [ -x "$PADDOCK_ALT" ] || die "PADDOCK_ALT=$PADDOCK_ALT is not an executable file"
  cp "$PADDOCK_ALT" "$snap/paddock-alt"
  names+=(paddock-alt)
  cmds+=("$snap/paddock-alt jail --net none -- /bin/true")
fi

for i in "${!cmds[@]}"; do
  # shellcheck disable=SC2086 # the commands are word lists without quoting, as hyperfine -N runs them
  ${cmds[$i]} >/dev/null 2>"$OUT/check.err" ||
    die "${names[$i]} does not run here: ${cmds[$i]}: $(head -c 400 "$OUT/check.err")"
done

cgroup_fs=$(stat -fc %T /sys/fs/cgroup)
[ "$cgroup_fs" = cgroup2fs ] && cgroup_mode="v2 (unified)" || cgroup_mode="v1/hybrid ($cgroup_fs at /sys/fs/cgroup)"
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null | wc -l)

echo "== Jail start-up: start -> /bin/true -> exit"
echo "date:        $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "kernel:      $(uname -r) ($(uname -m))"
echo "cpu:         $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), nproc $(nproc)"
echo "memory:      $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "cgroups:     $cgroup_mode"
echo "load (start): $(cut -d' ' -f1-3 /proc/loadavg)"
echo "paddock:     $PADDOCK ($("$pd" --version), $(linkage "$pd"), sha256 $(sha256sum "$pd" | cut -c1-12)); repo at $commit, $dirty modified tracked file(s)"
if [ -n "${PADDOCK_ALT:-}" ]; then
  echo "paddock-alt: $PADDOCK_ALT ($(linkage "$snap/paddock-alt"), sha256 $(sha256sum "$snap/paddock-alt" | cut -c1-12))"
fi
echo "peers:       $(bwrap --version), $(firejail --version | head -1), $(hyperfine --version)"
echo "plan:        $ROUNDS rounds x $per_round runs per command (warm-up $WARMUP per command per round), order rotated each round"
echo "raw data:    $OUT/round-*.json"
echo "commands (hyperfine -N, no shell):"
for i in "${!cmds[@]}"; do
  printf '  %-15s %s\n' "${names[$i]}" "${cmds[$i]}"
done
echo

n=${#cmds[@]}
for (( r = 0; r < ROUNDS; r++ )); do
  args=()
  for (( k = 0; k < n; k++ )); do
    i=$(( (k + r) % n ))
    args+=(-n "${names[$i]}" "${cmds[$i]}")
  done
  printf '\rround %d/%d ' "$((r + 1))" "$ROUNDS" >&2
  hyperfine -N --style none --output null --warmup "$WARMUP" --runs "$per_round" \
    --export-json "$OUT/round-$r.json" "${args[@]}" >/dev/null 2>"$OUT/round-$r.err" ||
    die "hyperfine failed in round $((r + 1)): $(cat "$OUT/round-$r.err")"
done
printf '\r' >&2

echo "load (end):  $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - "$OUT" "${names[@]}" <<'EOF'
import glob, json, math, statistics, sys

out, names = sys.argv[1], sys.argv[2:]
times = {name: [] for name in names}
for path in sorted(glob.glob(f"{out}/round-*.json")):
    with open(path) as f:
        for res in json.load(f)["results"]:
            times[res["command"]].extend(res["times"])

def pct(xs, p):
    # nearest-rank percentile
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]

ms = lambda s: s * 1000
rows = {}
print(f"{'tool':<15} {'runs':>5} {'median':>8} {'p95':>8} {'mean':>8} {'min':>8} {'max':>8}   (ms)")
for name in names:
    xs = times[name]
    rows[name] = dict(median=statistics.median(xs), p95=pct(xs, 95), mean=statistics.fmean(xs),
                      min=min(xs), max=max(xs))
    r = rows[name]
    print(f"{name:<15} {len(xs):>5} {ms(r['median']):8.2f} {ms(r['p95']):8.2f} {ms(r['mean']):8.2f}"
          f" {ms(r['min']):8.2f} {ms(r['max']):8.2f}")

print()
ours = [n for n in names if n.startswith("paddock")]
peers = [n for n in names if not n.startswith("paddock")]
print("ratios of medians:")
for mine in ours:
    for peer in peers + [o for o in ours if o != mine and mine != "paddock"]:
        label = f"{mine} / {peer}"
        print(f"  {label:<28} {rows[mine]['median'] / rows[peer]['median']:.2f}")

# A coarse histogram per tool: bimodal start-up times show up here, not in a median.
print()
print("distribution (runs per 0.25 ms bin, starting at each tool's min; 16 bins = 4 ms):")
for name in names:
    xs = sorted(times[name])
    lo = xs[0]
    bins = {}
    for x in xs:
        b = int((x - lo) / 0.00025)
        bins[b] = bins.get(b, 0) + 1
    top = max(bins) if bins else 0
    cells = " ".join(str(bins.get(b, 0)) for b in range(min(top, 15) + 1))
    tail = sum(c for b, c in bins.items() if b > 15)
    print(f"  {name:<15} from {ms(lo):6.2f} ms: {cells}" + (f" | {tail} more than 4 ms above min" if tail else ""))
EOF
