//! The `users` table.

use diesel::prelude::*;

use super::schema::users;
use super::{DbConn, StoreError};
use crate::db_run;
use crate::protocol::id_token::UserFacts;

/// A stored user. No `Debug`: it carries the password hash.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub username_key: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub password_hash: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub failed_login_count: i32,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// JSON array of role names.
    pub roles: String,
    /// JSON array of group names.
    pub group_names: String,
}

impl UserRow {
    /// What claims may tell of this user (OIDC Core §5.1); stored roles or groups
    /// that do not parse are corrupt.
    pub fn facts(&self) -> Result<UserFacts, StoreError> {
        Ok(UserFacts {
            subject: self.id.clone(),
            username: self.username.clone(),
            name: self.name.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            updated_at: self.updated_at,
            roles: self.role_names()?,
            groups: self.groups()?,
        })
    }

    /// The user's roles.
    pub fn role_names(&self) -> Result<Vec<String>, StoreError> {
        names(&self.id, "roles", &self.roles)
    }

    /// The user's groups.
    pub fn groups(&self) -> Result<Vec<String>, StoreError> {
        names(&self.id, "groups", &self.group_names)
    }
}

fn names(id: &str, what: &str, stored: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(stored).map_err(|e| StoreError::Corrupt(format!("user {id}: {what}: {e}")))
}

/// Replaces the roles (`roles`) and groups (`groups`) of user `id`; `false` when
/// there is no such user.
pub fn set_roles_and_groups(
    conn: &mut DbConn,
    id: &str,
    roles: &[String],
    groups: &[String],
    now: i64,
) -> Result<bool, StoreError> {
    let roles = serde_json::to_string(roles).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let groups = serde_json::to_string(groups).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let changed = db_run!(conn, |c| diesel::update(users::table.find(id))
        .set((
            users::roles.eq(&roles),
            users::group_names.eq(&groups),
            users::updated_at.eq(now),
        ))
        .execute(c))?;
    Ok(changed == 1)
}

/// A user to insert.
#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub password_hash: &'a str,
    pub is_admin: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The key two usernames collide on: `Alice` and `alice` are the same account.
pub fn username_key(username: &str) -> String {
    username.to_lowercase()
}

/// Inserts a user. A taken username is a unique violation (see
/// [`StoreError::is_unique_violation`]).
pub fn insert(conn: &mut DbConn, user: &NewUser<'_>) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::insert_into(users::table)
        .values(user)
        .execute(c))?;
    Ok(())
}

/// All users, oldest first.
pub fn list(conn: &mut DbConn) -> Result<Vec<UserRow>, StoreError> {
    Ok(db_run!(conn, |c| users::table
        .order((users::created_at.asc(), users::username_key.asc()))
        .select(UserRow::as_select())
        .load(c))?)
}

/// The user with this username (case-insensitive), if any.
pub fn find_by_username(conn: &mut DbConn, username: &str) -> Result<Option<UserRow>, StoreError> {
    let key = username_key(username);
    Ok(db_run!(conn, |c| users::table
        .filter(users::username_key.eq(&key))
        .select(UserRow::as_select())
        .get_result(c)
        .optional())?)
}

/// The user with this id, if any.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(db_run!(conn, |c| users::table
        .find(id)
        .select(UserRow::as_select())
        .get_result(c)
        .optional())?)
}

/// Counts a failed login in one statement (parallel failures all count) and returns
/// the new count.
pub fn count_failed_login(conn: &mut DbConn, id: &str) -> Result<i32, StoreError> {
    Ok(db_run!(conn, |c| diesel::update(users::table.find(id))
        .set(users::failed_login_count.eq(users::failed_login_count + 1))
        .returning(users::failed_login_count)
        .get_result(c))?)
}

/// Locks the account until `until`.
pub fn lock(conn: &mut DbConn, id: &str, until: i64) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::update(users::table.find(id))
        .set(users::locked_until.eq(until))
        .execute(c))?;
    Ok(())
}

/// Clears the failure count after a successful login.
pub fn clear_failed_logins(conn: &mut DbConn, id: &str) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::update(users::table.find(id))
        .filter(
            users::failed_login_count
                .ne(0)
                .or(users::locked_until.is_not_null())
        )
        .set((
            users::failed_login_count.eq(0),
            users::locked_until.eq(None::<i64>)
        ))
        .execute(c))?;
    Ok(())
}

/// The user with this id, or else this username, if any.
pub fn find_by_id_or_username(
    conn: &mut DbConn,
    id_or_username: &str,
) -> Result<Option<UserRow>, StoreError> {
    match find(conn, id_or_username)? {
        Some(user) => Ok(Some(user)),
        None => find_by_username(conn, id_or_username),
    }
}

/// The profile fields an admin edits.
pub struct ProfileUpdate<'a> {
    pub email: Option<&'a str>,
    pub email_verified: bool,
    pub name: Option<&'a str>,
    pub is_admin: bool,
}

/// Writes the profile; false when there is no such user.
pub fn update_profile(
    conn: &mut DbConn,
    id: &str,
    profile: &ProfileUpdate<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::update(users::table.find(id))
        .set((
            users::email.eq(profile.email),
            users::email_verified.eq(profile.email_verified),
            users::name.eq(profile.name),
            users::is_admin.eq(profile.is_admin),
            users::updated_at.eq(now),
        ))
        .execute(c))?;
    Ok(n == 1)
}

/// Disables or enables the user; false when there is no such user.
pub fn set_disabled(
    conn: &mut DbConn,
    id: &str,
    disabled: bool,
    now: i64,
) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::update(users::table.find(id))
        .set((users::disabled.eq(disabled), users::updated_at.eq(now)))
        .execute(c))?;
    Ok(n == 1)
}

/// Replaces the password hash and lifts any lockout.
pub fn set_password_hash(
    conn: &mut DbConn,
    id: &str,
    password_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::failed_login_count.eq(0),
            users::locked_until.eq(None::<i64>),
            users::updated_at.eq(now),
        ))
        .execute(c))?;
    Ok(n == 1)
}

/// Deletes the user; sessions, consents, codes and refresh-token families go with
/// it (foreign keys `ON DELETE CASCADE`).
pub fn delete(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::delete(users::table.find(id)).execute(c))?;
    Ok(n == 1)
}

/// Whether some enabled user has the admin flag (first-run setup is offered until one does).
pub fn has_enabled_admin(conn: &mut DbConn) -> Result<bool, StoreError> {
    let n: i64 = db_run!(conn, |c| users::table
        .filter(users::is_admin.eq(true))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(c))?;
    Ok(n > 0)
}
