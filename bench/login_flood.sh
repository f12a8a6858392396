#!/usr/bin/env bash
# Token latency and server memory during a login flood; release build.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet --bin portcullis
cargo run --release --quiet --example bench_login_flood -- "$target/release/portcullis"
