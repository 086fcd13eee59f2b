#!/usr/bin/env bash
# Interop with the MPP implementations nobody here wrote (docs/interop.md).
#
# Starts mock-link and mock-merchant on free 127.0.0.1 ports, then:
#  - merchant side: each real MPP server (mppx, the `mpp` crate, pympp) on a
#    free port, settling at mock-link, checked by interop/merchant_check.py
#    (link-ref pays it; reused, replayed, revoked and 3-D Secure tokens);
#  - client side: the mppx, pympp and `mpp` crate clients pay mock-merchant's api,
#    api-split, credential-header and api-session merchants
#    (interop/client_check.py);
#  - agreement: mpp-testkit's corpus decoded by the three peers
#    (interop/agreement.py).
# Needs interop/setup.sh first (it runs it when a peer is missing) and the
# workspace's debug binaries (mock-link, mock-merchant, link-ref, mpp-testkit;
# INTEROP_BIN to use others, e.g. target/release).
# A failure prints `FAIL <peer> <version>: <message>`; the exit code is 1 when
# any check failed. Records go to OUT (default target/interop).
#
# Usage: interop/run.sh [OUT]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
OUT="$(mkdir -p "${1:-target/interop}" && cd "${1:-target/interop}" && pwd)"
BIN="${INTEROP_BIN:-$root/target/debug}"
export PYTHONDONTWRITEBYTECODE=1
PY="$root/target/interop/venv/bin/python"
KEY=sk_test_mock_merchant NETWORK=profile_mock_merchant

for tool in mock-link mock-merchant link-ref mpp-testkit; do
  [ -x "$BIN/$tool" ] || { echo "FAIL interop: $BIN/$tool is missing (cargo build -p mock-link -p mock-merchant -p reference-client -p mpp-testkit)" >&2; exit 1; }
done
if [ ! -x "$root/target/debug/interop-mpp-rs" ] || [ ! -x "$PY" ] || [ ! -d interop/node/node_modules/mppx ]; then
  bash interop/setup.sh
fi

version_npm() { node -p "require('$root/interop/node/node_modules/$1/package.json').version"; }
version_py() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
version_crate() { awk -v n="$1" '$0 == "name = \"" n "\"" {getline; gsub(/version = |"/, ""); print; exit}' interop/mpp-rs/Cargo.lock; }
MPPX="$(version_npm mppx) (stripe-node $(version_npm stripe))"
PYMPP="$(version_py pympp) (stripe-python $(version_py stripe))"
MPPRS="$(version_crate mpp) (features server, client, stripe, axum)"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# start NAME CMD...: runs CMD with stdout on a pipe and waits (blocking read,
# no sleep) for its first line naming a loopback URL: the server accepts then.
# Sets URL.
start() {
  local name=$1 fd line
  shift
  exec {fd}< <(exec "$@" 2>"$OUT/$name.stderr")
  pids+=("$!")
  while IFS= read -r -t 120 -u "$fd" line; do
    if [[ $line =~ (http://127\.0\.0\.1:[0-9]+) ]]; then
      URL=${BASH_REMATCH[1]}
      return
    fi
  done
  echo "FAIL $name: did not print its URL; stderr: $(tail -c 600 "$OUT/$name.stderr")" >&2
  exit 1
}

start mock-link "$BIN/mock-link" --port 0
LINK=$URL
start mock-merchant "$BIN/mock-merchant" --link-url "$LINK" --port 0
MERCHANT=$URL
echo "mock-link $LINK, mock-merchant $MERCHANT, records in $OUT"

# link-ref talks to mock-link with a token the control API hands out.
export LINK LINK_REF="$BIN/link-ref" MERCHANT OUT SECRET_KEY=$KEY ISSUE_SPT="$root/interop/issue-spt.sh"
export LINK_AUTH_BASE_URL=$LINK LINK_API_BASE_URL=$LINK LINK_AUTH_FILE="$OUT/link-ref-session.json"
LINK_ACCESS_TOKEN=$(python3 -c 'import json, sys, urllib.request as u
r = u.Request(sys.argv[1] + "/__control/tokens", b"{}", {"content-type": "application/json"})
print(json.load(u.urlopen(r))["access_token"])' "$LINK")
export LINK_ACCESS_TOKEN

failed=()
check() {  # check PEER-LABEL CMD...: runs one check, keeps going on failure
  local label=$1
  shift
  echo
  echo "== $label"
  if ! "$@"; then failed+=("$label"); fi
}

start mppx-server node interop/node/mppx.mjs serve "$LINK" "$KEY" "$NETWORK"
check "merchant: mppx $MPPX" python3 interop/merchant_check.py mppx "$MPPX" "$URL/paid"
start mpp-rs-server "$root/target/debug/interop-mpp-rs" serve "$LINK" "$KEY" "$NETWORK"
check "merchant: mpp-rs (mpp crate) $MPPRS" python3 interop/merchant_check.py mpp-rs "$MPPRS" "$URL/paid"
start pympp-server "$PY" interop/python/pympp_peer.py serve "$LINK" "$KEY" "$NETWORK"
check "merchant: pympp $PYMPP" python3 interop/merchant_check.py pympp "$PYMPP" "$URL/paid"

check "client: mppx $MPPX" python3 interop/client_check.py mppx "$MPPX" -- node interop/node/mppx.mjs client
check "client: pympp $PYMPP" python3 interop/client_check.py pympp "$PYMPP" -- "$PY" interop/python/pympp_peer.py client
check "client: mpp-rs $MPPRS" python3 interop/client_check.py mpp-rs "$MPPRS" -- "$root/target/debug/interop-mpp-rs" client

decode_all() {
  "$BIN/mpp-testkit" corpus >"$OUT/corpus.jsonl"
  node interop/node/mppx.mjs decode <"$OUT/corpus.jsonl" >"$OUT/decode-mppx.jsonl"
  "$PY" interop/python/pympp_peer.py decode <"$OUT/corpus.jsonl" >"$OUT/decode-pympp.jsonl"
  "$root/target/debug/interop-mpp-rs" decode <"$OUT/corpus.jsonl" >"$OUT/decode-mpp-rs.jsonl"
  python3 interop/agreement.py "$OUT/corpus.jsonl" mppx="$OUT/decode-mppx.jsonl" \
    pympp="$OUT/decode-pympp.jsonl" mpp-rs="$OUT/decode-mpp-rs.jsonl" \
    --markdown "$OUT/agreement.md" --json "$OUT/agreement.json" \
    --expect interop/expected-agreement.json | grep -E "^(FAIL|\\| \\*\\*agreements)"
}
check "corpus agreement: mppx $MPPX, pympp $PYMPP, mpp-rs $MPPRS" decode_all

echo
if [ ${#failed[@]} -gt 0 ]; then
  printf 'interop FAILED:\n' >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "interop: every peer passed (records in $OUT)"
