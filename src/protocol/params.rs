//! Request parameters (RFC 6749 §3.1, §3.2): each may appear at most once, and a
//! parameter sent without a value is treated as omitted.

use std::collections::BTreeMap;

use super::error::OAuthError;

/// The parameters of one request, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` text (a query string or a form
    /// body). A repeated parameter is `invalid_request` (RFC 6749 §3.1), and so is
    /// one that does not decode to UTF-8 (RFC 6749 Appendix B): never replaced by
    /// U+FFFD and let through.
    pub fn from_urlencoded(text: &[u8]) -> Result<Params, OAuthError> {
        let mut map = BTreeMap::new();
        for pair in text.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[..0]),
            };
            let (Some(name), Some(value)) = (form_decode(name), form_decode(value)) else {
                return Err(OAuthError::InvalidRequest(
                    "a parameter is not valid UTF-8 form encoding",
                ));
            };
            if map.insert(name, value).is_some() {
                return Err(OAuthError::InvalidRequest("a parameter is repeated"));
            }
        }
        Ok(Params(map))
    }

    /// RFC 6749 Appendix A: parameter values are printable characters; a control
    /// character (U+0000–U+001F, U+007F) is `invalid_request`, refused before any
    /// value reaches a database (Postgres refuses NUL in text) or a log.
    pub fn check_characters(&self) -> Result<(), OAuthError> {
        if self.0.iter().any(|(n, v)| has_control(n) || has_control(v)) {
            return Err(OAuthError::InvalidRequest(
                "a parameter holds a control character",
            ));
        }
        Ok(())
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

/// Whether `text` holds a C0 control character or DEL.
pub fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_control())
}

/// The `application/x-www-form-urlencoded` decoding of one name or value: `+` is a
/// space, `%XX` a byte; `None` for a bad escape or bytes that are not UTF-8.
pub fn form_decode(text: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = char::from(bytes.next()?).to_digit(16)?;
                let lo = char::from(bytes.next()?).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
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
