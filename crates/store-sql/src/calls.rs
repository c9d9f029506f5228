//! `log_call` / `log_calls`: everything one finished call (or a batch of them) writes, in one
//! transaction.
//!
//! Order of writes: lines, leads and their open numbers (call by call), then the calls, their
//! timeline entries, the contacts' sources. Two batches may still take the same rows in
//! different orders; the loser of such a deadlock fails, and the batch is logged call by call.

use crate::error::{db, lost_race};
use crate::rows::{self, at, columns, ms};
use crate::store_impl::{distinct_numbers, insert_lead, Tx};
use crate::{Dialect, SqlStore};
use domain::*;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;
use store::{CallLog, LoggedCall, StoreError, StoreResult};

/// Attempts before a call that keeps losing races is reported as failed. Two are enough for
/// any number of racers on one key (the retry sees the winner); the rest absorb unrelated
/// races on other keys of the same call.
const MAX_ATTEMPTS: u32 = 10;

/// Why one attempt failed: a database error (maybe a lost race, retried) or a decided outcome.
enum AttemptError {
    Db(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for AttemptError {
    fn from(e: sqlx::Error) -> Self {
        AttemptError::Db(e)
    }
}

impl From<StoreError> for AttemptError {
    fn from(e: StoreError) -> Self {
        AttemptError::Store(e)
    }
}

impl SqlStore {
    /// Runs [`Self::log_call_once`] until it commits; a transaction that lost a race to a
    /// concurrent one (same idempotency key, same new lead number, same new line) is run again
    /// and then finds the winner's row.
    pub(crate) async fn log_call_retrying(&self, log: CallLog) -> StoreResult<LoggedCall> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.log_call_once(&log).await {
                Ok(logged) => return Ok(logged),
                Err(AttemptError::Db(e)) if lost_race(&e) && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "log_call lost a race; retrying");
                    // A little jitter so racers that collided once do not collide again.
                    let jitter = rand::random::<u64>() % (2 * u64::from(attempt));
                    tokio::time::sleep(Duration::from_millis(jitter)).await;
                }
                Err(AttemptError::Db(e))
                    if e.as_database_error()
                        .is_some_and(|d| d.is_foreign_key_violation()) =>
                {
                    // The transaction is gone; find out which reference was missing so the
                    // error names the field.
                    return Err(self
                        .name_missing_reference(&log)
                        .await
                        .unwrap_or_else(|| db(e)));
                }
                Err(AttemptError::Db(e)) => return Err(db(e)),
                Err(AttemptError::Store(e)) => return Err(e),
            }
        }
    }

    /// Logs several calls in one transaction: one commit (one WAL sync on SQLite) for the
    /// lot, which is what lets the SIP server log thousands of calls a second. The results
    /// are those `log_call` would give one by one, in order. If anything in the batch fails
    /// (a lost race, a missing reference), the batch is rolled back and every call is logged
    /// on its own, so one bad report costs the others nothing but time.
    pub(crate) async fn log_calls_batched(
        &self,
        logs: Vec<CallLog>,
    ) -> Vec<StoreResult<LoggedCall>> {
        if logs.len() > 1 {
            if let Ok(logged) = self.log_calls_once(&logs).await {
                return logged.into_iter().map(Ok).collect();
            }
        }
        let mut results = Vec::with_capacity(logs.len());
        for log in logs {
            results.push(self.log_call_retrying(log).await);
        }
        results
    }

    async fn log_calls_once(&self, logs: &[CallLog]) -> Result<Vec<LoggedCall>, AttemptError> {
        let mut tx = self.begin().await?;
        let mut seen = SeenInBatch::default();
        let keys: Vec<&str> = logs
            .iter()
            .filter_map(|l| l.call.idempotency_key.as_deref())
            .collect();
        seen.read_keys(&mut tx, self.dialect, &keys).await?;
        let logged = log_calls_in(&mut tx, self.dialect, logs, &mut seen).await?;
        tx.commit().await?;
        Ok(logged)
    }

    /// One attempt, in its own transaction.
    async fn log_call_once(&self, log: &CallLog) -> Result<LoggedCall, AttemptError> {
        let mut tx = self.begin().await?;
        let mut logged = log_calls_in(
            &mut tx,
            self.dialect,
            std::slice::from_ref(log),
            &mut SeenInBatch::default(),
        )
        .await?;
        tx.commit().await?;
        Ok(logged.remove(0))
    }

    /// After a foreign-key failure: the first reference of `log` that points nowhere.
    async fn name_missing_reference(&self, log: &CallLog) -> Option<StoreError> {
        let call = &log.call;
        let candidate = log.lead_candidate.as_ref();
        let refs: [(&str, &'static str, &'static str, Option<i64>); 9] = [
            ("call.agent_id", "users", "user", call.agent_id.map(|i| i.0)),
            (
                "call.source_id",
                "sources",
                "source",
                call.source_id.map(|i| i.0),
            ),
            (
                "parties.contact_id",
                "contacts",
                "contact",
                log.parties.contact_id.map(|i| i.0),
            ),
            (
                "parties.company_id",
                "companies",
                "company",
                log.parties.company_id.map(|i| i.0),
            ),
            (
                "parties.lead_id",
                "leads",
                "lead",
                log.parties.lead_id.map(|i| i.0),
            ),
            (
                "parties.deal_id",
                "deals",
                "deal",
                log.parties.deal_id.map(|i| i.0),
            ),
            (
                "lead_candidate.source_id",
                "sources",
                "source",
                candidate.and_then(|c| c.source_id).map(|i| i.0),
            ),
            (
                "lead_candidate.responsible_id",
                "users",
                "user",
                candidate.and_then(|c| c.responsible_id).map(|i| i.0),
            ),
            ("call.line_id", "lines", "line", call.line_id.map(|i| i.0)),
        ];
        for (field, table, entity, id) in refs {
            let Some(id) = id else { continue };
            let sql = format!("SELECT 1 FROM {table} WHERE id = $1");
            match sqlx::query(&sql).bind(id).fetch_optional(&self.read).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Some(StoreError::MissingReference {
                        field: field.to_string(),
                        entity,
                    })
                }
                Err(_) => return None,
            }
        }
        None
    }
}

