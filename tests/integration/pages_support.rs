//! Helpers for the tests of the server-rendered pages (docs/admin-ui.md): reading
//! forms out of HTML, signing in outside an authorization request, admins and users
//! made with the real binary, and `portcullis serve` as a process (for the
//! first-run setup link, which only its log shows).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{CACHE_CONTROL, LOCATION};
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::oauth_support::{Browser, PASSWORD};
use crate::support::{portcullis, stderr, stdout_json, TestApp, TestDb};

/// What the login page says for every refused sign-in.
pub const LOGIN_REFUSED: &str = "Wrong username or password.";

// ---------------------------------------------------------------------------------
// Browsers
// ---------------------------------------------------------------------------------

/// A browser-like HTTP client: its own cookie jar, redirects not followed.
pub fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A new browser (own cookies, no redirects followed) for the server at `base_url`.
pub fn browser_at(base_url: &str) -> Browser {
    Browser {
        base_url: base_url.to_owned(),
        http: browser_client(),
    }
}

// ---------------------------------------------------------------------------------
// Reading HTML
// ---------------------------------------------------------------------------------

/// One start tag: its (lower-case) name, its attributes (names lower-case, values
/// entity-decoded; a bare attribute has the value `""`), and where it sits.
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// Byte offset of its `<`.
    pub start: usize,
    /// Byte offset just after its `>`.
    pub end: usize,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }
}

/// Every start tag of `html`, in document order (comments and end tags skipped).
pub fn start_tags(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i = html[i..]
                .find("-->")
                .map(|e| i + e + 3)
                .unwrap_or(bytes.len());
            continue;
        }
        let start = i;
        let mut j = i + 1;
        if j >= bytes.len() || !bytes[j].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'-') {
            j += 1;
        }
        let name = html[i + 1..j].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while j < bytes.len() && (bytes[j].is_ascii_whitespace() || bytes[j] == b'/') {
                j += 1;
            }
            if j >= bytes.len() {
                break;
            }
            if bytes[j] == b'>' {
                j += 1;
                break;
            }
            let name_start = j;
            while j < bytes.len()
                && !bytes[j].is_ascii_whitespace()
                && bytes[j] != b'='
                && bytes[j] != b'>'
                && bytes[j] != b'/'
            {
                j += 1;
            }
            let attr_name = html[name_start..j].to_ascii_lowercase();
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let mut value = String::new();
            if j < bytes.len() && bytes[j] == b'=' {
                j += 1;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'') {
                    let quote = bytes[j];
                    let value_start = j + 1;
                    j = value_start;
                    while j < bytes.len() && bytes[j] != quote {
                        j += 1;
                    }
                    value = decode_entities(&html[value_start..j.min(bytes.len())]);
                    j += 1;
                } else {
                    let value_start = j;
                    while j < bytes.len() && !bytes[j].is_ascii_whitespace() && bytes[j] != b'>' {
                        j += 1;
                    }
                    value = decode_entities(&html[value_start..j]);
                }
            }
            if !attr_name.is_empty() {
                attrs.push((attr_name, value));
            } else {
                j += 1;
            }
        }
        let end = j.min(bytes.len());
        tags.push(Tag {
            name,
            attrs,
            start,
            end,
        });
        i = end.max(start + 1);
    }
    tags
}

/// `text` with HTML character references decoded (`&amp;`, `&quot;`, `&#x27;`, `&#39;`…).
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(at, _)| at)
        else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => {
                if let Some(hex) = entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                {
                    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse::<u32>().ok().and_then(char::from_u32)
                } else {
                    None
                }
            }
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of the first `<input name="NAME">` (hidden or not) in `html`; `""` for
/// an input without a value.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    start_tags(html)
        .into_iter()
        .find(|t| t.name == "input" && t.attr("name") == Some(name))
        .map(|t| t.attr("value").unwrap_or("").to_owned())
}

/// Whether `html` has a form control (`input`, `textarea`, `select`, `button`) named `name`.
pub fn has_field(html: &str, name: &str) -> bool {
    start_tags(html).iter().any(|t| {
        matches!(t.name.as_str(), "input" | "textarea" | "select" | "button")
            && t.attr("name") == Some(name)
    })
}

