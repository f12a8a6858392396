//! Property tests (proptest) of the parsers: form bodies and query strings (UTF-8,
//! repeats, control characters), the authorization request, the token request
//! (client authentication, `grant_type`, the code exchange), HTTP Basic and Bearer
//! credentials, scopes, `prompt` and `max_age`, PKCE, redirect-URI matching and
//! registration, logout destinations, and JWT / JWKS handling.
//!
//! Every property runs a bounded 256 cases ([`bounded`]) and writes no regression
//! files, so the file takes seconds in a debug build (`PROPTEST_CASES` still
//! overrides the count). Input that must never be echoed carries [`MARKER`]; every
//! `OAuthError` met is checked against RFC 6749 §5.2's charset and for that marker
//! ([`check_error`]).
//!
//! JWTs: the decoding paths (`jsonwebtoken` through our ring provider, [`signer`],
//! [`material`]) need no store and run on their own. `KeySet::verify`,
//! `our_access_token` and `our_id_token` need a `KeyRing`, which needs a database: those
//! properties open a key ring on their own test database ([`Keys`]), with no HTTP
//! server. Not covered here: keys over time (rotation, retirement, revocation) and the
//! HTTP endpoints, which keys.rs, discovery.rs, rotation_with_resource_server.rs and
//! bad_input.rs drive.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use portcullis::clock::SystemClock;
use portcullis::config::Config;
use portcullis::keys::material::{self, KeyMaterial};
use portcullis::keys::{jwt_provider, signer, KeyAlg, KeyRing};
use portcullis::protocol::authorize::{self, AuthorizeClient, AuthorizeError, AuthorizePolicy};
use portcullis::protocol::bearer;
use portcullis::protocol::client_auth;
use portcullis::protocol::client_metadata::{AuthMethod, ClientMetadata, GrantType};
use portcullis::protocol::error::{is_description_charset, OAuthError};
use portcullis::protocol::grants;
use portcullis::protocol::grants::authorization_code::{self, Exchange, IssuedCode};
use portcullis::protocol::id_token::{IdTokenClaims, StandardClaims, ID_TOKEN_TYP};
use portcullis::protocol::interaction::{self, IdTokenHint};
use portcullis::protocol::logout::{self, LogoutHint};
use portcullis::protocol::params::Params;
use portcullis::protocol::scope::{self, InvalidScopeToken, Scope};
use portcullis::protocol::tokens::{AccessTokenClaims, ACCESS_TOKEN_TYP};
use portcullis::protocol::{pkce, redirect_uri};
use portcullis::service::introspection::{our_access_token, our_id_token};
use portcullis::store::{migrations, Store};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};

use crate::support::TestDb;

// ---------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------

/// 256 cases per property, and no regression files: CI-sized and side-effect free.
fn bounded() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Eight random-looking letters inside every junk input: if a description ever holds
/// them, it echoed the request. Lower-case letters, so the marker survives every
/// syntax check (scope tokens, b64token, base64url) into the code under test.
const MARKER: &str = "zqxvkjwp";

const ISSUER: &str = "http://127.0.0.1:8080";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const LOWER_DIGITS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const PATH_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~";
const QUERY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789=&";
const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// RFC 6750 §2.1 `b64token` characters (before the trailing `=`s).
const B64TOKEN: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
/// RFC 7636 §4.1 `unreserved`.
const UNRESERVED: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The redirect URIs of the client the authorization properties use.
const REGISTERED: &[&str] = &[
    "https://app.example/cb",
    "https://app.example/cb2?x=1",
    "http://127.0.0.1/cb",
];

/// RFC 6749 §5.2: `error` and `error_description` in %x20-21 / %x23-5B / %x5D-7E, and
/// a description that never repeats the request.
fn check_error(error: &OAuthError) -> Result<(), TestCaseError> {
    prop_assert!(
        is_description_charset(error.code()),
        "error {:?} is outside RFC 6749 §5.2's charset",
        error.code()
    );
    prop_assert!(
        is_description_charset(error.description()),
        "error_description {:?} (of {}) is outside RFC 6749 §5.2's charset",
        error.description(),
        error.code()
    );
    prop_assert!(
        !error.description().contains(MARKER),
        "error_description echoes the request: {:?}",
        error.description()
    );
    Ok(())
}

fn fail(reason: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(reason.to_string())
}

/// Any text, up to `max` characters of any kind.
fn noise(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..max).prop_map(|cs| cs.into_iter().collect::<String>())
}

/// Non-empty text of any kind (a parameter name, a client id).
fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 1..12).prop_map(|cs| cs.into_iter().collect::<String>())
}

/// Text of any characters but C0 controls and DEL (those are replaced), as RFC 6749
/// Appendix A allows in parameter values and more.
fn printable(len: Range<usize>) -> impl Strategy<Value = String> {
    let visible = any::<char>().prop_map(|c| if c.is_ascii_control() { '\u{fffd}' } else { c });
    prop::collection::vec(visible, len).prop_map(|cs| cs.into_iter().collect::<String>())
}

/// RFC 6749 Appendix A: whether `text` holds a character no parameter may hold (a C0
/// control or DEL).
fn holds_control(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_control())
}

/// Text of `alphabet`'s characters.
fn text_of(alphabet: &str, len: Range<usize>) -> impl Strategy<Value = String> {
    let chars: Vec<char> = alphabet.chars().collect();
    prop::collection::vec(prop::sample::select(chars), len)
        .prop_map(|cs| cs.into_iter().collect::<String>())
}

/// Arbitrary text around [`MARKER`].
fn junk() -> impl Strategy<Value = String> {
    (noise(8), noise(8)).prop_map(|(before, after)| format!("{before}{MARKER}{after}"))
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_bytes(len: Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), len).prop_map(|bytes| b64(&bytes))
}

/// An `application/x-www-form-urlencoded` body.
fn form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// One value form-urlencoded, as RFC 6749 §2.3.1 asks of Basic credentials.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn basic(id: &str, secret: &str) -> String {
    let credentials = format!("{}:{}", form_encode(id), form_encode(secret));
    format!("Basic {}", STANDARD.encode(credentials))
}

/// The parameters a redirect added to `base` (RFC 6749 §4.1.2, §4.1.2.1).
fn answer_params(redirect: &str, base: &str) -> Result<Params, TestCaseError> {
    let rest = redirect
        .strip_prefix(base)
        .ok_or_else(|| fail(format!("{redirect} does not start with {base}")))?;
    let query = rest
        .strip_prefix('?')
        .or_else(|| rest.strip_prefix('&'))
        .ok_or_else(|| fail(format!("{redirect} adds no parameters to {base}")))?;
    Params::from_urlencoded(query.as_bytes()).map_err(fail)
}

/// `text` (ASCII) with the character at `at` replaced by another one of `alphabet`.
fn replace_at(text: &str, at: usize, alphabet: &str, with: Index) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let alphabet = alphabet.as_bytes();
    let start = with.index(alphabet.len());
    let current = bytes[at];
    if let Some(c) = (0..alphabet.len())
        .map(|k| alphabet[(start + k) % alphabet.len()])
        .find(|c| *c != current)
    {
        bytes[at] = c;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A compact JWS or a base64url value with one character changed: anywhere but its
/// last character (whose low bits may be padding) and never a `.`.
fn alter(text: &str, at: Index, with: Index) -> String {
    let bytes = text.as_bytes();
    let mut i = at.index(bytes.len() - 1);
    if bytes[i] == b'.' {
        i += 1;
    }
    replace_at(text, i, B64URL, with)
}

/// A parameter's value as a strategy chose it.
#[derive(Debug, Clone)]
enum Given {
    Known(&'static str),
    /// Holds [`MARKER`].
    Junk(String),
}

impl Given {
    fn text(&self) -> String {
        match self {
            Given::Known(v) => (*v).to_owned(),
            Given::Junk(v) => v.clone(),
        }
    }
}

/// A request parameter: usually one of `good` (`""` stands for "left out"), now and
/// then one of `bad` or junk.
fn param(
    good: &'static [&'static str],
    bad: &'static [&'static str],
) -> impl Strategy<Value = Option<Given>> {
    prop_oneof![
        20 => prop::sample::select(good).prop_map(|v| (!v.is_empty()).then_some(Given::Known(v))),
        2 => prop::sample::select(bad).prop_map(|v| (!v.is_empty()).then_some(Given::Known(v))),
        1 => junk().prop_map(|j| Some(Given::Junk(j))),
    ]
}

/// The form body of named parameters (each name once).
fn form_of(fields: &[(&'static str, Option<Given>)]) -> String {
    let pairs: Vec<(&str, String)> = fields
        .iter()
        .filter_map(|(name, given)| given.as_ref().map(|g| (*name, g.text())))
        .collect();
    form(pairs.iter().map(|(n, v)| (*n, v.as_str())))
}

// ---------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------

/// Bytes a form body might hold: anything, or the characters that matter to it.
fn form_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        prop::collection::vec(
            prop::sample::select(b"ab=&%+;2Fc \x00\xc3\xa9\xff".to_vec()),
            0..64
        ),
        prop::collection::vec(
            prop::sample::select(vec![
                "grant_type",
                "code",
                "=",
                "&",
                "%",
                "%2",
                "%zz",
                "+",
                "x",
                "%C3%A9",
                "%FF",
            ]),
            0..16
        )
        .prop_map(|parts| parts.concat().into_bytes()),
    ]
}

/// An `Authorization` header of any kind, mostly broken Basic credentials.
fn authorization_header() -> impl Strategy<Value = String> {
    prop_oneof![
        junk(),
        junk().prop_map(|j| format!("Basic {j}")),
        any::<Vec<u8>>().prop_map(|b| format!("Basic {}", STANDARD.encode(b))),
        (junk(), junk()).prop_map(|(id, secret)| {
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
        }),
        (
            junk(),
            prop::sample::select(vec!["%", "%4", "%zz", "%C3", "%FF%FE"])
        )
            .prop_map(|(id, bad)| format!("Basic {}", STANDARD.encode(format!("{id}{bad}:s")))),
        junk().prop_map(|j| format!("Basic {}", STANDARD.encode(format!(":{j}")))),
    ]
}