/// What one transaction already read or wrote, so a batch of calls (the SIP server's: the
/// same line and the same busy numbers again and again) asks the database once per key
/// instead of once per call. Valid only inside its transaction, which is also the only
/// writer of what it remembers until it commits.
#[derive(Default)]
struct SeenInBatch {
    /// Calls by idempotency key, read for the whole batch up front (`keys_read`). (A key
    /// repeated within the batch is matched by [`log_calls_in`] itself.)
    calls: HashMap<String, CallRecord>,
    keys_read: bool,
    /// Lines by number.
    lines: HashMap<String, Line>,
    /// Open leads by number, `None` where there is none.
    open_leads: HashMap<String, Option<LeadId>>,
}

/// Idempotency keys per query when a batch reads them: well under every backend's limit on
/// bound parameters.
const KEYS_PER_QUERY: usize = 500;

impl SeenInBatch {
    async fn read_keys(
        &mut self,
        tx: &mut Tx,
        dialect: Dialect,
        keys: &[&str],
    ) -> Result<(), AttemptError> {
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let sql = format!(
                "SELECT {} FROM calls WHERE idempotency_key IN ({})",
                columns!(call),
                dialect.placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for key in chunk {
                query = query.bind(*key);
            }
            for row in query.fetch_all(&mut **tx).await? {
                let record = rows::call(&row)?;
                if let Some(key) = record.idempotency_key.clone() {
                    self.calls.insert(key, record);
                }
            }
        }
        self.keys_read = true;
        Ok(())
    }

    /// The call already stored under `key`, if any.
    async fn call_with_key(
        &mut self,
        tx: &mut Tx,
        key: &str,
    ) -> Result<Option<CallRecord>, AttemptError> {
        if let Some(record) = self.calls.get(key) {
            return Ok(Some(record.clone()));
        }
        if self.keys_read {
            return Ok(None);
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(call),
            " FROM calls WHERE idempotency_key = $1"
        ))
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.as_ref().map(rows::call).transpose()?)
    }
}

/// The customer's side of the call, as E.164 when it parsed.
fn remote_number(call: &NewCall) -> Option<&str> {
    match call.direction {
        Direction::Incoming => call.caller.e164.as_deref(),
        Direction::Outgoing | Direction::Callback => call.called.e164.as_deref(),
    }
}

async fn line_by_id(tx: &mut Tx, id: LineId) -> Result<Option<Line>, AttemptError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(line),
        " FROM lines WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.as_ref().map(rows::line).transpose()?)
}

