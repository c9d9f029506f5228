//! `impl Store for SqlStore`: one transaction per method, grouped by aggregate as in the trait.

use crate::error::{backend, db, not_found};
use crate::rows::{self, columns, ms, to_json};
use crate::sql::{Arg, Sql};
use crate::{Dialect, SqlStore};
use async_trait::async_trait;
use domain::*;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row};
use std::collections::{BTreeSet, HashMap};
use store::*;

pub(crate) type Tx = sqlx::Transaction<'static, Any>;

/// Contacts per multi-row INSERT in `create_contacts`: 9 values each, well under both
/// databases' limits on bound parameters (SQLite 32766, PostgreSQL 65535).
const CONTACT_ROWS_PER_INSERT: usize = 500;
/// Phone-index rows per multi-row INSERT: 3 values each.
const PHONE_ROWS_PER_INSERT: usize = 1000;
/// Ids per `IN (...)` list when checking references in bulk.
const IDS_PER_CHECK: usize = 1000;

/// How long the subscribed event kinds are trusted. Webhooks written through this store
/// are seen at once (writes forget the cache); ones written by another node sharing a
/// PostgreSQL database start receiving events within this time.
const SUBSCRIBERS_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// The event kinds active webhooks subscribe to, as last read, with a generation counter so
/// a read that raced a webhook write is not kept.
#[derive(Default)]
pub(crate) struct Subscribers {
    state: std::sync::Mutex<SubscribersState>,
}

#[derive(Default)]
struct SubscribersState {
    generation: u64,
    kinds: Option<(std::time::Instant, Vec<EventKind>)>,
}

impl Subscribers {
    fn lock(&self) -> std::sync::MutexGuard<'_, SubscribersState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a webhook subscribes to `event`, if the kinds were read recently enough.
    fn known(&self, event: EventKind) -> Option<bool> {
        match &self.lock().kinds {
            Some((read_at, kinds)) if read_at.elapsed() < SUBSCRIBERS_FRESH_FOR => {
                Some(kinds.contains(&event))
            }
            _ => None,
        }
    }

    pub(crate) fn forget(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.kinds = None;
    }
}

impl SqlStore {
    /// Whether an active webhook subscribes to `event`.
    async fn has_subscribers(&self, event: EventKind) -> StoreResult<bool> {
        if let Some(known) = self.subscribers.known(event) {
            return Ok(known);
        }
        let generation = self.subscribers.lock().generation;
        let mut kinds: Vec<EventKind> = Vec::new();
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(webhook),
            " FROM webhooks WHERE active = 1"
        ))
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        for row in &rows {
            for kind in rows::webhook(row)?.events {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
        }
        let subscribed = kinds.contains(&event);
        let mut state = self.subscribers.lock();
        if state.generation == generation {
            state.kinds = Some((std::time::Instant::now(), kinds));
        }
        Ok(subscribed)
    }
}

impl SqlStore {
    /// Starts a write transaction. SQLite takes the write lock up front (`BEGIN IMMEDIATE`), so
    /// a writer in another process is waited for (busy timeout) instead of failing later when
    /// this transaction's read snapshot turns out to be stale.
    pub(crate) async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.write.begin().await,
        }
    }

    /// One row by id from the read pool, decoded, or `NotFound`.
    async fn by_id<T>(
        &self,
        sql: &'static str,
        id: i64,
        entity: &'static str,
        decode: fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let row = sqlx::query(sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?
            .ok_or_else(|| not_found(entity, id))?;
        decode(&row)
    }

    /// All rows of a static query on the read pool, decoded.
    async fn all<T>(
        &self,
        sql: &'static str,
        decode: fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let rows = sqlx::query(sql).fetch_all(&self.read).await.map_err(db)?;
        rows.iter().map(decode).collect()
    }

    /// A filtered, paged list on the read pool, decoded.
    async fn list<T>(
        &self,
        sql: &Sql,
        decode: fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let rows = sql.query().fetch_all(&self.read).await.map_err(db)?;
        rows.iter().map(decode).collect()
    }

    /// Rows of `table` with the given ids (any order), decoded.
    async fn by_ids<T>(
        &self,
        select: &'static str,
        ids: &[i64],
        decode: fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        if let [id] = ids {
            // The common case (one contact per number) stays a static, cached statement.
            let sql = format!("{select} = $1");
            let rows = sqlx::query(&sql)
                .bind(*id)
                .fetch_all(&self.read)
                .await
                .map_err(db)?;
            return rows.iter().map(decode).collect();
        }
        let mut sql = Sql::new(self.dialect, select);
        sql.push(" IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let p = sql.arg(Arg::Int(*id));
            sql.push(&p);
        }
        sql.push(")");
        self.list(&sql, decode).await
    }
}

/// `MissingReference` unless `id` is absent or names a row of `table`. Checked before writing
/// so the error names the input field on both backends (SQLite's foreign-key error does not
/// say which key failed, and PostgreSQL's names only a constraint).
async fn require_ref(
    conn: &mut AnyConnection,
    table: &'static str,
    id: Option<i64>,
    field: &str,
    entity: &'static str,
) -> StoreResult<()> {
    let Some(id) = id else { return Ok(()) };
    let sql = match table {
        "users" => "SELECT 1 FROM users WHERE id = $1",
        "companies" => "SELECT 1 FROM companies WHERE id = $1",
        "contacts" => "SELECT 1 FROM contacts WHERE id = $1",
        "leads" => "SELECT 1 FROM leads WHERE id = $1",
        "deals" => "SELECT 1 FROM deals WHERE id = $1",
        "sources" => "SELECT 1 FROM sources WHERE id = $1",
        "lines" => "SELECT 1 FROM lines WHERE id = $1",
        "calls" => "SELECT 1 FROM calls WHERE id = $1",
        other => return Err(backend(format!("no reference check for table {other}"))),
    };
    let found = sqlx::query(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::MissingReference {
            field: field.to_string(),
            entity,
        }),
    }
}

/// `MissingReference` on `subject` unless the contact, lead or deal exists.
async fn require_subject(conn: &mut AnyConnection, subject: Subject) -> StoreResult<()> {
    let (table, entity) = match subject {
        Subject::Contact(_) => ("contacts", "contact"),
        Subject::Lead(_) => ("leads", "lead"),
        Subject::Deal(_) => ("deals", "deal"),
    };
    require_ref(conn, table, Some(subject.raw_id()), "subject", entity).await
}

/// Which of `ids` exist in `table`, checked in bulk (for batch imports).
async fn existing_ids(
    conn: &mut AnyConnection,
    table: &'static str,
    ids: &BTreeSet<i64>,
) -> StoreResult<BTreeSet<i64>> {
    let mut found = BTreeSet::new();
    let ids: Vec<i64> = ids.iter().copied().collect();
    for chunk in ids.chunks(IDS_PER_CHECK) {
        let mut sql = Sql::new(
            Dialect::of(conn),
            &format!("SELECT id FROM {table} WHERE id IN ("),
        );
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let p = sql.arg(Arg::Int(*id));
            sql.push(&p);
        }
        sql.push(")");
        for row in sql.query().fetch_all(&mut *conn).await.map_err(db)? {
            found.insert(row.try_get::<i64, _>(0).map_err(db)?);
        }
    }
    Ok(found)
}

