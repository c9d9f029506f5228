//! Who is asking: API keys, user sessions and bridge devices, and what their role allows.
//!
//! Secrets are random tokens with a kind prefix (`rbk_` API key, `rbs_` session, `rbd_`
//! device). Only their SHA-256 is stored: the tokens carry ~238 bits of randomness, so a fast
//! hash is enough and keeps every request's check cheap. Passwords are low-entropy and get
//! argon2. A wrong login and a wrong password get the same answer after the same work.

use crate::error::{ApiError, ApiResult};
use crate::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use domain::{ApiKeyId, Device, NewUser, Role, User, Validate};
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use store::Store;

pub const SESSION_COOKIE: &str = "rb_session";

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    ApiKey(ApiKeyId),
    Session,
    Device(Device),
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub role: Role,
    /// The employee behind a session or a device; `None` for API keys.
    pub user: Option<User>,
    pub via: Via,
}

impl Principal {
    /// Refuses with 403 unless the caller's role includes `needed`.
    pub fn require(&self, needed: Role) -> ApiResult<()> {
        if matches!(self.via, Via::Device(_)) {
            return Err(ApiError::forbidden(
                "bridge devices may only use the bridge API",
            ));
        }
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this needs the {needed} role")))
        }
    }

    pub fn user_id(&self) -> Option<domain::UserId> {
        self.user.as_ref().map(|u| u.id)
    }

    /// Agents see their own calls only; supervisors and admins see all.
    pub fn sees_all_calls(&self) -> bool {
        self.role.allows(Role::Supervisor)
    }
}

/// A new random token with the given kind prefix.
pub fn new_token(prefix: &str) -> String {
    let random: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("{prefix}{random}")
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates an API key and returns the only copy of its secret.
pub async fn create_api_key(store: &dyn Store, name: &str, role: Role) -> ApiResult<String> {
    domain::validation::require_text("name", name, 100)?;
    let key = new_token("rbk_");
    store
        .create_api_key(name, role, &key[..12], &token_hash(&key))
        .await?;
    Ok(key)
}

pub fn hash_password(password: &str) -> ApiResult<String> {
    if password.chars().count() < 8 {
        return Err(ApiError::invalid(
            "password",
            "must be at least 8 characters",
        ));
    }
    if password.len() > 1024 {
        return Err(ApiError::invalid("password", "must be at most 1024 bytes"));
    }
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash no password matches, verified when the login is unknown so that an unknown login
/// costs the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(new_token("decoy").as_bytes(), &salt)
            .expect("argon2 hashes")
            .to_string()
    })
}

/// Checks a login and password; `None` for a wrong login or a wrong password alike.
pub async fn check_password(
    store: &dyn Store,
    login: &str,
    password: &str,
) -> ApiResult<Option<User>> {
    let found = store.find_user_by_login(login).await?;
    let (user, hash) = match found {
        Some((user, Some(hash))) => (Some(user), hash),
        _ => (None, decoy_hash().to_string()),
    };
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    Ok(user.filter(|_| matches))
}

/// Adds an employee, hashing the web password if one is given.
pub async fn add_user(store: &dyn Store, user: NewUser, password: Option<&str>) -> ApiResult<User> {
    user.validate()?;
    let hash = match password {
        Some(p) => {
            let p = p.to_string();
            Some(
                tokio::task::spawn_blocking(move || hash_password(&p))
                    .await
                    .map_err(ApiError::internal)??,
            )
        }
        None => None,
    };
    Ok(store.create_user(user, hash).await?)
}

fn bearer_or_cookie(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then(|| value.to_string())
        })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_or_cookie(parts).ok_or_else(ApiError::unauthorized)?;
        let store = state.store();
        let hash = token_hash(&token);
        let now = chrono::Utc::now();
        let principal = if token.starts_with("rbk_") {
            store.find_api_key(&hash).await?.map(|key| Principal {
                role: key.role,
                user: None,
                via: Via::ApiKey(key.id),
            })
        } else if token.starts_with("rbs_") {
            store.find_session(&hash, now).await?.map(|user| Principal {
                role: user.role,
                user: Some(user),
                via: Via::Session,
            })
        } else if token.starts_with("rbd_") {
            match store.find_device(&hash, now).await? {
                Some(device) => {
                    let user = store.get_user(device.user_id).await?;
                    Some(Principal {
                        role: user.role,
                        user: Some(user),
                        via: Via::Device(device),
                    })
                }
                None => None,
            }
        } else {
            None
        };
        principal.ok_or_else(ApiError::unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_prefixed() {
        let a = new_token("rbk_");
        let b = new_token("rbk_");
        assert!(a.starts_with("rbk_") && a.len() == 44);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsE", &hash));
        assert!(!verify_password("anything", decoy_hash()));
        assert_eq!(
            hash_password("short").unwrap_err().field.as_deref(),
            Some("password")
        );
    }
}

/// Extractors that check the role before the body is read, so a caller without the role gets
/// 403 whatever he sent, and nobody learns how a body for an endpoint he may not use is checked.
macro_rules! role_extractor {
    ($($(#[$doc:meta])* $name:ident => $role:expr),* $(,)?) => {$(
        $(#[$doc])*
        pub struct $name(pub Principal);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
                let principal = Principal::from_request_parts(parts, state).await?;
                principal.require($role)?;
                Ok($name(principal))
            }
        }
    )*};
}

role_extractor!(
    /// Any employee or API key (not a bridge device).
    Agent => Role::Agent,
    /// Supervisors and admins.
    Supervisor => Role::Supervisor,
    /// Admins only.
    Admin => Role::Admin,
);
