//! Which of our tokens a presented string is: a refresh token (by its hash) or a
//! JWT access token (by its signature under a published key and our issuer).

use actix_web::web;

use super::AppState;
use crate::crypto::token_hash;
use crate::protocol::id_token::{IdTokenClaims, ID_TOKEN_TYP};
use crate::protocol::tokens::{AccessTokenClaims, ACCESS_TOKEN_TYP};
use crate::store::refresh_tokens::{self, FamilyRow, RefreshTokenRow};
use crate::store::StoreError;

/// A token this server issued; short-lived, so the variants are not boxed.
#[allow(clippy::large_enum_variant)]
pub enum KnownToken {
    Refresh {
        token: RefreshTokenRow,
        family: FamilyRow,
    },
    Access(AccessTokenClaims),
}

impl KnownToken {
    /// The client the token was issued to.
    pub fn client_id(&self) -> &str {
        match self {
            KnownToken::Refresh { family, .. } => &family.client_id,
            KnownToken::Access(claims) => &claims.client_id,
        }
    }
}

/// The token `presented` is, if it is one of ours (whatever its state).
pub async fn identify(
    state: &web::Data<AppState>,
    presented: &str,
) -> Result<Option<KnownToken>, StoreError> {
    // A JWT has two dots; a refresh token is BASE64URL and has none.
    if presented.contains('.') {
        return Ok(our_access_token(state, presented).map(KnownToken::Access));
    }
    let hash = token_hash(presented);
    let found = state
        .store
        .run(move |conn| refresh_tokens::find(conn, &hash))
        .await?;
    Ok(found.map(|(token, family)| KnownToken::Refresh { token, family }))
}

/// The claims of `presented` if it is an access token this server issued: signed by
/// a published key with our issuer. Expiry and revocation are the caller's to check.
pub fn our_access_token(state: &AppState, presented: &str) -> Option<AccessTokenClaims> {
    state
        .keys
        .current()
        .verify::<AccessTokenClaims>(presented, ACCESS_TOKEN_TYP)
        .filter(|c| c.iss == state.config.issuer)
}

/// The claims of `presented` if it is an ID token this server issued: signed by a
/// published key with our issuer. Expiry is not checked — an `id_token_hint` may be
/// expired (OIDC Core §3.1.2.1, RP-Initiated Logout §2).
pub fn our_id_token(state: &AppState, presented: &str) -> Option<IdTokenClaims> {
    state
        .keys
        .current()
        .verify::<IdTokenClaims>(presented, ID_TOKEN_TYP)
        .filter(|c| c.iss == state.config.issuer)
}
