//! Which redirect URIs a client may register.
//!
//! RFC 6749 §3.1.2: absolute, no fragment. RFC 9700 §2.1 and §4.1.1: registered
//! URIs are matched exactly later, so no wildcards. RFC 8252 §7: native apps may use
//! `http` on a loopback address (any port) or a private-use scheme in reverse-domain
//! form; everything else must be `https`. Schemes that execute or embed content
//! (`javascript:`, `data:`, `file:` …) are refused outright.

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("`{0}` is not an absolute URI")]
    NotAbsolute(String),
    #[error("`{0}` has a fragment; RFC 6749 §3.1.2 forbids one")]
    Fragment(String),
    #[error("`{0}` uses a forbidden scheme")]
    ForbiddenScheme(String),
    #[error("`{0}` uses plain http on a host that is not loopback; use https")]
    InsecureHttp(String),
    #[error("`{0}` contains credentials")]
    Credentials(String),
    #[error("`{0}` contains a wildcard; redirect URIs are matched exactly")]
    Wildcard(String),
    #[error("`{0}` is not in canonical form{hint}", hint = .1.as_ref().map(|c| format!("; register `{c}` instead")).unwrap_or_default())]
    NotCanonical(String, Option<String>),
    #[error("`{0}`: a private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)")]
    PrivateScheme(String),
}

const FORBIDDEN_SCHEMES: &[&str] = &["javascript", "data", "vbscript", "file", "blob", "about"];

/// Checks one URI for registration; the URI is kept exactly as written.
pub fn validate_for_registration(uri: &str) -> Result<(), RedirectUriError> {
    let owned = || uri.to_owned();
    if uri.trim() != uri || uri.chars().any(char::is_control) {
        return Err(RedirectUriError::NotAbsolute(owned()));
    }
    if !uri.bytes().all(is_plain_uri_byte) {
        return Err(RedirectUriError::NotCanonical(owned(), None));
    }
    let url = url::Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute(owned()))?;
    // What is checked here must be what is matched later: refuse any URI the parser
    // would read differently from how it is written (`\` as `/`, `127.1`, upper-case
    // hosts, default ports …), naming the form to register instead.
    let canonical = url.as_str();
    if canonical != uri && canonical != format!("{uri}/") {
        return Err(RedirectUriError::NotCanonical(
            owned(),
            Some(canonical.to_owned()),
        ));
    }
    if url.fragment().is_some() || uri.contains('#') {
        return Err(RedirectUriError::Fragment(owned()));
    }
    if uri.contains('*') {
        return Err(RedirectUriError::Wildcard(owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectUriError::Credentials(owned()));
    }
    match url.scheme() {
        s if FORBIDDEN_SCHEMES.contains(&s) => Err(RedirectUriError::ForbiddenScheme(owned())),
        "https" => match url.host_str() {
            Some(h) if !h.is_empty() => Ok(()),
            _ => Err(RedirectUriError::NotAbsolute(owned())),
        },
        "http" => {
            if is_loopback_host(&url) {
                Ok(())
            } else {
                Err(RedirectUriError::InsecureHttp(owned()))
            }
        }
        scheme => {
            if scheme.contains('.') {
                Ok(())
            } else {
                Err(RedirectUriError::PrivateScheme(owned()))
            }
        }
    }
}

/// Whether a requested redirect URI is one of the registered ones.
///
/// RFC 9700 §2.1 / §4.1.3: exact string comparison. RFC 8252 §7.3: for a loopback IP
/// literal (`127.0.0.1`, `[::1]`) registered with `http`, any port is accepted, all
/// else (scheme, host, path, query) still compared exactly. `localhost` gets no such
/// exception (RFC 8252 §8.3).
pub fn matches_registered<'a>(requested: &str, registered: &'a [String]) -> Option<&'a str> {
    registered
        .iter()
        .find(|r| r.as_str() == requested || loopback_port_variant(requested, r))
        .map(String::as_str)
}