/// The page's (first) CSRF token.
pub fn csrf_of(html: &str) -> String {
    hidden_field(html, "csrf_token").unwrap_or_else(|| panic!("no csrf_token in {html}"))
}

/// The HTML of every `<form>` whose `action` is `action` (a path without the
/// issuer's path; the issuer of these tests has none, but a full URL or a prefix is
/// accepted), from its start tag to its `</form>`.
pub fn forms_with_action<'a>(html: &'a str, action: &str) -> Vec<&'a str> {
    let action = action.split('?').next().unwrap();
    start_tags(html)
        .into_iter()
        .filter(|t| t.name == "form")
        .filter(|t| {
            t.attr("action")
                .map(|a| {
                    let a = a.split('?').next().unwrap();
                    a == action || a.ends_with(action)
                })
                .unwrap_or(false)
        })
        .map(|t| {
            let end = html[t.end..]
                .find("</form>")
                .map(|e| t.end + e + "</form>".len())
                .unwrap_or(html.len());
            &html[t.start..end]
        })
        .collect()
}

/// The CSRF token of the form that posts to `action` (a form's token may be bound
/// to its purpose); the page's first token when no form names that action.
pub fn form_csrf(html: &str, action: &str) -> String {
    forms_with_action(html, action)
        .into_iter()
        .find_map(|form| hidden_field(form, "csrf_token"))
        .unwrap_or_else(|| csrf_of(html))
}

/// The fields a browser would send for the form `form_html` as it stands: hidden
/// and text inputs with their values, checked checkboxes and radios, each select's
/// selected (or first) option, textareas' text. Buttons are left out.
pub fn form_defaults(form_html: &str) -> Vec<(String, String)> {
    let tags = start_tags(form_html);
    let mut fields = Vec::new();
    let mut i = 0;
    while i < tags.len() {
        let tag = &tags[i];
        let name = tag.attr("name").map(str::to_owned);
        match (tag.name.as_str(), name) {
            ("input", Some(name)) => {
                let kind = tag.attr("type").unwrap_or("text").to_ascii_lowercase();
                match kind.as_str() {
                    "submit" | "button" | "reset" | "image" | "file" => {}
                    "checkbox" | "radio" => {
                        if tag.has("checked") {
                            fields.push((name, tag.attr("value").unwrap_or("on").to_owned()));
                        }
                    }
                    _ => fields.push((name, tag.attr("value").unwrap_or("").to_owned())),
                }
            }
            ("textarea", Some(name)) => {
                let text = form_html[tag.end..]
                    .find("</textarea")
                    .map(|e| &form_html[tag.end..tag.end + e])
                    .unwrap_or("");
                let text = text.strip_prefix('\n').unwrap_or(text);
                fields.push((name, decode_entities(text)));
            }
            ("select", Some(name)) => {
                let mut first = None;
                let mut selected = None;
                let mut j = i + 1;
                while j < tags.len() && tags[j].name != "select" {
                    if tags[j].name == "option" {
                        let value = tags[j].attr("value").map(str::to_owned).unwrap_or_else(|| {
                            let end = form_html[tags[j].end..]
                                .find('<')
                                .map(|e| tags[j].end + e)
                                .unwrap_or(form_html.len());
                            decode_entities(form_html[tags[j].end..end].trim())
                        });
                        if first.is_none() {
                            first = Some(value.clone());
                        }
                        if tags[j].has("selected") && selected.is_none() {
                            selected = Some(value);
                        }
                    }
                    // A `</select>` is not a start tag: stop at the next control instead.
                    if matches!(tags[j].name.as_str(), "input" | "textarea" | "button") {
                        break;
                    }
                    j += 1;
                }
                if let Some(value) = selected.or(first) {
                    fields.push((name, value));
                }
            }
            _ => {}
        }
        i += 1;
    }
    fields
}