/// The line with this number, created (`SeenOnCall`, default lead rule) if new. A concurrent
/// creation of the same number is waited for and then read, not retried.
async fn find_or_create_line(
    tx: &mut Tx,
    number: &Phone,
    first_seen: Timestamp,
    seen: &mut SeenInBatch,
) -> Result<(Line, bool), AttemptError> {
    if let Some(line) = seen.lines.get(&number.e164) {
        return Ok((line.clone(), false));
    }
    let (line, created) = read_or_create_line(tx, number, first_seen).await?;
    seen.lines.insert(number.e164.clone(), line.clone());
    Ok((line, created))
}

async fn read_or_create_line(
    tx: &mut Tx,
    number: &Phone,
    first_seen: Timestamp,
) -> Result<(Line, bool), AttemptError> {
    let select = concat!(
        "SELECT ",
        columns!(line),
        " FROM lines WHERE number_e164 = $1"
    );
    if let Some(row) = sqlx::query(select)
        .bind(number.e164.as_str())
        .fetch_optional(&mut **tx)
        .await?
    {
        return Ok((rows::line(&row)?, false));
    }
    let created = sqlx::query(concat!(
        "INSERT INTO lines (number_e164, number_raw, name, source_id, origin, lead_rule, created_at) ",
        "VALUES ($1, $2, $3, NULL, $4, $5, $6) ON CONFLICT (number_e164) DO NOTHING RETURNING ",
        columns!(line)
    ))
    .bind(number.e164.as_str())
    .bind(number.raw.as_str())
    .bind(number.e164.as_str())
    .bind(LineOrigin::SeenOnCall.as_str())
    .bind(LeadRule::default().as_str())
    .bind(ms(first_seen))
    .fetch_optional(&mut **tx)
    .await?;
    match created {
        Some(row) => Ok((rows::line(&row)?, true)),
        None => {
            let row = sqlx::query(select)
                .bind(number.e164.as_str())
                .fetch_one(&mut **tx)
                .await?;
            Ok((rows::line(&row)?, false))
        }
    }
}

/// The open lead holding any of these numbers, the first number first.
async fn open_lead_carrying(
    tx: &mut Tx,
    numbers: &[&str],
    seen: &mut SeenInBatch,
) -> Result<Option<LeadId>, AttemptError> {
    for e164 in numbers {
        let lead = match seen.open_leads.get(*e164) {
            Some(known) => *known,
            None => {
                let row = sqlx::query("SELECT lead_id FROM open_lead_numbers WHERE e164 = $1")
                    .bind(*e164)
                    .fetch_optional(&mut **tx)
                    .await?;
                let lead = row.map(|r| r.try_get::<i64, _>(0)).transpose()?.map(LeadId);
                seen.open_leads.insert((*e164).to_string(), lead);
                lead
            }
        };
        if lead.is_some() {
            return Ok(lead);
        }
    }
    Ok(None)
}

