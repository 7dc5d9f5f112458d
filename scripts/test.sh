#!/usr/bin/env bash
# Runs Paddock's whole test suite: formatting, lints, unit tests and the root tests
# (jail escape suite, CLI, cgroups). Root tests need root; with CI set they fail rather
# than skip when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: not root: the root tests (tests/root_*.rs) will skip themselves" >&2
fi

# The networked-jail tests start the DNS filter as this account (setup.sh creates it too).
if [ "$(id -u)" -eq 0 ] && ! id paddock-net >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin paddock-net
fi

cargo fmt --all --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --workspace
