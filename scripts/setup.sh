#!/usr/bin/env bash
# Installs what Paddock needs on Debian 12 and builds the release binary.
# Run as root (or with sudo) from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (it installs Debian packages): sudo $0" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# build-essential/pkg-config: crates with C parts; python3, util-linux (script, setpriv),
# procps, tmux: the escape suite and CLI tests; nftables: networked jails; dnsmasq-base: the
# network tests' upstream resolver and the DNS benchmark's peer; dnsperf: its load generator;
# bubblewrap, firejail, hyperfine: bench/.
apt-get install -y -qq --no-install-recommends \
  build-essential pkg-config ca-certificates curl git \
  python3 util-linux procps iproute2 nftables dnsmasq-base dnsperf \
  bubblewrap firejail hyperfine strace tmux busybox-static >/dev/null
# The account the DNS filter (and later the egress proxy) runs as: never root.
id paddock-net >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin paddock-net

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup.sh: installing the Rust toolchain with rustup (Debian 12's cargo is too old)" >&2
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

# A statically linked binary: the dynamic loader's relocations cost ~0.5 ms on every jail
# start (docs/benchmarks.md). The explicit --target keeps proc-macros dynamic (host builds).
host=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked -p paddock --target "$host"
install -m 0755 "target/$host/release/paddock" /usr/local/bin/paddock
echo "installed: /usr/local/bin/paddock ($(/usr/local/bin/paddock --version))"