/// The name of the control in `form_html` that offers `value` as a choice: the
/// `<select>` with such an `<option>`, or a radio (or checkbox) with that value.
pub fn control_offering(form_html: &str, value: &str) -> Option<String> {
    let tags = start_tags(form_html);
    let mut select = None;
    for tag in &tags {
        match tag.name.as_str() {
            "select" => select = tag.attr("name").map(str::to_owned),
            "option" if tag.attr("value") == Some(value) => return select,
            "input"
                if tag.attr("value") == Some(value)
                    && matches!(tag.attr("type"), Some("radio") | Some("checkbox")) =>
            {
                return tag.attr("name").map(str::to_owned)
            }
            _ => {}
        }
    }
    None
}

/// Sets `name` to the one value `value` among `fields`.
pub fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(n, _)| n != name);
    fields.push((name.to_owned(), value.to_owned()));
}

/// `fields` as the borrowed pairs `Browser::post` takes.
pub fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The `value` a checkbox named `name` sends when checked (`on` without one), as a
/// browser would send it.
pub fn checkbox_value(html: &str, name: &str) -> String {
    start_tags(html)
        .into_iter()
        .find(|t| t.name == "input" && t.attr("name") == Some(name))
        .and_then(|t| t.attr("value").map(str::to_owned))
        .unwrap_or_else(|| "on".to_owned())
}

/// Whether an element with `id="ID"` is in `html`.
pub fn has_id(html: &str, id: &str) -> bool {
    start_tags(html).iter().any(|t| t.attr("id") == Some(id))
}

/// The text of the element with `id="ID"` (its tags stripped, entities decoded,
/// trimmed); for an `<input>`, its value.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let tag = start_tags(html)
        .into_iter()
        .find(|t| t.attr("id") == Some(id))?;
    if tag.name == "input" {
        return Some(tag.attr("value").unwrap_or("").trim().to_owned());
    }
    let open = format!("<{}", tag.name);
    let close = format!("</{}", tag.name);
    let lower = html.to_ascii_lowercase();
    let mut depth = 1;
    let mut at = tag.end;
    let inner_end = loop {
        let next_open = lower[at..].find(&open).map(|p| at + p);
        let next_close = lower[at..].find(&close).map(|p| at + p);
        match (next_open, next_close) {
            (Some(o), Some(c)) if o < c => {
                // `<p` must not match `<pre`: only a whole tag name counts.
                let after = lower
                    .as_bytes()
                    .get(o + open.len())
                    .copied()
                    .unwrap_or(b'>');
                if !after.is_ascii_alphanumeric() {
                    depth += 1;
                }
                at = o + open.len();
            }
            (_, Some(c)) => {
                let after = lower
                    .as_bytes()
                    .get(c + close.len())
                    .copied()
                    .unwrap_or(b'>');
                if !after.is_ascii_alphanumeric() {
                    depth -= 1;
                    if depth == 0 {
                        break c;
                    }
                }
                at = c + close.len();
            }
            (_, None) => break html.len(),
        }
    };
    Some(
        decode_entities(&strip_tags(&html[tag.end..inner_end]))
            .trim()
            .to_owned(),
    )
}

/// `html` without its tags.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The error shown next to `field` (`<p class="field-error" id="error-FIELD">`).
pub fn field_error(html: &str, field: &str) -> Option<String> {
    element_text(html, &format!("error-{field}"))
}

// ---------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------

/// The `Location` of `response`, as a path (with query) when it points at `base_url`
/// or is already relative; a foreign absolute URL is returned whole.
pub fn location_path(response: &Response, base_url: &str) -> String {
    let location = response
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location on a {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned();
    relative_to(&location, base_url)
}

/// `location` as a path on `base_url`'s origin (an absolute URL on another origin,
/// or a scheme-relative one, is returned unchanged).
pub fn relative_to(location: &str, base_url: &str) -> String {
    let base = url::Url::parse(base_url).unwrap();
    let origin = base.origin().ascii_serialization();
    if let Some(rest) = location.strip_prefix(&origin) {
        if rest.is_empty() {
            return "/".to_owned();
        }
        if rest.starts_with('/') || rest.starts_with('?') {
            return rest.to_owned();
        }
    }
    location.to_owned()
}

/// The path part of a relative location (`/a/b?x=1` → `/a/b`).
pub fn path_of(location: &str) -> &str {
    location.split(['?', '#']).next().unwrap()
}

/// The decoded query of a relative or absolute location.
pub fn query_pairs(location: &str) -> std::collections::HashMap<String, String> {
    let url = url::Url::parse("http://placeholder.invalid")
        .unwrap()
        .join(location)
        .unwrap();
    url.query_pairs().into_owned().collect()
}

/// Asserts `response` is the **303** to `/login?next=<next>` an unsigned visitor gets.
pub fn assert_to_login(response: &Response, base_url: &str, next: &str) {
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a visitor without a session is sent to sign in ({})",
        response.url()
    );
    let location = location_path(response, base_url);
    assert_eq!(path_of(&location), "/login", "{location}");
    assert_eq!(
        query_pairs(&location).get("next").map(String::as_str),
        Some(next),
        "{location}"
    );
}

