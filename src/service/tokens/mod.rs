//! The token endpoint's grants (RFC 6749 §3.2), one module per grant type, and the
//! signing of what they issue: RFC 9068 access tokens and OIDC Core §2 ID tokens.
//!
//! The code and refresh grants check inside the transaction that consumes the code
//! or rotates the token that every key they need is there (a missing key rolls the
//! consumption back, so the client's retry is a first use), and sign right after
//! the commit, on the same blocking thread ([`Outcome::answer`]).

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use std::sync::Arc;

use super::clients::{stored_alg, AuthenticatedClient};
use super::{resources, OAuthFailure, Services};
use crate::clock::seconds;
use crate::config::Config;
use crate::keys::{KeyAlg, KeyError, KeyRing};
use crate::protocol::client_metadata::GrantType;
use crate::protocol::error::OAuthError;
use crate::protocol::grants;
use crate::protocol::id_token::{self, Authenticated, IdTokenClaims, TokenDigest, ID_TOKEN_TYP};
use crate::protocol::params::Params;
use crate::protocol::scope::Scope;
use crate::protocol::tokens::{
    scope_for_resource, AccessGrant, AccessTokenClaims, Issuance, TokenResponse, ACCESS_TOKEN_TYP,
};
use crate::store::audit::{self, AuditEvent};
use crate::store::users::UserRow;
use crate::store::{DbConn, StoreError};

/// Answers a token request from an authenticated client: dispatches on
/// `grant_type` (RFC 6749 §4.1.3, §4.4.2, §6) to the grant's operation.
pub async fn exchange(
    services: &Services,
    client: &AuthenticatedClient,
    params: &Params,
    now: i64,
) -> Result<TokenResponse, OAuthFailure> {
    match grants::grant_type(params, &client.metadata.grant_types)? {
        GrantType::AuthorizationCode => {
            authorization_code::exchange(services, client, params, now).await
        }
        GrantType::ClientCredentials => {
            client_credentials::exchange(services, client, params, now).await
        }
        GrantType::RefreshToken => refresh_token::exchange(services, client, params, now).await,
    }
}

/// What a grant decided to issue: the access token's facts, a refresh token, and —
/// for the `openid` scope — the authentication an ID token tells of.
pub struct Granted {
    pub grant: AccessGrant,
    pub jti: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub refresh_token: Option<String>,
    pub authenticated: Option<Authenticated>,
    /// RFC 8707: the resource the access token is for (its `aud` and, if the
    /// resource names one, its algorithm); `None`: `access_token_audience`.
    pub target: Option<TargetedAt>,
}

/// RFC 8707 §2.2 at the token endpoint of a user grant: the request's `resource`,
/// if any, must be the one the grant was authorized for (`granted`); the token is
/// then minted for that resource — its `aud`, its scopes (plus OpenID ones), its
/// lifetime and algorithm, and the user's roles if it opted in. A grant whose
/// resource has been deleted since is `invalid_target`.
pub fn aim(
    conn: &mut DbConn,
    asked: Option<&str>,
    granted: Option<&str>,
    scope: &Scope,
    user: &UserRow,
    default_lifetime: i64,
) -> Result<Aim, IssueError> {
    if asked.is_some() && asked != granted {
        return Ok(Aim::Refused(OAuthError::InvalidTarget(
            "the grant was not authorized for this resource",
        )));
    }
    let Some(identifier) = granted else {
        return Ok(Aim::At(Aimed {
            scope: scope.clone(),
            target: None,
            lifetime: default_lifetime,
        }));
    };
    let Some(target) = resources::target_in(conn, identifier)? else {
        return Ok(Aim::Refused(OAuthError::InvalidTarget(
            "the resource no longer exists",
        )));
    };
    let roles = if target.include_roles {
        Some((user.role_names()?, user.groups()?))
    } else {
        None
    };
    let lifetime = target.access_token_lifetime.unwrap_or(default_lifetime);
    Ok(Aim::At(Aimed {
        scope: scope_for_resource(scope, &target.scope),
        target: Some(TargetedAt {
            audience: target.identifier,
            alg: target.signing_alg,
            roles,
        }),
        lifetime,
    }))
}

