//! Request parameters (RFC 6749 §3.1, §3.2): each may appear at most once, and a
//! parameter sent without a value is treated as omitted.

use std::collections::BTreeMap;

use super::error::OAuthError;

/// The parameters of one request, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` text (a query string or a form
    /// body). A repeated parameter is `invalid_request` (RFC 6749 §3.1).
    pub fn from_urlencoded(text: &[u8]) -> Result<Params, OAuthError> {
        let mut map = BTreeMap::new();
        for (name, value) in url::form_urlencoded::parse(text) {
            if map.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(OAuthError::InvalidRequest("a parameter is repeated"));
            }
        }
        Ok(Params(map))
    }

    /// The value of `name`; `None` when absent or empty (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value of a required parameter, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::InvalidRequest(missing(name)))
    }
}

/// The fixed description of a missing required parameter (descriptions are never
/// built at run time: see [`OAuthError`]).
fn missing(name: &str) -> &'static str {
    match name {
        "grant_type" => "grant_type is missing",
        "code" => "code is missing",
        "refresh_token" => "refresh_token is missing",
        "token" => "token is missing",
        "redirect_uri" => "redirect_uri is missing",
        "code_verifier" => "code_verifier is missing",
        _ => "a required parameter is missing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_treats_empty_as_absent() {
        let p = Params::from_urlencoded(b"a=1&b=&c=x%20y+z").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y z"));
        assert_eq!(p.require("b").unwrap_err().code(), "invalid_request");
    }

    #[test]
    fn repeated_parameter_is_invalid_request() {
        let err = Params::from_urlencoded(b"scope=a&scope=b").unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        assert_eq!(err.description(), "a parameter is repeated");
    }
}