/// RFC 6750 §2.1 `b64token`.
fn b64token() -> impl Strategy<Value = String> {
    (text_of(B64TOKEN, 1..40), 0usize..3)
        .prop_map(|(body, padding)| format!("{body}{}", "=".repeat(padding)))
}

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// RFC 6749 §3.3 scope-token characters: %x21 / %x23-5B / %x5D-7E.
fn scope_chars() -> String {
    (0x21u8..=0x7e)
        .filter(|b| *b != b'"' && *b != b'\\')
        .map(char::from)
        .collect()
}

/// A scope token: often a well-known one (so sets overlap), else any valid token.
fn scope_token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["openid", "profile", "email", "offline_access"])
            .prop_map(String::from),
        text_of(&scope_chars(), 1..10),
    ]
}

/// A PKCE `code_verifier` (RFC 7636 §4.1): 43 to 128 unreserved characters.
fn pkce_verifier() -> impl Strategy<Value = String> {
    text_of(UNRESERVED, 43..129)
}

/// BASE64URL(SHA256(verifier)) (RFC 7636 §4.2).
fn s256(verifier: &str) -> String {
    b64(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// A URI as its parts, so one part at a time can change.
#[derive(Debug, Clone)]
struct Uri {
    scheme: &'static str,
    userinfo: &'static str,
    host: String,
    port: Option<u16>,
    path: String,
    query: Option<String>,
    fragment: Option<&'static str>,
}

impl Uri {
    fn render(&self) -> String {
        let mut text = format!("{}://{}{}", self.scheme, self.userinfo, self.host);
        if let Some(port) = self.port {
            text.push_str(&format!(":{port}"));
        }
        text.push_str(&self.path);
        if let Some(query) = &self.query {
            text.push('?');
            text.push_str(query);
        }
        if let Some(fragment) = self.fragment {
            text.push('#');
            text.push_str(fragment);
        }
        text
    }
}

/// A word that starts with one of `first` and goes on with `rest`.
fn word(first: &str, rest: &str, len: Range<usize>) -> impl Strategy<Value = String> {
    (text_of(first, 1..2), text_of(rest, len)).prop_map(|(a, b)| a + &b)
}

/// A lower-case DNS name that is not an IP address.
fn host() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(word(LOWER, LOWER_DIGITS, 0..8), 1..3),
        prop::sample::select(vec!["example", "com", "test"]),
    )
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

/// `127.0.0.1`, `[::1]` or another address of 127.0.0.0/8, written canonically.
fn loopback_host() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("127.0.0.1".to_owned()),
        Just("[::1]".to_owned()),
        (any::<u8>(), any::<u8>(), 1u8..=254).prop_map(|(a, b, c)| format!("127.{a}.{b}.{c}")),
    ]
}

/// A port as a canonical URI writes it: never the scheme's default.
fn port(scheme: &'static str) -> impl Strategy<Value = Option<u16>> {
    let default = if scheme == "https" { 443 } else { 80 };
    prop::option::of(
        (1u16..=65535).prop_filter("the default port is never written", move |p| *p != default),
    )
}

/// A path of segments starting with a lower-case letter.
fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(word(LOWER, PATH_CHARS, 0..8), 1..4)
        .prop_map(|segments| format!("/{}", segments.join("/")))
}

fn uri(scheme: &'static str, host: impl Strategy<Value = String>) -> impl Strategy<Value = Uri> {
    (
        host,
        port(scheme),
        path(),
        prop::option::of(text_of(QUERY_CHARS, 1..12)),
    )
        .prop_map(move |(host, port, path, query)| Uri {
            scheme,
            userinfo: "",
            host,
            port,
            path,
            query,
            fragment: None,
        })
}

/// One change to a URI.
#[derive(Debug, Clone)]
enum Change {
    Append(char),
    UpperPath,
    UpperHost,
    PercentEncodePath,
    TrailingSlash,
    DotSegment,
    AddQuery,
    AddFragment,
    Userinfo,
    Port(u16),
    DropPort,
    OtherScheme,
    OtherHost,
}

/// Any change, the port included.
fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        prop::sample::select(vec![
            Change::UpperPath,
            Change::UpperHost,
            Change::PercentEncodePath,
            Change::TrailingSlash,
            Change::DotSegment,
            Change::AddQuery,
            Change::AddFragment,
            Change::Userinfo,
            Change::DropPort,
            Change::OtherScheme,
            Change::OtherHost,
        ]),
        any::<char>().prop_map(Change::Append),
        any::<u16>().prop_map(Change::Port),
    ]
}

/// Any change but the port's (and the host's case, which IP literals do not have).
fn change_but_the_port() -> impl Strategy<Value = Change> {
    prop_oneof![
        prop::sample::select(vec![
            Change::UpperPath,
            Change::PercentEncodePath,
            Change::TrailingSlash,
            Change::DotSegment,
            Change::AddQuery,
            Change::AddFragment,
            Change::Userinfo,
            Change::OtherScheme,
            Change::OtherHost,
        ]),
        any::<char>().prop_map(Change::Append),
    ]
}

fn upper_at(text: &str, at: usize) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| if i == at { c.to_ascii_uppercase() } else { c })
        .collect()
}

/// `uri` with `change` made, as text.
fn changed(uri: &Uri, change: &Change) -> String {
    let mut u = uri.clone();
    match change {
        Change::Append(c) => return format!("{}{c}", uri.render()),
        // Paths start with `/` and a lower-case letter, hosts with a letter.
        Change::UpperPath => u.path = upper_at(&u.path, 1),
        Change::UpperHost => u.host = upper_at(&u.host, 0),
        Change::PercentEncodePath => {
            let first = u.path.as_bytes()[1];
            u.path = format!("/%{first:02X}{}", &u.path[2..]);
        }
        Change::TrailingSlash => u.path.push('/'),
        Change::DotSegment => u.path = format!("/.{}", u.path),
        Change::AddQuery => {
            u.query = Some(match &u.query {
                Some(q) => format!("{q}&more=1"),
                None => "more=1".to_owned(),
            })
        }
        Change::AddFragment => u.fragment = Some(""),
        Change::Userinfo => u.userinfo = "user@",
        Change::Port(p) => u.port = Some(*p),
        Change::DropPort => u.port = None,
        Change::OtherScheme => u.scheme = if u.scheme == "https" { "http" } else { "https" },
        Change::OtherHost => {
            u.host = match u.host.as_str() {
                "[::1]" => "127.0.0.1".to_owned(),
                h if h.starts_with("127.") => "[::1]".to_owned(),
                h => format!("www.{h}"),
            }
        }
    }
    u.render()
}

/// Something that looks like a redirect URI, often broken in a way that matters.
fn uri_like() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "https",
            "http",
            "HTTPS",
            "com.example.app",
            "myapp",
            "javascript",
            "data",
            "file",
        ]),
        prop::sample::select(vec!["://", "://", ":/", ":"]),
        prop::sample::select(vec!["", "", "", "user@", "user:pw@", "@"]),
        prop::sample::select(vec![
            "app.example",
            "APP.example",
            "127.0.0.1",
            "[::1]",
            "localhost",
            "127.1",
            "evil.example",
            "*.example",
            "2130706433",
            "",
        ]),
        prop::sample::select(vec!["", "", "", ":443", ":80", ":8080", ":0", ":65536"]),
        text_of("abc/._-~%*#?=&\\ \u{e9}", 0..16),
    )
        .prop_map(|(scheme, separator, userinfo, host, port, rest)| {
            format!("{scheme}{separator}{userinfo}{host}{port}{rest}")
        })
}

/// A JWS header as JSON, naming one of `kids` or some other key.
fn forged_header(kids: Vec<String>) -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "RS256", "ES256", "EdDSA", "HS256", "none", "PS256", "ES384",
        ]),
        prop::option::of(prop::sample::select(vec![
            ACCESS_TOKEN_TYP,
            ID_TOKEN_TYP,
            "AT+JWT",
            "jwt",
        ])),
        prop::option::of(prop_oneof![prop::sample::select(kids), noise(12)]),
    )
        .prop_map(|(alg, typ, kid)| {
            let mut header = serde_json::Map::new();
            header.insert("alg".to_owned(), Value::from(alg));
            if let Some(typ) = typ {
                header.insert("typ".to_owned(), Value::from(typ));
            }
            if let Some(kid) = kid {
                header.insert("kid".to_owned(), Value::from(kid));
            }
            Value::Object(header).to_string()
        })
}

/// Text that looks more or less like a compact JWS.
fn jwt_like() -> impl Strategy<Value = String> {
    prop_oneof![
        noise(64),
        (noise(16), noise(16)).prop_map(|(a, b)| format!("{a}.{b}")),
        (b64_bytes(0..64), b64_bytes(0..64), b64_bytes(0..96))
            .prop_map(|(h, p, s)| format!("{h}.{p}.{s}")),
        (
            forged_header(vec!["k1".to_owned()]),
            b64_bytes(0..64),
            b64_bytes(0..96)
        )
            .prop_map(|(h, p, s)| format!("{}.{p}.{s}", b64(h))),
        (forged_header(vec!["k1".to_owned()]), b64_bytes(0..96)).prop_map(|(h, s)| format!(
            "{}.{}.{s}",
            b64(h),
            b64(r#"{"sub":"s"}"#)
        )),
    ]
}

/// Bytes that may parse as a JWK: anything, or JWK-shaped JSON with random key material.
fn jwk_json() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        (
            prop::sample::select(vec!["RSA", "EC", "OKP", "oct", "none"]),
            prop::sample::select(vec!["P-256", "Ed25519", "P-384", "X25519"]),
            prop::sample::select(vec!["RS256", "ES256", "EdDSA", "HS256"]),
            b64_bytes(0..300),
            b64_bytes(0..9),
            b64_bytes(0..65),
            b64_bytes(0..65),
        )
            .prop_map(|(kty, crv, alg, n, e, x, y)| {
                json!({
                    "kty": kty, "crv": crv, "alg": alg, "use": "sig",
                    "n": n, "e": e, "x": x, "y": y, "k": x
                })
                .to_string()
                .into_bytes()
            }),
    ]
}

/// Claims of any names and values.
fn claims() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(noise(12), noise(24), 0..6)
}

/// A `Validation` that checks the signature and the algorithm only, as
/// `KeySet::verify` does: time claims are the caller's.
fn lenient(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation
}