/// Everything a batch of calls writes, inside `tx` (which the caller commits); one result
/// per log, in order. Lines and leads are found or created call by call (a later call of the
/// batch joins the lead an earlier one created); the records and their timeline entries are
/// then inserted a chunk of rows per statement, which is most of what lets the SIP server log
/// thousands of calls a second.
async fn log_calls_in(
    tx: &mut Tx,
    dialect: Dialect,
    logs: &[CallLog],
    seen: &mut SeenInBatch,
) -> Result<Vec<LoggedCall>, AttemptError> {
    let mut prepared = Vec::with_capacity(logs.len());
    let mut new_calls: Vec<NewRecord> = Vec::with_capacity(logs.len());
    // Idempotency keys of this batch's new calls: the same report twice in one batch makes
    // one record.
    let mut batch_keys: HashMap<&str, usize> = HashMap::new();
    for log in logs {
        // The same report twice (a retrying bridge app) must not make a second record.
        if let Some(key) = log.call.idempotency_key.as_deref() {
            if let Some(&earlier) = batch_keys.get(key) {
                prepared.push(Prepared::SameAs(earlier));
                continue;
            }
            if let Some(record) = seen.call_with_key(tx, key).await? {
                let line = match record.line_id {
                    Some(id) => line_by_id(tx, id).await?,
                    None => None,
                };
                prepared.push(Prepared::Stored(Box::new(LoggedCall {
                    call: record,
                    created_lead: None,
                    line,
                    line_created: false,
                    duplicate: true,
                })));
                continue;
            }
            batch_keys.insert(key, new_calls.len());
        }
        prepared.push(Prepared::New(new_calls.len()));
        new_calls.push(prepare_call(tx, log, seen).await?);
    }

    insert_records(tx, dialect, &mut new_calls).await?;
    insert_call_timeline(tx, dialect, &new_calls).await?;
    // Call tracking's promise: a contact's source is where he first came from (the first
    // call of the batch with a source wins, as when they are logged one by one).
    for new in &new_calls {
        if let (Some(contact), Some(source)) = (new.record.contact_id, new.record.source_id) {
            sqlx::query("UPDATE contacts SET source_id = $1 WHERE id = $2 AND source_id IS NULL")
                .bind(source.0)
                .bind(contact.0)
                .execute(&mut **tx)
                .await?;
        }
    }

    Ok(prepared
        .into_iter()
        .map(|p| match p {
            Prepared::Stored(logged) => *logged,
            Prepared::New(i) => {
                let new = &mut new_calls[i];
                LoggedCall {
                    call: new.record.clone(),
                    created_lead: new.created_lead.take(),
                    line: new.line.clone(),
                    line_created: new.line_created,
                    duplicate: false,
                }
            }
            Prepared::SameAs(i) => LoggedCall {
                call: new_calls[i].record.clone(),
                created_lead: None,
                line: new_calls[i].line.clone(),
                line_created: false,
                duplicate: true,
            },
        })
        .collect())
}

/// What became of one log of a batch before the records are inserted.
enum Prepared {
    /// Logged before under the same idempotency key: that record; nothing is written.
    Stored(Box<LoggedCall>),
    /// A new record: its index among the batch's new calls.
    New(usize),
    /// The same idempotency key as an earlier new call of this batch (that call's index).
    SameAs(usize),
}

/// A call whose line and lead are settled and whose record is yet to be inserted.
struct NewRecord {
    /// The record as it will be stored; [`insert_records`] sets its id.
    record: CallRecord,
    /// The customer's number (`remote_e164`).
    remote: Option<String>,
    created_lead: Option<Lead>,
    line: Option<Line>,
    line_created: bool,
}

