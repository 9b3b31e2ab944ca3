#!/usr/bin/env bash
# Tag store benchmark: N tags in one CSV (nine in ten valid Bitcoin P2PKH addresses from
# random hashes, one in ten EVM addresses; written by python3), imported into an empty data
# dir, then 200 `tags show` queries of addresses picked across the file, each a whole process
# (start, open the store, look up, print) under /usr/bin/time. Prints the import's time and
# peak memory, the size of the store, and the queries' p50/p99/max wall time and peak memory.
# With OLD (another sleuth binary) the same runs are made with it, for the figure before.
#
#   scripts/bench-tags.sh [TAGS=1000000] [OLD=] [WORKDIR=/tmp/sleuth-bench-tags]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
old=${2:-}
work=${3:-/tmp/sleuth-bench-tags}
cargo build --release -q -p sleuth
mkdir -p "$work"
csv="$work/tags-$n.csv"
if [ ! -f "$csv" ]; then
  python3 - "$n" "$PWD/scripts/lib" >"$csv" <<'PY'
import hashlib, random, sys
n = int(sys.argv[1]); rng = random.Random(42)
sys.path.insert(0, sys.argv[2])
from b58 import b58check
cats = ["exchange", "gambling", "mixing_service", "", "shop"]
w = sys.stdout.write
w("address,label,category,source\n")
for i in range(n):
    addr = "0x" + rng.randbytes(20).hex() if i % 10 == 9 else b58check(b"\x00" + rng.randbytes(20))
    w(f"{addr},entity {i % 50000},{cats[i % 5]},https://example.org/list/{i // 1000}\n")
PY
fi
echo "file: $csv, $n tags, $(du -m "$csv" | cut -f1) MB"
# 200 addresses spread over the file.
awk -F, -v n="$n" 'NR > 1 && (NR - 2) % int(n / 200 > 1 ? n / 200 : 1) == 0 { print $1 }' "$csv" | head -200 >"$work/queries.txt"

run() { # label binary
  local label=$1 bin=$2 dir="$work/data-$1"
  rm -rf "$dir"
  /usr/bin/time -f "%e %M" -o "$work/import.time" "$bin" -q --data-dir "$dir" tags import "$csv" --format csv >/dev/null
  read -r secs kb <"$work/import.time"
  printf '%-6s import: %6.2f s, peak RSS %5.0f MB, store %4d MB\n' "$label" "$secs" "$(echo "$kb / 1024" | bc -l)" \
    "$(du -sm "$dir/tags" | cut -f1)"
  : >"$work/query.times"
  while read -r a; do
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/query.rss" "$bin" -q --data-dir "$dir" tags show "$a" >/dev/null
    echo "$(( ($(date +%s%N) - start) / 1000 )) $(cat "$work/query.rss")" >>"$work/query.times"
  done <"$work/queries.txt"
  # Wall time of the whole process, in ms, and its peak RSS.
  sort -n "$work/query.times" | awk -v label="$label" '{ t[NR] = $1 / 1000; if ($2 > m) m = $2 }
    END { printf "%-6s tags show: %d queries, p50 %.1f ms, p99 %.1f ms, max %.1f ms, peak RSS %.0f MB\n",
          label, NR, t[int(NR * 0.5)], t[int(NR * 0.99)], t[NR], m / 1024 }'
}
run new target/release/sleuth
[ -n "$old" ] && run old "$old"
exit 0
