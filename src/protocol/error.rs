//! Errors in the vocabulary of the specs: one variant per error code.

/// An error code from RFC 6749 §4.1.2.1 / §5.2 and OIDC Core §3.1.2.6, with a
/// human description for `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// RFC 6749 §4.1.2.1: the resource owner or the server denied the request.
    #[error("access_denied: {0}")]
    AccessDenied(String),
    /// RFC 6749 §4.1.2.1: only `code` is served (OAuth 2.1).
    #[error("unsupported_response_type: {0}")]
    UnsupportedResponseType(String),
    #[error("server_error: {0}")]
    ServerError(String),
    /// OIDC Core §3.1.2.6: `prompt=none`, and the user must sign in.
    #[error("login_required: {0}")]
    LoginRequired(String),
    /// OIDC Core §3.1.2.6: `prompt=none`, and the user must consent.
    #[error("consent_required: {0}")]
    ConsentRequired(String),
    /// OIDC Core §3.1.2.6: `prompt=none`, and some other page would be needed.
    #[error("interaction_required: {0}")]
    InteractionRequired(String),
    /// OIDC Core §3.1.2.6: the `request` parameter (a request object) is not served.
    #[error("request_not_supported: {0}")]
    RequestNotSupported(String),
    /// OIDC Core §3.1.2.6: the `request_uri` parameter is not served.
    #[error("request_uri_not_supported: {0}")]
    RequestUriNotSupported(String),
    /// OIDC Core §3.1.2.6: the `registration` parameter is not served.
    #[error("registration_not_supported: {0}")]
    RegistrationNotSupported(String),
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
            OAuthError::LoginRequired(_) => "login_required",
            OAuthError::ConsentRequired(_) => "consent_required",
            OAuthError::InteractionRequired(_) => "interaction_required",
            OAuthError::RequestNotSupported(_) => "request_not_supported",
            OAuthError::RequestUriNotSupported(_) => "request_uri_not_supported",
            OAuthError::RegistrationNotSupported(_) => "registration_not_supported",
        }
    }

    /// The `error_description` value of the response.
    pub fn description(&self) -> &str {
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
            | OAuthError::LoginRequired(d)
            | OAuthError::ConsentRequired(d)
            | OAuthError::InteractionRequired(d)
            | OAuthError::RequestNotSupported(d)
            | OAuthError::RequestUriNotSupported(d)
            | OAuthError::RegistrationNotSupported(d) => d,
        }
    }
}
