//! The OAuth 2 / OpenID Connect rules. No actix, no diesel, no clock reads:
//! plain data in, decisions out.
//!
//! # What oxide-auth does here, and why not more
//!
//! DESIGN.md names `oxide-auth`. It does the PKCE `S256` transform and its
//! constant-time comparison ([`pkce`]). The rest is ours, because its seams cannot
//! express the rules this server promises:
//! - its `Registrar` checks client secrets with its own password policy (argon2,
//!   about 250 ms and 64 MiB per check here); ours is a keyed HMAC checked in
//!   microseconds, with the registered auth method enforced ([`client_auth`]);
//! - its `Authorizer` and `Issuer` keep grants behind a lookup that cannot consume a
//!   code in one conditional database update, revoke what a replayed code issued,
//!   or detect refresh-token reuse with a grace window ([`grants`]);
//! - its redirect-URI matching compares parsed URLs, where RFC 9700 §4.1.3 asks for
//!   exact strings plus the RFC 8252 §7.3 loopback-port exception ([`redirect_uri`]);
//! - it has no RFC 9207 `iss` parameter, no RFC 9068 JWT access tokens and no OIDC.

pub mod authorize;
pub mod bearer;
pub mod client_auth;
pub mod client_metadata;
pub mod discovery;
pub mod error;
pub mod grants;
pub mod id_token;
pub mod interaction;
pub mod login;
pub mod logout;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod resource;
pub mod scope;
pub mod tokens;