/// A token signed by a fresh ES256 key, with that key's public JWK: no store needed.
fn es256_token() -> &'static (String, Jwk) {
    static TOKEN: OnceLock<(String, Jwk)> = OnceLock::new();
    TOKEN.get_or_init(|| {
        jwt_provider::install();
        let key = material::generate(KeyAlg::Es256).expect("an ES256 key");
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        header.kid = Some(key.kid.clone());
        let token = signer::encode(&header, &json!({ "sub": "s" }), &key.signing_key)
            .expect("a signed token");
        (token, key.public_jwk.clone())
    })
}

fn client_metadata(public: bool, single: bool, code_grant: bool) -> ClientMetadata {
    let uris = if single { &REGISTERED[..1] } else { REGISTERED };
    let mut grant_types = vec![GrantType::RefreshToken];
    if code_grant {
        grant_types.insert(0, GrantType::AuthorizationCode);
    }
    ClientMetadata {
        name: "App".to_owned(),
        redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
        post_logout_redirect_uris: Vec::new(),
        grant_types,
        scope: Scope::parse("openid profile email").unwrap_or_default(),
        token_endpoint_auth_method: if public {
            AuthMethod::None
        } else {
            AuthMethod::ClientSecretBasic
        },
        is_public: public,
    }
}

/// An authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1):
/// mostly well-formed, each parameter now and then wrong or junk.
fn authorization_fields() -> impl Strategy<Value = Vec<(&'static str, Option<Given>)>> {
    (
        (
            param(&["c1"], &[""]),
            param(&["code"], &["", "token", "code id_token", "CODE"]),
            param(
                &[
                    "https://app.example/cb",
                    "https://app.example/cb2?x=1",
                    "http://127.0.0.1/cb",
                    "http://127.0.0.1:51234/cb",
                    "",
                ],
                &[
                    "https://app.example/cb/",
                    "https://APP.example/cb",
                    "https://app.example/cb#x",
                    "https://evil.example/cb",
                    "http://127.0.0.1:80/cb",
                    "http://localhost/cb",
                    "https://app.example/cb2?x=1&y=2",
                ],
            ),
            param(
                &[
                    "",
                    "openid",
                    "profile",
                    "openid profile",
                    "openid email profile",
                    " openid  email ",
                ],
                &["admin", "openid admin", "a\"b"],
            ),
            param(&["", "s1", "a b", "x&y=z#", "\u{e9}t\u{e9}"], &[""]),
            param(
                &[CHALLENGE],
                &[
                    "",
                    "short",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMx",
                ],
            ),
        ),
        (
            param(&["S256"], &["", "plain", "s256"]),
            param(
                &["", "login", "consent", "login consent", "none"],
                &["none login", "select_account", "create"],
            ),
            param(&["", "0", "30", "3600"], &["-1", "1.5", "+5"]),
            param(&["", "n-0S6_WzA2Mj"], &[""]),
            param(&["", "query"], &["fragment", "form_post"]),
            (
                prop::sample::select(vec![
                    "login_hint",
                    "ui_locales",
                    "display",
                    "acr_values",
                    "login_hint",
                    "ui_locales",
                    "request",
                    "request_uri",
                    "registration",
                    "claims",
                ]),
                param(
                    &["", "fr", "page"],
                    &["{}", "urn:x", "eyJhbGciOiJub25lIn0.e30."],
                ),
            ),
        ),
    )
        .prop_map(
            |(
                (client_id, response_type, redirect, scopes, state, challenge),
                (method, prompt, max_age, nonce, response_mode, (extra, extra_value)),
            )| {
                vec![
                    ("client_id", client_id),
                    ("response_type", response_type),
                    ("redirect_uri", redirect),
                    ("scope", scopes),
                    ("state", state),
                    ("code_challenge", challenge),
                    ("code_challenge_method", method),
                    ("prompt", prompt),
                    ("max_age", max_age),
                    ("nonce", nonce),
                    ("response_mode", response_mode),
                    (extra, extra_value),
                ]
            },
        )
}

/// The redirect URI the code of the token properties was issued for.
const CODE_REDIRECT: &str = "https://app.example/cb";

/// A token request body (RFC 6749 §4.1.3, RFC 7636 §4.5): mostly a well-formed code
/// exchange.
fn token_fields() -> impl Strategy<Value = Vec<(&'static str, Option<Given>)>> {
    (
        param(
            &["authorization_code"],
            &[
                "",
                "refresh_token",
                "client_credentials",
                "password",
                "AUTHORIZATION_CODE",
            ],
        ),
        param(&["C0DE"], &[""]),
        param(
            &[CODE_REDIRECT, ""],
            &["https://app.example/cb/", "https://evil.example/cb"],
        ),
        param(
            &[VERIFIER],
            &[
                "",
                "short",
                CHALLENGE,
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0",
            ],
        ),
        param(&["c1", ""], &["c2"]),
        param(&["", "s3cret"], &["a b"]),
        param(&["", "openid"], &["admin"]),
    )
        .prop_map(
            |(grant, code, redirect, verifier, client_id, secret, scopes)| {
                vec![
                    ("grant_type", grant),
                    ("code", code),
                    ("redirect_uri", redirect),
                    ("code_verifier", verifier),
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("scope", scopes),
                ]
            },
        )
}

// ---------------------------------------------------------------------------------
// Properties of the pure parsers
// ---------------------------------------------------------------------------------

