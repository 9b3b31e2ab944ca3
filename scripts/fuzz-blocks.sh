#!/usr/bin/env bash
# Mutation fuzzing of ingest over real mainnet block files (issue 14): runs the test suite's
# mutation test (crates/cli/tests/it/mutants.rs) with many more mutants, in a release build,
# once per seed. Each mutant must fail with an error or give exactly the clean index (or, for
# a byte prefix of the file, the clean chain cut there); a panic or a different index fails.
#
#   scripts/fuzz-blocks.sh [MUTANTS_PER_SEED=20000] [SEEDS="1 2 3"]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
seeds=${2:-"1 2 3"}
for seed in $seeds; do
  echo "seed $seed: $n mutants"
  SLEUTH_MUTANTS=$n SLEUTH_MUTANTS_SEED=$seed cargo test --release -q -p sleuth --test it -- \
    --exact mutants::mutated_block_files_never_panic_and_never_give_a_different_index_without_an_error --nocapture 2>&1 \
    | grep -E "mutants \(seed|panicked|test result" || { echo "seed $seed FAILED"; exit 1; }
done
