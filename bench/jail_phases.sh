#!/usr/bin/env bash
# The syscall profile of one `paddock jail -- /bin/true` (parent, init and workload together),
# for developers looking for where start-up time goes. See bench/README.md.
#
#   sudo bench/jail_phases.sh            # strace -f -c: CPU time spent in each syscall
#   sudo bench/jail_phases.sh -w         # extra strace flags, e.g. -w: wall-clock time instead
#   sudo PADDOCK=/usr/local/bin/paddock bench/jail_phases.sh
#
# Installs nothing. Needs: root, strace (Debian package: strace).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "jail_phases.sh: run as root" >&2; exit 1; }
command -v strace >/dev/null 2>&1 ||
  { echo "jail_phases.sh: missing: strace (Debian package: strace)" >&2; exit 1; }
PADDOCK=${PADDOCK:-$repo/target/release/paddock}
[ -x "$PADDOCK" ] ||
  { echo "jail_phases.sh: no $PADDOCK: run 'cargo build --release -p paddock' or set PADDOCK" >&2; exit 1; }

# One untraced start first, so that the page cache and dentries are warm as in the benchmark.
"$PADDOCK" jail --net none -- /bin/true
echo "strace -f -c -S time $* $PADDOCK jail --net none -- /bin/true" >&2
strace -f -c -S time "$@" "$PADDOCK" jail --net none -- /bin/true
