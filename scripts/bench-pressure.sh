#!/usr/bin/env bash
# An index larger than memory, in minutes instead of hours: ingests a chain (default the 10M
# transactions scripts/bench-cluster.sh leaves) while another process holds most of the RAM,
# so that the index (2.9 GB at 10M) outgrows what is left for the page cache as the 100M run
# of scripts/bench-scale.sh outgrows 24 GiB. Compares binaries in the same run; prints tx/s
# per 1M-transaction window, bytes written, peak RSS.
#
#   scripts/bench-pressure.sh OLD_BIN NEW_BIN [LEAVE_MIB=3300] [BLOCKS=/tmp/sleuth-bench-cluster/sim/blocks]
#
# LEAVE_MIB is the memory left available besides the holder (free's "available"); the ingest
# runs with --memory 1G and --direct-limit 0 (deferred writes, as a large index has). Needs
# root for drop_caches. Not a test: figures depend on the disk.
set -euo pipefail
old=$1 new=$2
leave=${3:-3300}
blocks=${4:-/tmp/sleuth-bench-cluster/sim/blocks}
[ -d "$blocks" ] || { echo "no block files at $blocks: run scripts/bench-cluster.sh first" >&2; exit 1; }
avail=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
hold=$((avail - leave))
[ "$hold" -gt 0 ] || { echo "only $avail MiB available: nothing to hold" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$holder" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$hold" > "$work/holder.out" <<'EOF' &
import mmap, sys, time
n = int(sys.argv[1]) << 20
m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
for i in range(0, n, 4096):
    m[i] = 1
print("held", flush=True)
while True:
    time.sleep(3600)
EOF
holder=$!
until grep -q held "$work/holder.out"; do sleep 1; done
echo "holding $hold MiB; available now $(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo) MiB"
for which in old new; do
  bin=$new; [ "$which" = old ] && bin=$old
  rm -rf "$work/idx"
  sync; echo 3 > /proc/sys/vm/drop_caches
  echo "== $which ($bin)"
  SLEUTH_INGEST_WINDOWS=1000000 /usr/bin/time -f "$which: %e s, peak RSS %M KB, %F major faults" \
    "$bin" -q --data-dir "$work/idx" ingest --blocks-dir "$blocks" --memory 1G --direct-limit 0 2>&1 >/dev/null |
    sed -E 's/, rss_anon_kb.*//'
done
