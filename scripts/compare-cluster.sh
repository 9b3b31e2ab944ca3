#!/usr/bin/env bash
# Clustering speed against a peer, on one chain in one run: `sleuth cluster build` end to end
# (reading the index, CoinJoin detection, change heuristics, collapse guard, evidence, writing)
# against GraphSense's Rust union-find (PyPI `graphsense-clustering`, module `gs_clustering`)
# fed the same chain's multi-input sets, held in memory, timing only its union-find: fed
# Python lists (`process_transactions`) and fed an Arrow list array read in place
# (`process_transactions_arrow`); reading out its mapping is timed apart.
# Prints both rates in inputs per second and the ratio.
#
#   scripts/compare-cluster.sh [TRANSACTIONS=10000000] [WORKDIR=/tmp/sleuth-bench-cluster] [RUNS=3]
#
# The chain is the one scripts/bench-cluster.sh makes (seed 42) and is kept between runs;
# the peer is installed into WORKDIR/gscenv from PyPI the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
work=${2:-/tmp/sleuth-bench-cluster}
runs=${3:-3}

# Two builds: `--example` alone would build only the example, not the binary.
cargo build --release -q -p sleuth
cargo build --release -q -p sleuth-analysis --example input_sets
sleuth=target/release/sleuth
if [ ! -f "$work/idx/meta.json" ]; then
  rm -rf "$work"
  "$sleuth" -q simulate --out "$work/sim" --transactions "$n" --seed 42 >/dev/null
  "$sleuth" -q --data-dir "$work/idx" ingest --blocks-dir "$work/sim/blocks" >/dev/null
fi
if [ ! -x "$work/gscenv/bin/python" ]; then
  python3 -m venv "$work/gscenv"
  "$work/gscenv/bin/pip" install -q 'graphsense-clustering==0.2.0' pyarrow
fi
# The peer reads what Sleuth's multi-input rule unites: the distinct input addresses of every
# transaction that is neither a coinbase nor a CoinJoin. Rates are per input of the chain,
# for both.
rm -rf "$work/idx/cluster" # a clustering of another rules version stops `status`
target/release/examples/input_sets "$work/idx" "$work/sets" >"$work/sets.txt"
echo "sets for the peer: $(cat "$work/sets.txt")"
inputs=$("$sleuth" --data-dir "$work/idx" status --json | jq .inputs)

# Multi-input alone, for the same union-find work the peer does (and a check that both
# find the same clusters: addresses in clusters of two or more).
rm -rf "$work/idx/cluster"
/usr/bin/time -v "$sleuth" -q --data-dir "$work/idx" cluster build --heuristics multi-input --json >"$work/cluster-mi.json" 2>"$work/cluster-mi.time"
mi_wall=$(awk '/Elapsed \(wall clock\)/ {n=split($NF,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/cluster-mi.time")
mi_in_multi=$(jq '.addresses - (.clusters - .multi_address_clusters)' "$work/cluster-mi.json")
echo "sleuth cluster build --heuristics multi-input: ${mi_wall} s, ${mi_in_multi} addresses in clusters of 2+"

best_sleuth=""
for r in $(seq "$runs"); do
  rm -rf "$work/idx/cluster"
  /usr/bin/time -v "$sleuth" -q --data-dir "$work/idx" cluster build --json >"$work/cluster.json" 2>"$work/cluster.time"
  wall=$(awk '/Elapsed \(wall clock\)/ {n=split($NF,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/cluster.time")
  rss=$(awk -F: '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$work/cluster.time")
  echo "sleuth cluster build run $r: ${wall} s, peak RSS ${rss} MB"
  best_sleuth=$(awk -v a="$best_sleuth" -v b="$wall" 'BEGIN {print (a == "" || b < a) ? b : a}')
done

peer=$("$work/gscenv/bin/python" - "$work/sets" "$runs" <<'PY'
import sys, time, resource
from pathlib import Path
import pyarrow as pa
import pyarrow.compute
import gs_clustering

out, runs = Path(sys.argv[1]), int(sys.argv[2])
offsets = (out / "offsets.u32").read_bytes()
values = (out / "values.u32").read_bytes()
nsets, ninputs = len(offsets) // 4 - 1, len(values) // 4
# A list array's offsets are int32: checked here, not assumed.
assert ninputs < 2**31, "more inputs than an Arrow ListArray holds; use a LargeListArray"
inner = pa.Array.from_buffers(pa.uint32(), ninputs, [None, pa.py_buffer(values)])
sets = pa.ListArray.from_buffers(pa.list_(pa.uint32()), nsets, [None, pa.py_buffer(offsets)], children=[inner])
max_id = max(pa.compute.max(inner).as_py(), 0)
best = {}
def keep(name, seconds):
    best[name] = min(best.get(name, seconds), seconds)
for r in range(runs):
    # The Arrow feed: offsets and values read in place, no Python objects.
    c = gs_clustering.Clustering(max_id)
    t0 = time.perf_counter()
    c.process_transactions_arrow(sets)
    t1 = time.perf_counter()
    mapping = c.get_mapping_min(True)
    t2 = time.perf_counter()
    keep("arrow", t1 - t0)
    keep("mapping", t2 - t1)
    rows = mapping.num_rows
    print(f"peer run {r + 1}: Arrow union-find {t1 - t0:.2f} s, mapping {t2 - t1:.2f} s ({mapping.num_rows} addresses in clusters of 2+)", file=sys.stderr)
    del c, mapping
# The list feed (one Python list per transaction), as GraphSense's Spark job hands it over;
# building the lists is not timed.
t0 = time.perf_counter()
lists = sets.to_pylist()
print(f"peer: building the Python lists took {time.perf_counter() - t0:.2f} s (not counted)", file=sys.stderr)
for r in range(runs):
    c = gs_clustering.Clustering(max_id)
    t0 = time.perf_counter()
    c.process_transactions(lists)
    keep("lists", time.perf_counter() - t0)
    print(f"peer run {r + 1}: list union-find {time.perf_counter() - t0:.2f} s", file=sys.stderr)
    del c
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(best["arrow"], best["mapping"], best["lists"], rss, rows)
PY
)
read -r peer_arrow peer_map peer_lists peer_rss peer_rows <<<"$peer"
if [ "$peer_rows" != "$mi_in_multi" ]; then
  echo "the peer put $peer_rows addresses in clusters of 2+, sleuth's multi-input $mi_in_multi: not the same work" >&2
  exit 1
fi
echo "same clusters: both put $peer_rows addresses in clusters of two or more"
awk -v n="$inputs" -v s="$best_sleuth" -v a="$peer_arrow" -v m="$peer_map" -v l="$peer_lists" -v rss="$peer_rss" -v mi="$mi_wall" 'BEGIN {
  printf "inputs: %d\n", n
  printf "sleuth cluster build, end to end (best of runs):      %6.2f s, %5.2f M inputs/s\n", s, n/s/1e6
  printf "sleuth cluster build, multi-input alone:               %6.2f s, %5.2f M inputs/s\n", mi, n/mi/1e6
  printf "graphsense-clustering, Python lists, union-find only: %6.2f s, %5.2f M inputs/s\n", l, n/l/1e6
  printf "graphsense-clustering, Arrow, union-find only:        %6.2f s, %5.2f M inputs/s (with reading out the mapping %.2f s)\n", a, n/a/1e6, a+m
  printf "peer peak RSS %d MB\n", rss
  printf "ratio, sleuth end to end / peer union-find alone: %.2f (list feed), %.2f (Arrow feed)\n", l/s, a/s
}'
grep -E '"(clusters|largest_cluster|held_back)"' "$work/cluster.json" || true
