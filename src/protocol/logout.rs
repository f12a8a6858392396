//! OpenID Connect RP-Initiated Logout 1.0: which client a logout request speaks
//! for, where the browser may go afterwards, and when the user must confirm.

use super::authorize::with_query;

/// The request's `id_token_hint`, once the HTTP layer has checked its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutHint {
    Absent,
    /// An ID token of ours (§2: it may have expired).
    Valid {
        subject: String,
        audience: String,
    },
    NotOurs,
}

/// Why a logout request cannot be honoured as sent. The user reads it on an error
/// page; nothing redirects (§3: "MUST NOT perform post-logout redirection").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LogoutError(pub String);

/// The client the request speaks for: `client_id`, or the hint's audience; when both
/// are sent they must agree (§2).
pub fn client_of(
    client_id: Option<&str>,
    hint: &LogoutHint,
) -> Result<Option<String>, LogoutError> {
    match (client_id, hint) {
        (_, LogoutHint::NotOurs) => Err(LogoutError(
            "The logout request carries an id_token_hint that this server did not issue.".into(),
        )),
        (Some(id), LogoutHint::Valid { audience, .. }) if id != audience => Err(LogoutError(
            "The logout request's client_id does not match its id_token_hint.".into(),
        )),
        (Some(id), _) => Ok(Some(id.to_owned())),
        (None, LogoutHint::Valid { audience, .. }) => Ok(Some(audience.clone())),
        (None, LogoutHint::Absent) => Ok(None),
    }
}

/// Where the browser goes after logout: `post_logout_redirect_uri` with `state`
/// (§3), only when it is exactly one of the client's registered URIs (RFC 9700
/// §4.1.3's exact matching, as for redirect URIs). `registered` is `None` when no
/// client is known.
pub fn return_to(
    post_logout_redirect_uri: Option<&str>,
    registered: Option<&[String]>,
    state: Option<&str>,
) -> Result<Option<String>, LogoutError> {
    let Some(uri) = post_logout_redirect_uri else {
        return Ok(None);
    };
    let Some(registered) = registered else {
        return Err(LogoutError(
            "A post_logout_redirect_uri needs a client_id or an id_token_hint to be checked."
                .into(),
        ));
    };
    if !registered.iter().any(|r| r == uri) {
        return Err(LogoutError(
            "The post_logout_redirect_uri is not registered for this application.".into(),
        ));
    }
    Ok(Some(match state {
        Some(state) => with_query(uri, &[("state", state)]),
        None => uri.to_owned(),
    }))
}

/// §2: without a valid `id_token_hint` naming the signed-in user, the OP asks the
/// user before logging out (the request may not come from the user's RP).
pub fn needs_confirmation(hint: &LogoutHint, signed_in_subject: &str) -> bool {
    !matches!(hint, LogoutHint::Valid { subject, .. } if subject == signed_in_subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(sub: &str, aud: &str) -> LogoutHint {
        LogoutHint::Valid {
            subject: sub.into(),
            audience: aud.into(),
        }
    }

    #[test]
    fn the_client_comes_from_client_id_or_the_hint() {
        assert_eq!(client_of(None, &LogoutHint::Absent), Ok(None));
        assert_eq!(
            client_of(Some("c1"), &LogoutHint::Absent),
            Ok(Some("c1".into()))
        );
        assert_eq!(client_of(None, &valid("u", "c1")), Ok(Some("c1".into())));
        assert_eq!(
            client_of(Some("c1"), &valid("u", "c1")),
            Ok(Some("c1".into()))
        );
        assert!(client_of(Some("c2"), &valid("u", "c1")).is_err());
        assert!(client_of(None, &LogoutHint::NotOurs).is_err());
    }

    #[test]
    fn only_a_registered_uri_is_a_destination() {
        let registered = vec!["https://app.example/bye".to_owned()];
        assert_eq!(return_to(None, Some(&registered), Some("s")), Ok(None));
        assert_eq!(
            return_to(
                Some("https://app.example/bye"),
                Some(&registered),
                Some("a b")
            ),
            Ok(Some("https://app.example/bye?state=a+b".into()))
        );
        assert_eq!(
            return_to(Some("https://app.example/bye"), Some(&registered), None),
            Ok(Some("https://app.example/bye".into()))
        );
        for bad in [
            "https://app.example/bye/",
            "https://evil.example/bye",
            "https://app.example/bye?x=1",
        ] {
            assert!(
                return_to(Some(bad), Some(&registered), None).is_err(),
                "{bad}"
            );
        }
        assert!(return_to(Some("https://app.example/bye"), None, None).is_err());
    }

    #[test]
    fn only_a_hint_for_the_signed_in_user_skips_confirmation() {
        assert!(!needs_confirmation(&valid("u1", "c1"), "u1"));
        assert!(needs_confirmation(&valid("u2", "c1"), "u1"));
        assert!(needs_confirmation(&LogoutHint::Absent, "u1"));
    }
}
