#!/usr/bin/env bash
# Runs every cargo-fuzz target for a short while (default 20 s each) so none of them rots, with
# the memory caps of the long runs (fuzz/README.md). Fails on a crash, a leak, a timeout or an
# allocation over the cap. Installs cargo-fuzz (pinned) when it is missing.
#
# Only a stable toolchain is needed: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
# One libFuzzer process at a time (one core). Usage: scripts/fuzz-smoke.sh [seconds per target]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${1:-20}
cargo_fuzz_version=0.13.2
targets=(parse_message decrypt_form parse_keyring_document sign_event edge_encrypt)
# Caps, shared with the long runs: see fuzz/README.md for why these values.
caps=(-rss_limit_mb=1024 -malloc_limit_mb=1 -max_len=16384 -timeout=10)

if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

# ASan needs its runtime in the toolchain; without it, run unsanitized.
sanitizer=address
sysroot=$(rustc --print sysroot)
if ! ls "$sysroot"/lib/rustlib/*/lib/*asan* >/dev/null 2>&1; then
  sanitizer=none
fi

export RUSTC_BOOTSTRAP=1
cd "$root/fuzz"
cargo fuzz build -O -s "$sanitizer"
for t in "${targets[@]}"; do
  printf '\n==> fuzz %s for %ss (sanitizer %s)\n' "$t" "$seconds" "$sanitizer" >&2
  # New inputs go to a scratch directory; the committed seeds are only read.
  scratch=$(mktemp -d)
  status=0
  cargo fuzz run -O -s "$sanitizer" "$t" "$scratch" "corpus/$t" -- \
    "${caps[@]}" -max_total_time="$seconds" -print_final_stats=1 || status=$?
  rm -rf "$scratch"
  if [ "$status" -ne 0 ]; then
    echo "fuzz target $t failed (exit $status); the input is under fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
echo "fuzz smoke: every target ran ${seconds}s without a crash" >&2
