//! Errors in the vocabulary of the specs: one variant per error code.
//!
//! Descriptions are fixed texts (`&'static str`), never built from the request:
//! RFC 6749 §5.2 limits `error_description` to %x20-21 / %x23-5B / %x5D-7E (no
//! `"`, no `\\`, nothing outside printable ASCII), and echoing input would let a
//! request choose what a client displays or logs.

/// An error code from RFC 6749 §4.1.2.1 / §5.2 and OIDC Core §3.1.2.6, with a
/// human description for `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    #[error("invalid_client: {0}")]
    InvalidClient(&'static str),
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(&'static str),
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(&'static str),
    #[error("invalid_scope: {0}")]
    InvalidScope(&'static str),
    /// RFC 6749 §4.1.2.1: the resource owner or the server denied the request.
    #[error("access_denied: {0}")]
    AccessDenied(&'static str),
    /// RFC 6749 §4.1.2.1: only `code` is served (OAuth 2.1).
    #[error("unsupported_response_type: {0}")]
    UnsupportedResponseType(&'static str),
    #[error("server_error: {0}")]
    ServerError(&'static str),
    /// RFC 8707 §2: the `resource` is unknown, malformed or not allowed here.
    #[error("invalid_target: {0}")]
    InvalidTarget(&'static str),
    /// RFC 6749 §4.1.2.1: overloaded or over a rate limit; try again later.
    #[error("temporarily_unavailable: {0}")]
    TemporarilyUnavailable(&'static str),
    /// OIDC Core §3.1.2.6: `prompt=none`, and the user must sign in.
    #[error("login_required: {0}")]
    LoginRequired(&'static str),
    /// OIDC Core §3.1.2.6: `prompt=none`, and the user must consent.
    #[error("consent_required: {0}")]
    ConsentRequired(&'static str),
    /// OIDC Core §3.1.2.6: `prompt=none`, and some other page would be needed.
    #[error("interaction_required: {0}")]
    InteractionRequired(&'static str),
    /// OIDC Core §3.1.2.6: the `request` parameter (a request object) is not served.
    #[error("request_not_supported: {0}")]
    RequestNotSupported(&'static str),
    /// OIDC Core §3.1.2.6: the `request_uri` parameter is not served.
    #[error("request_uri_not_supported: {0}")]
    RequestUriNotSupported(&'static str),
    /// OIDC Core §3.1.2.6: the `registration` parameter is not served.
    #[error("registration_not_supported: {0}")]
    RegistrationNotSupported(&'static str),
}

impl OAuthError {
    /// The `error` value of the response.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient(_) => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::AccessDenied(_) => "access_denied",
            OAuthError::UnsupportedResponseType(_) => "unsupported_response_type",
            OAuthError::ServerError(_) => "server_error",
            OAuthError::TemporarilyUnavailable(_) => "temporarily_unavailable",
            OAuthError::InvalidTarget(_) => "invalid_target",
            OAuthError::LoginRequired(_) => "login_required",
            OAuthError::ConsentRequired(_) => "consent_required",
            OAuthError::InteractionRequired(_) => "interaction_required",
            OAuthError::RequestNotSupported(_) => "request_not_supported",
            OAuthError::RequestUriNotSupported(_) => "request_uri_not_supported",
            OAuthError::RegistrationNotSupported(_) => "registration_not_supported",
        }
    }

    /// The `error_description` value of the response: the fixed text, or — should a
    /// text ever break RFC 6749 §5.2's character set — a plain fallback, so that no
    /// response carries such a character (debug builds fail loudly instead).
    pub fn description(&self) -> &'static str {
        let text = self.text();
        debug_assert!(is_description_charset(text), "error_description {text:?}");
        if is_description_charset(text) {
            text
        } else {
            "the request was refused"
        }
    }

    fn text(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(d)
            | OAuthError::InvalidClient(d)
            | OAuthError::InvalidGrant(d)
            | OAuthError::UnauthorizedClient(d)
            | OAuthError::UnsupportedGrantType(d)
            | OAuthError::InvalidScope(d)
            | OAuthError::AccessDenied(d)
            | OAuthError::UnsupportedResponseType(d)
            | OAuthError::ServerError(d)
            | OAuthError::TemporarilyUnavailable(d)
            | OAuthError::InvalidTarget(d)
            | OAuthError::LoginRequired(d)
            | OAuthError::ConsentRequired(d)
            | OAuthError::InteractionRequired(d)
            | OAuthError::RequestNotSupported(d)
            | OAuthError::RequestUriNotSupported(d)
            | OAuthError::RegistrationNotSupported(d) => d,
        }
    }
}

/// RFC 6749 §5.2: whether `text` may be an `error_description` (or `error`) value.
pub fn is_description_charset(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}
