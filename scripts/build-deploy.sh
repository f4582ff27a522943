#!/usr/bin/env bash
# Builds the two deployable artifacts of deploy/template.yaml into target/deploy/:
#   edge-signer.zip       the Lambda@Edge origin-request signer (fle edge package)
#   checkout-backend.zip  the backend Lambda for provided.al2023 on arm64 (cargo lambda build)
# Needs: the wasm32-unknown-unknown target and cargo-lambda (pip install cargo-lambda).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/deploy
mkdir -p "$out"
rustup target add wasm32-unknown-unknown >/dev/null
cargo build --release --locked -p fle-cli
target/release/fle edge package --out "$out/edge-signer.zip"
cargo lambda build --release --locked --arm64 -p checkout-backend --output-format zip --lambda-dir "$out/lambda"
cp "$out/lambda/checkout-backend/bootstrap.zip" "$out/checkout-backend.zip"
ls -l "$out"/*.zip
