//! Employees: who may do what, and whether they can take calls now.

use crate::validation::{optional_text, require_text, FieldError, Validate};
use crate::{Phone, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What an employee may see and do. Ordered by power: `Agent < Supervisor < Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Takes calls; sees contacts, the calls he was part of and his own timeline work.
    Agent,
    /// Sees the whole floor: every call, live board, analytics.
    Supervisor,
    /// Changes settings, users, lines, keys and webhooks.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// True when this role includes everything `needed` may do.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown role {s:?}: expected admin, supervisor or agent"))
    }
}

/// Whether an employee takes calls now; routing skips everyone not `Working`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WorkState {
    #[default]
    OffShift,
    Working,
    Paused,
}

impl WorkState {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkState::OffShift => "off_shift",
            WorkState::Working => "working",
            WorkState::Paused => "paused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [WorkState::OffShift, WorkState::Working, WorkState::Paused]
            .into_iter()
            .find(|w| w.as_str() == s)
    }
}

/// An employee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    /// Unique sign-in name.
    pub login: String,
    pub role: Role,
    /// Internal number dialed to reach him, e.g. "101".
    pub extension: Option<String>,
    pub mobile: Option<Phone>,
    pub work_state: WorkState,
    /// Why he paused ("lunch"); only meaningful while paused.
    pub pause_reason: Option<String>,
    pub created_at: Timestamp,
}

/// What a new user is made from. The password is hashed by the caller before storage.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub name: String,
    pub login: String,
    pub role: Role,
    pub extension: Option<String>,
    pub mobile: Option<Phone>,
}

impl Validate for NewUser {
    fn validate(&self) -> Result<(), FieldError> {
        require_text("name", &self.name, 200)?;
        validate_login(&self.login)?;
        if let Some(ext) = &self.extension {
            validate_extension(ext)?;
        }
        Ok(())
    }
}

/// Logins are short, case-insensitive-looking names: letters, digits, `.`, `_`, `-`, `@`.
pub fn validate_login(login: &str) -> Result<(), FieldError> {
    require_text("login", login, 100)?;
    if !login
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(FieldError::new(
            "login",
            "may contain only letters, digits, '.', '_', '-' and '@'",
        ));
    }
    Ok(())
}

/// Extensions are 2 to 6 digits, as on the PBXs our users come from.
pub fn validate_extension(ext: &str) -> Result<(), FieldError> {
    if (2..=6).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(FieldError::new("extension", "must be 2 to 6 digits"))
    }
}

/// A change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub extension: Option<Option<String>>,
    pub mobile: Option<Option<Phone>>,
    pub work_state: Option<WorkState>,
    pub pause_reason: Option<Option<String>>,
}

impl Validate for UserPatch {
    fn validate(&self) -> Result<(), FieldError> {
        if let Some(name) = &self.name {
            require_text("name", name, 200)?;
        }
        if let Some(Some(ext)) = &self.extension {
            validate_extension(ext)?;
        }
        if let Some(Some(reason)) = &self.pause_reason {
            optional_text("pause_reason", reason, 200)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Admin.allows(Role::Supervisor));
        assert!(Role::Supervisor.allows(Role::Agent));
        assert!(!Role::Agent.allows(Role::Supervisor));
        assert_eq!("ADMIN".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn extensions_and_logins() {
        assert!(validate_extension("101").is_ok());
        assert!(validate_extension("1").is_err());
        assert!(validate_extension("10a").is_err());
        assert!(validate_login("anna.meier").is_ok());
        assert_eq!(validate_login("anna meier").unwrap_err().field, "login");
    }
}
