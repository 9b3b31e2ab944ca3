#!/usr/bin/env bash
# Clustering accuracy on real wallets: builds the real-wallet economy on a fresh
# `litecoind -regtest` (crates/testkit/src/economy), ingests its block files, then builds the
# clustering with multi-input alone, each change heuristic added to it, and the default set,
# and prints pairwise precision, recall, share of the oracle ceiling (multi-input plus
# perfect change knowledge) and clusters mixing wallets. Run it under the cargo lock on a
# shared machine: flock /tmp/sleuth-cargo.lock scripts/cluster-accuracy-real.sh
#
#   scripts/cluster-accuracy-real.sh [SIZE=large] [SEED=1] [WORKDIR=/tmp/sleuth-accuracy-real]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-large}
seed=${2:-1}
work=${3:-/tmp/sleuth-accuracy-real}
target=${CARGO_TARGET_DIR:-target}

cargo build --release -q -p sleuth
cargo build --release -q -p sleuth-testkit --example economy
sleuth=$target/release/sleuth
economy=$target/release/examples/economy
rm -rf "$work"
"$economy" build "$work" "$size" "$seed"
"$sleuth" -q --data-dir "$work/idx" ingest --blocks-dir "$work/blocks" >/dev/null
sets=${SETS:-"multi-input multi-input,change-fresh multi-input,change-type multi-input,change-optimal
  multi-input,change-round multi-input,change-fingerprint multi-input,change-peel
  multi-input,change-optimal,change-round
  multi-input,change-optimal,change-round,change-core,change-outputs=2
  multi-input,change-optimal,change-round,change-core multi-input,change,change-outputs=2
  multi-input,coinjoin-change multi-input,change-fresh,change-optimal,change-round,change-core
  multi-input,change,collapse-guard=0 multi-input,change"}
printf '%-60s %9s %7s %9s %6s %5s\n' heuristics precision recall "% ceiling" mixed held
for h in $sets; do
  rm -rf "$work/idx/cluster"
  held=$("$sleuth" -q --data-dir "$work/idx" cluster build --heuristics "$h" --json | jq .held_back)
  "$sleuth" --data-dir "$work/idx" cluster export --csv >"$work/clusters.csv"
  "$economy" score "$work/truth" "$work/clusters.csv" |
    jq -r --arg h "$h" --arg held "$held" '"\($h) \(.score.precision) \(.score.recall) \(.share_of_ceiling * 100) \(.score.mixed_clusters) \($held)"' |
    awk '{ printf "%-60s %9.4f %7.4f %8.1f%% %6d %5d\n", $1, $2, $3, $4, $5, $6 }'
done
jq -r '"ceiling (multi-input + perfect change): recall \(.recall)"' "$work/truth/ceiling.json"
