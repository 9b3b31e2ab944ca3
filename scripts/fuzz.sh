#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets: block_decoder, block_file, tag_parsers,
# address) for SECONDS each under libFuzzer, seeded with real inputs from ../shared/data (a
# mainnet block file's first records, TagPacks, OFAC lists, the SDN excerpt, addresses), and
# prints each target's executions and whether it found a crash. Needs the nightly toolchain
# and cargo-fuzz (`cargo install cargo-fuzz`); installs cargo-fuzz when missing.
#
#   scripts/fuzz.sh [SECONDS=60] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=${*:-block_decoder block_file tag_parsers address}
shared=${SLEUTH_SHARED_DATA:-$(cd .. && pwd)/shared/data}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
seed() { # target
  local c=fuzz/corpus/$1
  mkdir -p "$c"
  [ -n "$(ls -A "$c")" ] && return
  case $1 in
    block_decoder) python3 - "$shared/blocks/blk00000_heights0-4521.dat" "$c" <<'PY'
import sys, os
data = open(sys.argv[1], "rb").read(); off = 0; n = 0
while off + 8 <= len(data) and n < 64:
    size = int.from_bytes(data[off + 4:off + 8], "little")
    open(os.path.join(sys.argv[2], f"block{n}"), "wb").write(data[off + 8:off + 8 + size])
    off += 8 + size; n += 1
PY
      cp "$shared/blocks/block277647.dat" "$c/" ;;
    block_file) head -c 65536 "$shared/blocks/blk00000_heights0-4521.dat" >"$c/blk-64k"
      cp "$shared/blocks/btcd_blocks1-255.dat" "$c/" ;;
    tag_parsers) # first byte: 0 TagPack, 1 OFAC txt, 2 OFAC json, 3 SDN XML, 4 CSV
      { printf '\0'; cat "$shared/tagpacks/packs/lazarus.yaml"; } >"$c/lazarus"
      { printf '\1'; cat "$shared/sanctions/sanctioned_addresses_XBT.txt"; } >"$c/xbt"
      { printf '\2'; cat "$shared/sanctions/sanctioned_addresses_ETH.json"; } >"$c/eth"
      { printf '\3'; cat crates/tags/tests/fixtures/sdn_advanced_excerpt.xml; } >"$c/sdn"
      { printf '\4'; echo "address,label,category,source"; head -20 "$shared/sanctions/sanctioned_addresses_XBT.txt" \
          | sed 's/$/,x,exchange,s/'; } >"$c/csv" ;;
    address) i=0; for a in $(head -40 "$shared/sanctions/sanctioned_addresses_XBT.txt") \
        $(head -10 "$shared/sanctions/sanctioned_addresses_LTC.txt") bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq; do
        printf '%s' "$a" >"$c/a$i"; i=$((i + 1)); done ;;
  esac
}
cd fuzz
for t in $targets; do
  (cd .. && seed "$t")
  log=$(mktemp)
  if cargo +nightly fuzz run -O "$t" -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1; then
    result="no crash, no hang"
  else
    result="FOUND A CRASH OR HANG (fuzz/artifacts/$t; log $log)"
  fi
  # libFuzzer ends with "Done N runs in S second(s)"; a crash ends earlier, at its last "#N".
  execs=$(grep -oE 'Done [0-9]+ runs' "$log" | awk '{print $2}' | tail -1 || true)
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  printf '%-14s %ss: %s executions, %s\n' "$t" "$secs" "${execs:-?}" "$result"
done
