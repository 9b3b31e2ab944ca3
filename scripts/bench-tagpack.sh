#!/usr/bin/env bash
# TagPack import benchmark: one GraphSense TagPack of N tags (a header of defaults, then
# `- address:` entries of valid Bitcoin P2PKH addresses with a label and a context each;
# written by python3), imported into an empty data dir under /usr/bin/time: wall time and
# peak memory. With OLD (another sleuth binary) the same import is run with it, alternating.
#
#   scripts/bench-tagpack.sh [TAGS=400000] [OLD=] [ROUNDS=3] [WORKDIR=/tmp/sleuth-bench-tags]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-400000}
old=${2:-}
rounds=${3:-3}
work=${4:-/tmp/sleuth-bench-tags}
cargo build --release -q -p sleuth
mkdir -p "$work"
pack="$work/pack-$n.yaml"
if [ ! -f "$pack" ]; then
  python3 - "$n" "$PWD/scripts/lib" >"$pack" <<'PY'
import hashlib, random, sys
n = int(sys.argv[1]); rng = random.Random(42)
sys.path.insert(0, sys.argv[2])
from b58 import b58check
w = sys.stdout.write
w("title: Bench pack\ncreator: bench\nconfidence: forensic\ncurrency: BTC\n")
w("source: https://example.org/bench\ncategory: exchange\ntags:\n")
for i in range(n):
    addr = b58check(b"\x00" + rng.randbytes(20))
    w(f"- address: {addr}\n  label: Exchange {i % 977}\n")
    w(f"  context: '{{\"n\": {i}}}'\n")
PY
fi
echo "file: $pack, $n tags, $(du -m "$pack" | cut -f1) MB"
d=$(mktemp -d)
for i in $(seq "$rounds"); do
  for which in new old; do
    bin=target/release/sleuth
    if [ "$which" = old ]; then [ -n "$old" ] || continue; bin=$old; fi
    rm -rf "$d/data"
    /usr/bin/time -f "$which import: %e s, peak RSS %M KB" "$bin" -q --data-dir "$d/data" tags import "$pack" --format tagpack >/dev/null
  done
done
rm -rf "$d"
