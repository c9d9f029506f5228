//! Driver errors turned into what callers act on ([`StoreError`]'s kinds).

use store::StoreError;

/// A unique key and the input field it guards. SQLite names the violated key by its columns
/// (`UNIQUE constraint failed: users.login_lower`), PostgreSQL by the constraint's name; the
/// migrations name every constraint so both are known here.
struct UniqueKey {
    sqlite: &'static str,
    postgres: &'static str,
    field: &'static str,
    message: &'static str,
}

const UNIQUE_KEYS: &[UniqueKey] = &[
    UniqueKey {
        sqlite: "users.login_lower",
        postgres: "users_login_lower_key",
        field: "login",
        message: "is taken (logins are compared case-insensitively)",
    },
    UniqueKey {
        sqlite: "sip_credentials.username",
        postgres: "sip_credentials_username_key",
        field: "username",
        message: "is the SIP user name of another user",
    },
    UniqueKey {
        sqlite: "users.extension",
        postgres: "users_extension_key",
        field: "extension",
        message: "belongs to another user",
    },
    UniqueKey {
        sqlite: "sessions.token_hash",
        postgres: "sessions_pkey",
        field: "token_hash",
        message: "exists already",
    },
    UniqueKey {
        sqlite: "api_keys.key_hash",
        postgres: "api_keys_key_hash_key",
        field: "key_hash",
        message: "exists already",
    },
    UniqueKey {
        sqlite: "devices.token_hash",
        postgres: "devices_token_hash_key",
        field: "token_hash",
        message: "exists already",
    },
    UniqueKey {
        sqlite: "sources.name_lower",
        postgres: "sources_name_lower_key",
        field: "name",
        message: "exists already (source names are compared case-insensitively)",
    },
    UniqueKey {
        sqlite: "lines.number_e164",
        postgres: "lines_number_e164_key",
        field: "number",
        message: "is already one of our lines",
    },
    UniqueKey {
        sqlite: "lead_exceptions.e164",
        postgres: "lead_exceptions_pkey",
        field: "number",
        message: "is on the exception list already",
    },
    UniqueKey {
        sqlite: "calls.idempotency_key",
        postgres: "calls_idempotency_key_key",
        field: "idempotency_key",
        message: "was used for another call",
    },
    UniqueKey {
        sqlite: "open_lead_numbers.e164",
        postgres: "open_lead_numbers_pkey",
        field: "phones",
        message: "another open lead carries this number",
    },
];

/// Maps a driver error: unique violations become `Conflict` naming the input field, foreign-key
/// violations `MissingReference`, everything else `Backend`.
///
/// Callers that can name the missing reference better check it themselves first (SQLite's
/// foreign-key error does not say which key failed).
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            let constraint = d.constraint().unwrap_or_default();
            let message = d.message();
            if let Some(key) = UNIQUE_KEYS
                .iter()
                .find(|k| constraint == k.postgres || message.contains(k.sqlite))
            {
                return StoreError::Conflict {
                    field: key.field.to_string(),
                    message: key.message.to_string(),
                };
            }
            return StoreError::Conflict {
                field: "id".into(),
                message: format!("conflicts with an existing entry ({message})"),
            };
        }
        if d.is_foreign_key_violation() {
            return StoreError::MissingReference {
                field: d.constraint().unwrap_or("reference").to_string(),
                entity: "referenced entity",
            };
        }
    }
    StoreError::Backend(e.to_string())
}

/// True when a transaction failed because a concurrent one got there first, so running it again
/// will see the winner's rows: a unique violation, SQLite's BUSY (another process holds the
/// write lock past the busy timeout, or the read snapshot went stale), PostgreSQL's
/// serialization failure or deadlock.
pub(crate) fn lost_race(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation()
                || matches!(
                    d.code().as_deref(),
                    Some("5" | "517" | "261" | "40001" | "40P01")
                )
        }
        _ => false,
    }
}

pub(crate) fn not_found(entity: &'static str, id: i64) -> StoreError {
    StoreError::NotFound { entity, id }
}

/// For errors that are neither the database's nor the caller's (a row we cannot decode).
pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}