/// Settles one call's line (call tracking) and lead (an unknown caller's), writing them if
/// new, and gives its record as it will be stored.
async fn prepare_call(
    tx: &mut Tx,
    log: &CallLog,
    seen: &mut SeenInBatch,
) -> Result<NewRecord, AttemptError> {
    let call = &log.call;

    // Call tracking: our number on the call, created on first sight.
    let (line, line_created) = match (&log.line_number, call.line_id) {
        (Some(number), _) => {
            let (line, created) = find_or_create_line(tx, number, call.started_at, seen).await?;
            (Some(line), created)
        }
        (None, Some(id)) => match line_by_id(tx, id).await? {
            Some(line) => (Some(line), false),
            None => {
                return Err(StoreError::MissingReference {
                    field: "call.line_id".into(),
                    entity: "line",
                }
                .into())
            }
        },
        (None, None) => (None, false),
    };
    let line_id = call.line_id.or(line.as_ref().map(|l| l.id));
    let source_id = call.source_id.or(line.as_ref().and_then(|l| l.source_id));

    // An unknown caller joins the open lead carrying his number, or gets a new one.
    let mut parties = log.parties;
    let mut created_lead = None;
    let rule = line.as_ref().map(|l| l.lead_rule).unwrap_or_default();
    let remote = remote_number(call);
    if let (false, Some(candidate)) = (parties.is_known(), &log.lead_candidate) {
        if rule.creates_lead_for(call.direction) {
            let numbers: Vec<&str> = remote
                .into_iter()
                .chain(candidate.phones.iter().map(|p| p.e164.as_str()))
                .collect();
            match open_lead_carrying(tx, &numbers, seen).await? {
                Some(lead_id) => parties.lead_id = Some(lead_id),
                None => {
                    let mut new_lead = candidate.clone();
                    new_lead.source_id = source_id.or(candidate.source_id);
                    let lead = insert_lead(tx, &new_lead, ms(call.started_at)).await?;
                    if lead.status.is_open() {
                        // A plain insert: losing the race to a concurrent call from the same
                        // number fails here, and the retry joins that call's lead.
                        for e164 in distinct_numbers(&lead.phones) {
                            seen.open_leads.insert(e164.to_string(), Some(lead.id));
                            sqlx::query(
                                "INSERT INTO open_lead_numbers (e164, lead_id) VALUES ($1, $2)",
                            )
                            .bind(e164)
                            .bind(lead.id.0)
                            .execute(&mut **tx)
                            .await?;
                        }
                    }
                    sqlx::query(
                        "INSERT INTO timeline (subject_kind, subject_id, kind, at, call_id, author_id, text) VALUES ('lead', $1, $2, $3, NULL, NULL, $4)",
                    )
                    .bind(lead.id.0)
                    .bind(TimelineKind::LeadCreated.as_str())
                    .bind(ms(call.started_at))
                    .bind(lead.title.as_str())
                    .execute(&mut **tx)
                    .await?;
                    parties.lead_id = Some(lead.id);
                    created_lead = Some(lead);
                }
            }
        }
    }

    // The record is what will be written, as the database gives it back (instants to the
    // millisecond); only the id is read back. Decoding whole rows was a good part of the
    // cost of logging a call.
    let record = CallRecord {
        id: CallId(0),
        direction: call.direction,
        caller: call.caller.clone(),
        called: call.called.clone(),
        line_id,
        source_id,
        agent_id: call.agent_id,
        queue: call.queue.clone(),
        started_at: at(ms(call.started_at)),
        answered_at: call.answered_at.map(|t| at(ms(t))),
        ended_at: at(ms(call.ended_at)),
        duration_s: call.duration_s(),
        status: call.status,
        recording: call.recording.clone(),
        rating: call.rating,
        notes: call.notes.clone(),
        transcript: None,
        contact_id: parties.contact_id,
        company_id: parties.company_id,
        lead_id: parties.lead_id,
        deal_id: parties.deal_id,
        origin: call.origin,
        idempotency_key: call.idempotency_key.clone(),
    };
    Ok(NewRecord {
        record,
        remote: remote.map(str::to_owned),
        created_lead,
        line,
        line_created,
    })
}

/// Rows per INSERT: a batch is cut greedily into these sizes. A few fixed sizes rather than
/// one statement per batch size, so the connection's prepared-statement cache keeps them;
/// 64 rows of 25 columns stay far below every backend's limit on bound parameters.
const ROWS_PER_INSERT: [usize; 4] = [64, 16, 4, 1];

/// The sizes of the INSERTs for `n` rows, largest first.
fn insert_sizes(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let size = ROWS_PER_INSERT.into_iter().find(|size| *size <= n)?;
        n -= size;
        Some(size)
    })
}

/// One multi-row INSERT statement per size of [`ROWS_PER_INSERT`] and dialect: `head`, then
/// for each row `columns` placeholders followed by `row_tail`, then `tail`.
struct MultiRowInsert {
    sqlite: Vec<String>,
    postgres: Vec<String>,
}

impl MultiRowInsert {
    fn new(head: &str, columns: usize, row_tail: &str, tail: &str) -> Self {
        let statements = |dialect: Dialect| {
            ROWS_PER_INSERT
                .iter()
                .map(|rows| {
                    let values: Vec<String> = (0..*rows)
                        .map(|row| {
                            let params = dialect.placeholders(row * columns + 1, columns);
                            format!("({params}{row_tail})")
                        })
                        .collect();
                    format!("{head} VALUES {}{tail}", values.join(", "))
                })
                .collect()
        };
        MultiRowInsert {
            sqlite: statements(Dialect::Sqlite),
            postgres: statements(Dialect::Postgres),
        }
    }

    /// The statement for `rows` rows, one of [`ROWS_PER_INSERT`].
    fn sql(&self, dialect: Dialect, rows: usize) -> &str {
        let at = ROWS_PER_INSERT
            .iter()
            .position(|size| *size == rows)
            .expect("a size from insert_sizes");
        match dialect {
            Dialect::Sqlite => &self.sqlite[at],
            Dialect::Postgres => &self.postgres[at],
        }
    }
}

