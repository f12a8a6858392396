//! The forms of the server's own pages (setup, account, admin UI): like the OAuth
//! forms (`form.rs`: url-encoded, 16 KiB, strict UTF-8) but a name may repeat
//! (checkboxes) and a text area may hold line breaks. No other control character
//! passes, so none reaches a database or a log.

use actix_web::HttpRequest;

use super::form;
use super::pages::PageError;
use crate::crypto::Secret;
use crate::protocol::params::form_decode;

/// A submitted page form: its fields in order.
pub struct PageForm(Vec<(String, String)>);

impl PageForm {
    /// Reads the body of a page's form POST; a body that is not a readable form is
    /// a 400 page.
    pub fn read(req: &HttpRequest, body: &[u8]) -> Result<PageForm, PageError> {
        let unreadable = |why: &str| {
            PageError::bad_request(
                "The form could not be read",
                format!("{why} Go back, reload the page and try again."),
            )
        };
        if !form::is_form(req) {
            return Err(unreadable("The form was not sent as a web form."));
        }
        if body.len() > form::MAX_FORM_BYTES {
            return Err(unreadable("The form is too large."));
        }
        let mut fields = Vec::new();
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[..0]),
            };
            let (Some(name), Some(value)) = (form_decode(name), form_decode(value)) else {
                return Err(unreadable("The form holds characters that are not text."));
            };
            let typed = |c: char| !c.is_control() || matches!(c, '\r' | '\n' | '\t');
            if !name.chars().all(typed) || !value.chars().all(typed) {
                return Err(unreadable(
                    "The form holds characters that cannot be typed.",
                ));
            }
            fields.push((name, value));
        }
        Ok(PageForm(fields))
    }

    /// The last value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// `get`, or the empty string.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// A password field exactly as typed (no trimming).
    pub fn secret(&self, name: &str) -> Secret<String> {
        Secret::new(
            self.0
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        )
    }

    /// Every non-blank value of `name` (checkboxes), in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, v)| n == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// A text area's lines, trimmed, blank ones dropped.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.get(name)
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}