/// Replaces the numbers `phone_index` holds for one party.
pub(crate) async fn index_phones(
    conn: &mut AnyConnection,
    owner_kind: &'static str,
    owner_id: i64,
    phones: &[Phone],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM phone_index WHERE owner_kind = $1 AND owner_id = $2")
        .bind(owner_kind)
        .bind(owner_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let rows: Vec<(&str, i64)> = distinct_numbers(phones)
        .into_iter()
        .map(|e164| (e164, owner_id))
        .collect();
    insert_phone_rows(conn, owner_kind, &rows).await
}

/// Multi-row inserts into `phone_index`.
async fn insert_phone_rows(
    conn: &mut AnyConnection,
    owner_kind: &'static str,
    rows: &[(&str, i64)],
) -> StoreResult<()> {
    for chunk in rows.chunks(PHONE_ROWS_PER_INSERT) {
        let mut sql = Sql::new(
            Dialect::of(conn),
            "INSERT INTO phone_index (e164, owner_kind, owner_id) VALUES",
        );
        for (e164, owner_id) in chunk {
            sql.values_row([
                Arg::Text((*e164).to_string()),
                Arg::Text(owner_kind.to_string()),
                Arg::Int(*owner_id),
            ]);
        }
        sql.query().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

/// Each E.164 number once, in the order given (a party may list a number twice).
pub(crate) fn distinct_numbers(phones: &[Phone]) -> Vec<&str> {
    let mut seen = BTreeSet::new();
    phones
        .iter()
        .map(|p| p.e164.as_str())
        .filter(|e164| seen.insert(*e164))
        .collect()
}

/// Registers an open lead's numbers; `Conflict` on `phones[i]` when another open lead holds one.
///
/// `ON CONFLICT DO NOTHING` rather than a failing insert: PostgreSQL waits for a concurrent
/// transaction holding the same number and then reports it as taken, without aborting ours.
pub(crate) async fn claim_open_lead_numbers(
    conn: &mut AnyConnection,
    lead_id: i64,
    phones: &[Phone],
) -> StoreResult<()> {
    let mut seen = BTreeSet::new();
    for (i, phone) in phones.iter().enumerate() {
        if !seen.insert(phone.e164.as_str()) {
            continue;
        }
        let done = sqlx::query(
            "INSERT INTO open_lead_numbers (e164, lead_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(phone.e164.as_str())
        .bind(lead_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                field: format!("phones[{i}]"),
                message: "another open lead carries this number".into(),
            });
        }
    }
    Ok(())
}

/// Inserts a lead row and indexes its numbers (open-number registration is the caller's).
pub(crate) async fn insert_lead(
    conn: &mut AnyConnection,
    lead: &NewLead,
    created_at: i64,
) -> StoreResult<Lead> {
    let row = sqlx::query(concat!(
        "INSERT INTO leads (title, name, company_name, phones, emails, status, source_id, responsible_id, contact_id, created_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9) RETURNING ",
        columns!(lead)
    ))
    .bind(lead.title.trim())
    .bind(lead.name.as_deref())
    .bind(lead.company_name.as_deref())
    .bind(to_json(&lead.phones)?)
    .bind(to_json(&lead.emails)?)
    .bind(lead.status.as_str())
    .bind(lead.source_id.map(|i| i.0))
    .bind(lead.responsible_id.map(|i| i.0))
    .bind(created_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let created = rows::lead(&row)?;
    index_phones(conn, "lead", created.id.0, &created.phones).await?;
    Ok(created)
}

/// Creation stamps for rows whose trait method takes no `now` (users, keys, contacts, ...).
/// The store is an I/O edge, so reading the clock here is allowed; methods that take `now`
/// use it.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.read)
            .await
            .map_err(db)?;
        Ok(())
    }

    // ---- users and sign-in ----

    async fn create_user(&self, user: NewUser, password_hash: Option<String>) -> StoreResult<User> {
        let row = sqlx::query(concat!(
            "INSERT INTO users (name, login, login_lower, role, extension, mobile_e164, mobile_raw, work_state, pause_reason, password_hash, created_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10) RETURNING ",
            columns!(user)
        ))
        .bind(user.name.trim())
        .bind(user.login.as_str())
        .bind(user.login.to_lowercase())
        .bind(user.role.as_str())
        .bind(user.extension.as_deref())
        .bind(user.mobile.as_ref().map(|p| p.e164.as_str()))
        .bind(user.mobile.as_ref().map(|p| p.raw.as_str()))
        .bind(WorkState::default().as_str())
        .bind(password_hash)
        .bind(now_ms())
        .fetch_one(&self.write)
        .await
        .map_err(db)?;
        rows::user(&row)
    }

    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        self.by_id(
            concat!("SELECT ", columns!(user), " FROM users WHERE id = $1"),
            id.0,
            "user",
            rows::user,
        )
        .await
    }

    async fn find_user_by_login(&self, login: &str) -> StoreResult<Option<(User, Option<String>)>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(user),
            ", password_hash FROM users WHERE login_lower = $1"
        ))
        .bind(login.to_lowercase())
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        match row {
            Some(row) => Ok(Some((
                rows::user(&row)?,
                row.try_get("password_hash").map_err(db)?,
            ))),
            None => Ok(None),
        }
    }

    async fn find_user_by_extension(&self, extension: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(user),
            " FROM users WHERE extension = $1"
        ))
        .bind(extension)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.all(
            concat!("SELECT ", columns!(user), " FROM users ORDER BY id"),
            rows::user,
        )
        .await
    }

    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<User> {
        let mut tx = self.begin().await.map_err(db)?;
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(user),
            " FROM users WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| not_found("user", id.0))?;
        let mut user = rows::user(&row)?;
        if let Some(v) = patch.name {
            user.name = v.trim().to_string();
        }
        if let Some(v) = patch.role {
            user.role = v;
        }
        if let Some(v) = patch.extension {
            user.extension = v;
        }
        if let Some(v) = patch.mobile {
            user.mobile = v;
        }
        if let Some(v) = patch.work_state {
            user.work_state = v;
        }
        if let Some(v) = patch.pause_reason {
            user.pause_reason = v;
        }
        // A pause reason means something only while paused; a stale one would show on the board.
        if user.work_state != WorkState::Paused {
            user.pause_reason = None;
        }
        sqlx::query(
            "UPDATE users SET name = $1, role = $2, extension = $3, mobile_e164 = $4, mobile_raw = $5, work_state = $6, pause_reason = $7 WHERE id = $8",
        )
        .bind(user.name.as_str())
        .bind(user.role.as_str())
        .bind(user.extension.as_deref())
        .bind(user.mobile.as_ref().map(|p| p.e164.as_str()))
        .bind(user.mobile.as_ref().map(|p| p.raw.as_str()))
        .bind(user.work_state.as_str())
        .bind(user.pause_reason.as_deref())
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(user)
    }

    async fn set_user_password(&self, id: UserId, password_hash: String) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id.0)
            .execute(&self.write)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(not_found("user", id.0));
        }
        Ok(())
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: UserId,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(db)?;
        require_ref(&mut tx, "users", Some(user_id.0), "user_id", "user").await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id.0)
            .bind(ms(expires_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn find_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<User>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(user),
            " FROM users WHERE id = (SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2)"
        ))
        .bind(token_hash)
        .bind(ms(now))
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.write)
            .await
            .map_err(db)?;
        Ok(())
    }

    // ---- SIP credentials ----

    async fn set_sip_credentials(&self, c: SipCredentials) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(db)?;
        let exists = sqlx::query("SELECT 1 FROM users WHERE id = $1")
            .bind(c.user_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if exists.is_none() {
            return Err(not_found("user", c.user_id.0));
        }
        sqlx::query(
            "INSERT INTO sip_credentials (user_id, username, realm, ha1_md5, ha1_sha256, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET \
             username = excluded.username, realm = excluded.realm, ha1_md5 = excluded.ha1_md5, \
             ha1_sha256 = excluded.ha1_sha256, updated_at = excluded.updated_at",
        )
        .bind(c.user_id.0)
        .bind(c.username)
        .bind(c.realm)
        .bind(c.ha1_md5)
        .bind(c.ha1_sha256)
        .bind(ms(c.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn find_sip_credentials(&self, username: &str) -> StoreResult<Option<SipCredentials>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(sip_credentials),
            " FROM sip_credentials WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.as_ref().map(rows::sip_credentials).transpose()
    }

    async fn get_sip_credentials(&self, user_id: UserId) -> StoreResult<Option<SipCredentials>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(sip_credentials),
            " FROM sip_credentials WHERE user_id = $1"
        ))
        .bind(user_id.0)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.as_ref().map(rows::sip_credentials).transpose()
    }

    async fn delete_sip_credentials(&self, user_id: UserId) -> StoreResult<()> {
        sqlx::query("DELETE FROM sip_credentials WHERE user_id = $1")
            .bind(user_id.0)
            .execute(&self.write)
            .await
            .map_err(db)?;
        Ok(())
    }

    // ---- API keys and bridge devices ----

    async fn create_api_key(
        &self,
        name: &str,
        role: Role,
        prefix: &str,
        key_hash: &str,
    ) -> StoreResult<ApiKey> {
        let row = sqlx::query(concat!(
            "INSERT INTO api_keys (name, role, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING ",
            columns!(api_key)
        ))
        .bind(name)
        .bind(role.as_str())
        .bind(prefix)
        .bind(key_hash)
        .bind(now_ms())
        .fetch_one(&self.write)
        .await
        .map_err(db)?;
        rows::api_key(&row)
    }

    async fn find_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(api_key),
            " FROM api_keys WHERE key_hash = $1"
        ))
        .bind(key_hash)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.as_ref().map(rows::api_key).transpose()
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        self.all(
            concat!("SELECT ", columns!(api_key), " FROM api_keys ORDER BY id"),
            rows::api_key,
        )
        .await
    }

    async fn delete_api_key(&self, id: ApiKeyId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM api_keys WHERE id = $1")
            .bind(id.0)
            .execute(&self.write)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(not_found("api key", id.0));
        }
        Ok(())
    }

    async fn create_device(
        &self,
        name: &str,
        user_id: UserId,
        token_hash: &str,
    ) -> StoreResult<Device> {
        let mut tx = self.begin().await.map_err(db)?;
        require_ref(&mut tx, "users", Some(user_id.0), "user_id", "user").await?;
        let row = sqlx::query(concat!(
            "INSERT INTO devices (name, user_id, token_hash, created_at, last_seen_at) VALUES ($1, $2, $3, $4, NULL) RETURNING ",
            columns!(device)
        ))
        .bind(name)
        .bind(user_id.0)
        .bind(token_hash)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let device = rows::device(&row)?;
        tx.commit().await.map_err(db)?;
        Ok(device)
    }

    async fn find_device(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<Device>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(device),
            " FROM devices WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let mut device = rows::device(&row)?;
        // "Last seen" is informational: it is written when it moves by a minute or more, so a
        // busy device does not turn every authenticated request into a synced write.
        let stale = device
            .last_seen_at
            .is_none_or(|seen| (now - seen).abs() >= chrono::Duration::minutes(1));
        if stale {
            sqlx::query("UPDATE devices SET last_seen_at = $1 WHERE id = $2")
                .bind(ms(now))
                .bind(device.id.0)
                .execute(&self.write)
                .await
                .map_err(db)?;
            device.last_seen_at = Some(now);
        }
        Ok(Some(device))
    }

    async fn list_devices(&self) -> StoreResult<Vec<Device>> {
        self.all(
            concat!("SELECT ", columns!(device), " FROM devices ORDER BY id"),
            rows::device,
        )
        .await
    }

    async fn delete_device(&self, id: DeviceId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM devices WHERE id = $1")
            .bind(id.0)
            .execute(&self.write)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(not_found("device", id.0));
        }
        Ok(())
    }

    // ---- CRM: companies ----

    async fn create_company(&self, company: NewCompany) -> StoreResult<Company> {
        let mut tx = self.begin().await.map_err(db)?;
        require_ref(
            &mut tx,
            "users",
            company.responsible_id.map(|i| i.0),
            "responsible_id",
            "user",
        )
        .await?;
        let row = sqlx::query(concat!(
            "INSERT INTO companies (name, name_lower, phones, emails, responsible_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            columns!(company)
        ))
        .bind(company.name.trim())
        .bind(company.name.trim().to_lowercase())
        .bind(to_json(&company.phones)?)
        .bind(to_json(&company.emails)?)
        .bind(company.responsible_id.map(|i| i.0))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let created = rows::company(&row)?;
        index_phones(&mut tx, "company", created.id.0, &created.phones).await?;
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn get_company(&self, id: CompanyId) -> StoreResult<Company> {
        self.by_id(
            concat!(
                "SELECT ",
                columns!(company),
                " FROM companies WHERE id = $1"
            ),
            id.0,
            "company",
            rows::company,
        )
        .await
    }

    async fn find_company_by_name(&self, name: &str) -> StoreResult<Option<Company>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(company),
            " FROM companies WHERE name_lower = $1 ORDER BY id LIMIT 1"
        ))
        .bind(name.trim().to_lowercase())
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.as_ref().map(rows::company).transpose()
    }

    async fn list_companies(
        &self,
        filter: &CompanyFilter,
        page: Page,
    ) -> StoreResult<Vec<Company>> {
        let mut sql = Sql::new(
            self.dialect,
            concat!("SELECT ", columns!(company), " FROM companies WHERE 1 = 1"),
        );
        sql.and_contains("name_lower", filter.name_contains.as_deref());
        sql.and_eq(
            "responsible_id",
            filter.responsible_id.map(|i| Arg::Int(i.0)),
        );
        sql.push(" ORDER BY id");
        sql.page(page);
        self.list(&sql, rows::company).await
    }

    async fn delete_company(&self, id: CompanyId) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(db)?;
        // Contacts, deals and calls keep their rows and lose the link (ON DELETE SET NULL).
        let done = sqlx::query("DELETE FROM companies WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(not_found("company", id.0));
        }
        index_phones(&mut tx, "company", id.0, &[]).await?;
        tx.commit().await.map_err(db)
    }

    // ---- CRM: contacts ----

    async fn create_contact(&self, contact: NewContact) -> StoreResult<Contact> {
        let mut tx = self.begin().await.map_err(db)?;
        require_ref(
            &mut tx,
            "companies",
            contact.company_id.map(|i| i.0),
            "company_id",
            "company",
        )
        .await?;
        require_ref(
            &mut tx,
            "users",
            contact.responsible_id.map(|i| i.0),
            "responsible_id",
            "user",
        )
        .await?;
        require_ref(
            &mut tx,
            "sources",
            contact.source_id.map(|i| i.0),
            "source_id",
            "source",
        )
        .await?;
        let now = now_ms();
        let row = sqlx::query(concat!(
            "INSERT INTO contacts (name, name_lower, company_id, phones, emails, responsible_id, source_id, created_at, updated_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
            columns!(contact)
        ))
        .bind(contact.name.trim())
        .bind(contact.name.trim().to_lowercase())
        .bind(contact.company_id.map(|i| i.0))
        .bind(to_json(&contact.phones)?)
        .bind(to_json(&contact.emails)?)
        .bind(contact.responsible_id.map(|i| i.0))
        .bind(contact.source_id.map(|i| i.0))
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let created = rows::contact(&row)?;
        index_phones(&mut tx, "contact", created.id.0, &created.phones).await?;
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn create_contacts(&self, contacts: Vec<NewContact>) -> StoreResult<u64> {
        if contacts.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await.map_err(db)?;

        // References, checked in bulk; the error names the first contact that has a bad one.
        type RefOf = fn(&NewContact) -> Option<i64>;
        let checks: [(&'static str, &str, &'static str, RefOf); 3] = [
            ("companies", "company_id", "company", |c| {
                c.company_id.map(|i| i.0)
            }),
            ("users", "responsible_id", "user", |c| {
                c.responsible_id.map(|i| i.0)
            }),
            ("sources", "source_id", "source", |c| {
                c.source_id.map(|i| i.0)
            }),
        ];
        for (table, field, entity, id_of) in checks {
            let wanted: BTreeSet<i64> = contacts.iter().filter_map(id_of).collect();
            if wanted.is_empty() {
                continue;
            }
            let found = existing_ids(&mut tx, table, &wanted).await?;
            if let Some(i) = contacts
                .iter()
                .position(|c| id_of(c).is_some_and(|id| !found.contains(&id)))
            {
                return Err(StoreError::MissingReference {
                    field: format!("[{i}].{field}"),
                    entity,
                });
            }
        }

        // Multi-row inserts. RETURNING gives each new id with its own phones, so the phone index
        // is built from what was written whatever order the database returns rows in.
        let now = now_ms();
        for chunk in contacts.chunks(CONTACT_ROWS_PER_INSERT) {
            let mut sql = Sql::new(
                self.dialect,
                "INSERT INTO contacts (name, name_lower, company_id, phones, emails, responsible_id, source_id, created_at, updated_at) VALUES",
            );
            for c in chunk {
                sql.values_row([
                    Arg::Text(c.name.trim().to_string()),
                    Arg::Text(c.name.trim().to_lowercase()),
                    Arg::OptInt(c.company_id.map(|i| i.0)),
                    Arg::Text(to_json(&c.phones)?),
                    Arg::Text(to_json(&c.emails)?),
                    Arg::OptInt(c.responsible_id.map(|i| i.0)),
                    Arg::OptInt(c.source_id.map(|i| i.0)),
                    Arg::Int(now),
                    Arg::Int(now),
                ]);
            }
            sql.push(" RETURNING id, phones");
            let written = sql.query().fetch_all(&mut *tx).await.map_err(db)?;
            let mut owned: Vec<(Vec<Phone>, i64)> = Vec::with_capacity(written.len());
            for row in &written {
                owned.push((rows::json(row, "phones")?, rows::get(row, "id")?));
            }
            let phone_rows: Vec<(&str, i64)> = owned
                .iter()
                .flat_map(|(phones, id)| {
                    distinct_numbers(phones).into_iter().map(move |e| (e, *id))
                })
                .collect();
            insert_phone_rows(&mut tx, "contact", &phone_rows).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(contacts.len() as u64)
    }

    async fn get_contact(&self, id: ContactId) -> StoreResult<Contact> {
        self.by_id(
            concat!("SELECT ", columns!(contact), " FROM contacts WHERE id = $1"),
            id.0,
            "contact",
            rows::contact,
        )
        .await
    }

    async fn list_contacts(&self, filter: &ContactFilter, page: Page) -> StoreResult<Vec<Contact>> {
        let mut sql = Sql::new(
            self.dialect,
            concat!("SELECT ", columns!(contact), " FROM contacts WHERE 1 = 1"),
        );
        sql.and_contains("name_lower", filter.name_contains.as_deref());
        sql.and_eq("company_id", filter.company_id.map(|i| Arg::Int(i.0)));
        sql.and_eq(
            "responsible_id",
            filter.responsible_id.map(|i| Arg::Int(i.0)),
        );
        if let Some(phone) = &filter.phone {
            let p = sql.arg(Arg::Text(phone.clone()));
            sql.push(&format!(
                " AND id IN (SELECT owner_id FROM phone_index WHERE e164 = {p} AND owner_kind = 'contact')"
            ));
        }
        sql.push(" ORDER BY id");
        sql.page(page);
        self.list(&sql, rows::contact).await
    }

    async fn update_contact(
        &self,
        id: ContactId,
        patch: ContactPatch,
        now: Timestamp,
    ) -> StoreResult<Contact> {
        let mut tx = self.begin().await.map_err(db)?;
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(contact),
            " FROM contacts WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| not_found("contact", id.0))?;
        let mut c = rows::contact(&row)?;
        if let Some(v) = patch.name {
            c.name = v.trim().to_string();
        }
        if let Some(v) = patch.company_id {
            require_ref(
                &mut tx,
                "companies",
                v.map(|i| i.0),
                "company_id",
                "company",
            )
            .await?;
            c.company_id = v;
        }
        if let Some(v) = patch.responsible_id {
            require_ref(&mut tx, "users", v.map(|i| i.0), "responsible_id", "user").await?;
            c.responsible_id = v;
        }
        if let Some(v) = patch.emails {
            c.emails = v;
        }
        let phones_changed = patch.phones.is_some();
        if let Some(v) = patch.phones {
            c.phones = v;
        }
        c.updated_at = now;
        sqlx::query(
            "UPDATE contacts SET name = $1, name_lower = $2, company_id = $3, phones = $4, emails = $5, responsible_id = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(c.name.as_str())
        .bind(c.name.to_lowercase())
        .bind(c.company_id.map(|i| i.0))
        .bind(to_json(&c.phones)?)
        .bind(to_json(&c.emails)?)
        .bind(c.responsible_id.map(|i| i.0))
        .bind(ms(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if phones_changed {
            index_phones(&mut tx, "contact", id.0, &c.phones).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(c)
    }

    async fn delete_contact(&self, id: ContactId) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(db)?;
        // Calls, leads and deals keep their rows and lose the link (ON DELETE SET NULL).
        let done = sqlx::query("DELETE FROM contacts WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(not_found("contact", id.0));
        }
        index_phones(&mut tx, "contact", id.0, &[]).await?;
        sqlx::query("DELETE FROM timeline WHERE subject_kind = 'contact' AND subject_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM tasks WHERE subject_kind = 'contact' AND subject_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    // ---- CRM: leads ----

    async fn create_lead(&self, lead: NewLead) -> StoreResult<Lead> {
        let mut tx = self.begin().await.map_err(db)?;
        require_ref(
            &mut tx,
            "sources",
            lead.source_id.map(|i| i.0),
            "source_id",
            "source",
        )
        .await?;
        require_ref(
            &mut tx,
            "users",
            lead.responsible_id.map(|i| i.0),
            "responsible_id",
            "user",
        )
        .await?;
        let created = insert_lead(&mut tx, &lead, now_ms()).await?;
        if created.status.is_open() {
            claim_open_lead_numbers(&mut tx, created.id.0, &created.phones).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn get_lead(&self, id: LeadId) -> StoreResult<Lead> {
        self.by_id(
            concat!("SELECT ", columns!(lead), " FROM leads WHERE id = $1"),
            id.0,
            "lead",
            rows::lead,
        )
        .await
    }

    async fn list_leads(&self, filter: &LeadFilter, page: Page) -> StoreResult<Vec<Lead>> {
        let mut sql = Sql::new(
            self.dialect,
            concat!("SELECT ", columns!(lead), " FROM leads WHERE 1 = 1"),
        );
        sql.and_eq(
            "status",
            filter.status.map(|s| Arg::Text(s.as_str().into())),
        );
        if filter.open_only {
            sql.push(" AND status IN ('new', 'in_progress')");
        }
        sql.and_eq("source_id", filter.source_id.map(|i| Arg::Int(i.0)));
        sql.and_eq(
            "responsible_id",
            filter.responsible_id.map(|i| Arg::Int(i.0)),
        );
        if let Some(phone) = &filter.phone {
            let p = sql.arg(Arg::Text(phone.clone()));
            sql.push(&format!(
                " AND id IN (SELECT owner_id FROM phone_index WHERE e164 = {p} AND owner_kind = 'lead')"
            ));
        }
        sql.push(" ORDER BY id");
        sql.page(page);
        self.list(&sql, rows::lead).await
    }

    async fn update_lead(&self, id: LeadId, patch: LeadPatch) -> StoreResult<Lead> {
        let mut tx = self.begin().await.map_err(db)?;
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(lead),
            " FROM leads WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| not_found("lead", id.0))?;
        let mut lead = rows::lead(&row)?;
        let was_open = lead.status.is_open();
        if let Some(v) = patch.title {
            lead.title = v.trim().to_string();
        }
        if let Some(v) = patch.name {
            lead.name = v;
        }
        if let Some(v) = patch.status {
            lead.status = v;
        }
        if let Some(v) = patch.responsible_id {
            require_ref(&mut tx, "users", v.map(|i| i.0), "responsible_id", "user").await?;
            lead.responsible_id = v;
        }
        if let Some(v) = patch.contact_id {
            require_ref(&mut tx, "contacts", v.map(|i| i.0), "contact_id", "contact").await?;
            lead.contact_id = v;
        }
        sqlx::query(
            "UPDATE leads SET title = $1, name = $2, status = $3, responsible_id = $4, contact_id = $5 WHERE id = $6",
        )
        .bind(lead.title.as_str())
        .bind(lead.name.as_deref())
        .bind(lead.status.as_str())
        .bind(lead.responsible_id.map(|i| i.0))
        .bind(lead.contact_id.map(|i| i.0))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        match (was_open, lead.status.is_open()) {
            // Closing frees the numbers for the next lead.
            (true, false) => {
                sqlx::query("DELETE FROM open_lead_numbers WHERE lead_id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            // Reopening takes them back, unless a newer open lead has them.
            (false, true) => claim_open_lead_numbers(&mut tx, id.0, &lead.phones).await?,
            _ => {}
        }
        tx.commit().await.map_err(db)?;
        Ok(lead)
    }

    // ---- CRM: deals ----

    async fn create_deal(&self, deal: NewDeal, now: Timestamp) -> StoreResult<Deal> {
        let mut tx = self.begin().await.map_err(db)?;
        require_ref(
            &mut tx,
            "contacts",
            deal.contact_id.map(|i| i.0),
            "contact_id",
            "contact",
        )
        .await?;
        require_ref(
            &mut tx,
            "companies",
            deal.company_id.map(|i| i.0),
            "company_id",
            "company",
        )
        .await?;
        require_ref(
            &mut tx,
            "users",
            deal.responsible_id.map(|i| i.0),
            "responsible_id",
            "user",
        )
        .await?;
        let closed_at = (deal.stage != DealStage::Open).then(|| ms(now));
        let row = sqlx::query(concat!(
            "INSERT INTO deals (title, stage, contact_id, company_id, responsible_id, amount_minor, currency, created_at, closed_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
            columns!(deal)
        ))
        .bind(deal.title.trim())
        .bind(deal.stage.as_str())
        .bind(deal.contact_id.map(|i| i.0))
        .bind(deal.company_id.map(|i| i.0))
        .bind(deal.responsible_id.map(|i| i.0))
        .bind(deal.amount.amount_minor)
        .bind(deal.amount.currency.as_str())
        .bind(ms(now))
        .bind(closed_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let created = rows::deal(&row)?;
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn get_deal(&self, id: DealId) -> StoreResult<Deal> {
        self.by_id(
            concat!("SELECT ", columns!(deal), " FROM deals WHERE id = $1"),
            id.0,
            "deal",
            rows::deal,
        )
        .await
    }

    async fn list_deals(&self, filter: &DealFilter, page: Page) -> StoreResult<Vec<Deal>> {
        let mut sql = Sql::new(
            self.dialect,
            concat!("SELECT ", columns!(deal), " FROM deals WHERE 1 = 1"),
        );
        sql.and_eq("stage", filter.stage.map(|s| Arg::Text(s.as_str().into())));
        sql.and_eq("contact_id", filter.contact_id.map(|i| Arg::Int(i.0)));
        sql.and_eq("company_id", filter.company_id.map(|i| Arg::Int(i.0)));
        sql.and_eq(
            "responsible_id",
            filter.responsible_id.map(|i| Arg::Int(i.0)),
        );
        sql.push(" ORDER BY id");
        sql.page(page);
        self.list(&sql, rows::deal).await
    }

    async fn update_deal(&self, id: DealId, patch: DealPatch, now: Timestamp) -> StoreResult<Deal> {
        let mut tx = self.begin().await.map_err(db)?;
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(deal),
            " FROM deals WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| not_found("deal", id.0))?;
        let mut deal = rows::deal(&row)?;
        if let Some(v) = patch.title {
            deal.title = v.trim().to_string();
        }
        if let Some(v) = patch.responsible_id {
            require_ref(&mut tx, "users", v.map(|i| i.0), "responsible_id", "user").await?;
            deal.responsible_id = v;
        }
        if let Some(v) = patch.amount {
            deal.amount = v;
        }
        if let Some(stage) = patch.stage {
            if stage != deal.stage {
                deal.closed_at = (stage != DealStage::Open).then_some(now);
                deal.stage = stage;
            }
        }
        sqlx::query(
            "UPDATE deals SET title = $1, stage = $2, responsible_id = $3, amount_minor = $4, currency = $5, closed_at = $6 WHERE id = $7",
        )
        .bind(deal.title.as_str())
        .bind(deal.stage.as_str())
        .bind(deal.responsible_id.map(|i| i.0))
        .bind(deal.amount.amount_minor)
        .bind(deal.amount.currency.as_str())
        .bind(deal.closed_at.map(ms))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        // Read back so the instants carry the stored (millisecond) precision.
        self.get_deal(id).await
    }

    async fn latest_open_deal(
        &self,
        contact_id: Option<ContactId>,
        company_id: Option<CompanyId>,
    ) -> StoreResult<Option<Deal>> {
        let by_contact = concat!(
            "SELECT ",
            columns!(deal),
            " FROM deals WHERE contact_id = $1 AND stage = 'open' ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        let by_company = concat!(
            "SELECT ",
            columns!(deal),
            " FROM deals WHERE company_id = $1 AND stage = 'open' ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        for (sql, id) in [
            (by_contact, contact_id.map(|i| i.0)),
            (by_company, company_id.map(|i| i.0)),
        ] {
            let Some(id) = id else { continue };
            let row = sqlx::query(sql)
                .bind(id)
                .fetch_optional(&self.read)
                .await
                .map_err(db)?;
            if let Some(row) = row {
                return rows::deal(&row).map(Some);
            }
        }
        Ok(None)
    }

    async fn find_by_phone(&self, e164: &str) -> StoreResult<PhoneMatches> {
        // Who carries the number comes from the covering index alone; then one query per kind
        // of party that does (an unknown caller costs one query, a known contact two).
        let owners = sqlx::query(
            "SELECT owner_kind, owner_id FROM phone_index WHERE e164 = $1 ORDER BY owner_kind, owner_id",
        )
        .bind(e164)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        let mut ids: HashMap<String, Vec<i64>> = HashMap::new();
        for owner in &owners {
            let kind: String = owner.try_get(0).map_err(db)?;
            let id: i64 = owner.try_get(1).map_err(db)?;
            let list = ids.entry(kind).or_default();
            if list.last() != Some(&id) {
                list.push(id);
            }
        }
        let mut matches = PhoneMatches::default();
        if let Some(ids) = ids.get("contact") {
            matches.contacts = self
                .by_ids(
                    concat!("SELECT ", columns!(contact), " FROM contacts WHERE id"),
                    ids,
                    rows::contact,
                )
                .await?;
            matches.contacts.sort_by_key(|c| c.id);
        }
        if let Some(ids) = ids.get("company") {
            matches.companies = self
                .by_ids(
                    concat!("SELECT ", columns!(company), " FROM companies WHERE id"),
                    ids,
                    rows::company,
                )
                .await?;
            matches.companies.sort_by_key(|c| c.id);
        }
        if let Some(ids) = ids.get("lead") {
            matches.leads = self
                .by_ids(
                    concat!("SELECT ", columns!(lead), " FROM leads WHERE id"),
                    ids,
                    rows::lead,
                )
                .await?;
            // Open leads first, newest first within each group.
            matches.leads.sort_by_key(|l| {
                (
                    !l.status.is_open(),
                    std::cmp::Reverse(l.created_at),
                    std::cmp::Reverse(l.id),
                )
            });
        }
        Ok(matches)
    }

    // ---- call tracking ----

    async fn create_source(&self, name: &str) -> StoreResult<Source> {
        let row = sqlx::query(
            "INSERT INTO sources (name, name_lower) VALUES ($1, $2) RETURNING id, name",
        )
        .bind(name.trim())
        .bind(name.trim().to_lowercase())
        .fetch_one(&self.write)
        .await
        .map_err(db)?;
        rows::source(&row)
    }

    async fn list_sources(&self) -> StoreResult<Vec<Source>> {
        self.all("SELECT id, name FROM sources ORDER BY id", rows::source)
            .await
    }

    async fn delete_source(&self, id: SourceId) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(db)?;
        let line =
            sqlx::query("SELECT number_e164 FROM lines WHERE source_id = $1 ORDER BY id LIMIT 1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        if let Some(line) = line {
            let number: String = line.try_get(0).map_err(db)?;
            return Err(StoreError::Conflict {
                field: "id".into(),
                message: format!("line {number} is assigned to this source"),
            });
        }
        // Contacts, leads and calls keep their rows and lose the source (ON DELETE SET NULL).
        let done = sqlx::query("DELETE FROM sources WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(not_found("source", id.0));
        }
        tx.commit().await.map_err(db)
    }

    async fn create_line(&self, line: NewLine) -> StoreResult<Line> {
        let mut tx = self.begin().await.map_err(db)?;
        require_ref(
            &mut tx,
            "sources",
            line.source_id.map(|i| i.0),
            "source_id",
            "source",
        )
        .await?;
        let row = sqlx::query(concat!(
            "INSERT INTO lines (number_e164, number_raw, name, source_id, origin, lead_rule, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
            columns!(line)
        ))
        .bind(line.number.e164.as_str())
        .bind(line.number.raw.as_str())
        .bind(line.name.trim())
        .bind(line.source_id.map(|i| i.0))
        .bind(line.origin.as_str())
        .bind(line.lead_rule.as_str())
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let created = rows::line(&row)?;
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn get_line(&self, id: LineId) -> StoreResult<Line> {
        self.by_id(
            concat!("SELECT ", columns!(line), " FROM lines WHERE id = $1"),
            id.0,
            "line",
            rows::line,
        )
        .await
    }

    async fn find_line_by_number(&self, e164: &str) -> StoreResult<Option<Line>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(line),
            " FROM lines WHERE number_e164 = $1"
        ))
        .bind(e164)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.as_ref().map(rows::line).transpose()
    }

    async fn list_lines(&self) -> StoreResult<Vec<Line>> {
        self.all(
            concat!("SELECT ", columns!(line), " FROM lines ORDER BY id"),
            rows::line,
        )
        .await
    }

    async fn update_line(&self, id: LineId, patch: LinePatch) -> StoreResult<Line> {
        let mut tx = self.begin().await.map_err(db)?;
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(line),
            " FROM lines WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| not_found("line", id.0))?;
        let mut line = rows::line(&row)?;
        if let Some(v) = patch.name {
            line.name = v.trim().to_string();
        }
        if let Some(v) = patch.source_id {
            require_ref(&mut tx, "sources", v.map(|i| i.0), "source_id", "source").await?;
            line.source_id = v;
        }
        if let Some(v) = patch.lead_rule {
            line.lead_rule = v;
        }
        sqlx::query("UPDATE lines SET name = $1, source_id = $2, lead_rule = $3 WHERE id = $4")
            .bind(line.name.as_str())
            .bind(line.source_id.map(|i| i.0))
            .bind(line.lead_rule.as_str())
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(line)
    }

    async fn delete_line(&self, id: LineId) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(db)?;
        let row = sqlx::query("SELECT origin FROM lines WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or_else(|| not_found("line", id.0))?;
        let origin: String = row.try_get(0).map_err(db)?;
        if origin != LineOrigin::Manual.as_str() {
            return Err(StoreError::Conflict {
                field: "origin".into(),
                message: "a number first seen on a call stays: call history points at it".into(),
            });
        }
        // Calls keep their record; they only lose the link to a number removed by hand.
        sqlx::query("UPDATE calls SET line_id = NULL WHERE line_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM lines WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn add_lead_exception(&self, number: Phone) -> StoreResult<()> {
        sqlx::query("INSERT INTO lead_exceptions (e164, raw) VALUES ($1, $2)")
            .bind(number.e164)
            .bind(number.raw)
            .execute(&self.write)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn remove_lead_exception(&self, e164: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM lead_exceptions WHERE e164 = $1")
            .bind(e164)
            .execute(&self.write)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            // Exceptions have no numeric id; the number itself is the key.
            return Err(not_found("lead exception", 0));
        }
        Ok(())
    }

    async fn list_lead_exceptions(&self) -> StoreResult<Vec<Phone>> {
        self.all("SELECT e164, raw FROM lead_exceptions ORDER BY e164", |r| {
            Ok(Phone {
                e164: rows::get(r, "e164")?,
                raw: rows::get(r, "raw")?,
            })
        })
        .await
    }

    async fn is_lead_exception(&self, e164: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM lead_exceptions WHERE e164 = $1")
            .bind(e164)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        Ok(row.is_some())
    }

    // ---- calls and timelines ----

    async fn log_call(&self, log: CallLog) -> StoreResult<LoggedCall> {
        self.log_call_retrying(log).await
    }

    async fn log_calls(&self, logs: Vec<CallLog>) -> Vec<StoreResult<LoggedCall>> {
        self.log_calls_batched(logs).await
    }

    async fn get_call(&self, id: CallId) -> StoreResult<CallRecord> {
        self.by_id(
            concat!("SELECT ", columns!(call), " FROM calls WHERE id = $1"),
            id.0,
            "call",
            rows::call,
        )
        .await
    }

    async fn list_calls(&self, filter: &CallFilter, page: Page) -> StoreResult<Vec<CallRecord>> {
        let mut sql = Sql::new(
            self.dialect,
            concat!("SELECT ", columns!(call), " FROM calls WHERE 1 = 1"),
        );
        if let Some(from) = filter.from {
            let p = sql.arg(Arg::Int(ms(from)));
            sql.push(&format!(" AND started_at >= {p}"));
        }
        if let Some(until) = filter.until {
            let p = sql.arg(Arg::Int(ms(until)));
            sql.push(&format!(" AND started_at < {p}"));
        }
        sql.and_eq(
            "direction",
            filter.direction.map(|d| Arg::Text(d.as_str().into())),
        );
        sql.and_eq(
            "status",
            filter.status.map(|s| Arg::Text(s.as_str().into())),
        );
        sql.and_eq("agent_id", filter.agent_id.map(|i| Arg::Int(i.0)));
        sql.and_eq("line_id", filter.line_id.map(|i| Arg::Int(i.0)));
        sql.and_eq("source_id", filter.source_id.map(|i| Arg::Int(i.0)));
        sql.and_eq("queue", filter.queue.clone().map(Arg::Text));
        sql.and_eq("contact_id", filter.contact_id.map(|i| Arg::Int(i.0)));
        sql.and_eq("lead_id", filter.lead_id.map(|i| Arg::Int(i.0)));
        if let Some(n) = &filter.number {
            let a = sql.arg(Arg::Text(n.clone()));
            let b = sql.arg(Arg::Text(n.clone()));
            sql.push(&format!(" AND (caller_e164 = {a} OR called_e164 = {b})"));
        }
        sql.push(" ORDER BY started_at DESC, id DESC");
        sql.page(page);
        self.list(&sql, rows::call).await
    }

    async fn update_call(&self, id: CallId, patch: CallPatch) -> StoreResult<CallRecord> {
        let mut tx = self.begin().await.map_err(db)?;
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(call),
            " FROM calls WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| not_found("call", id.0))?;
        let mut call = rows::call(&row)?;
        if let Some(v) = patch.rating {
            call.rating = v;
        }
        if let Some(v) = patch.notes {
            call.notes = v;
        }
        if let Some(v) = patch.recording {
            call.recording = v;
        }
        if let Some(v) = patch.transcript {
            call.transcript = v;
        }
        sqlx::query(
            "UPDATE calls SET rating = $1, notes = $2, recording = $3, transcript = $4 WHERE id = $5",
        )
        .bind(call.rating.map(i64::from))
        .bind(call.notes.as_deref())
        .bind(call.recording.as_deref())
        .bind(call.transcript.as_deref())
        .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(call)
    }

    async fn last_call_with(&self, e164: &str) -> StoreResult<Option<CallRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(call),
            " FROM calls WHERE remote_e164 = $1 ORDER BY started_at DESC, id DESC LIMIT 1"
        ))
        .bind(e164)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.as_ref().map(rows::call).transpose()
    }

    async fn add_timeline_entry(&self, entry: NewTimelineEntry) -> StoreResult<TimelineEntry> {
        let mut tx = self.begin().await.map_err(db)?;
        require_subject(&mut tx, entry.subject).await?;
        require_ref(
            &mut tx,
            "calls",
            entry.call_id.map(|i| i.0),
            "call_id",
            "call",
        )
        .await?;
        require_ref(
            &mut tx,
            "users",
            entry.author_id.map(|i| i.0),
            "author_id",
            "user",
        )
        .await?;
        let row = sqlx::query(concat!(
            "INSERT INTO timeline (subject_kind, subject_id, kind, at, call_id, author_id, text) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
            columns!(timeline)
        ))
        .bind(entry.subject.kind_str())
        .bind(entry.subject.raw_id())
        .bind(entry.kind.as_str())
        .bind(ms(entry.at))
        .bind(entry.call_id.map(|i| i.0))
        .bind(entry.author_id.map(|i| i.0))
        .bind(entry.text)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let created = rows::timeline(&row)?;
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn list_timeline(&self, subject: Subject, page: Page) -> StoreResult<Vec<TimelineEntry>> {
        let mut sql = Sql::new(
            self.dialect,
            concat!("SELECT ", columns!(timeline), " FROM timeline WHERE 1 = 1"),
        );
        sql.and_eq("subject_kind", Some(Arg::Text(subject.kind_str().into())));
        sql.and_eq("subject_id", Some(Arg::Int(subject.raw_id())));
        sql.push(" ORDER BY at DESC, id DESC");
        sql.page(page);
        self.list(&sql, rows::timeline).await
    }

    // ---- tasks ----

    async fn create_task(&self, task: NewTask) -> StoreResult<Task> {
        let mut tx = self.begin().await.map_err(db)?;
        require_subject(&mut tx, task.subject).await?;
        require_ref(
            &mut tx,
            "users",
            Some(task.assignee_id.0),
            "assignee_id",
            "user",
        )
        .await?;
        require_ref(
            &mut tx,
            "users",
            task.created_by.map(|i| i.0),
            "created_by",
            "user",
        )
        .await?;
        require_ref(
            &mut tx,
            "calls",
            task.call_id.map(|i| i.0),
            "call_id",
            "call",
        )
        .await?;
        let title = task.title.trim();
        let row = sqlx::query(concat!(
            "INSERT INTO tasks (title, kind, subject_kind, subject_id, due_at, assignee_id, created_by, call_id, created_at, done_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL) RETURNING ",
            columns!(task)
        ))
        .bind(title)
        .bind(task.kind.as_str())
        .bind(task.subject.kind_str())
        .bind(task.subject.raw_id())
        .bind(task.due_at.map(ms))
        .bind(task.assignee_id.0)
        .bind(task.created_by.map(|i| i.0))
        .bind(task.call_id.map(|i| i.0))
        .bind(ms(task.created_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let created = rows::task(&row)?;
        sqlx::query(
            "INSERT INTO timeline (subject_kind, subject_id, kind, at, call_id, author_id, text) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(task.subject.kind_str())
        .bind(task.subject.raw_id())
        .bind(TimelineKind::TaskCreated.as_str())
        .bind(ms(task.created_at))
        .bind(task.call_id.map(|i| i.0))
        .bind(task.created_by.map(|i| i.0))
        .bind(title)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn get_task(&self, id: TaskId) -> StoreResult<Task> {
        self.by_id(
            concat!("SELECT ", columns!(task), " FROM tasks WHERE id = $1"),
            id.0,
            "task",
            rows::task,
        )
        .await
    }

    async fn list_tasks(&self, filter: &TaskFilter, page: Page) -> StoreResult<Vec<Task>> {
        let mut sql = Sql::new(
            self.dialect,
            concat!("SELECT ", columns!(task), " FROM tasks WHERE 1 = 1"),
        );
        sql.and_eq("assignee_id", filter.assignee_id.map(|i| Arg::Int(i.0)));
        if let Some(user) = filter.visible_to {
            let a = sql.arg(Arg::Int(user.0));
            let b = sql.arg(Arg::Int(user.0));
            sql.push(&format!(" AND (assignee_id = {a} OR created_by = {b})"));
        }
        match filter.done {
            Some(true) => sql.push(" AND done_at IS NOT NULL"),
            Some(false) => sql.push(" AND done_at IS NULL"),
            None => {}
        }
        if let Some(before) = filter.due_before {
            let p = sql.arg(Arg::Int(ms(before)));
            sql.push(&format!(" AND due_at < {p}"));
        }
        if let Some(subject) = filter.subject {
            sql.and_eq("subject_kind", Some(Arg::Text(subject.kind_str().into())));
            sql.and_eq("subject_id", Some(Arg::Int(subject.raw_id())));
        }
        // Open first; then soonest due, no due time last; then oldest.
        sql.push(concat!(
            " ORDER BY CASE WHEN done_at IS NULL THEN 0 ELSE 1 END,",
            " CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, due_at, id"
        ));
        sql.page(page);
        self.list(&sql, rows::task).await
    }

    async fn update_task(&self, id: TaskId, patch: TaskPatch, now: Timestamp) -> StoreResult<Task> {
        let mut tx = self.begin().await.map_err(db)?;
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(task),
            " FROM tasks WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| not_found("task", id.0))?;
        let task = rows::task(&row)?;
        let next = patch.apply(&task, now).map_err(|e| StoreError::Conflict {
            field: e.field,
            message: e.message,
        })?;
        if next.assignee_id != task.assignee_id {
            require_ref(
                &mut tx,
                "users",
                Some(next.assignee_id.0),
                "assignee_id",
                "user",
            )
            .await?;
        }
        sqlx::query(
            "UPDATE tasks SET title = $1, due_at = $2, assignee_id = $3, done_at = $4 WHERE id = $5",
        )
        .bind(next.title.as_str())
        .bind(next.due_at.map(ms))
        .bind(next.assignee_id.0)
        .bind(next.done_at.map(ms))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        // Read back so the instants carry the stored (millisecond) precision.
        self.get_task(id).await
    }

    // ---- webhooks ----

    async fn create_webhook(&self, hook: NewWebhook, now: Timestamp) -> StoreResult<Webhook> {
        let row = sqlx::query(concat!(
            "INSERT INTO webhooks (url, events, secret, active, created_at) VALUES ($1, $2, $3, 1, $4) RETURNING ",
            columns!(webhook)
        ))
        .bind(hook.url)
        .bind(to_json(&hook.events)?)
        .bind(hook.secret)
        .bind(ms(now))
        .fetch_one(&self.write)
        .await
        .map_err(db)?;
        self.subscribers.forget();
        rows::webhook(&row)
    }

    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>> {
        self.all(
            concat!("SELECT ", columns!(webhook), " FROM webhooks ORDER BY id"),
            rows::webhook,
        )
        .await
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()> {
        // Its deliveries go with it (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id.0)
            .execute(&self.write)
            .await
            .map_err(db)?;
        self.subscribers.forget();
        if done.rows_affected() == 0 {
            return Err(not_found("webhook", id.0));
        }
        Ok(())
    }

    async fn has_webhook_subscribers(&self, event: EventKind) -> StoreResult<bool> {
        self.has_subscribers(event).await
    }

    fn webhook_subscribers_known(&self, event: EventKind) -> Option<bool> {
        self.subscribers.known(event)
    }

    async fn enqueue_deliveries(
        &self,
        event: EventKind,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<u64> {
        // Most events have no subscriber, and a call makes several: answer those without a
        // query and without taking the one write connection.
        if !self.has_subscribers(event).await? {
            return Ok(0);
        }
        let mut tx = self.begin().await.map_err(db)?;
        let hooks = sqlx::query(concat!(
            "SELECT ",
            columns!(webhook),
            " FROM webhooks WHERE active = 1 ORDER BY id"
        ))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let payload = to_json(payload)?;
        let mut queued = 0;
        for row in &hooks {
            let hook = rows::webhook(row)?;
            if !hook.events.contains(&event) {
                continue;
            }
            sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, event, payload, state, attempts, last_status, last_error, next_attempt_at, created_at) \
                 VALUES ($1, $2, $3, 'pending', 0, NULL, NULL, $4, $5)",
            )
            .bind(hook.id.0)
            .bind(event.as_str())
            .bind(payload.as_str())
            .bind(ms(now))
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            queued += 1;
        }
        tx.commit().await.map_err(db)?;
        Ok(queued)
    }

    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<(WebhookDelivery, Webhook)>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(delivery),
            " FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1",
            " AND webhook_id IN (SELECT id FROM webhooks WHERE active = 1)",
            " ORDER BY next_attempt_at, id LIMIT $2"
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        let deliveries = rows
            .iter()
            .map(rows::delivery)
            .collect::<StoreResult<Vec<_>>>()?;
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        // Webhooks are few; one read of them all beats a join that repeats each per delivery.
        let hooks: HashMap<WebhookId, Webhook> = self
            .list_webhooks()
            .await?
            .into_iter()
            .map(|h| (h.id, h))
            .collect();
        Ok(deliveries
            .into_iter()
            .filter_map(|d| hooks.get(&d.webhook_id).cloned().map(|h| (d, h)))
            .collect())
    }

    async fn record_delivery_attempt(
        &self,
        id: WebhookDeliveryId,
        attempt: DeliveryAttempt,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $1, last_error = $2, next_attempt_at = $3, state = $4 WHERE id = $5",
        )
        .bind(attempt.status.map(i64::from))
        .bind(attempt.error)
        .bind(attempt.next_attempt_at.map(ms))
        .bind(attempt.state.as_str())
        .bind(id.0)
        .execute(&self.write)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(not_found("webhook delivery", id.0));
        }
        Ok(())
    }

    async fn list_deliveries(
        &self,
        webhook_id: WebhookId,
        page: Page,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let mut sql = Sql::new(
            self.dialect,
            concat!(
                "SELECT ",
                columns!(delivery),
                " FROM webhook_deliveries WHERE 1 = 1"
            ),
        );
        sql.and_eq("webhook_id", Some(Arg::Int(webhook_id.0)));
        sql.push(" ORDER BY created_at DESC, id DESC");
        sql.page(page);
        self.list(&sql, rows::delivery).await
    }

    // ---- settings ----

    async fn get_setting(&self, key: &str) -> StoreResult<Option<serde_json::Value>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        row.as_ref().map(|r| rows::json(r, "value")).transpose()
    }

    async fn put_setting(&self, key: &str, value: &serde_json::Value) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(to_json(value)?)
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(())
    }
}