/// What [`aim`] decided.
pub enum Aim {
    /// Mint the access token like this.
    At(Aimed),
    /// The request names a resource the grant is not for (or that is gone).
    Refused(OAuthError),
}

/// An access token's scope, audience and lifetime.
pub struct Aimed {
    pub scope: Scope,
    pub target: Option<TargetedAt>,
    pub lifetime: i64,
}

/// The audience of an access token minted for a resource.
pub struct TargetedAt {
    pub audience: String,
    pub alg: Option<KeyAlg>,
    /// The user's roles and groups, for a resource that opted in.
    pub roles: Option<(Vec<String>, Vec<String>)>,
}

/// How a code exchange or a refresh ended. Both commit: a refusal may have
/// consumed a code or revoked a family, recorded in its event.
pub enum Outcome {
    /// Committed: what to issue, signed by [`Outcome::answer`] after the commit.
    Granted(Box<Granted>, Option<AuditEvent>),
    Refused(OAuthError, Option<AuditEvent>),
}

impl Outcome {
    /// Logs the committed event and gives the answer: a grant is signed here, after
    /// its transaction committed (an RS256 ID token is a quarter of a millisecond),
    /// so the signature never holds SQLite's one writer turn. Blocking: called on
    /// the blocking pool, right after the commit ([`Store::transaction_then`]).
    ///
    /// [`Store::transaction_then`]: crate::store::Store::transaction_then
    pub fn answer(self, signer: &TokenSigner, now: i64) -> Result<TokenResponse, OAuthFailure> {
        let (Outcome::Granted(_, event) | Outcome::Refused(_, event)) = &self;
        if let Some(event) = event {
            audit::log(event);
        }
        match self {
            Outcome::Granted(granted, _) => Ok(signer.respond(&granted, now)?),
            Outcome::Refused(error, _) => Err(error.into()),
        }
    }
}

/// Signs a client's tokens: its algorithms resolved once, before anything is
/// consumed, and owned handles so it can sign inside a transaction.
#[derive(Clone)]
pub struct TokenSigner {
    keys: Arc<KeyRing>,
    config: Arc<Config>,
    access_alg: KeyAlg,
    id_alg: KeyAlg,
}

/// Why issuing failed inside a transaction: the storage, or the signature.
#[derive(Debug)]
pub enum IssueError {
    Store(StoreError),
    Sign(KeyError),
}

impl From<StoreError> for IssueError {
    fn from(e: StoreError) -> Self {
        IssueError::Store(e)
    }
}

impl From<IssueError> for OAuthFailure {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Store(e) => e.into(),
            IssueError::Sign(e) => e.into(),
        }
    }
}

impl TokenSigner {
    /// The signer for `client`: its own access-token algorithm or the server's, its
    /// `id_token_signed_response_alg` or RS256 (OIDC Core §3.1.3.7). A stored value
    /// that is not one of our algorithms is corrupt: the request fails rather than
    /// signing with a fallback.
    pub fn for_client(
        services: &Services,
        client: &AuthenticatedClient,
    ) -> Result<TokenSigner, StoreError> {
        let row = &client.row;
        Ok(TokenSigner {
            keys: services.keys.clone(),
            config: services.config.clone(),
            access_alg: stored_alg(row, row.access_token_signing_alg.as_deref())?
                .unwrap_or(services.config.oauth.access_token_alg),
            id_alg: stored_alg(row, row.id_token_signed_response_alg.as_deref())?
                .unwrap_or(KeyAlg::Rs256),
        })
    }

