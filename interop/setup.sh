#!/usr/bin/env bash
# Installs the interop peers at their pinned versions (interop/run.sh runs them):
#   mppx and stripe-node: npm ci from interop/node/package-lock.json;
#   pympp and stripe-python: a venv under target/interop/venv, pip with
#     --require-hashes from interop/python/requirements.txt;
#   the `mpp` crate's server and client: interop/mpp-rs (its own Cargo.lock),
#     built into the workspace's target/ so it shares compiled dependencies.
# The workspace's debug binaries that run.sh starts (mock-link, mock-merchant,
# link-ref, mpp-testkit) come from `cargo test --workspace` and the steps
# before it in .ci/run; run.sh names any that is missing.
# Skips a part that is already in place. Any failure is loud (set -e).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

need() {
  command -v "$1" >/dev/null 2>&1 && return
  if [ "${CI:-}" = true ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq "${@:2}" >/dev/null
  fi
  command -v "$1" >/dev/null 2>&1 || { echo "interop setup: $1 is missing (apt-get install ${*:2})" >&2; exit 1; }
}
need node nodejs npm
need npm npm
need python3 python3 python3-venv

if ! cmp -s interop/node/package-lock.json interop/node/node_modules/.interop-lock.json 2>/dev/null; then
  (cd interop/node && npm ci --no-audit --no-fund --loglevel=error)
  cp interop/node/package-lock.json interop/node/node_modules/.interop-lock.json
fi

venv=target/interop/venv
stamp="$venv/.requirements.txt"
if ! cmp -s interop/python/requirements.txt "$stamp" 2>/dev/null; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv"; then  # Debian's python3 lacks ensurepip without python3-venv
    [ "${CI:-}" = true ] && apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$venv" && python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check --require-hashes --no-deps \
    -r interop/python/requirements.txt
  cp interop/python/requirements.txt "$stamp"
fi

CARGO_TARGET_DIR="$root/target" cargo build -q --locked --manifest-path interop/mpp-rs/Cargo.toml
