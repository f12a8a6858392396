//! Bearer tokens at a protected resource (RFC 6750): where the token may be sent,
//! the `WWW-Authenticate` challenge, and what the UserInfo endpoint (OIDC Core §5.3)
//! asks of an access token.

use super::scope::Scope;
use super::tokens::AccessTokenClaims;

/// Why a bearer request is refused (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerError {
    /// §3.1: no credentials at all; the challenge carries no error code.
    Missing,
    /// §3.1 `invalid_request` (400): a malformed request, the token sent twice or
    /// in the query string.
    InvalidRequest(String),
    /// §3.1 `invalid_token` (401): unknown, expired, revoked, or not good here.
    InvalidToken(String),
}

impl BearerError {
    /// The `error` value, if there is one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            BearerError::Missing => None,
            BearerError::InvalidRequest(_) => Some("invalid_request"),
            BearerError::InvalidToken(_) => Some("invalid_token"),
        }
    }

    pub fn description(&self) -> &str {
        match self {
            BearerError::Missing => "",
            BearerError::InvalidRequest(d) | BearerError::InvalidToken(d) => d,
        }
    }
}

/// The token of the request: in the `Authorization: Bearer` header (§2.1) or the
/// form body (§2.2), exactly once (§2). A token in the query string (§2.3) is
/// refused: URLs end up in logs and `Referer` headers (RFC 9700 §4.3.2).
pub fn presented_token<'a>(
    authorization: Option<&'a str>,
    form_token: Option<&'a str>,
    in_query: bool,
) -> Result<&'a str, BearerError> {
    if in_query {
        return Err(BearerError::InvalidRequest(
            "send the access token in the Authorization header, not the query string".into(),
        ));
    }
    let from_header = match authorization {
        None => None,
        Some(value) => match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("Bearer") => {
                let token = token.trim_start_matches(' ');
                if !is_b64token(token) {
                    return Err(BearerError::InvalidRequest(
                        "the Authorization header is not a valid Bearer credential".into(),
                    ));
                }
                Some(token)
            }
            // Another scheme: no bearer credentials were sent.
            _ => None,
        },
    };
    match (from_header, form_token) {
        (Some(_), Some(_)) => Err(BearerError::InvalidRequest(
            "the access token was sent twice (header and body)".into(),
        )),
        (Some(token), None) | (None, Some(token)) if !token.is_empty() => Ok(token),
        _ => Err(BearerError::Missing),
    }
}

/// RFC 6750 §2.1 `b64token`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// RFC 6750 §3: `Bearer realm="portcullis"`, with `error` and `error_description`
/// when there is an error code.
pub fn challenge(error: &BearerError) -> String {
    match error.code() {
        None => "Bearer realm=\"portcullis\"".to_owned(),
        Some(code) => {
            // §3: the description is a quoted-string without `"` or `\`.
            let description: String = error
                .description()
                .chars()
                .filter(|c| *c != '"' && *c != '\\' && (' '..='~').contains(c))
                .collect();
            format!(
                "Bearer realm=\"portcullis\", error=\"{code}\", error_description=\"{description}\""
            )
        }
    }
}

/// What the UserInfo endpoint asks of a verified access token beyond its signature:
/// unexpired, issued for a user (not client_credentials, whose subject is the
/// client), and with the `openid` scope (OIDC Core §5.3).
pub fn check_userinfo_token(
    claims: &AccessTokenClaims,
    scope: &Scope,
    now: i64,
) -> Result<(), BearerError> {
    if now >= claims.exp {
        return Err(BearerError::InvalidToken(
            "the access token has expired".into(),
        ));
    }
    if claims.sub == claims.client_id || claims.auth_time.is_none() {
        return Err(BearerError::InvalidToken(
            "the access token was issued to a client acting for itself, not for a user".into(),
        ));
    }
    if !scope.contains("openid") {
        return Err(BearerError::InvalidToken(
            "the access token does not have the openid scope".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_header_or_the_body_once() {
        assert_eq!(
            presented_token(Some("Bearer abc.d-e_f"), None, false),
            Ok("abc.d-e_f")
        );
        assert_eq!(presented_token(Some("bearer abc"), None, false), Ok("abc"));
        assert_eq!(presented_token(None, Some("abc"), false), Ok("abc"));
        assert_eq!(
            presented_token(None, None, false),
            Err(BearerError::Missing)
        );
        assert_eq!(
            presented_token(Some("Basic dXNlcjpwdw=="), None, false),
            Err(BearerError::Missing)
        );
        for bad in [
            presented_token(Some("Bearer abc"), Some("abc"), false),
            presented_token(Some("Bearer a b"), None, false),
            presented_token(Some("Bearer "), None, false),
            presented_token(None, None, true),
            presented_token(Some("Bearer abc"), None, true),
        ] {
            assert_eq!(bad.unwrap_err().code(), Some("invalid_request"));
        }
    }

    #[test]
    fn the_challenge_names_the_error() {
        assert_eq!(
            challenge(&BearerError::Missing),
            "Bearer realm=\"portcullis\""
        );
        assert_eq!(
            challenge(&BearerError::InvalidToken("bad \"one\"".into())),
            "Bearer realm=\"portcullis\", error=\"invalid_token\", error_description=\"bad one\""
        );
    }

    fn claims(sub: &str, scope: &str, auth_time: Option<i64>) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://id.example".into(),
            sub: sub.into(),
            aud: "https://id.example".into(),
            client_id: "c1".into(),
            scope: scope.into(),
            iat: 0,
            exp: 100,
            jti: "j".into(),
            auth_time,
            roles: None,
            groups: None,
        }
    }

    #[test]
    fn userinfo_wants_a_live_user_token_with_openid() {
        let check = |c: &AccessTokenClaims, now| {
            check_userinfo_token(c, &Scope::parse(&c.scope).unwrap(), now)
        };
        assert_eq!(check(&claims("u1", "openid email", Some(1)), 50), Ok(()));
        assert!(check(&claims("u1", "openid", Some(1)), 100).is_err());
        assert!(check(&claims("u1", "email", Some(1)), 50).is_err());
        assert!(check(&claims("c1", "openid", None), 50).is_err());
    }
}
