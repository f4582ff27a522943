#!/usr/bin/env bash
# Builds the two deployable artifacts of deploy/template.yaml into target/deploy/:
#   edge-signer.zip       the Lambda@Edge origin-request signer (fle edge package)
#   checkout-backend.zip  the backend Lambda for provided.al2023 on arm64 (cargo lambda build)
# Needs: rustup, python3 (cargo-lambda and its zig come from the test venv's pinned
# tests/requirements.txt, installed here when missing). No AWS account, no network at run time.
#
# The backend is built with the `lambda` profile (Cargo.toml: size-optimised, fat LTO, abort on
# panic) and only the key source the template configures (FLE_KEYRING_SECRET: Secrets Manager).
# For another source: BACKEND_FEATURES=ssm or kms scripts/build-deploy.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=target/deploy
features=${BACKEND_FEATURES:-secrets-manager}
mkdir -p "$out"

venv="$root/.venv"
if [ ! -x "$venv/bin/cargo-lambda" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
fi
rustup target add wasm32-unknown-unknown aarch64-unknown-linux-gnu >/dev/null

# The edge zip: the release wasm module in fle's Node handler. fle itself only packages here,
# so it is the development build with the test run's feature set (warm after scripts/test.sh).
cargo build --release --locked -p edge-signer --target wasm32-unknown-unknown
cargo build --locked --workspace --all-features --bin fle
target/debug/fle edge package --wasm target/wasm32-unknown-unknown/release/edge_signer.wasm \
  --out "$out/edge-signer.zip" --force

# The backend: cargo-lambda cross-compiles for arm64 with zig (from the venv's ziglang).
# aws-lc is built without its CPU-jitter entropy source for this target only: seeding it cost
# ~60 ms of CPU per cold start here (more on a fraction of a vCPU), and the kernel's getrandom()
# remains the seed, as in BoringSSL and ring. docs/backend.md has the measurements.
AWS_LC_SYS_NO_JITTER_ENTROPY_aarch64_unknown_linux_gnu=1 \
PATH="$venv/bin:$PATH" "$venv/bin/cargo-lambda" lambda build --locked --profile lambda --arm64 \
  -p checkout-backend --no-default-features --features "$features" \
  --output-format zip --lambda-dir "$out/lambda"
cp "$out/lambda/checkout-backend/bootstrap.zip" "$out/checkout-backend.zip"
ls -l "$out"/*.zip
