//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2).
//!
//! Each use rotates the token. A rotated token presented again means two parties
//! hold it: the whole family is revoked — unless it is the same client retrying
//! within a short grace window while the successor is still unused (a lost
//! response, or parallel requests), which gets the answer the first use got.

use crate::protocol::error::OAuthError;
use crate::protocol::scope::{self, Scope};

/// A stored refresh token and its family, as the decision needs them.
#[derive(Debug, Clone)]
pub struct RefreshTokenState<'a> {
    pub family_client_id: &'a str,
    /// The scope the resource owner granted: the most any refresh may ask for.
    pub family_scope: &'a Scope,
    pub family_revoked: bool,
    pub absolute_expires_at: i64,
    pub idle_expires_at: i64,
    /// When it was rotated, if it was.
    pub rotated_at: Option<i64>,
    /// Whether its successor is still unused.
    pub successor_unused: bool,
    /// The user is enabled and still consents to the family's scope.
    pub grant_still_holds: bool,
}

/// What to do with a refresh request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Rotate: a new refresh token, and an access token with this scope.
    Rotate { scope: Scope },
    /// A retry inside the grace window: answer with the successor issued before.
    RepeatRotation,
    /// Reuse, or a grant that no longer holds: revoke the family, answer `invalid_grant`.
    RevokeFamily { reason: &'static str },
}

/// Why a family is revoked when a rotated token comes back outside the grace window.
pub const REUSE: &str = "reuse of a rotated refresh token";
/// Why a family is revoked when its user is disabled or its consent withdrawn.
pub const GRANT_GONE: &str = "the user or consent is gone";

/// Decides a refresh request by `client_id` asking for `requested` scope.
///
/// RFC 6749 §6: the scope may narrow but never widen what was granted, and an
/// omitted scope means all of it.
pub fn decide(
    token: &RefreshTokenState<'_>,
    client_id: &str,
    requested: Option<&str>,
    now: i64,
    grace_period: i64,
) -> Result<RefreshDecision, OAuthError> {
    // RFC 6749 §6: the token was issued to the authenticated client.
    if token.family_client_id != client_id {
        return Err(OAuthError::InvalidGrant(
            "the refresh token was issued to another client",
        ));
    }
    if token.family_revoked {
        return Err(OAuthError::InvalidGrant(
            "the refresh token has been revoked",
        ));
    }
    if let Some(rotated_at) = token.rotated_at {
        // A grace period of 0 means no grace at all, not "the same second".
        let retry = grace_period > 0 && now - rotated_at <= grace_period && token.successor_unused;
        return Ok(if !retry {
            RefreshDecision::RevokeFamily { reason: REUSE }
        } else if token.grant_still_holds {
            RefreshDecision::RepeatRotation
        } else {
            // A retry gets the first answer only while that answer could still be given.
            RefreshDecision::RevokeFamily { reason: GRANT_GONE }
        });
    }
    if now >= token.absolute_expires_at || now >= token.idle_expires_at {
        return Err(OAuthError::InvalidGrant("the refresh token has expired"));
    }
    if !token.grant_still_holds {
        return Ok(RefreshDecision::RevokeFamily { reason: GRANT_GONE });
    }
    let scope = scope::requested_within(requested, token.family_scope)?;
    Ok(RefreshDecision::Rotate { scope })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(scope: &Scope) -> RefreshTokenState<'_> {
        RefreshTokenState {
            family_client_id: "c1",
            family_scope: scope,
            family_revoked: false,
            absolute_expires_at: 1_000,
            idle_expires_at: 500,
            rotated_at: None,
            successor_unused: false,
            grant_still_holds: true,
        }
    }

    #[test]
    fn a_live_token_rotates_and_scope_may_only_narrow() {
        let granted = Scope::parse("openid profile").unwrap();
        let s = state(&granted);
        assert_eq!(
            decide(&s, "c1", None, 10, 5),
            Ok(RefreshDecision::Rotate {
                scope: granted.clone()
            })
        );
        assert_eq!(
            decide(&s, "c1", Some("openid"), 10, 5),
            Ok(RefreshDecision::Rotate {
                scope: Scope::parse("openid").unwrap()
            })
        );
        assert_eq!(
            decide(&s, "c1", Some("openid email"), 10, 5)
                .unwrap_err()
                .code(),
            "invalid_scope"
        );
    }

    #[test]
    fn reuse_after_the_grace_window_revokes_the_family() {
        let granted = Scope::parse("openid").unwrap();
        let rotated = RefreshTokenState {
            rotated_at: Some(100),
            successor_unused: true,
            ..state(&granted)
        };
        assert_eq!(
            decide(&rotated, "c1", None, 105, 5),
            Ok(RefreshDecision::RepeatRotation)
        );
        assert!(matches!(
            decide(&rotated, "c1", None, 106, 5),
            Ok(RefreshDecision::RevokeFamily { .. })
        ));
        // Once the successor has been used, even a quick retry is reuse.
        let successor_used = RefreshTokenState {
            successor_unused: false,
            ..rotated.clone()
        };
        assert!(matches!(
            decide(&successor_used, "c1", None, 101, 5),
            Ok(RefreshDecision::RevokeFamily { .. })
        ));
        // No grace window: every reuse revokes, even within the same second.
        assert!(matches!(
            decide(&rotated, "c1", None, 100, 0),
            Ok(RefreshDecision::RevokeFamily { reason: REUSE })
        ));
        assert!(matches!(
            decide(&rotated, "c1", None, 101, 0),
            Ok(RefreshDecision::RevokeFamily { .. })
        ));
    }

    #[test]
    fn a_retry_inside_the_grace_window_needs_the_grant_to_still_hold() {
        let granted = Scope::parse("openid").unwrap();
        let retry_after_disable = RefreshTokenState {
            rotated_at: Some(100),
            successor_unused: true,
            grant_still_holds: false,
            ..state(&granted)
        };
        assert_eq!(
            decide(&retry_after_disable, "c1", None, 101, 5),
            Ok(RefreshDecision::RevokeFamily { reason: GRANT_GONE })
        );
    }

    #[test]
    fn expired_revoked_or_foreign_tokens_are_invalid_grant() {
        let granted = Scope::parse("openid").unwrap();
        let s = state(&granted);
        assert_eq!(
            decide(&s, "c2", None, 10, 5).unwrap_err().code(),
            "invalid_grant"
        );
        assert_eq!(
            decide(&s, "c1", None, 500, 5).unwrap_err().code(),
            "invalid_grant"
        );
        let long_idle = RefreshTokenState {
            idle_expires_at: 5_000,
            ..s.clone()
        };
        assert_eq!(
            decide(&long_idle, "c1", None, 1_000, 5).unwrap_err().code(),
            "invalid_grant"
        );
        let revoked = RefreshTokenState {
            family_revoked: true,
            ..s.clone()
        };
        assert_eq!(
            decide(&revoked, "c1", None, 10, 5).unwrap_err().code(),
            "invalid_grant"
        );
        let gone = RefreshTokenState {
            grant_still_holds: false,
            ..s
        };
        assert!(matches!(
            decide(&gone, "c1", None, 10, 5),
            Ok(RefreshDecision::RevokeFamily { .. })
        ));
    }
}