    /// Whether every key [`TokenSigner::respond`] will need for `granted` is here
    /// now. Called inside the transaction that spends a code or a refresh token, so
    /// that a missing key (a client set to an algorithm without keys) rolls it back
    /// and burns nothing; the signatures themselves come after the commit.
    pub fn check(&self, granted: &Granted, now: i64) -> Result<(), IssueError> {
        let keys = self.keys.current();
        let access = granted
            .target
            .as_ref()
            .and_then(|t| t.alg)
            .unwrap_or(self.access_alg);
        let id = granted.authenticated.as_ref().map(|_| self.id_alg);
        for alg in std::iter::once(access).chain(id) {
            if keys.signing_key(alg, now).is_none() {
                return Err(IssueError::Sign(KeyError::NoSigningKey(alg)));
            }
        }
        Ok(())
    }

    /// Signs the tokens and builds the RFC 6749 §5.1 answer.
    ///
    /// Client credentials sign on the executor (one ES256 signature, ~21 µs: a hop
    /// to the blocking pool was measured slower, `bench/token.sh`); codes and
    /// refreshes sign on the blocking pool after their commit ([`Outcome::answer`]),
    /// as their RS256 ID tokens take most of a millisecond.
    pub fn respond(&self, granted: &Granted, now: i64) -> Result<TokenResponse, IssueError> {
        let config = &self.config;
        let mut claims = AccessTokenClaims::new(
            &granted.grant,
            Issuance {
                issuer: &config.issuer,
                audience: granted
                    .target
                    .as_ref()
                    .map_or(&config.oauth.access_token_audience, |t| &t.audience),
                jti: &granted.jti,
                issued_at: granted.issued_at,
                expires_at: granted.expires_at,
            },
        );
        if let Some((roles, groups)) = granted.target.as_ref().and_then(|t| t.roles.clone()) {
            claims.roles = Some(roles);
            claims.groups = Some(groups);
        }
        let access_token = self
            .keys
            .sign(
                granted
                    .target
                    .as_ref()
                    .and_then(|t| t.alg)
                    .unwrap_or(self.access_alg),
                ACCESS_TOKEN_TYP,
                &claims,
            )
            .map_err(IssueError::Sign)?;
        let id_token = match &granted.authenticated {
            Some(authenticated) => {
                let id_claims = IdTokenClaims::new(
                    authenticated,
                    &config.issuer,
                    Some(id_token::at_hash(&access_token, digest_of(self.id_alg))),
                    granted.issued_at,
                    granted.issued_at + seconds(config.lifetimes.id_token),
                );
                Some(
                    self.keys
                        .sign(self.id_alg, ID_TOKEN_TYP, &id_claims)
                        .map_err(IssueError::Sign)?,
                )
            }
            None => None,
        };
        let mut response =
            TokenResponse::new(access_token, &claims, now, granted.refresh_token.clone());
        response.id_token = id_token;
        Ok(response)
    }
}

/// The hash of `at_hash` for an ID token signed with `alg` (OIDC Core §3.1.3.6).
fn digest_of(alg: KeyAlg) -> TokenDigest {
    match alg {
        KeyAlg::Rs256 | KeyAlg::Es256 => TokenDigest::Sha256,
        KeyAlg::EdDsa => TokenDigest::Sha512,
    }
}

/// A token id for `jti` (RFC 7519 §4.1.7): a random UUID.
pub fn new_jti() -> Result<String, OAuthFailure> {
    Ok(crate::crypto::random::uuid_v4()?)
}

/// The stored `amr` (a JSON array of RFC 8176 methods); unreadable is corrupt.
pub fn parse_amr(stored: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(stored).map_err(|e| StoreError::Corrupt(format!("stored amr: {e}")))
}

/// A stored scope; unreadable is corrupt.
pub fn parse_scope(text: &str) -> Result<crate::protocol::scope::Scope, StoreError> {
    crate::protocol::scope::Scope::parse(text)
        .map_err(|e| StoreError::Corrupt(format!("stored scope: {e}")))
}