/// Asserts the headers every page carries (docs/admin-ui.md): `no-store`, a CSP
/// without inline script, no framing, `nosniff`, `no-referrer`.
pub fn assert_page_headers(response: &Response) {
    let what = response.url().to_string();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let cache = header(CACHE_CONTROL.as_str()).unwrap_or_default();
    assert!(
        cache.contains("no-store"),
        "{what}: Cache-Control `{cache}`"
    );
    let csp = header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    let script_directive = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .or_else(|| {
            csp.split(';')
                .map(str::trim)
                .find(|d| d.starts_with("default-src"))
        })
        .unwrap_or_else(|| panic!("{what}: CSP without script-src or default-src: {csp}"));
    assert!(
        !script_directive.contains("'unsafe-inline'")
            && !script_directive.contains("'unsafe-eval'"),
        "{what}: inline script allowed: {csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(
        header("x-frame-options")
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref(),
        Some("DENY"),
        "{what}"
    );
    assert_eq!(
        header("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header("referrer-policy").as_deref(),
        Some("no-referrer"),
        "{what}"
    );
}

/// Asserts `html` carries no inline script (every `<script>` has a `src`) and no
/// inline event handlers.
pub fn assert_no_inline_script(html: &str) {
    for tag in start_tags(html) {
        if tag.name == "script" {
            assert!(tag.has("src"), "inline <script> in {html}");
        }
        for (name, _) in &tag.attrs {
            assert!(
                !name.starts_with("on"),
                "inline event handler `{name}` on <{}>",
                tag.name
            );
        }
    }
}

/// GETs a page that must answer **200**, checks its headers and script, and returns
/// its HTML.
pub async fn page(browser: &Browser, path: &str) -> String {
    let response = browser.get(path).await;
    let status = response.status();
    assert_page_headers(&response);
    let html = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "GET {path}: {html}");
    assert_no_inline_script(&html);
    html
}

/// The status and HTML of a GET (headers checked, whatever the status).
pub async fn get_html(browser: &Browser, path: &str) -> (StatusCode, String) {
    let response = browser.get(path).await;
    let status = response.status();
    if status != StatusCode::SEE_OTHER && status != StatusCode::NOT_FOUND {
        assert_page_headers(&response);
    }
    (status, response.text().await.unwrap())
}

/// Posts `fields` to `action` with the CSRF token of that form on `page_path`
/// (fetched first, as a browser would have it).
pub async fn submit(
    browser: &Browser,
    page_path: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Response {
    let html = page(browser, page_path).await;
    submit_on(browser, &html, action, fields).await
}

/// Posts `fields` to `action` with the CSRF token of that form in `html`.
pub async fn submit_on(
    browser: &Browser,
    html: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Response {
    let csrf = form_csrf(html, action);
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf_token", csrf.as_str()));
    browser.post(action, &form).await
}

/// Asserts a successful POST: **303** with a `done=` notice; returns the location
/// (as a path).
pub fn assert_done(response: &Response, base_url: &str) -> String {
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a successful POST to {} redirects",
        response.url()
    );
    let location = location_path(response, base_url);
    assert!(
        location.starts_with('/'),
        "stays on this server: {location}"
    );
    assert!(location.contains("done="), "a notice: {location}");
    location
}

/// Asserts a POST was refused with **403** (and returns its HTML).
pub async fn assert_forbidden(response: Response) -> String {
    let status = response.status();
    let url = response.url().to_string();
    let html = response.text().await.unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "{url}: {html}");
    html
}

