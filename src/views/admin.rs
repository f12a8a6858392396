//! The admin UI's pages (`/admin`, `/playground`).

use askama::Template;

use super::{Chrome, FieldErrors};

/// The algorithms a client may pick for its tokens (empty: the default).
pub struct AlgChoice {
    pub value: &'static str,
    pub label: String,
}

/// A client in the list.
pub struct ClientLine {
    pub client_id: String,
    pub name: String,
    pub kind: &'static str,
    pub grant_types: String,
    pub created: String,
    pub disabled: bool,
}

#[derive(Template)]
#[template(path = "admin/index.html")]
pub struct OverviewPage {
    pub chrome: Chrome,
    pub clients: usize,
    pub users: usize,
    pub admins: usize,
    pub keys: Vec<KeyLine>,
    pub events: Vec<AuditLine>,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
pub struct ClientsPage {
    pub chrome: Chrome,
    pub q: String,
    pub total: usize,
    pub clients: Vec<ClientLine>,
}

/// What the client form holds: what was typed, or what is stored.
#[derive(Default)]
pub struct ClientForm {
    pub client_name: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grant_types: Vec<String>,
    pub scope: String,
    pub token_endpoint_auth_method: String,
    pub access_token_signing_alg: String,
    pub id_token_signed_response_alg: String,
}

impl ClientForm {
    pub fn has_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

#[derive(Template)]
#[template(path = "admin/client_new.html")]
pub struct ClientNewPage {
    pub chrome: Chrome,
    pub form: ClientForm,
    pub errors: FieldErrors,
    pub algs: Vec<AlgChoice>,
}

/// A client's page: its details and the edit form.
#[derive(Template)]
#[template(path = "admin/client.html")]
pub struct ClientPage {
    pub chrome: Chrome,
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub disabled: bool,
    pub auth_method: &'static str,
    pub created: String,
    pub updated: String,
    /// While a rotation's grace runs: when the old secret stops working.
    pub previous_secret_until: Option<String>,
    pub form: ClientForm,
    pub errors: FieldErrors,
    pub algs: Vec<AlgChoice>,
    /// The secret-rotation form must ask for the password.
    pub reauthenticate: bool,
}

/// A secret shown once: after registration or rotation.
#[derive(Template)]
#[template(path = "admin/client_secret.html")]
pub struct ClientSecretPage {
    pub chrome: Chrome,
    pub client_id: String,
    pub client_name: String,
    pub secret: Option<String>,
    /// `false`: a registration; `true`: a rotation.
    pub rotated: bool,
    pub previous_secret_until: Option<String>,
    pub token_endpoint_auth_method: &'static str,
}

/// A hidden field a confirmation carries on.
pub struct Hidden {
    pub name: &'static str,
    pub value: String,
}

/// "Are you sure?" before something that cannot be undone, asking for the password
/// again when the last sign-in is too old.
#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub struct ConfirmPage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
    /// The form's action, under the issuer's path.
    pub action: String,
    pub button: &'static str,
    pub cancel: String,
    pub hidden: Vec<Hidden>,
    pub reauthenticate: bool,
    pub error: Option<&'static str>,
}

/// A user in the list.
pub struct UserLine {
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub admin: bool,
    pub disabled: bool,
    pub locked: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub chrome: Chrome,
    pub q: String,
    pub total: usize,
    pub users: Vec<UserLine>,
}

/// What the user forms hold.
#[derive(Default)]
pub struct UserForm {
    pub username: String,
    pub email: String,
    pub name: String,
    pub admin: bool,
    pub roles: String,
    pub groups: String,
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
pub struct UserNewPage {
    pub chrome: Chrome,
    pub form: UserForm,
    pub errors: FieldErrors,
}

/// A user's live session, for admins.
pub struct UserSessionLine {
    pub sid: String,
    pub started: String,
    pub last_seen: String,
    pub expires: String,
}

/// An app holding the user's consent, for admins.
pub struct UserAppLine {
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub granted: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
pub struct UserPage {
    pub chrome: Chrome,
    pub id: String,
    pub username: String,
    pub admin: bool,
    pub disabled: bool,
    pub locked_until: Option<String>,
    pub failed_logins: i32,
    pub created: String,
    pub updated: String,
    pub form: UserForm,
    pub errors: FieldErrors,
    pub password_errors: FieldErrors,
    pub sessions: Vec<UserSessionLine>,
    pub apps: Vec<UserAppLine>,
    /// The admin looking is this user (no disabling or deleting oneself).
    pub is_self: bool,
}

/// One signing key on the timeline.
pub struct KeyLine {
    pub kid: String,
    pub alg: String,
    pub state: &'static str,
    /// In words: "signs now", "waits", "retired", "revoked".
    pub status: String,
    pub created: String,
    pub signs_from: String,
    pub signs_until: String,
    pub leaves_jwks: String,
    pub revocable: bool,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
pub struct KeysPage {
    pub chrome: Chrome,
    pub keys: Vec<KeyLine>,
    pub algs: Vec<&'static str>,
    pub jwks_max_age: u64,
}

/// One audit event, for people.
pub struct AuditLine {
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub user: String,
    pub client: String,
    pub ip: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub kinds: Vec<&'static str>,
    pub kind: String,
    pub user: String,
    pub client: String,
    pub since: String,
    pub until: String,
    pub events: Vec<AuditLine>,
    pub page: i64,
    /// Links to the neighbouring pages (with the filters), if any.
    pub newer: Option<String>,
    pub older: Option<String>,
    pub error: Option<String>,
}

/// A client the playground can run a flow with.
pub struct PlaygroundClient {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub has_redirect: bool,
}

#[derive(Template)]
#[template(path = "admin/playground.html")]
pub struct PlaygroundPage {
    pub chrome: Chrome,
    pub clients: Vec<PlaygroundClient>,
    pub redirect_uri: String,
    pub selected: String,
    pub scope: String,
    pub error: Option<String>,
}

/// A decoded JWT: its header and claims as indented JSON.
pub struct DecodedToken {
    pub header: String,
    pub claims: String,
    /// Whether the signature verified against our published keys.
    pub verified: bool,
}

#[derive(Template)]
#[template(path = "admin/playground_result.html")]
pub struct PlaygroundResultPage {
    pub chrome: Chrome,
    pub client_name: String,
    /// The token endpoint's answer without the token values.
    pub token_response: String,
    pub id_token: Option<DecodedToken>,
    pub access_token: Option<DecodedToken>,
    pub userinfo: Option<String>,
    pub can_refresh: bool,
    pub refreshed: bool,
    pub flow: String,
    pub error: Option<String>,
}

impl AuditPage {
    /// Whether `kind` is the one filtered on.
    pub fn is_kind(&self, kind: &str) -> bool {
        self.kind == kind
    }
}