static INSERT_CALLS: LazyLock<MultiRowInsert> = LazyLock::new(|| {
    MultiRowInsert::new(
        concat!(
            "INSERT INTO calls (direction, caller_e164, caller_raw, called_e164, called_raw, remote_e164, line_id, source_id, agent_id, queue, ",
            "started_at, answered_at, ended_at, duration_s, status, recording, rating, notes, contact_id, company_id, lead_id, deal_id, ",
            "origin_kind, origin_device, idempotency_key)"
        ),
        25,
        "",
        " RETURNING id",
    )
});

static INSERT_CALL_TIMELINE: LazyLock<MultiRowInsert> = LazyLock::new(|| {
    MultiRowInsert::new(
        "INSERT INTO timeline (subject_kind, subject_id, kind, at, call_id, author_id, text)",
        6,
        ", NULL",
        "",
    )
});

/// Inserts the records, a chunk of rows per statement, and sets their ids.
async fn insert_records(
    tx: &mut Tx,
    dialect: Dialect,
    new_calls: &mut [NewRecord],
) -> Result<(), AttemptError> {
    let mut rest = new_calls;
    for rows in insert_sizes(rest.len()) {
        let (chunk, tail) = std::mem::take(&mut rest).split_at_mut(rows);
        rest = tail;
        let mut query = sqlx::query(INSERT_CALLS.sql(dialect, rows));
        for new in chunk.iter() {
            let r = &new.record;
            let (origin_kind, origin_device) = rows::origin_parts(r.origin);
            query = query
                .bind(r.direction.as_str())
                .bind(r.caller.e164.as_deref())
                .bind(r.caller.raw.as_str())
                .bind(r.called.e164.as_deref())
                .bind(r.called.raw.as_str())
                .bind(new.remote.as_deref())
                .bind(r.line_id.map(|i| i.0))
                .bind(r.source_id.map(|i| i.0))
                .bind(r.agent_id.map(|i| i.0))
                .bind(r.queue.as_deref())
                .bind(ms(r.started_at))
                .bind(r.answered_at.map(ms))
                .bind(ms(r.ended_at))
                .bind(r.duration_s)
                .bind(r.status.as_str())
                .bind(r.recording.as_deref())
                .bind(r.rating.map(i64::from))
                .bind(r.notes.as_deref())
                .bind(r.contact_id.map(|i| i.0))
                .bind(r.company_id.map(|i| i.0))
                .bind(r.lead_id.map(|i| i.0))
                .bind(r.deal_id.map(|i| i.0))
                .bind(origin_kind)
                .bind(origin_device)
                .bind(r.idempotency_key.as_deref());
        }
        let mut ids = query
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<Result<Vec<i64>, _>>()?;
        // RETURNING promises no order, but one statement's rows get increasing ids in the
        // order of its VALUES (SQLite's rowid and PostgreSQL's sequence are both taken row
        // by row): sorted, the ids line up with the rows.
        ids.sort_unstable();
        if ids.len() != chunk.len() {
            return Err(AttemptError::Db(sqlx::Error::Protocol(format!(
                "{} call records inserted, {} ids returned",
                chunk.len(),
                ids.len()
            ))));
        }
        for (new, id) in chunk.iter_mut().zip(ids) {
            new.record.id = CallId(id);
        }
    }
    Ok(())
}

/// The "call" timeline entries: one on each of the call's contact, lead and deal.
async fn insert_call_timeline(
    tx: &mut Tx,
    dialect: Dialect,
    new_calls: &[NewRecord],
) -> Result<(), AttemptError> {
    let entries: Vec<(Subject, &CallRecord)> = new_calls
        .iter()
        .flat_map(|new| {
            let r = &new.record;
            [
                r.contact_id.map(Subject::Contact),
                r.lead_id.map(Subject::Lead),
                r.deal_id.map(Subject::Deal),
            ]
            .into_iter()
            .flatten()
            .map(move |subject| (subject, r))
        })
        .collect();
    let mut rest = &entries[..];
    for rows in insert_sizes(entries.len()) {
        let (chunk, tail) = rest.split_at(rows);
        rest = tail;
        let mut query = sqlx::query(INSERT_CALL_TIMELINE.sql(dialect, rows));
        for (subject, record) in chunk {
            query = query
                .bind(subject.kind_str())
                .bind(subject.raw_id())
                .bind(TimelineKind::Call.as_str())
                .bind(ms(record.started_at))
                .bind(record.id.0)
                .bind(record.agent_id.map(|i| i.0));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
