#!/usr/bin/env bash
# Token endpoint latency (client_credentials), in-process, release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet --example bench_token
