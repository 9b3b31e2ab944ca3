#!/usr/bin/env bash
# Clustering accuracy against the simulator's truth: simulates a chain, ingests it, then builds
# and scores the clustering with multi-input alone, each change heuristic added to it, and the
# default set. Prints pairwise precision and recall per set.
#
#   scripts/cluster-accuracy.sh [TRANSACTIONS=100000] [SEED=7] [WORKDIR=/tmp/sleuth-accuracy]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
seed=${2:-7}
work=${3:-/tmp/sleuth-accuracy}

cargo build --release -q -p sleuth
sleuth=target/release/sleuth
rm -rf "$work"
"$sleuth" -q simulate --out "$work/sim" --transactions "$n" --seed "$seed" >/dev/null
"$sleuth" -q --data-dir "$work/idx" ingest --blocks-dir "$work/sim/blocks" >/dev/null
for h in multi-input \
  multi-input,change-fresh multi-input,change-type multi-input,change-optimal \
  multi-input,change-round multi-input,change-fingerprint multi-input,change-peel \
  multi-input,change-core multi-input,change-optimal,change-round \
  multi-input,change-optimal,change-round,change-core,change-outputs=2 \
  multi-input,change-optimal,change-round,change-core multi-input,change,change-outputs=2 \
  multi-input,coinjoin-change multi-input,change-fresh,change-optimal,change-round,change-core \
  multi-input,change,collapse-guard=0 multi-input,change; do
  rm -rf "$work/idx/cluster"
  held=$("$sleuth" -q --data-dir "$work/idx" cluster build --heuristics "$h" --json | jq .held_back)
  echo "$("$sleuth" --data-dir "$work/idx" cluster evaluate --truth "$work/sim/truth"); held back: $held"
done
