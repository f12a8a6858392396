//! Integration tests: one binary. Each test gets its own database — a temp SQLite
//! file, or its own Postgres database when `PORTCULLIS_TEST_POSTGRES_URL` is set —
//! and drives the real server over HTTP or the real binary over its command line.

mod account;
mod admin;
mod authorization_flow;
mod bad_input;
mod browser;
mod cli;
mod discovery;
mod example_apis;
mod grant_fixes;
mod hardening;
mod health;
mod issuer_path;
mod keys;
mod lifecycle;
mod oauth_support;
mod openid_connect;
mod pages_support;
mod prompt;
mod properties;
mod relying_party;
mod resources;
mod roles;
mod rotation_with_resource_server;
mod rp_logout;
mod scale_out;
mod serve;
mod storage;
mod support;
mod token_grants;
mod transport;
mod userinfo;
