#!/usr/bin/env bash
# Differential test of mpp-wire's stripe challenge decoding against mppx (npm).
#
# 1. 3000 cases from mpp-testkit's generator (seed 42): WWW-Authenticate values
#    from the proptest strategies with the expected outcome as the oracle;
# 2. the committed corpus (`mpp-testkit corpus`, mpp.md's edge cases);
# 3. probes.jsonl: hand-written cases aimed at parser differences, with
#    mpp-wire's verdict as the oracle.
# Each run prints its summary; the JSON summaries go to SUMMARY_JSON (default
# target/differential/summary.json), SUMMARY_JSON minus .json plus -corpus.json
# and -probes.json. Deterministic. Exits non-zero only if the harness breaks
# (build, npm, unreadable input), never on disagreements: they are findings.
#
# Usage: mpp-testkit/differential/run.sh [SUMMARY_JSON]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
OUT="${1:-${OUT:-$root/target/differential/summary.json}}"
COUNT="${COUNT:-3000}"
SEED="${SEED:-42}"
mkdir -p "$(dirname "$OUT")"

if [ ! -d "$here/node_modules/mppx" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

cd "$root"
echo "== generated: --count $COUNT --seed $SEED"
cargo run -q -p mpp-testkit --bin mpp-testkit -- generate --count "$COUNT" --seed "$SEED" \
  | node "$here/compare.mjs" --summary "$OUT"

echo
echo "== corpus (mpp-testkit corpus)"
cargo run -q -p mpp-testkit --bin mpp-testkit -- corpus \
  | node "$here/compare.mjs" --summary "${OUT%.json}-corpus.json"

echo
echo "== probes (mpp-testkit/differential/probes.jsonl)"
node "$here/compare.mjs" --summary "${OUT%.json}-probes.json" < "$here/probes.jsonl"

echo
echo "summaries: $OUT ${OUT%.json}-corpus.json ${OUT%.json}-probes.json"