/// Asserts a form was refused for its input: **422**; returns the re-rendered page.
pub async fn assert_unprocessable(response: Response) -> String {
    let status = response.status();
    let url = response.url().to_string();
    assert_page_headers(&response);
    let html = response.text().await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {html}");
    html
}

// ---------------------------------------------------------------------------------
// Signing in
// ---------------------------------------------------------------------------------

/// The login page for `next`, then its form: `username`, `password`, `next` (as the
/// page carries it) and `csrf_token`. Returns the answer to the POST.
pub async fn sign_in(browser: &Browser, username: &str, password: &str, next: &str) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    let response = browser.get(&format!("/login?{query}")).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the login page for next={next}"
    );
    assert_page_headers(&response);
    let html = response.text().await.unwrap();
    let csrf = csrf_of(&html);
    let next_field = hidden_field(&html, "next").unwrap_or_else(|| next.to_owned());
    browser
        .post(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("next", next_field.as_str()),
                ("csrf_token", csrf.as_str()),
            ],
        )
        .await
}

/// [`sign_in`] that must succeed: asserts the **303** to `next` (the browser is then
/// signed in).
pub async fn signed_in(browser: &Browser, username: &str, password: &str, next: &str) {
    let response = sign_in(browser, username, password, next).await;
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::SEE_OTHER, "{username} signs in: {body}");
    let location = relative_to(&location.unwrap(), &browser.base_url);
    assert_eq!(path_of(&location), path_of(next), "{location}");
}

/// Asserts a sign-in with these credentials is refused (**200**, the one message).
pub async fn assert_sign_in_refused(browser: &Browser, username: &str, password: &str) {
    let response = sign_in(browser, username, password, "/account").await;
    let status = response.status();
    let html = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "refused sign-in of {username}");
    assert!(html.contains(LOGIN_REFUSED), "{html}");
}

// ---------------------------------------------------------------------------------
// Users and admins, made with the real binary
// ---------------------------------------------------------------------------------

/// `portcullis ARGS --json` on `db`, which must succeed: its JSON.
pub fn cli_json(db: &TestDb, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = portcullis(db, &args, None);
    assert!(out.status.success(), "{args:?} failed: {}", stderr(&out));
    stdout_json(&out)
}

/// Whether `portcullis ARGS --json` succeeds (e.g. `client show` of a deleted one).
pub fn cli_succeeds(db: &TestDb, args: &[&str]) -> bool {
    let mut args = args.to_vec();
    args.push("--json");
    portcullis(db, &args, None).status.success()
}

/// `user create --username USERNAME [--admin] --password-stdin --json` with `password`.
pub fn cli_create_user(db: &TestDb, username: &str, password: &str, admin: bool) -> Value {
    let mut args = vec!["user", "create", "--username", username];
    if admin {
        args.push("--admin");
    }
    args.extend(["--password-stdin", "--json"]);
    let line = format!("{password}\n");
    let out = portcullis(db, &args, Some(line.as_str()));
    assert!(
        out.status.success(),
        "user create {username}: {}",
        stderr(&out)
    );
    stdout_json(&out)
}

/// `user show USER --json`.
pub fn show_user(db: &TestDb, user: &str) -> Value {
    cli_json(db, &["user", "show", user])
}

/// `client show ID --json`.
pub fn show_client(db: &TestDb, id: &str) -> Value {
    cli_json(db, &["client", "show", id])
}

