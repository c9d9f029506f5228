//! Ringbase's storage: one implementation of [`store::Store`] for SQLite and PostgreSQL.
//!
//! # Why one implementation for two databases
//! The logic (which rows a finished call writes, how a lead is deduplicated, what a filter
//! means) is the same for both; only the DDL and a few dialect bits differ. Two copies of every
//! query would drift apart, so there is one code path, on sqlx's `Any` driver, and the
//! conformance suite (`store::conformance`) runs it against both databases.
//!
//! What keeps one path possible:
//! - each backend has its own migrations (`migrations/sqlite`, `migrations/postgres`), written
//!   to differ only in id and integer column types;
//! - values crossing the driver are only `i64`, `String` and their `Option`s: instants as unix
//!   milliseconds, booleans as 0/1, enums as their `as_str()` names, JSON as text;
//! - queries use `$1, $2, ...` placeholders, `INSERT ... RETURNING` and `ON CONFLICT`, which
//!   both understand.
//!
//! # Layout
//! - [`SqlStore`] (this file): opening, pools, per-connection settings, migrations.
//! - `store_impl`: `impl Store for SqlStore`, one transaction per method, by aggregate.
//! - `calls`: `log_call`, the heart: line, lead, call record and timelines in one transaction.
//! - `rows`: rows to entities; `sql`: dynamic filters and multi-row inserts; `error`: driver
//!   errors to [`StoreError`] kinds.
//!
//! # Concurrency
//! SQLite has one writer at a time. Writes go through a pool of one connection (and start with
//! `BEGIN IMMEDIATE`, so a second process waits on the busy timeout instead of failing on a
//! stale snapshot); reads go through a separate pool and run beside the writer thanks to WAL.
//! PostgreSQL uses one pool. On both, "one open lead per number" and "one record per
//! idempotency key" are unique keys: a transaction that loses a race fails on the key and
//! `log_call` runs it again, and the retry finds the winner's row.

mod calls;
mod error;
mod rows;
mod sql;
mod store_impl;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use store::StoreError;

use error::backend;

/// Which SQL dialect is behind the `Any` pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect of a connection of the `Any` driver.
    pub(crate) fn of(conn: &sqlx::AnyConnection) -> Dialect {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }

    /// `count` bound-parameter placeholders, comma-separated, numbered from `first` where
    /// the dialect numbers them. SQLite gets anonymous `?`: for a named or numbered one
    /// (`$1`) sqlx asks SQLite for each parameter's name, and SQLite finds a name by walking
    /// the list of all of them, so binding the 1,600 parameters of a 64-row INSERT took
    /// quadratic time (7 % of the server's CPU under call load). Anonymous ones are bound in
    /// order, as written.
    pub(crate) fn placeholders(self, first: usize, count: usize) -> String {
        let list: Vec<String> = match self {
            Dialect::Sqlite => vec!["?".to_owned(); count],
            Dialect::Postgres => (first..first + count).map(|i| format!("${i}")).collect(),
        };
        list.join(", ")
    }
}

/// A SQLite or PostgreSQL database holding everything Ringbase stores.
///
/// Cheap to share as `Arc<dyn Store>`; the pools inside are reference-counted.
pub struct SqlStore {
    /// Where reads go. For PostgreSQL the same pool as `write`.
    read: AnyPool,
    /// Where write transactions go: one connection for SQLite (its single writer).
    write: AnyPool,
    dialect: Dialect,
    /// Which events have webhook subscribers, remembered briefly (see [`Subscribers`]).
    subscribers: store_impl::Subscribers,
}

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Readers beside SQLite's single writer.
const SQLITE_READERS: u32 = 4;
/// Connections to PostgreSQL per store: modest, the server is shared.
const POSTGRES_CONNECTIONS: u32 = 10;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long SQLite waits for another process's write lock before failing with BUSY.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