fn loopback_port_variant(requested: &str, registered: &str) -> bool {
    let (Ok(req), Ok(reg)) = (url::Url::parse(requested), url::Url::parse(registered)) else {
        return false;
    };
    let ip_loopback = |u: &url::Url| match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    if req.scheme() != "http" || reg.scheme() != "http" || !ip_loopback(&reg) {
        return false;
    }
    // Only the port may differ: the request must be written exactly as the parser
    // reads it, and equal the registration once the port is replaced.
    let mut without_port = req.clone();
    if without_port.set_port(reg.port()).is_err() {
        return false;
    }
    req.as_str() == requested && without_port.as_str() == reg.as_str()
}

/// Printable ASCII other than space and the characters RFC 3986 never allows
/// unencoded (`"<>\\^`{|}`).
fn is_plain_uri_byte(b: u8) -> bool {
    b.is_ascii_graphic()
        && !matches!(
            b,
            b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
        )
}

/// `127.0.0.0/8`, `[::1]` or `localhost` (RFC 8252 §7.3, §8.3).
pub fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The serialized origin (RFC 6454 §6.2: `scheme://host[:port]`, default port
/// left out) of an http(s) URI; `None` for anything else.
pub fn origin_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_loopback_http_and_private_schemes() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?tenant=1",
            "http://127.0.0.1:8765/callback",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(validate_for_registration(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn matching_is_exact_except_the_loopback_port() {
        let registered = vec![
            "https://app.example.com/cb".to_string(),
            "http://127.0.0.1/callback".to_string(),
            "http://[::1]:8080/cb".to_string(),
            "http://localhost:3000/cb".to_string(),
        ];
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1:51234/callback",
            "http://127.0.0.1/callback",
            "http://[::1]:9999/cb",
            "http://localhost:3000/cb",
        ] {
            assert!(matches_registered(ok, &registered).is_some(), "{ok}");
        }
        for bad in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://APP.example.com/cb",
            "https://app.example.com/CB",
            "https://app.example.com:443/cb",
            "https://app.example.com/cb#",
            "http://127.0.0.1:5000/callback/evil",
            "http://127.0.0.1:5000/callback?x",
            "https://127.0.0.1:5000/callback",
            "http://localhost:3001/cb",
            "http://127.0.0.2/callback",
            "http://127.0.0.1:5000/callback#f",
            "http://127.1:5000/callback",
        ] {
            assert!(matches_registered(bad, &registered).is_none(), "{bad}");
        }
    }

    #[test]
    fn refuses_uris_the_parser_would_read_differently() {
        for (uri, canonical) in [
            ("http://127.0.0.1\\@evil.example/cb", None),
            (
                "https://App.Example.com/cb",
                Some("https://app.example.com/cb"),
            ),
            ("http://127.1/cb", Some("http://127.0.0.1/cb")),
            ("http://2130706433/cb", Some("http://127.0.0.1/cb")),
            ("https://a.example:443/cb", Some("https://a.example/cb")),
            ("https://a.example/a/../cb", Some("https://a.example/cb")),
            ("https://a.example/c b", None),
            ("https://a.example/caf\u{e9}", None),
        ] {
            assert_eq!(
                validate_for_registration(uri),
                Err(RedirectUriError::NotCanonical(
                    uri.to_string(),
                    canonical.map(str::to_string)
                )),
                "{uri}"
            );
        }
    }

    #[test]
    fn refuses_what_rfc_9700_forbids() {
        use RedirectUriError::*;
        type Expected = fn(String) -> RedirectUriError;
        let cases: &[(&str, Expected)] = &[
            ("/callback", NotAbsolute),
            ("app.example.com/cb", NotAbsolute),
            (" https://a.example/cb", NotAbsolute),
            ("https://a.example/cb#frag", Fragment),
            ("https://a.example/cb#", Fragment),
            ("javascript:alert(1)", ForbiddenScheme),
            ("data:text/html,hi", ForbiddenScheme),
            ("file:///etc/passwd", ForbiddenScheme),
            ("http://app.example.com/cb", InsecureHttp),
            ("https://user:pw@a.example/cb", Credentials),
            ("https://*.example.com/cb", Wildcard),
            ("myapp:/cb", PrivateScheme),
        ];
        for (uri, want) in cases {
            assert_eq!(
                validate_for_registration(uri),
                Err(want(uri.to_string())),
                "{uri}"
            );
        }
    }
}
