#!/usr/bin/env bash
# Signing cost per algorithm (median of 31 batches, in-process, release build).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet --example bench_signing
