//! The OAuth 2 / OpenID Connect rules. No actix, no diesel, no clock reads:
//! plain data in, decisions out.

pub mod client_metadata;
pub mod discovery;
pub mod error;
pub mod redirect_uri;
pub mod scope;
