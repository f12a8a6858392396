//! What the user must do before the code is issued: sign in, consent, or nothing.
//! OIDC Core §3.1.2.1 (`prompt`, `max_age`, `id_token_hint`, `login_hint`),
//! §3.1.2.3 (re-authentication) and §3.1.2.6 (the `prompt=none` errors).

use serde::{Deserialize, Serialize};

use super::error::OAuthError;

/// OIDC Core §3.1.2.1 `prompt`: the values served. `select_account` and `create`
/// are refused rather than ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// Show no page; answer with an error if one would be needed.
    #[serde(default)]
    pub none: bool,
    /// Sign in again even with a live session.
    #[serde(default)]
    pub login: bool,
    /// Ask for consent even if it is remembered.
    #[serde(default)]
    pub consent: bool,
}

/// The `prompt` values advertised in discovery.
pub const PROMPT_VALUES: &[&str] = &["none", "login", "consent"];

/// The request's wishes about the user's interaction, kept with the pending request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    #[serde(default)]
    pub prompt: Prompt,
    /// Seconds: an older authentication must be repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    /// Prefills the username on the login page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// The `sub` of the request's (valid) `id_token_hint`: the user the client expects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_subject: Option<String>,
}

/// The request's `id_token_hint`, once the HTTP layer has checked its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdTokenHint {
    Absent,
    /// Signed by one of our keys with our issuer (expiry does not matter).
    Subject(String),
    /// Not an ID token of ours.
    NotOurs,
}

/// OIDC Core §3.1.2.1: space-separated; `none` stands alone; an unknown value is
/// `invalid_request` (not silently ignored).
pub fn parse_prompt(value: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    for token in value.unwrap_or("").split(' ').filter(|t| !t.is_empty()) {
        match token {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            _ => {
                return Err(OAuthError::InvalidRequest(
                    "a prompt value is not supported (supported: none, login, consent)",
                ))
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::InvalidRequest(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

/// OIDC Core §3.1.2.1 `max_age`: a non-negative number of seconds.
pub fn parse_max_age(value: Option<&str>) -> Result<Option<i64>, OAuthError> {
    let Some(text) = value else {
        return Ok(None);
    };
    match text.parse::<i64>() {
        Ok(seconds) if seconds >= 0 && text.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(seconds))
        }
        _ => Err(OAuthError::InvalidRequest(
            "max_age must be a non-negative integer number of seconds",
        )),
    }
}

/// The browser's current authentication, as far as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct Authentication<'a> {
    /// The user's `sub`.
    pub subject: &'a str,
    pub auth_time: i64,
    /// The user signed in while answering this very request.
    pub in_this_request: bool,
}

/// Whether the user may go on as who they are, or must sign in first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthenticationStep {
    Satisfied,
    SignIn,
}

/// Decides whether the session satisfies the request (OIDC Core §3.1.2.3).
///
/// - No session, `prompt=login` or an authentication older than `max_age` (elapsed
///   time ≥ `max_age`, so that whole-second times never let an older one through):
///   sign in — unless it happened in this request already.
/// - A session of another user than the `id_token_hint`'s: sign in; if the user did
///   and is still another, `login_required` (OIDC Core §3.1.2.1).
/// - With `prompt=none`, "sign in" becomes `login_required` (§3.1.2.6).
pub fn authentication(
    interaction: &Interaction,
    session: Option<Authentication<'_>>,
    now: i64,
) -> Result<AuthenticationStep, OAuthError> {
    let wrong_user = |s: &Authentication<'_>| {
        interaction
            .expected_subject
            .as_deref()
            .is_some_and(|expected| expected != s.subject)
    };
    let must_sign_in = match &session {
        None => true,
        Some(s) if s.in_this_request => {
            if wrong_user(s) {
                return Err(OAuthError::LoginRequired(
                    "the signed-in user is not the one the id_token_hint names",
                ));
            }
            false
        }
        Some(s) => {
            interaction.prompt.login
                || interaction
                    .max_age
                    .is_some_and(|max_age| now - s.auth_time >= max_age)
                || wrong_user(s)
        }
    };
    match (must_sign_in, interaction.prompt.none) {
        (false, _) => Ok(AuthenticationStep::Satisfied),
        (true, false) => Ok(AuthenticationStep::SignIn),
        (true, true) => Err(OAuthError::LoginRequired(match session {
            None => "the user is not signed in",
            Some(_) => "the user must sign in again",
        })),
    }
}

