//! The one CSRF check of every form (DESIGN.md §5): the form carries a token bound
//! to its flow (a pending request's own random token) or to the browser's session
//! (derived from the session id, a secret only that browser holds); the check is
//! constant-time and a failure is the same 403 page everywhere.

use super::pages::PageError;
use crate::crypto::{constant_time_eq, token_hash};

/// The token of a form bound to the session whose cookie value is `session_id`:
/// distinct per `purpose`, and distinct from the session id's stored hash.
pub fn session_token(session_id: &str, purpose: &str) -> String {
    token_hash(&format!("{purpose}:{session_id}"))
}

/// Accepts the form only when it presents `expected`.
pub fn check(expected: Option<&str>, presented: Option<&str>) -> Result<(), PageError> {
    match (expected, presented) {
        (Some(expected), Some(presented))
            if !expected.is_empty() && constant_time_eq(presented, expected) =>
        {
            Ok(())
        }
        _ => Err(PageError::Forbidden),
    }
}
