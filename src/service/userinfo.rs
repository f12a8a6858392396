//! The UserInfo answer (OIDC Core §5.3): the claims of the access token's scopes
//! about its user.

use super::introspection::{access_token_holds, our_access_token};
use super::Services;
use crate::protocol::bearer::{self, BearerError};
use crate::protocol::id_token::UserInfo;
use crate::protocol::scope::Scope;
use crate::store::{users, StoreError};

/// Why UserInfo gives no claims.
#[derive(Debug)]
pub enum UserInfoFailure {
    /// The token is not good for UserInfo (RFC 6750 §3.1 `invalid_token`).
    Refused(BearerError),
    /// The server failed.
    Internal(StoreError),
}

impl From<StoreError> for UserInfoFailure {
    fn from(e: StoreError) -> Self {
        UserInfoFailure::Internal(e)
    }
}

/// The claims for the bearer `token`: one of our access tokens, unexpired, not
/// revoked, for a user with `openid`, with its client and user still enabled.
pub async fn claims(
    services: &Services,
    token: &str,
    now: i64,
) -> Result<UserInfo, UserInfoFailure> {
    let invalid = |why: &str| UserInfoFailure::Refused(BearerError::InvalidToken(why.into()));
    let Some(claims) = our_access_token(&services.keys, &services.config, token) else {
        return Err(invalid("the access token is not one of ours"));
    };
    let scope =
        Scope::parse(&claims.scope).map_err(|_| invalid("the token's scope is malformed"))?;
    bearer::check_userinfo_token(&claims, &scope, now).map_err(UserInfoFailure::Refused)?;
    let found = services
        .store
        .run(move |conn| {
            if access_token_holds(conn, &claims, now)?.is_none() {
                return Ok(None);
            }
            users::find(conn, &claims.sub)
        })
        .await?;
    match found {
        Some(user) => Ok(UserInfo::new(&user.facts()?, &scope)),
        None => Err(invalid(
            "the access token is expired or revoked, or its user or client is disabled",
        )),
    }
}