impl SqlStore {
    /// Opens `sqlite:PATH` (`sqlite::memory:` for a throwaway database) or
    /// `postgres://...` / `postgresql://...`, and brings the schema up to date.
    pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("sqlite:") {
            Self::open_sqlite_url(url).await
        } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Self::open_postgres(url, None).await
        } else {
            Err(StoreError::Backend(format!(
                "unsupported database URL {:?}: use sqlite:PATH or postgres://...",
                redact(url)
            )))
        }
    }

    /// Opens the SQLite database file at `path`, creating it if missing, and brings the schema
    /// up to date.
    pub async fn open_sqlite_file(path: &Path) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().map_err(backend)?.join(path)
        };
        let path = absolute.to_str().ok_or_else(|| {
            StoreError::Backend(format!("database path {absolute:?} is not UTF-8"))
        })?;
        Self::open_sqlite_url(&format!("sqlite://{}?mode=rwc", encode_path(path))).await
    }

    /// Opens PostgreSQL with every connection's `search_path` set to `schema`, creating the
    /// schema if missing, and brings the schema up to date. Several stores can share one
    /// database this way; the tests give each case an empty schema.
    pub async fn open_postgres_schema(url: &str, schema: &str) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(StoreError::Backend(format!(
                "schema name {schema:?}: use lowercase letters, digits and '_' (at most 63)"
            )));
        }
        Self::open_postgres(url, Some(schema)).await
    }

    /// Closes the pools, waiting for queries in flight.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    async fn open_sqlite_url(url: &str) -> Result<SqlStore, StoreError> {
        let options = AnyConnectOptions::from_str(url).map_err(backend)?;
        // Every connection to `:memory:` is a database of its own, so an in-memory store must
        // keep exactly one connection for reads and writes alike, and never let it go.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = |max: u32| {
            let mut pool = AnyPoolOptions::new()
                .max_connections(max)
                .min_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                // A local file does not go away: skip the ping before every query.
                .test_before_acquire(false);
            if in_memory {
                pool = pool.idle_timeout(None).max_lifetime(None);
            }
            pool.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers run beside the writer. FULL syncs the WAL on every
                    // commit, so a finished call record survives a power cut, not only a
                    // process crash. Foreign keys are per connection in SQLite.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    // Statement journals (every insert that checks a foreign key inside a
                    // transaction opens one) stay in memory: by default they spill to a
                    // temporary file past 64 KiB, which in a batch of call records meant a
                    // write() for nearly every page touched.
                    conn.execute("PRAGMA temp_store = MEMORY").await?;
                    conn.execute(
                        format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str(),
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(options.clone())
        };
        let write = pool(1).await.map_err(backend)?;
        MIGRATE_SQLITE.run(&write).await.map_err(backend)?;
        let read = if in_memory {
            write.clone()
        } else {
            pool(SQLITE_READERS).await.map_err(backend)?
        };
        Ok(SqlStore {
            read,
            write,
            dialect: Dialect::Sqlite,
            subscribers: Default::default(),
        })
    }

    async fn open_postgres(url: &str, schema: Option<&str>) -> Result<SqlStore, StoreError> {
        let options = AnyConnectOptions::from_str(url).map_err(backend)?;
        if let Some(schema) = schema {
            let mut setup = <sqlx::AnyConnection as sqlx::Connection>::connect_with(&options)
                .await
                .map_err(backend)?;
            setup
                .execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
                .await
                .map_err(backend)?;
            sqlx::Connection::close(setup).await.map_err(backend)?;
        }
        let search_path = schema.map(|s| format!("SET search_path TO {s}"));
        let pool = AnyPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    if let Some(sql) = search_path {
                        conn.execute(sql.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(backend)?;
        MIGRATE_POSTGRES.run(&pool).await.map_err(backend)?;
        Ok(SqlStore {
            read: pool.clone(),
            write: pool,
            dialect: Dialect::Postgres,
            subscribers: Default::default(),
        })
    }
}

/// Percent-encodes what sqlx's SQLite URL parser would take for syntax (`?`, `#`, `%`, ...).
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !c.is_ascii() || c.is_ascii_alphanumeric() || "/-_.~:+,=@".contains(c) {
            out.push(c);
        } else {
            out.push_str(&format!("%{:02X}", u32::from(c)));
        }
    }
    out
}

/// A URL with its password masked, for error messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_escaped_for_the_url() {
        assert_eq!(encode_path("/data/ringbase.db"), "/data/ringbase.db");
        assert_eq!(encode_path("/a b/c?d#e%f.db"), "/a%20b/c%3Fd%23e%25f.db");
        assert_eq!(encode_path("/dätä/x y.db"), "/dätä/x%20y.db");
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            redact("mysql://rb:secret@db/ringbase"),
            "mysql://rb:***@db/ringbase"
        );
        assert_eq!(redact("mysql://db/ringbase"), "mysql://db/ringbase");
    }
}