/// The client ids `client list --json` shows.
pub fn client_ids(db: &TestDb) -> Vec<String> {
    cli_json(db, &["client", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The usernames `user list --json` shows.
pub fn usernames(db: &TestDb) -> Vec<String> {
    cli_json(db, &["user", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

/// `keys list --json`.
pub fn keys_listed(db: &TestDb) -> Vec<Value> {
    cli_json(db, &["keys", "list"]).as_array().unwrap().clone()
}

/// `audit list FILTERS --json`, newest first.
pub fn audit(db: &TestDb, filters: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "list"];
    args.extend_from_slice(filters);
    cli_json(db, &args).as_array().unwrap().clone()
}

/// How many of `events` are of `kind`.
pub fn count_kind(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"] == kind).count()
}

/// An administrator signed in to the admin UI.
pub struct Admin {
    pub browser: Browser,
    pub id: String,
    pub username: String,
    pub password: String,
}

/// A plain user signed in to the account page.
pub struct SignedInUser {
    pub browser: Browser,
    pub id: String,
    pub username: String,
}

/// Creates the administrator `username` (password [`PASSWORD`]) with the binary and
/// signs them in to `/admin` in a new browser.
pub async fn admin_named(app: &TestApp, username: &str) -> Admin {
    let user = cli_create_user(&app.db, username, PASSWORD, true);
    let browser = app.browser();
    signed_in(&browser, username, PASSWORD, "/admin").await;
    Admin {
        browser,
        id: user["id"].as_str().unwrap().to_owned(),
        username: username.to_owned(),
        password: PASSWORD.to_owned(),
    }
}

/// The administrator `root`, signed in (a fresh sign-in: no re-authentication due).
pub async fn admin_session(app: &TestApp) -> Admin {
    admin_named(app, "root").await
}

/// Creates the plain user `username` (password [`PASSWORD`]) with the binary and
/// signs them in to `/account` in a new browser.
pub async fn user_session(app: &TestApp, username: &str) -> SignedInUser {
    let user = cli_create_user(&app.db, username, PASSWORD, false);
    let browser = app.browser();
    signed_in(&browser, username, PASSWORD, "/account").await;
    SignedInUser {
        browser,
        id: user["id"].as_str().unwrap().to_owned(),
        username: username.to_owned(),
    }
}

// ---------------------------------------------------------------------------------
// The client form
// ---------------------------------------------------------------------------------

/// The fields of the client form as a browser sends them (empty ones included).
pub fn client_form<'a>(
    name: &'a str,
    redirect_uris: &'a str,
    grant_types: &[&'a str],
    scope: &'a str,
    auth_method: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("client_name", name),
        ("redirect_uris", redirect_uris),
        ("post_logout_redirect_uris", ""),
    ];
    for grant in grant_types {
        form.push(("grant_types", *grant));
    }
    form.push(("scope", scope));
    if let Some(method) = auth_method {
        form.push(("token_endpoint_auth_method", method));
    }
    form.push(("access_token_signing_alg", ""));
    form.push(("id_token_signed_response_alg", ""));
    form
}

/// A client registered in the admin UI: the id and, when confidential, the secret
/// shown once.
#[derive(Debug, Clone)]
pub struct Registered {
    pub id: String,
    pub secret: Option<String>,
    pub html: String,
}

impl Registered {
    /// As the OAuth helpers hold a client.
    pub fn client(&self) -> crate::oauth_support::Client {
        crate::oauth_support::Client {
            id: self.id.clone(),
            secret: self.secret.clone(),
        }
    }
}

/// Registers a client through `/admin/clients/new`; asserts the **200** page with
/// `id="client-id"` (and reads `id="client-secret"` when there is one).
pub async fn register_client(browser: &Browser, form: &[(&str, &str)]) -> Registered {
    let response = submit(browser, "/admin/clients/new", "/admin/clients", form).await;
    let status = response.status();
    assert_page_headers(&response);
    let html = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "registered: {html}");
    let id =
        element_text(&html, "client-id").unwrap_or_else(|| panic!("no id=\"client-id\" on {html}"));
    assert!(!id.is_empty(), "{html}");
    let secret = element_text(&html, "client-secret").filter(|s| !s.is_empty());
    Registered { id, secret, html }
}

/// A confidential client_credentials client with `read write`, registered in the UI.
pub async fn register_service(browser: &Browser, name: &str) -> Registered {
    let form = client_form(
        name,
        "",
        &["client_credentials"],
        "read write",
        Some("client_secret_basic"),
    );
    let registered = register_client(browser, &form).await;
    assert!(
        registered.secret.is_some(),
        "a confidential client gets a secret"
    );
    registered
}

/// A client_credentials token request with HTTP Basic: status and JSON body.
pub async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Asserts the client's credentials work at the token endpoint.
pub async fn assert_credentials_work(app: &TestApp, id: &str, secret: &str) {
    let (status, body) = client_credentials(app, id, secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
}

/// Asserts the token endpoint refuses the client: `invalid_client`.
pub async fn assert_credentials_refused(app: &TestApp, id: &str, secret: &str) {
    let (status, body) = client_credentials(app, id, secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client", "{body}");
}

/// A refresh request (RFC 6749 §6) as `client`.
pub async fn refresh(
    app: &TestApp,
    client: &crate::oauth_support::Client,
    refresh_token: &str,
) -> (StatusCode, Value) {
    app.token_json(
        client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// The kids the JWKS publishes now.
pub async fn jwks_kids(http: &reqwest::Client, base_url: &str) -> Vec<String> {
    let response = http
        .get(format!("{base_url}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set: Value = response.json().await.unwrap();
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

// ---------------------------------------------------------------------------------
// `portcullis serve` as a process
// ---------------------------------------------------------------------------------

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `portcullis serve` on `db`, on its own port with the issuer
/// `http://127.0.0.1:PORT`, its stderr (the log) collected line by line. Killed when
/// dropped.
pub struct Served {
    pub base_url: String,
    pub port: u16,
    child: Option<Child>,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    /// Starts the server and waits until `/healthz` answers 200.
    pub fn start(db: &TestDb) -> Served {
        Served::start_with(db, &[])
    }

    /// Like [`Served::start`] with extra settings.
    pub fn start_with(db: &TestDb, settings: &[(&str, String)]) -> Served {
        let port = free_port();
        let base_url = format!("http://127.0.0.1:{port}");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        cmd.arg("serve")
            .current_dir(db.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in db.env() {
            cmd.env(k, v);
        }
        cmd.env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
            .env("PORTCULLIS_ISSUER", &base_url);
        for (k, v) in settings {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let pipe = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                match line {
                    Ok(line) => sink.lock().unwrap().push(line),
                    Err(_) => break,
                }
            }
        });
        let mut served = Served {
            base_url,
            port,
            child: Some(child),
            lines,
            reader: Some(reader),
        };
        served.wait_until_healthy();
        served
    }

    fn wait_until_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("serve exited with {status}: {}", self.log());
                }
            }
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut answer = String::new();
                if stream
                    .write_all(b"GET /healthz HTTP/1.0\r\n\r\n")
                    .and_then(|()| stream.read_to_string(&mut answer))
                    .is_ok()
                    && answer.starts_with("HTTP/1.")
                    && answer.contains(" 200 ")
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("serve did not start on port {}: {}", self.port, self.log());
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// The first log line containing `needle`, waiting up to `timeout` for it.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return Some(line.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The first-run setup link the log shows
    /// (`first-run setup: open <issuer>/setup?token=<token> within 1 hour`).
    pub fn setup_link(&self) -> String {
        let line = self
            .wait_for_line("first-run setup: open ", Duration::from_secs(20))
            .unwrap_or_else(|| panic!("no first-run setup line in the log: {}", self.log()));
        setup_link_in(&line, &self.base_url)
    }

    /// A browser for this server.
    pub fn browser(&self) -> Browser {
        browser_at(&self.base_url)
    }

    /// Stops the server with SIGTERM; returns its whole log.
    pub fn stop(mut self) -> String {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.log()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The setup link in a log line: `…open <issuer>/setup?token=<token> within 1 hour`.
pub fn setup_link_in(line: &str, base_url: &str) -> String {
    let marker = "/setup?token=";
    let at = line
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in `{line}`"));
    assert!(
        line.contains(&format!("{base_url}{marker}")),
        "the link is on the issuer {base_url}: `{line}`"
    );
    let token: String = line[at + marker.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '%' | '='))
        .collect();
    assert!(token.len() >= 40, "a 256-bit token: `{token}` in `{line}`");
    format!("{base_url}{marker}{token}")
}