/// Whether the consent page must be shown: consent on record does not cover the
/// request, or `prompt=consent` asks anyway. With `prompt=none`, that is
/// `consent_required` (OIDC Core §3.1.2.6).
pub fn must_ask_consent(interaction: &Interaction, covered: bool) -> Result<bool, OAuthError> {
    if covered && !interaction.prompt.consent {
        return Ok(false);
    }
    if interaction.prompt.none {
        return Err(OAuthError::ConsentRequired(
            "the user has not consented to this request",
        ));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(subject: &str, auth_time: i64, in_this_request: bool) -> Authentication<'_> {
        Authentication {
            subject,
            auth_time,
            in_this_request,
        }
    }

    fn with_prompt(value: &str) -> Interaction {
        Interaction {
            prompt: parse_prompt(Some(value)).unwrap(),
            ..Interaction::default()
        }
    }

    #[test]
    fn prompt_values_parse_and_unknown_or_mixed_none_are_refused() {
        assert_eq!(parse_prompt(None).unwrap(), Prompt::default());
        let p = parse_prompt(Some("login consent")).unwrap();
        assert!(p.login && p.consent && !p.none);
        assert!(parse_prompt(Some("none")).unwrap().none);
        for bad in ["select_account", "none login", "consent none", "create"] {
            assert_eq!(
                parse_prompt(Some(bad)).unwrap_err().code(),
                "invalid_request",
                "{bad}"
            );
        }
    }

    #[test]
    fn max_age_is_a_non_negative_integer() {
        assert_eq!(parse_max_age(None).unwrap(), None);
        assert_eq!(parse_max_age(Some("0")).unwrap(), Some(0));
        assert_eq!(parse_max_age(Some("3600")).unwrap(), Some(3600));
        for bad in ["-1", "+5", "1.5", "", "ten", " 5"] {
            assert!(parse_max_age(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_session_satisfies_a_plain_request() {
        let i = Interaction::default();
        assert_eq!(
            authentication(&i, Some(session("u1", 100, false)), 5000),
            Ok(AuthenticationStep::Satisfied)
        );
        assert_eq!(
            authentication(&i, None, 5000),
            Ok(AuthenticationStep::SignIn)
        );
    }

    #[test]
    fn prompt_none_turns_sign_in_into_login_required() {
        let i = with_prompt("none");
        assert_eq!(
            authentication(&i, None, 5000).unwrap_err().code(),
            "login_required"
        );
        assert_eq!(
            authentication(&i, Some(session("u1", 100, false)), 5000),
            Ok(AuthenticationStep::Satisfied)
        );
    }

    #[test]
    fn prompt_login_wants_a_sign_in_in_this_request() {
        let i = with_prompt("login");
        assert_eq!(
            authentication(&i, Some(session("u1", 5000, false)), 5000),
            Ok(AuthenticationStep::SignIn)
        );
        assert_eq!(
            authentication(&i, Some(session("u1", 5000, true)), 5000),
            Ok(AuthenticationStep::Satisfied)
        );
    }

    #[test]
    fn max_age_counts_whole_seconds_conservatively() {
        let i = Interaction {
            max_age: Some(60),
            ..Interaction::default()
        };
        let at = |t| authentication(&i, Some(session("u1", 1000, false)), t);
        assert_eq!(at(1059), Ok(AuthenticationStep::Satisfied));
        assert_eq!(at(1060), Ok(AuthenticationStep::SignIn));
        let zero = Interaction {
            max_age: Some(0),
            ..Interaction::default()
        };
        // Even a session from this very second is too old for max_age=0 …
        assert_eq!(
            authentication(&zero, Some(session("u1", 1000, false)), 1000),
            Ok(AuthenticationStep::SignIn)
        );
        // … but not a sign-in made for this request.
        assert_eq!(
            authentication(&zero, Some(session("u1", 1000, true)), 1000),
            Ok(AuthenticationStep::Satisfied)
        );
    }

    #[test]
    fn the_id_token_hint_names_the_user_expected() {
        let mut i = Interaction {
            expected_subject: Some("u1".into()),
            ..Interaction::default()
        };
        assert_eq!(
            authentication(&i, Some(session("u1", 1, false)), 10),
            Ok(AuthenticationStep::Satisfied)
        );
        assert_eq!(
            authentication(&i, Some(session("u2", 1, false)), 10),
            Ok(AuthenticationStep::SignIn)
        );
        assert_eq!(
            authentication(&i, Some(session("u2", 10, true)), 10)
                .unwrap_err()
                .code(),
            "login_required"
        );
        i.prompt.none = true;
        assert_eq!(
            authentication(&i, Some(session("u2", 1, false)), 10)
                .unwrap_err()
                .code(),
            "login_required"
        );
    }

    #[test]
    fn consent_is_asked_when_not_covered_or_prompted() {
        assert_eq!(must_ask_consent(&Interaction::default(), true), Ok(false));
        assert_eq!(must_ask_consent(&Interaction::default(), false), Ok(true));
        assert_eq!(must_ask_consent(&with_prompt("consent"), true), Ok(true));
        assert_eq!(
            must_ask_consent(&with_prompt("none"), false)
                .unwrap_err()
                .code(),
            "consent_required"
        );
        assert_eq!(must_ask_consent(&with_prompt("none"), true), Ok(false));
    }
}
