//! Scopes (RFC 6749 §3.3): space-delimited, case-sensitive tokens of printable ASCII
//! other than space, `"` and `\`.

use std::collections::BTreeSet;
use std::fmt;

use super::error::OAuthError;

/// A set of scope tokens, kept sorted so its text form is stable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

/// A scope string that breaks RFC 6749 §3.3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid scope token (RFC 6749 §3.3)")]
pub struct InvalidScopeToken(pub String);

impl Scope {
    /// Parses a space-delimited scope string. Repeated spaces are tolerated, a token
    /// with a forbidden character is not.
    pub fn parse(text: &str) -> Result<Scope, InvalidScopeToken> {
        let mut set = BTreeSet::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(is_scope_char) {
                return Err(InvalidScopeToken(token.to_owned()));
            }
            set.insert(token.to_owned());
        }
        Ok(Scope(set))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// True when every token of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Every token of `self` and of `other`.
    pub fn union(&self, other: &Scope) -> Scope {
        Scope(self.0.union(&other.0).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// The scope of a request that may ask for at most `allowed` (RFC 6749 §3.3).
///
/// An omitted (or empty) `scope` means all of `allowed`, the client's registered
/// scope. Anything outside it is `invalid_scope`: never silently dropped.
pub fn requested_within(requested: Option<&str>, allowed: &Scope) -> Result<Scope, OAuthError> {
    let Some(text) = requested.filter(|t| !t.trim().is_empty()) else {
        return Ok(allowed.clone());
    };
    let scope = Scope::parse(text).map_err(|_| {
        OAuthError::InvalidScope("scope holds a character outside RFC 6749 section 3.3's set")
    })?;
    if scope.iter().any(|t| !allowed.contains(t)) {
        return Err(OAuthError::InvalidScope(
            "the scope asks for more than this client may request",
        ));
    }
    Ok(scope)
}

/// %x21 / %x23-5B / %x5D-7E
fn is_scope_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dedupes_and_sorts() {
        let s = Scope::parse("openid  profile openid email").unwrap();
        assert_eq!(s.to_string(), "email openid profile");
        assert!(s.contains("openid"));
    }

    #[test]
    fn refuses_forbidden_characters() {
        for bad in ["a\"b", "a\\b", "caf\u{e9}", "tab\there"] {
            assert!(Scope::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn requested_scope_defaults_to_allowed_and_refuses_extras() {
        let allowed = Scope::parse("openid profile").unwrap();
        assert_eq!(requested_within(None, &allowed).unwrap(), allowed);
        assert_eq!(requested_within(Some(" "), &allowed).unwrap(), allowed);
        assert_eq!(
            requested_within(Some("profile"), &allowed)
                .unwrap()
                .to_string(),
            "profile"
        );
        let err = requested_within(Some("openid admin"), &allowed).unwrap_err();
        assert_eq!(err.code(), "invalid_scope");
        // The answer never echoes the request (RFC 6749 §5.2's charset, no injection).
        assert!(!err.description().contains("admin"));
        assert_eq!(
            requested_within(Some("a\\b"), &allowed).unwrap_err().code(),
            "invalid_scope"
        );
    }

    #[test]
    fn subset() {
        let all = Scope::parse("a b c").unwrap();
        assert!(Scope::parse("a c").unwrap().is_subset_of(&all));
        assert!(!Scope::parse("a d").unwrap().is_subset_of(&all));
        assert!(Scope::default().is_subset_of(&all));
    }
}
