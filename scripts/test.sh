#!/usr/bin/env bash
# Runs every test of the project. Installs what it needs by itself:
#   - the wasm32-unknown-unknown Rust target (edge signer),
#   - a Python venv (./.venv) with the pinned oracles and emulator of tests/requirements.txt,
#   - the edge handler's npm dev dependencies (npm ci),
#   - moto_server on a free loopback port for the life of the run (stopped on exit).
# Usage: scripts/test.sh            (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*" >&2; }

# Everything the run needs that it cannot install itself, checked first: a missing piece fails
# here in seconds with what to install, not minutes into the build.
step "prerequisites"
missing=()
command -v rustup >/dev/null || missing+=("rustup (https://rustup.rs)")
command -v cargo >/dev/null || missing+=("cargo (rustup)")
command -v python3 >/dev/null || missing+=("python3 (3.9 or later)")
if command -v python3 >/dev/null && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing+=("python3's venv module (Debian/Ubuntu: apt install python3-venv)")
fi
if ! command -v node >/dev/null; then
  missing+=("node 20 or later")
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  missing+=("node 20 or later (found $(node --version))")
fi
command -v npm >/dev/null || missing+=("npm (comes with node)")
for v in esdk-raw-rsa sigv4; do
  [ -d "$root/../shared/vectors/$v" ] || missing+=("../shared/vectors/$v beside the repository (the conformance vectors; see README)")
done
if [ ${#missing[@]} -gt 0 ]; then
  printf 'scripts/test.sh: missing prerequisites:\n' >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 2
fi

step "toolchain: wasm32-unknown-unknown target, clippy and rustfmt"
rustup target add wasm32-unknown-unknown >/dev/null
rustup component add clippy rustfmt >/dev/null

step "python venv with pinned oracles (tests/requirements.txt)"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
want=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
  echo "$want" >"$stamp"
fi
export FLE_TEST_PYTHON="$venv/bin/python"

if [ -f edge-signer/handler/package-lock.json ]; then
  step "edge handler: npm ci"
  (cd edge-signer/handler && npm ci --no-audit --no-fund --loglevel=error)
fi

mkdir -p "$root/target"
step "moto_server on a free loopback port"
port=$("$FLE_TEST_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$root/target/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT
moto_up=no
for _ in $(seq 1 150); do
  if "$FLE_TEST_PYTHON" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
    moto_up=yes
    break
  fi
  sleep 0.2
done
if [ "$moto_up" != yes ]; then
  echo "moto_server did not start on 127.0.0.1:$port; its log:" >&2
  cat "$root/target/moto.log" >&2
  exit 1
fi
export FLE_TEST_MOTO_URL="http://127.0.0.1:$port"

# --- backend Lambda (fle-lambda, examples/checkout-backend): cargo-lambda from the venv runs
# the function under `cargo lambda watch` in examples/checkout-backend/tests/lambda_watch.rs.
export FLE_TEST_CARGO_LAMBDA="$venv/bin/cargo-lambda"
# --- end backend Lambda

step "edge signer: wasm module (release); every test target and the fle binary, built once"
cargo build -p edge-signer --target wasm32-unknown-unknown --release --locked
# One feature set for the whole run: `cargo build -p fle-cli` alone would resolve features
# differently from the test build and compile the AWS SDK stack twice.
cargo test --workspace --all-features --locked --no-run

step "cargo test (workspace)"
cargo test --workspace --all-features --locked

step "edge handler: node --test (wasm handler vs fle edge sign, botocore verifier)"
node --test edge-signer/handler/test/

step "clippy (library lints)"
cargo clippy --workspace --all-features --all-targets --locked -- -D warnings

step "deploy/template.yaml: cfn-lint, then every control of docs/deploy.md present"
"$venv/bin/cfn-lint" --non-zero-exit-code error deploy/template.yaml
"$venv/bin/python" tests/deploy/check_template.py

step "rustfmt"
cargo fmt --all -- --check

step "fuzz targets: a short run of each (scripts/fuzz-smoke.sh), so none rots"
scripts/fuzz-smoke.sh 10

echo "all test suites passed" >&2
