#!/usr/bin/env bash
# 1, 2 and 3 instances on one Postgres database behind a round-robin proxy; release build.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet --bin portcullis
cargo run --release --quiet --example bench_scale_out -- "$target/release/portcullis"