proptest! {
    #![proptest_config(bounded())]

    // --- Form bodies and query strings (RFC 6749 §3.1, §3.2) ----------------------

    /// Any bytes decode, or are refused as `invalid_request`; nothing panics, and
    /// what decodes reads empty values as absent.
    #[test]
    fn any_form_body_decodes_or_is_invalid_request(body in form_bytes()) {
        match Params::from_urlencoded(&body) {
            Ok(params) => {
                for name in ["grant_type", "code", "client_id", "redirect_uri", "x", ""] {
                    prop_assert!(params.get(name).is_none_or(|v| !v.is_empty()));
                    match params.require(name) {
                        Ok(value) => prop_assert_eq!(Some(value), params.get(name)),
                        Err(e) => {
                            prop_assert!(params.get(name).is_none());
                            prop_assert_eq!(e.code(), "invalid_request");
                            check_error(&e)?;
                        }
                    }
                }
            }
            Err(e) => {
                prop_assert_eq!(e.code(), "invalid_request");
                check_error(&e)?;
            }
        }
    }

    /// Distinct names encoded by `url`'s serializer decode to the same values; an
    /// empty value reads as absent (RFC 6749 §3.1).
    #[test]
    fn distinct_parameters_round_trip_and_empty_values_read_as_absent(
        pairs in prop::collection::btree_map(name(), noise(24), 0..8),
    ) {
        let body = form(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let params = Params::from_urlencoded(body.as_bytes()).map_err(fail)?;
        for (n, v) in &pairs {
            let expected = if v.is_empty() { None } else { Some(v.as_str()) };
            prop_assert_eq!(params.get(n), expected);
        }
        if !pairs.contains_key(MARKER) {
            prop_assert_eq!(params.get(MARKER), None);
        }
    }

    /// RFC 6749 Appendix B: a name or value that does not decode to UTF-8, or holds
    /// a broken `%` escape, is `invalid_request`, never replaced by U+FFFD and let
    /// through, wherever it stands among good parameters.
    #[test]
    fn a_parameter_that_is_not_utf8_form_encoding_is_invalid_request(
        pairs in prop::collection::btree_map(name(), noise(12), 0..4),
        bad in prop::sample::select(vec![
            &b"%FF"[..], &b"%C3"[..], &b"%C3%28"[..], &b"%E2%82"[..], &b"%ED%A0%80"[..],
            &b"%"[..], &b"%4"[..], &b"%zz"[..], &b"\xff"[..], &b"\xc3("[..],
        ]),
        in_name in any::<bool>(),
        at in any::<Index>(),
    ) {
        let mut pieces: Vec<Vec<u8>> = pairs
            .iter()
            .map(|(n, v)| form([(n.as_str(), v.as_str())]).into_bytes())
            .collect();
        let mut broken = MARKER.as_bytes().to_vec();
        if in_name {
            broken.extend_from_slice(bad);
            broken.extend_from_slice(b"=1");
        } else {
            broken.push(b'=');
            broken.extend_from_slice(bad);
        }
        pieces.insert(at.index(pieces.len() + 1), broken);
        let body = pieces.join(&b'&');
        match Params::from_urlencoded(&body) {
            Ok(_) => return Err(fail(format!("accepted {:?}", String::from_utf8_lossy(&body)))),
            Err(e) => {
                prop_assert_eq!(e.code(), "invalid_request");
                check_error(&e)?;
            }
        }
    }

    /// RFC 6749 Appendix A: `check_characters` refuses exactly the parameters that
    /// hold a C0 control or DEL, in a name or a value, with `invalid_request`.
    #[test]
    fn check_characters_refuses_exactly_control_characters(
        pairs in prop::collection::btree_map(name(), noise(12), 0..6),
    ) {
        let body = form(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let params = Params::from_urlencoded(body.as_bytes()).map_err(fail)?;
        let control = pairs.iter().any(|(n, v)| holds_control(n) || holds_control(v));
        match params.check_characters() {
            Ok(()) => prop_assert!(!control),
            Err(e) => {
                prop_assert!(control);
                prop_assert_eq!(e.code(), "invalid_request");
                check_error(&e)?;
            }
        }
    }

    /// RFC 6749 §3.1: a parameter sent twice is `invalid_request`, wherever the two
    /// occurrences are and whatever (even empty) values they carry.
    #[test]
    fn a_repeated_parameter_is_invalid_request_wherever_it_appears(
        pairs in prop::collection::btree_map(name(), noise(12), 0..6),
        repeated in junk(),
        first in noise(12),
        second in noise(12),
        at in any::<Index>(),
    ) {
        let mut list: Vec<(String, String)> =
            pairs.into_iter().filter(|(n, _)| *n != repeated).collect();
        list.insert(at.index(list.len() + 1), (repeated.clone(), first));
        list.push((repeated.clone(), second));
        let body = form(list.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        match Params::from_urlencoded(body.as_bytes()) {
            Ok(_) => return Err(fail(format!("a repeated parameter was accepted: {body}"))),
            Err(e) => {
                prop_assert_eq!(&e, &OAuthError::InvalidRequest("a parameter is repeated"));
                check_error(&e)?;
            }
        }
    }

    // --- Client authentication (RFC 6749 §2.3.1) -----------------------------------

    /// `Basic base64(form(id) ":" form(secret))` gives back exactly the id and the
    /// secret, whatever their characters, the scheme's case or the spaces around.
    #[test]
    fn basic_credentials_round_trip_for_any_id_and_secret(
        id in printable(1..12),
        secret in printable(0..32),
        scheme in prop::sample::select(vec!["Basic", "basic", "BASIC", "bAsIc"]),
        (before, between, after) in (0usize..3, 1usize..4, 0usize..3),
    ) {
        let credentials =
            STANDARD.encode(format!("{}:{}", form_encode(&id), form_encode(&secret)));
        let header = format!(
            "{}{scheme}{}{credentials}{}",
            " ".repeat(before),
            " ".repeat(between),
            " ".repeat(after)
        );
        let presented = client_auth::presented(Some(&header), &Params::default()).map_err(fail)?;
        prop_assert_eq!(&presented.client_id, &id);
        prop_assert_eq!(
            presented.secret.as_ref().map(|s| s.expose().as_str()),
            Some(secret.as_str())
        );
        prop_assert_eq!(presented.method, AuthMethod::ClientSecretBasic);

        // The same client_id in the body is fine; another one, or a secret there
        // too (two methods at once, RFC 6749 §2.3), is invalid_request.
        let same = Params::from_urlencoded(form([("client_id", id.as_str())]).as_bytes())
            .map_err(fail)?;
        prop_assert!(client_auth::presented(Some(&header), &same).is_ok());
        let other_id = format!("{id}x");
        let other = Params::from_urlencoded(form([("client_id", other_id.as_str())]).as_bytes())
            .map_err(fail)?;
        let both = Params::from_urlencoded(form([("client_secret", "s")]).as_bytes())
            .map_err(fail)?;
        for body in [&other, &both] {
            match client_auth::presented(Some(&header), body) {
                Ok(p) => return Err(fail(format!("accepted {:?}", p.client_id))),
                Err(e) => {
                    prop_assert_eq!(e.code(), "invalid_request");
                    check_error(&e)?;
                }
            }
        }
    }

    /// A Basic id or secret that decodes to a C0 control or DEL is malformed:
    /// `invalid_client`, and the answer does not repeat it.
    #[test]
    fn basic_credentials_with_a_control_character_are_invalid_client(
        id in printable(0..12),
        secret in printable(0..16),
        control in prop::sample::select(vec!['\u{0}', '\t', '\n', '\r', '\u{1b}', '\u{7f}']),
        in_id in any::<bool>(),
        at in any::<Index>(),
    ) {
        let mut id = format!("{MARKER}{id}");
        let mut secret = secret;
        let target = if in_id { &mut id } else { &mut secret };
        let mut chars: Vec<char> = target.chars().collect();
        chars.insert(at.index(chars.len() + 1), control);
        *target = chars.into_iter().collect();
        match client_auth::presented(Some(&basic(&id, &secret)), &Params::default()) {
            Ok(p) => return Err(fail(format!("accepted {:?}", p.client_id))),
            Err(e) => {
                prop_assert_eq!(e.code(), "invalid_client");
                check_error(&e)?;
            }
        }
    }

    /// Any `Authorization` header is answered: credentials, or `invalid_client` /
    /// `invalid_request` that never repeat what was sent. Never a panic.
    #[test]
    fn any_authorization_header_is_answered_without_echo(
        header in authorization_header(),
        body_id in prop::option::of(junk()),
    ) {
        let params = match &body_id {
            Some(id) => Params::from_urlencoded(form([("client_id", id.as_str())]).as_bytes())
                .map_err(fail)?,
            None => Params::default(),
        };
        for authorization in [Some(header.as_str()), None] {
            match client_auth::presented(authorization, &params) {
                Ok(p) => prop_assert!(!p.client_id.is_empty()),
                Err(e) => {
                    prop_assert!(
                        matches!(e.code(), "invalid_client" | "invalid_request"),
                        "{:?}",
                        e
                    );
                    check_error(&e)?;
                }
            }
        }
    }

    // --- Bearer tokens (RFC 6750 §2) ------------------------------------------------

    /// A b64token sent once, in the header (any scheme case, any spaces) or the body,
    /// comes back as is; sent twice or in the query, it is `invalid_request`.
    #[test]
    fn a_bearer_token_round_trips_through_the_header_or_the_body(
        token in b64token(),
        scheme in prop::sample::select(vec!["Bearer", "bearer", "BEARER"]),
        spaces in 1usize..4,
    ) {
        let header = format!("{scheme}{}{token}", " ".repeat(spaces));
        prop_assert_eq!(bearer::presented_token(Some(&header), None, false), Ok(token.as_str()));
        prop_assert_eq!(bearer::presented_token(None, Some(&token), false), Ok(token.as_str()));
        prop_assert_eq!(
            bearer::presented_token(Some(&header), Some(&token), false).map_err(|e| e.code()),
            Err(Some("invalid_request"))
        );
        prop_assert_eq!(
            bearer::presented_token(Some(&header), None, true).map_err(|e| e.code()),
            Err(Some("invalid_request"))
        );
    }

    /// Whatever is sent, the answer is a non-empty token that was sent, or an error
    /// whose challenge is a printable header value that repeats nothing.
    #[test]
    fn any_bearer_request_gets_a_token_that_was_sent_or_a_clean_challenge(
        header in prop::option::of(prop_oneof![
            junk(),
            junk().prop_map(|j| format!("Bearer {j}")),
            b64token().prop_map(|t| format!("Bearer {t}")),
        ]),
        form_token in prop::option::of(prop_oneof![junk(), b64token(), Just(String::new())]),
        in_query in any::<bool>(),
    ) {
        match bearer::presented_token(header.as_deref(), form_token.as_deref(), in_query) {
            Ok(token) => {
                prop_assert!(!in_query);
                prop_assert!(!token.is_empty());
                let from_form = form_token.as_deref() == Some(token);
                let from_header = header
                    .as_deref()
                    .is_some_and(|h| h.ends_with(token) && is_b64token(token));
                prop_assert!(from_form || from_header);
            }
            Err(e) => {
                if in_query {
                    prop_assert_eq!(e.code(), Some("invalid_request"));
                }
                prop_assert!(is_description_charset(e.description()));
                prop_assert!(!e.description().contains(MARKER));
                let challenge = bearer::challenge(&e);
                prop_assert!(
                    challenge.chars().all(|c| (' '..='~').contains(&c)),
                    "{:?}",
                    challenge
                );
                prop_assert!(!challenge.contains(MARKER));
            }
        }
    }

    // --- Scope (RFC 6749 §3.3) -------------------------------------------------------

    /// Valid tokens joined by any runs of spaces parse to their set: deduplicated,
    /// sorted in the text form, and the text form parses back to the same set.
    #[test]
    fn a_scope_parses_to_the_set_of_its_tokens(
        tokens in prop::collection::vec(scope_token(), 0..8),
        gaps in prop::collection::vec(1usize..4, 9),
    ) {
        let mut text = " ".repeat(gaps[0] - 1);
        for (i, token) in tokens.iter().enumerate() {
            text.push_str(token);
            text.push_str(&" ".repeat(gaps[i + 1]));
        }
        let parsed = Scope::parse(&text).map_err(fail)?;
        let expected: BTreeSet<&str> = tokens.iter().map(String::as_str).collect();
        prop_assert_eq!(parsed.iter().collect::<BTreeSet<_>>(), expected.clone());
        prop_assert_eq!(
            parsed.to_string(),
            expected.iter().copied().collect::<Vec<_>>().join(" ")
        );
        prop_assert_eq!(Scope::parse(&parsed.to_string()).map_err(fail)?, parsed.clone());
        prop_assert_eq!(parsed.is_empty(), tokens.is_empty());
    }

    /// One token with a character outside %x21 / %x23-5B / %x5D-7E spoils the scope:
    /// `Scope::parse` names it (for admins), `requested_within` answers
    /// `invalid_scope` without repeating it (to clients).
    #[test]
    fn a_scope_with_a_forbidden_character_is_refused_without_echo(
        tokens in prop::collection::vec(scope_token(), 0..4),
        bad in prop::sample::select(vec![
            '"', '\\', '\t', '\n', '\u{0}', '\u{7f}', '\u{e9}', '\u{a0}', '\u{3000}',
        ]),
        at in any::<Index>(),
    ) {
        let poisoned = format!("{MARKER}{bad}");
        let mut all = tokens;
        all.insert(at.index(all.len() + 1), poisoned.clone());
        let text = all.join(" ");
        prop_assert_eq!(Scope::parse(&text), Err(InvalidScopeToken(poisoned)));
        let allowed = Scope::parse("openid profile email").map_err(fail)?;
        match scope::requested_within(Some(&text), &allowed) {
            Ok(s) => return Err(fail(format!("accepted `{s}`"))),
            Err(e) => {
                prop_assert_eq!(e.code(), "invalid_scope");
                check_error(&e)?;
            }
        }
    }

    /// The granted scope is never wider than the client's: omitted means all of it,
    /// anything else is exactly what was asked or `invalid_scope`.
    #[test]
    fn requested_within_never_widens_the_allowed_scope(
        allowed in prop::collection::btree_set(scope_token(), 0..5),
        requested in prop::option::of(prop_oneof![
            prop::collection::vec(scope_token(), 0..5).prop_map(|t| t.join(" ")),
            junk(),
            noise(16),
        ]),
    ) {
        let allowed_text = allowed.into_iter().collect::<Vec<_>>().join(" ");
        let allowed = Scope::parse(&allowed_text).map_err(fail)?;
        match scope::requested_within(requested.as_deref(), &allowed) {
            Ok(granted) => {
                prop_assert!(granted.is_subset_of(&allowed));
                match requested.as_deref().filter(|t| !t.trim().is_empty()) {
                    None => prop_assert_eq!(&granted, &allowed),
                    Some(text) => {
                        let reparsed = Scope::parse(text).ok();
                        prop_assert_eq!(Some(&granted), reparsed.as_ref());
                    }
                }
            }
            Err(e) => {
                prop_assert_eq!(e.code(), "invalid_scope");
                check_error(&e)?;
            }
        }
    }

    // --- prompt and max_age (OIDC Core §3.1.2.1) ----------------------------------

    /// `prompt` is any space-separated mix of `none`, `login` and `consent`, with
    /// `none` alone; anything else is `invalid_request`, never ignored, never echoed.
    #[test]
    fn prompt_accepts_exactly_none_login_and_consent(
        values in prop::collection::vec(
            prop::sample::select(vec![
                "none", "login", "consent", "select_account", "create", "NONE", "", MARKER,
            ]),
            0..5,
        ),
        other in junk(),
    ) {
        let text = values.join(" ");
        let has = |v: &str| values.contains(&v);
        let unknown = values
            .iter()
            .any(|v| !v.is_empty() && !["none", "login", "consent"].contains(v));
        let none_mixed = has("none") && (has("login") || has("consent"));
        match interaction::parse_prompt(Some(&text)) {
            Ok(prompt) => {
                prop_assert!(!unknown && !none_mixed);
                prop_assert_eq!(
                    (prompt.none, prompt.login, prompt.consent),
                    (has("none"), has("login"), has("consent"))
                );
            }
            Err(e) => {
                prop_assert!(unknown || none_mixed);
                prop_assert_eq!(e.code(), "invalid_request");
                check_error(&e)?;
            }
        }
        match interaction::parse_prompt(Some(&other)) {
            Ok(prompt) => return Err(fail(format!("{other:?} read as {prompt:?}"))),
            Err(e) => check_error(&e)?,
        }
    }

    /// `max_age` is a non-negative decimal integer, digits only, that fits an i64.
    #[test]
    fn max_age_is_exactly_a_non_negative_decimal_integer(
        text in prop_oneof![
            any::<u32>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            text_of("0123456789+- .e", 0..22),
            junk(),
        ],
    ) {
        let fits = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && text.parse::<i64>().is_ok();
        match interaction::parse_max_age(Some(&text)) {
            Ok(seconds) => {
                prop_assert!(fits);
                prop_assert_eq!(seconds, text.parse::<i64>().ok());
            }
            Err(e) => {
                prop_assert!(!fits);
                prop_assert_eq!(e.code(), "invalid_request");
                check_error(&e)?;
            }
        }
    }

    // --- The token request -----------------------------------------------------------

    /// RFC 6749 §5.2: a registered grant is served; a known one the client lacks is
    /// `unauthorized_client`; an unknown one `unsupported_grant_type`; none at all
    /// `invalid_request`.
    #[test]
    fn grant_type_is_served_only_when_known_and_registered(
        value in prop_oneof![
            prop::sample::select(vec![
                "authorization_code", "refresh_token", "client_credentials", "password",
                "implicit", "AUTHORIZATION_CODE", "authorization_code ", "",
            ])
            .prop_map(String::from),
            junk(),
        ],
        registered in prop::sample::subsequence(GrantType::ALL.to_vec(), 0..=3),
    ) {
        let params = Params::from_urlencoded(form([("grant_type", value.as_str())]).as_bytes())
            .map_err(fail)?;
        let known = GrantType::ALL.into_iter().find(|g| g.as_str() == value);
        match grants::grant_type(&params, &registered) {
            Ok(grant) => {
                prop_assert_eq!(Some(grant), known);
                prop_assert!(registered.contains(&grant));
            }
            Err(e) => {
                let expected = match known {
                    _ if value.is_empty() => "invalid_request",
                    Some(grant) if !registered.contains(&grant) => "unauthorized_client",
                    Some(_) => "(served)",
                    None => "unsupported_grant_type",
                };
                prop_assert_eq!(e.code(), expected);
                check_error(&e)?;
            }
        }
    }

    /// A token request, however it mixes credentials, grant and code parameters: the
    /// client is read from exactly one method, the grant is decided as RFC 6749 §5.2
    /// says, and a code is exchanged only by its client, in time, with its redirect
    /// URI and its verifier. Every refusal is clean.
    #[test]
    fn a_token_request_is_read_one_way_whatever_it_holds(
        fields in token_fields(),
        header in prop::option::of(prop_oneof![
            5 => Just(basic("c1", "s3cret")),
            1 => Just(basic("c2", "x")),
            1 => prop::sample::select(vec!["Basic !!!", "Bearer abc", "Basic", "basic  "])
                .prop_map(String::from),
            1 => authorization_header(),
        ]),
        registered in prop::sample::subsequence(GrantType::ALL.to_vec(), 0..=3),
        redirect_given in any::<bool>(),
        now in 90i64..110,
    ) {
        let params = Params::from_urlencoded(form_of(&fields).as_bytes()).map_err(fail)?;

        let basic_sent = header.as_deref().is_some_and(|h| {
            h.trim()
                .split_once(' ')
                .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        });
        let client = match client_auth::presented(header.as_deref(), &params) {
            Ok(p) => {
                match p.method {
                    AuthMethod::ClientSecretBasic => {
                        prop_assert!(basic_sent);
                        prop_assert!(!holds_control(&p.client_id));
                        prop_assert!(params.get("client_secret").is_none());
                        prop_assert!(params.get("client_id").is_none_or(|id| id == p.client_id));
                    }
                    AuthMethod::ClientSecretPost => {
                        prop_assert!(!basic_sent);
                        prop_assert_eq!(params.get("client_id"), Some(p.client_id.as_str()));
                        prop_assert_eq!(
                            p.secret.as_ref().map(|s| s.expose().as_str()),
                            params.get("client_secret")
                        );
                    }
                    AuthMethod::None => {
                        prop_assert!(!basic_sent);
                        prop_assert!(p.secret.is_none());
                        prop_assert_eq!(params.get("client_id"), Some(p.client_id.as_str()));
                    }
                }
                Some(p.client_id)
            }
            Err(e) => {
                prop_assert!(matches!(e.code(), "invalid_client" | "invalid_request"), "{:?}", e);
                check_error(&e)?;
                None
            }
        };

        let grant = match grants::grant_type(&params, &registered) {
            Ok(grant) => {
                prop_assert!(registered.contains(&grant));
                prop_assert_eq!(params.get("grant_type"), Some(grant.as_str()));
                Some(grant)
            }
            Err(e) => {
                prop_assert!(
                    matches!(
                        e.code(),
                        "invalid_request" | "unsupported_grant_type" | "unauthorized_client"
                    ),
                    "{:?}",
                    e
                );
                check_error(&e)?;
                None
            }
        };

        if let (Some(GrantType::AuthorizationCode), Some(client_id)) = (grant, client.as_deref()) {
            let issued = IssuedCode {
                client_id: "c1",
                redirect_uri: CODE_REDIRECT,
                redirect_uri_given: redirect_given,
                code_challenge: Some(CHALLENGE),
                expires_at: 100,
            };
            let exchange = Exchange {
                client_id,
                redirect_uri: params.get("redirect_uri"),
                code_verifier: params.get("code_verifier"),
            };
            let redirect_ok = match exchange.redirect_uri {
                Some(uri) => uri == CODE_REDIRECT,
                None => !redirect_given,
            };
            let expected = client_id == "c1"
                && now < 100
                && redirect_ok
                && exchange.code_verifier == Some(VERIFIER);
            match authorization_code::check_exchange(&issued, &exchange, now) {
                Ok(()) => prop_assert!(expected),
                Err(e) => {
                    prop_assert!(!expected);
                    prop_assert_eq!(e.code(), "invalid_grant");
                    check_error(&e)?;
                }
            }
        }
    }

    // --- PKCE (RFC 7636) -----------------------------------------------------------------

    /// S256 accepts exactly the verifier whose BASE64URL(SHA256) is the challenge:
    /// not another verifier of valid length, not one character changed, not the
    /// challenge itself (a `plain` downgrade).
    #[test]
    fn s256_accepts_exactly_the_verifier_whose_hash_is_the_challenge(
        verifier in pkce_verifier(),
        other in pkce_verifier(),
        at in any::<Index>(),
        with in any::<Index>(),
    ) {
        let challenge = s256(&verifier);
        prop_assert_eq!(
            pkce::accept_challenge(Some(&challenge), Some("S256"), true),
            Ok(Some(challenge.clone()))
        );
        prop_assert_eq!(pkce::verify(Some(&challenge), Some(&verifier)), Ok(()));
        let one_off = replace_at(&verifier, at.index(verifier.len()), UNRESERVED, with);
        prop_assert_ne!(&one_off, &verifier);
        for wrong in [other.as_str(), one_off.as_str(), challenge.as_str()] {
            if wrong == verifier {
                continue;
            }
            match pkce::verify(Some(&challenge), Some(wrong)) {
                Ok(()) => {
                    return Err(fail(format!("{wrong:?} passed for the challenge of {verifier:?}")))
                }
                Err(e) => {
                    prop_assert_eq!(e.code(), "invalid_grant");
                    check_error(&e)?;
                }
            }
        }
    }

    /// A verifier that is too short, too long or has a character outside
    /// `unreserved` is `invalid_grant`, described in RFC 6749 §5.2's charset.
    #[test]
    fn a_malformed_verifier_is_invalid_grant_with_a_clean_description(
        malformed in prop_oneof![
            text_of(UNRESERVED, 0..35).prop_map(|v| format!("{MARKER}{v}")),
            text_of(UNRESERVED, 121..200).prop_map(|v| format!("{MARKER}{v}")),
            (
                text_of(UNRESERVED, 35..100),
                prop::sample::select(vec!['+', '/', '=', ' ', '%', '#', '\u{e9}', '\u{0}']),
            )
                .prop_map(|(v, bad)| format!("{MARKER}{v}{bad}")),
        ],
        original in pkce_verifier(),
    ) {
        let challenge = s256(&original);
        for stored in [Some(challenge.as_str()), None] {
            match pkce::verify(stored, Some(&malformed)) {
                Ok(()) => return Err(fail(format!("{malformed:?} was accepted"))),
                Err(e) => {
                    prop_assert_eq!(e.code(), "invalid_grant");
                    check_error(&e)?;
                }
            }
        }
    }

    /// Only an S256 challenge of 43 base64url characters is kept; `plain`, a missing
    /// method and malformed challenges are `invalid_request`.
    #[test]
    fn accept_challenge_keeps_only_a_well_formed_s256_challenge(
        challenge in prop::option::of(prop_oneof![
            pkce_verifier().prop_map(|v| s256(&v)),
            text_of(B64URL, 40..46),
            junk(),
        ]),
        method in prop::option::of(prop_oneof![
            prop::sample::select(vec!["S256", "plain", "s256", "S512"]).prop_map(String::from),
            junk(),
        ]),
        required in any::<bool>(),
    ) {
        match pkce::accept_challenge(challenge.as_deref(), method.as_deref(), required) {
            Ok(Some(kept)) => {
                prop_assert_eq!(method.as_deref(), Some("S256"));
                prop_assert_eq!(Some(kept.as_str()), challenge.as_deref());
                prop_assert_eq!(kept.len(), 43);
                prop_assert!(kept.bytes().all(|b| B64URL.as_bytes().contains(&b)));
            }
            Ok(None) => prop_assert!(challenge.is_none() && method.is_none() && !required),
            Err(e) => {
                prop_assert_eq!(e.code(), "invalid_request");
                check_error(&e)?;
            }
        }
    }

    // --- Redirect URIs (RFC 9700 §4.1.3, RFC 8252 §7.3, §8.3) ----------------------------

    /// Exact matching is reflexive, and any change to a registered https URI — a
    /// character more, case, a trailing slash, a dot segment, percent-encoding, a
    /// query, a fragment, userinfo, another port (even 443 written out), scheme or
    /// host — no longer matches.
    #[test]
    fn any_change_to_a_registered_https_uri_breaks_the_match(
        registered in uri("https", host()),
        change in change(),
    ) {
        let text = registered.render();
        prop_assert_eq!(redirect_uri::validate_for_registration(&text), Ok(()));
        let list = vec![text.clone()];
        prop_assert_eq!(redirect_uri::matches_registered(&text, &list), Some(text.as_str()));
        let requested = changed(&registered, &change);
        prop_assume!(requested != text);
        prop_assert_eq!(redirect_uri::matches_registered(&requested, &list), None);
    }

    /// RFC 8252 §7.3: an `http` loopback IP literal (127.0.0.0/8, `[::1]`) matches on
    /// any port, written or not — but only written as the URL parser reads it, so
    /// never with `:80` spelled out.
    #[test]
    fn a_loopback_ip_redirect_uri_matches_on_any_port(
        registered in uri("http", loopback_host()),
        requested_port in port("http"),
    ) {
        let text = registered.render();
        prop_assert_eq!(redirect_uri::validate_for_registration(&text), Ok(()));
        let list = vec![text.clone()];
        let requested = Uri { port: requested_port, ..registered.clone() }.render();
        prop_assert_eq!(redirect_uri::matches_registered(&requested, &list), Some(text.as_str()));
        let default_port = Uri { port: Some(80), ..registered.clone() }.render();
        prop_assert_eq!(redirect_uri::matches_registered(&default_port, &list), None);
    }

    /// RFC 8252 §7.3: only the port may differ; scheme, host, userinfo, path, query
    /// and fragment are still compared exactly.
    #[test]
    fn a_loopback_redirect_uri_differing_in_more_than_the_port_does_not_match(
        registered in uri("http", loopback_host()),
        requested_port in port("http"),
        change in change_but_the_port(),
    ) {
        let text = registered.render();
        let list = vec![text.clone()];
        let requested = changed(&Uri { port: requested_port, ..registered.clone() }, &change);
        prop_assume!(requested != text);
        prop_assert_eq!(redirect_uri::matches_registered(&requested, &list), None);
    }

    /// `localhost` may be registered with `http`, but RFC 8252 §8.3: it gets no
    /// port exception; only its exact port matches.
    #[test]
    fn localhost_gets_no_port_exception(
        path in path(),
        registered_port in port("http"),
        requested_port in port("http"),
    ) {
        prop_assume!(registered_port != requested_port);
        let registered = Uri {
            scheme: "http",
            userinfo: "",
            host: "localhost".to_owned(),
            port: registered_port,
            path,
            query: None,
            fragment: None,
        };
        let text = registered.render();
        prop_assert_eq!(redirect_uri::validate_for_registration(&text), Ok(()));
        let list = vec![text.clone()];
        let requested = Uri { port: requested_port, ..registered }.render();
        prop_assert_eq!(redirect_uri::matches_registered(&requested, &list), None);
    }

    /// What registration accepts is canonical (what the parser reads, up to a
    /// trailing `/`), absolute, fragment- and credential-free, https or loopback http
    /// or a reverse-domain private scheme, and matches itself. Nothing panics.
    #[test]
    fn what_registration_accepts_is_canonical_and_safe(
        text in prop_oneof![3 => uri_like(), 1 => noise(40)],
    ) {
        match redirect_uri::validate_for_registration(&text) {
            Ok(()) => {
                prop_assert!(
                    text.bytes().all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}#*".contains(&b)),
                    "{}",
                    text
                );
                let parsed = url::Url::parse(&text).map_err(fail)?;
                prop_assert!(
                    parsed.as_str() == text || parsed.as_str() == format!("{text}/"),
                    "{} reads as {}",
                    text,
                    parsed
                );
                prop_assert!(parsed.username().is_empty() && parsed.password().is_none());
                prop_assert!(
                    !["javascript", "data", "vbscript", "file", "blob", "about"]
                        .contains(&parsed.scheme())
                );
                match parsed.scheme() {
                    "https" => prop_assert!(parsed.host_str().is_some_and(|h| !h.is_empty())),
                    "http" => prop_assert!(redirect_uri::is_loopback_host(&parsed)),
                    other => prop_assert!(other.contains('.')),
                }
                let list = vec![text.clone()];
                prop_assert_eq!(
                    redirect_uri::matches_registered(&text, &list),
                    Some(text.as_str())
                );
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    // --- The authorization request (RFC 6749 §4.1.1, §4.1.2.1) --------------------------

    /// Whatever the request holds, the answer goes only to a registered redirect URI
    /// (else it is the error page), carries `state` and `iss` exactly, grants no
    /// scope beyond the client's, keeps a challenge whenever PKCE is required, and
    /// every error is clean. An unknown or disabled client always gets the page.
    #[test]
    fn an_authorization_request_is_answered_only_at_a_registered_redirect_uri(
        fields in authorization_fields(),
        public in any::<bool>(),
        single in any::<bool>(),
        code_grant in prop::bool::weighted(0.9),
        strict_pkce in any::<bool>(),
        hint in prop::sample::select(vec![
            IdTokenHint::Absent,
            IdTokenHint::Absent,
            IdTokenHint::Subject("u1".to_owned()),
            IdTokenHint::NotOurs,
        ]),
    ) {
        let params = Params::from_urlencoded(form_of(&fields).as_bytes()).map_err(fail)?;
        let client = client_metadata(public, single, code_grant);
        let policy = AuthorizePolicy { pkce_required_for_confidential_clients: strict_pkce };
        let registered =
            |uri: &str| redirect_uri::matches_registered(uri, &client.redirect_uris).is_some();
        let trusted = match params.get("redirect_uri") {
            Some(uri) => registered(uri),
            None => single,
        };

        let control = fields
            .iter()
            .any(|(_, given)| given.as_ref().is_some_and(|g| holds_control(&g.text())));
        prop_assert_eq!(
            authorize::client_id(&params).ok(),
            params.get("client_id").filter(|id| !holds_control(id))
        );
        let disabled = AuthorizeClient { metadata: &client, disabled: true };
        for nobody in [None, Some(disabled)] {
            prop_assert!(matches!(
                authorize::validate(&params, "c1", nobody, policy, hint.clone()),
                Err(AuthorizeError::ErrorPage(_))
            ));
        }

        let known = Some(AuthorizeClient { metadata: &client, disabled: false });
        match authorize::validate(&params, "c1", known, policy, hint.clone()) {
            Ok(request) => {
                prop_assert!(trusted);
                prop_assert!(!control, "a control character was let through");
                prop_assert!(registered(&request.redirect_uri));
                if !request.redirect_uri_given {
                    prop_assert_eq!(&request.redirect_uri, &client.redirect_uris[0]);
                }
                prop_assert!(code_grant);
                prop_assert_eq!(params.get("response_type"), Some("code"));
                prop_assert!(request.scope.is_subset_of(&client.scope));
                prop_assert!(!request.scope.contains("openid") || request.redirect_uri_given);
                prop_assert_eq!(request.state.as_deref(), params.get("state"));
                prop_assert_eq!(request.nonce.as_deref(), params.get("nonce"));
                prop_assert_eq!(request.code_challenge.as_deref(), params.get("code_challenge"));
                if public || strict_pkce {
                    prop_assert!(request.code_challenge.is_some());
                }
                let expected_subject = request.interaction.expected_subject.as_deref();
                match &hint {
                    IdTokenHint::NotOurs => return Err(fail("a foreign id_token_hint passed")),
                    IdTokenHint::Subject(sub) => {
                        prop_assert_eq!(expected_subject, Some(sub.as_str()))
                    }
                    IdTokenHint::Absent => prop_assert!(expected_subject.is_none()),
                }
                let back = authorize::success_redirect(&request, "C0DE", ISSUER);
                let answer = answer_params(&back, &request.redirect_uri)?;
                prop_assert_eq!(answer.get("code"), Some("C0DE"));
                prop_assert_eq!(answer.get("state"), request.state.as_deref());
                prop_assert_eq!(answer.get("iss"), Some(ISSUER));
            }
            Err(AuthorizeError::Redirect(e)) => {
                prop_assert!(trusted);
                prop_assert!(registered(&e.redirect_uri));
                prop_assert_eq!(e.state.as_deref(), params.get("state"));
                if control {
                    prop_assert_eq!(e.error.code(), "invalid_request");
                }
                check_error(&e.error)?;
                let back = authorize::error_redirect(&e, ISSUER);
                let answer = answer_params(&back, &e.redirect_uri)?;
                prop_assert_eq!(answer.get("error"), Some(e.error.code()));
                prop_assert_eq!(answer.get("error_description"), Some(e.error.description()));
                prop_assert_eq!(answer.get("state"), e.state.as_deref());
                prop_assert_eq!(answer.get("iss"), Some(ISSUER));
            }
            Err(AuthorizeError::ErrorPage(message)) => {
                prop_assert!(!trusted);
                prop_assert!(!message.contains(MARKER));
            }
        }
    }

    // --- RP-Initiated Logout 1.0 ---------------------------------------------------------

    /// The browser returns only to a post-logout URI registered exactly (no loopback
    /// port exception here), with `state` exactly; every refusal is a page that
    /// repeats nothing.
    #[test]
    fn logout_returns_only_to_an_exactly_registered_uri_with_its_state(
        uri in prop::option::of(prop_oneof![
            prop::sample::select(vec![
                "https://app.example/bye",
                "https://app.example/bye/",
                "http://127.0.0.1:8765/bye",
                "http://127.0.0.1:9999/bye",
                "https://evil.example/bye",
            ])
            .prop_map(String::from),
            junk(),
        ]),
        known_client in any::<bool>(),
        state in prop::option::of(prop_oneof![
            noise(16).prop_filter("a state is never empty", |s| !s.is_empty()),
            junk(),
        ]),
    ) {
        let registered: Vec<String> =
            vec!["https://app.example/bye".to_owned(), "http://127.0.0.1:8765/bye".to_owned()];
        let result = logout::return_to(
            uri.as_deref(),
            known_client.then_some(registered.as_slice()),
            state.as_deref(),
        );
        match (result, uri.as_deref()) {
            (Ok(None), None) => {}
            (Ok(Some(destination)), Some(uri)) => {
                prop_assert!(known_client && registered.iter().any(|r| r == uri));
                match state.as_deref() {
                    None => prop_assert_eq!(destination.as_str(), uri),
                    Some(state) => {
                        let answer = answer_params(&destination, uri)?;
                        prop_assert_eq!(answer.get("state"), Some(state));
                    }
                }
            }
            (Err(e), Some(uri)) => {
                prop_assert!(!known_client || !registered.iter().any(|r| r == uri));
                prop_assert!(!e.to_string().contains(MARKER));
            }
            (other, uri) => return Err(fail(format!("{other:?} for {uri:?}"))),
        }
    }

    /// A logout request speaks for one client: `client_id`, or the hint's audience,
    /// and both must agree; a hint we did not issue is refused.
    #[test]
    fn logout_speaks_for_one_client_only(
        client_id in prop::option::of(prop_oneof![
            prop::sample::select(vec!["c1", "c2"]).prop_map(String::from),
            junk(),
        ]),
        hint in prop::sample::select(vec![
            LogoutHint::Absent,
            LogoutHint::Valid { subject: "u1".to_owned(), audience: "c1".to_owned() },
            LogoutHint::NotOurs,
        ]),
    ) {
        let result = logout::client_of(client_id.as_deref(), &hint);
        if let Err(e) = &result {
            prop_assert!(!e.to_string().contains(MARKER));
        }
        match (&hint, client_id.as_deref()) {
            (LogoutHint::NotOurs, _) => prop_assert!(result.is_err()),
            (LogoutHint::Valid { audience, .. }, Some(id)) => {
                prop_assert_eq!(result.is_ok(), id == audience.as_str())
            }
            (LogoutHint::Valid { audience, .. }, None) => {
                prop_assert_eq!(result, Ok(Some(audience.clone())))
            }
            (LogoutHint::Absent, id) => prop_assert_eq!(result, Ok(id.map(str::to_owned))),
        }
    }

    // --- JWT and JWK decoding, no store -------------------------------------------------

    /// Decoding headers, JWKs and JWK sets never panics; no token but ours verifies
    /// against our key, and no JWK but ours (random or HMAC) verifies our token.
    #[test]
    fn jwt_and_jwk_decoding_never_panics_and_no_stranger_verifies(
        token in jwt_like(),
        jwk in jwk_json(),
    ) {
        let (ours, our_jwk) = es256_token();
        let our_key = DecodingKey::from_jwk(our_jwk).map_err(fail)?;
        let es256 = lenient(Algorithm::ES256);
        prop_assert!(jsonwebtoken::decode::<Value>(ours, &our_key, &es256).is_ok());

        let _ = jsonwebtoken::decode_header(&token);
        prop_assert!(jsonwebtoken::decode::<Value>(&token, &our_key, &es256).is_err());

        let _ = serde_json::from_slice::<JwkSet>(&jwk);
        if let Ok(stranger) = serde_json::from_slice::<Jwk>(&jwk) {
            if let Ok(key) = DecodingKey::from_jwk(&stranger) {
                let algs = [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA, Algorithm::HS256];
                for alg in algs {
                    prop_assert!(jsonwebtoken::decode::<Value>(ours, &key, &lenient(alg)).is_err());
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// JWT and JWKS handling with the server's key ring
// ---------------------------------------------------------------------------------

/// A key ring on this test's own database, with keys for RS256, ES256 and EdDSA:
/// what a running server signs and verifies with, without the HTTP server.
struct Keys {
    ring: Arc<KeyRing>,
    config: Config,
    _db: TestDb,
}

impl Keys {
    fn open() -> Keys {
        jwt_provider::install();
        let db = TestDb::new();
        migrations::run_pending(&mut db.connect()).expect("migrations");
        let mut env = db.env();
        env.push(("PORTCULLIS_ISSUER", ISSUER.to_owned()));
        env.push(("PORTCULLIS_SIGNING_ALGS", "RS256 ES256 EdDSA".to_owned()));
        let config = Config::load(None, |name| {
            env.iter()
                .rev()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        })
        .expect("configuration");
        let store = Store::open(
            &config.database_url,
            &portcullis::store::PoolSettings::of(&config, 2),
        )
        .expect("store");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let ring = runtime
            .block_on(KeyRing::open(store, &config, Arc::new(SystemClock)))
            .expect("key ring");
        Keys {
            ring,
            config,
            _db: db,
        }
    }
}

/// The three segments of a compact JWS.
fn segments(token: &str) -> Result<(&str, &str, &str), TestCaseError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Ok((h, p, s)),
        _ => Err(fail(format!("not a compact JWS: {token}"))),
    }
}

/// Verifies `token` the way a relying party does: the JWK from the JWKS, the
/// algorithm the key is pinned to.
fn rp_verify(token: &str, jwk: &Jwk, alg: KeyAlg) -> Option<BTreeMap<String, String>> {
    let key = DecodingKey::from_jwk(jwk).ok()?;
    jsonwebtoken::decode::<BTreeMap<String, String>>(token, &key, &lenient(alg.jwt_algorithm()))
        .ok()
        .map(|data| data.claims)
}

/// Changes one character of the JWK's key material (`n`, `x` or `y`).
fn alter_key(jwk: &mut Jwk, member: Index, at: Index, with: Index) {
    let target = match &mut jwk.algorithm {
        AlgorithmParameters::RSA(p) => &mut p.n,
        AlgorithmParameters::EllipticCurve(p) => {
            if member.index(2) == 0 {
                &mut p.x
            } else {
                &mut p.y
            }
        }
        AlgorithmParameters::OctetKeyPair(p) => &mut p.x,
        _ => return,
    };
    *target = alter(target, at, with);
}

/// The members a published JWK may have: public ones only (RFC 7517 §4, RFC 7518 §6,
/// RFC 8037 §2).
const PUBLIC_MEMBERS: &[&str] = &["kty", "use", "alg", "kid", "n", "e", "crv", "x", "y"];

/// RFC 8725 §3.1 / §3.11: a token we sign verifies with exactly its claims, under its
/// own `typ` only; a single character changed anywhere, other claims under the same
/// signature, or another published key's `kid` and it no longer does.
#[test]
fn tokens_we_sign_verify_with_their_claims_and_no_altered_copy_does() {
    let keys = Keys::open();
    let set = keys.ring.current();
    let kids: Vec<String> = set.keys().map(|k| k.times.kid.clone()).collect();
    proptest!(bounded(), |(
        alg in prop::sample::select(KeyAlg::ALL.to_vec()),
        claims in claims(),
        extra in noise(12),
        at in any::<Index>(),
        with in any::<Index>(),
        other in any::<Index>(),
    )| {
        let token = keys.ring.sign(alg, ACCESS_TOKEN_TYP, &claims).map_err(fail)?;
        let verified = set.verify::<BTreeMap<String, String>>(&token, ACCESS_TOKEN_TYP);
        prop_assert_eq!(verified.as_ref(), Some(&claims));
        prop_assert!(set.verify::<Value>(&token, ID_TOKEN_TYP).is_none());

        let altered = alter(&token, at, with);
        prop_assert!(set.verify::<Value>(&altered, ACCESS_TOKEN_TYP).is_none(), "{}", altered);

        let (header, payload, signature) = segments(&token)?;
        let added = format!("{MARKER}{extra}");
        if !claims.contains_key(&added) {
            let mut widened = claims.clone();
            widened.insert(added, "admin".to_owned());
            let body = serde_json::to_vec(&widened).map_err(fail)?;
            let swapped = format!("{header}.{}.{signature}", b64(body));
            prop_assert!(set.verify::<Value>(&swapped, ACCESS_TOKEN_TYP).is_none());
        }

        let mut moved: Header = jsonwebtoken::decode_header(&token).map_err(fail)?;
        let own = moved.kid.clone().unwrap_or_default();
        let others: Vec<&String> = kids.iter().filter(|k| **k != own).collect();
        prop_assert!(!others.is_empty());
        moved.kid = Some(others[other.index(others.len())].clone());
        let header_json = serde_json::to_vec(&moved).map_err(fail)?;
        let re_keyed = format!("{}.{payload}.{signature}", b64(header_json));
        prop_assert!(set.verify::<Value>(&re_keyed, ACCESS_TOKEN_TYP).is_none());
    });
}

/// How a token is forged.
#[derive(Debug, Clone)]
enum Forgery {
    /// Signed by a key we never published, naming one of ours.
    ForeignKey {
        alg: KeyAlg,
        kid: String,
        typ: &'static str,
    },
    /// The same, carrying the foreign key in the header (`jwk`, RFC 7515 §4.1.3).
    EmbeddedKey {
        alg: KeyAlg,
        kid: String,
        typ: &'static str,
    },
    /// HS256 keyed with one of our published public keys (RFC 8725 §2.1).
    HmacWithPublicKey { kid: String, typ: &'static str },
    /// `alg: none`, no signature.
    Unsigned { kid: String, typ: &'static str },
    /// A random header (often naming our kids), payload and signature.
    Random {
        header: String,
        payload: Vec<u8>,
        signature: Vec<u8>,
    },
    /// Any text.
    Text(String),
}

fn forgery(kids: Vec<String>) -> impl Strategy<Value = Forgery> {
    let kid = prop::sample::select(kids.clone());
    let alg = prop::sample::select(KeyAlg::ALL.to_vec());
    let typ = prop::sample::select(vec![ACCESS_TOKEN_TYP, ID_TOKEN_TYP]);
    prop_oneof![
        (alg.clone(), kid.clone(), typ.clone()).prop_map(|(alg, kid, typ)| Forgery::ForeignKey {
            alg,
            kid,
            typ
        }),
        (alg, kid.clone(), typ.clone()).prop_map(|(alg, kid, typ)| Forgery::EmbeddedKey {
            alg,
            kid,
            typ
        }),
        (kid.clone(), typ.clone()).prop_map(|(kid, typ)| Forgery::HmacWithPublicKey { kid, typ }),
        (kid, typ).prop_map(|(kid, typ)| Forgery::Unsigned { kid, typ }),
        (
            forged_header(kids),
            prop::collection::vec(any::<u8>(), 0..64),
            prop::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(header, payload, signature)| Forgery::Random {
                header,
                payload,
                signature
            }),
        noise(64).prop_map(Forgery::Text),
    ]
}

/// The token `forgery` describes, over `claims`.
fn forge(
    forgery: &Forgery,
    claims: &BTreeMap<String, String>,
    published: &[(String, Jwk)],
    foreign: &[KeyMaterial],
) -> Result<String, TestCaseError> {
    let payload = b64(serde_json::to_vec(claims).map_err(fail)?);
    let signed_by_stranger =
        |alg: KeyAlg, kid: &str, typ: &str, embed: bool| -> Result<String, TestCaseError> {
            let key = foreign
                .iter()
                .find(|k| k.alg == alg)
                .ok_or_else(|| fail(format!("no foreign {alg} key")))?;
            let mut header = Header::new(alg.jwt_algorithm());
            header.typ = Some(typ.to_owned());
            header.kid = Some(kid.to_owned());
            if embed {
                header.jwk = Some(key.public_jwk.clone());
            }
            signer::encode(&header, claims, &key.signing_key).map_err(fail)
        };
    Ok(match forgery {
        Forgery::ForeignKey { alg, kid, typ } => {
            signed_by_stranger(*alg, kid.as_str(), typ, false)?
        }
        Forgery::EmbeddedKey { alg, kid, typ } => {
            signed_by_stranger(*alg, kid.as_str(), typ, true)?
        }
        Forgery::HmacWithPublicKey { kid, typ } => {
            let jwk = published
                .iter()
                .find(|(k, _)| k == kid)
                .map(|(_, jwk)| jwk)
                .ok_or_else(|| fail(format!("no published key {kid}")))?;
            let secret = serde_json::to_vec(jwk).map_err(fail)?;
            let header = json!({ "alg": "HS256", "typ": typ, "kid": kid }).to_string();
            let message = format!("{}.{payload}", b64(header));
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
            let tag = ring::hmac::sign(&key, message.as_bytes());
            format!("{message}.{}", b64(tag.as_ref()))
        }
        Forgery::Unsigned { kid, typ } => {
            let header = json!({ "alg": "none", "typ": typ, "kid": kid }).to_string();
            format!("{}.{payload}.", b64(header))
        }
        Forgery::Random {
            header,
            payload,
            signature,
        } => format!("{}.{}.{}", b64(header), b64(payload), b64(signature)),
        Forgery::Text(text) => text.clone(),
    })
}

/// RFC 8725 §2.1, §3.1: nothing verifies that we did not sign — a key of our own
/// making named by our `kid`, a key carried in the header, HMAC keyed with our
/// public key, `alg: none`, random headers naming our keys, any text — not as an
/// access token, not as an ID token.
#[test]
fn forged_and_arbitrary_tokens_never_verify() {
    let keys = Keys::open();
    let set = keys.ring.current();
    let published: Vec<(String, Jwk)> = set
        .keys()
        .map(|k| (k.times.kid.clone(), k.jwk.clone()))
        .collect();
    let kids: Vec<String> = published.iter().map(|(kid, _)| kid.clone()).collect();
    let foreign: Vec<KeyMaterial> = KeyAlg::ALL
        .iter()
        .map(|alg| material::generate(*alg).expect("a foreign key"))
        .collect();
    proptest!(bounded(), |(forgery in forgery(kids.clone()), claims in claims())| {
        let token = forge(&forgery, &claims, &published, &foreign)?;
        for typ in [ACCESS_TOKEN_TYP, ID_TOKEN_TYP] {
            let verified = set.verify::<Value>(&token, typ);
            prop_assert!(verified.is_none(), "{} verified as {}", token, typ);
        }
        prop_assert!(our_access_token(&keys.ring, &keys.config, &token).is_none());
        prop_assert!(our_id_token(&keys.ring, &keys.config, &token).is_none());
    });
}

/// A token is ours only with our issuer and its own `typ`: an access token never
/// passes as an ID token nor the other way round (RFC 9068 §4, RFC 8725 §3.11).
#[test]
fn only_our_issuer_and_the_right_typ_make_a_token_ours() {
    let keys = Keys::open();
    let issuer = keys.config.issuer.clone();
    proptest!(bounded(), |(
        alg in prop::sample::select(KeyAlg::ALL.to_vec()),
        iss in prop_oneof![
            2 => Just(issuer.clone()),
            1 => Just(format!("{issuer}/")),
            1 => junk(),
        ],
        (sub, aud, client_id) in (noise(16), noise(16), noise(16)),
        (scope_text, jti, nonce) in (noise(16), noise(16), prop::option::of(noise(16))),
        (iat, exp, auth_time) in (any::<i64>(), any::<i64>(), prop::option::of(any::<i64>())),
    )| {
        let ours = iss == keys.config.issuer;
        let access = AccessTokenClaims {
            iss: iss.clone(),
            sub: sub.clone(),
            aud: aud.clone(),
            client_id,
            scope: scope_text,
            iat,
            exp,
            jti,
            auth_time,
            roles: None,
            groups: None,
        };
        let access_token = keys.ring.sign(alg, ACCESS_TOKEN_TYP, &access).map_err(fail)?;
        prop_assert_eq!(
            our_access_token(&keys.ring, &keys.config, &access_token),
            ours.then(|| access.clone())
        );
        prop_assert!(our_id_token(&keys.ring, &keys.config, &access_token).is_none());
        let mislabelled = keys.ring.sign(alg, ID_TOKEN_TYP, &access).map_err(fail)?;
        prop_assert!(our_access_token(&keys.ring, &keys.config, &mislabelled).is_none());

        let id = IdTokenClaims {
            iss,
            sub,
            aud,
            exp,
            iat,
            auth_time: auth_time.unwrap_or(iat),
            nonce,
            at_hash: None,
            sid: None,
            amr: Vec::new(),
            claims: StandardClaims::default(),
        };
        let id_token = keys.ring.sign(alg, ID_TOKEN_TYP, &id).map_err(fail)?;
        prop_assert_eq!(
            our_id_token(&keys.ring, &keys.config, &id_token),
            ours.then(|| id.clone())
        );
        prop_assert!(our_access_token(&keys.ring, &keys.config, &id_token).is_none());
        let mislabelled = keys.ring.sign(alg, ACCESS_TOKEN_TYP, &id).map_err(fail)?;
        prop_assert!(our_id_token(&keys.ring, &keys.config, &mislabelled).is_none());
    });
}

/// The JWKS holds every algorithm's keys, public members only, each named by its
/// RFC 7638 thumbprint; a relying party verifies our tokens with it alone, and with
/// any character of a key changed it verifies nothing (and never panics).
#[test]
fn the_published_jwks_verifies_our_tokens_and_no_altered_key_does() {
    let keys = Keys::open();
    let set = keys.ring.current();
    let jwks: JwkSet = serde_json::from_str(set.jwks()).expect("the JWKS is a JWK set");
    let raw: Value = serde_json::from_str(set.jwks()).expect("the JWKS is JSON");
    let members = raw["keys"].as_array().expect("a keys array");
    assert_eq!(members.len(), jwks.keys.len());
    for alg in KeyAlg::ALL {
        assert!(
            jwks.keys
                .iter()
                .any(|k| k.common.key_algorithm == Some(alg.jwk_algorithm())),
            "no {alg} key is published"
        );
    }
    for (jwk, member) in jwks.keys.iter().zip(members) {
        assert_eq!(
            jwk.common.key_id.as_deref(),
            Some(material::thumbprint(&jwk.algorithm).as_str())
        );
        assert_eq!(jwk.common.public_key_use, Some(PublicKeyUse::Signature));
        for name in member.as_object().expect("a JWK is an object").keys() {
            assert!(
                PUBLIC_MEMBERS.contains(&name.as_str()),
                "the JWKS publishes `{name}`"
            );
        }
    }

    proptest!(bounded(), |(
        alg in prop::sample::select(KeyAlg::ALL.to_vec()),
        claims in claims(),
        member in any::<Index>(),
        at in any::<Index>(),
        with in any::<Index>(),
    )| {
        let token = keys.ring.sign(alg, ACCESS_TOKEN_TYP, &claims).map_err(fail)?;
        let kid = jsonwebtoken::decode_header(&token)
            .map_err(fail)?
            .kid
            .ok_or_else(|| fail("a token without kid"))?;
        let jwk = jwks.find(&kid).ok_or_else(|| fail(format!("{kid} is not in the JWKS")))?;
        prop_assert_eq!(jwk.common.key_algorithm, Some(alg.jwk_algorithm()));
        let verified = rp_verify(&token, jwk, alg);
        prop_assert_eq!(verified.as_ref(), Some(&claims));

        let mut altered = jwk.clone();
        alter_key(&mut altered, member, at, with);
        prop_assert_ne!(&altered, jwk);
        prop_assert!(rp_verify(&token, &altered, alg).is_none());
    });
}
