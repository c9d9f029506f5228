//! Rows to entities. Column lists live next to their readers so the two cannot disagree.

use chrono::TimeZone;
use domain::*;
use sqlx::any::AnyRow;
use sqlx::Row;
use store::StoreError;

pub(crate) type RowResult<T> = Result<T, StoreError>;

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

/// Instants are stored as unix milliseconds; a value outside chrono's range (only a hand-edited
/// database holds one) reads as the epoch rather than failing the whole row.
pub(crate) fn at(ms: i64) -> Timestamp {
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .unwrap_or(chrono::DateTime::UNIX_EPOCH)
}

pub(crate) fn get<T>(row: &AnyRow, column: &str) -> RowResult<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column)
        .map_err(|e| StoreError::Backend(format!("reading column {column}: {e}")))
}

fn text_enum<T>(row: &AnyRow, column: &str, parse: fn(&str) -> Option<T>) -> RowResult<T> {
    let s: String = get(row, column)?;
    parse(&s).ok_or_else(|| StoreError::Backend(format!("unknown {column} {s:?} in the database")))
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> RowResult<T> {
    let s: String = get(row, column)?;
    serde_json::from_str(&s).map_err(|e| StoreError::Backend(format!("column {column}: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> RowResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("encoding JSON: {e}")))
}

fn opt_id(row: &AnyRow, column: &str) -> RowResult<Option<i64>> {
    get(row, column)
}

/// The column list each reader below expects, as a literal so queries can be `concat!`ed into
/// static strings (the prepared-statement cache is keyed by the SQL text).
macro_rules! columns {
    (user) => {
        "id, name, login, role, extension, mobile_e164, mobile_raw, work_state, pause_reason, created_at"
    };
    (api_key) => {
        "id, name, role, prefix, created_at"
    };
    (sip_credentials) => {
        "user_id, username, realm, ha1_md5, ha1_sha256, updated_at"
    };
    (device) => {
        "id, name, user_id, created_at, last_seen_at"
    };
    (company) => {
        "id, name, phones, emails, responsible_id, created_at"
    };
    (contact) => {
        "id, name, company_id, phones, emails, responsible_id, source_id, created_at, updated_at"
    };
    (lead) => {
        "id, title, name, company_name, phones, emails, status, source_id, responsible_id, contact_id, created_at"
    };
    (deal) => {
        "id, title, stage, contact_id, company_id, responsible_id, amount_minor, currency, created_at, closed_at"
    };
    (line) => {
        "id, number_e164, number_raw, name, source_id, origin, lead_rule, created_at"
    };
    (call) => {
        "id, direction, caller_e164, caller_raw, called_e164, called_raw, line_id, source_id, agent_id, queue, started_at, answered_at, ended_at, duration_s, status, recording, rating, notes, transcript, contact_id, company_id, lead_id, deal_id, origin_kind, origin_device, idempotency_key"
    };
    (timeline) => {
        "id, subject_kind, subject_id, kind, at, call_id, author_id, text"
    };
    (task) => {
        "id, title, kind, subject_kind, subject_id, due_at, assignee_id, created_by, call_id, created_at, done_at"
    };
    (webhook) => {
        "id, url, events, secret, active, created_at"
    };
    (delivery) => {
        "id, webhook_id, event, payload, state, attempts, last_status, last_error, next_attempt_at, created_at"
    };
}
pub(crate) use columns;

pub(crate) fn user(row: &AnyRow) -> RowResult<User> {
    let mobile_e164: Option<String> = get(row, "mobile_e164")?;
    let mobile_raw: Option<String> = get(row, "mobile_raw")?;
    Ok(User {
        id: UserId(get(row, "id")?),
        name: get(row, "name")?,
        login: get(row, "login")?,
        role: text_enum(row, "role", |s| s.parse().ok())?,
        extension: get(row, "extension")?,
        mobile: mobile_e164.map(|e164| Phone {
            raw: mobile_raw.unwrap_or_else(|| e164.clone()),
            e164,
        }),
        work_state: text_enum(row, "work_state", WorkState::parse)?,
        pause_reason: get(row, "pause_reason")?,
        created_at: at(get(row, "created_at")?),
    })
}

pub(crate) fn sip_credentials(row: &AnyRow) -> RowResult<store::SipCredentials> {
    Ok(store::SipCredentials {
        user_id: UserId(get(row, "user_id")?),
        username: get(row, "username")?,
        realm: get(row, "realm")?,
        ha1_md5: get(row, "ha1_md5")?,
        ha1_sha256: get(row, "ha1_sha256")?,
        updated_at: at(get(row, "updated_at")?),
    })
}

pub(crate) fn api_key(row: &AnyRow) -> RowResult<ApiKey> {
    Ok(ApiKey {
        id: ApiKeyId(get(row, "id")?),
        name: get(row, "name")?,
        role: text_enum(row, "role", |s| s.parse().ok())?,
        prefix: get(row, "prefix")?,
        created_at: at(get(row, "created_at")?),
    })
}

pub(crate) fn device(row: &AnyRow) -> RowResult<Device> {
    Ok(Device {
        id: DeviceId(get(row, "id")?),
        name: get(row, "name")?,
        user_id: UserId(get(row, "user_id")?),
        created_at: at(get(row, "created_at")?),
        last_seen_at: get::<Option<i64>>(row, "last_seen_at")?.map(at),
    })
}

pub(crate) fn company(row: &AnyRow) -> RowResult<Company> {
    Ok(Company {
        id: CompanyId(get(row, "id")?),
        name: get(row, "name")?,
        phones: json(row, "phones")?,
        emails: json(row, "emails")?,
        responsible_id: opt_id(row, "responsible_id")?.map(UserId),
        created_at: at(get(row, "created_at")?),
    })
}

pub(crate) fn contact(row: &AnyRow) -> RowResult<Contact> {
    Ok(Contact {
        id: ContactId(get(row, "id")?),
        name: get(row, "name")?,
        company_id: opt_id(row, "company_id")?.map(CompanyId),
        phones: json(row, "phones")?,
        emails: json(row, "emails")?,
        responsible_id: opt_id(row, "responsible_id")?.map(UserId),
        source_id: opt_id(row, "source_id")?.map(SourceId),
        created_at: at(get(row, "created_at")?),
        updated_at: at(get(row, "updated_at")?),
    })
}

pub(crate) fn lead(row: &AnyRow) -> RowResult<Lead> {
    Ok(Lead {
        id: LeadId(get(row, "id")?),
        title: get(row, "title")?,
        name: get(row, "name")?,
        company_name: get(row, "company_name")?,
        phones: json(row, "phones")?,
        emails: json(row, "emails")?,
        status: text_enum(row, "status", LeadStatus::parse)?,
        source_id: opt_id(row, "source_id")?.map(SourceId),
        responsible_id: opt_id(row, "responsible_id")?.map(UserId),
        contact_id: opt_id(row, "contact_id")?.map(ContactId),
        created_at: at(get(row, "created_at")?),
    })
}

pub(crate) fn deal(row: &AnyRow) -> RowResult<Deal> {
    Ok(Deal {
        id: DealId(get(row, "id")?),
        title: get(row, "title")?,
        stage: text_enum(row, "stage", DealStage::parse)?,
        contact_id: opt_id(row, "contact_id")?.map(ContactId),
        company_id: opt_id(row, "company_id")?.map(CompanyId),
        responsible_id: opt_id(row, "responsible_id")?.map(UserId),
        amount: Money {
            amount_minor: get(row, "amount_minor")?,
            currency: get(row, "currency")?,
        },
        created_at: at(get(row, "created_at")?),
        closed_at: get::<Option<i64>>(row, "closed_at")?.map(at),
    })
}

pub(crate) fn source(row: &AnyRow) -> RowResult<Source> {
    Ok(Source {
        id: SourceId(get(row, "id")?),
        name: get(row, "name")?,
    })
}

pub(crate) fn line(row: &AnyRow) -> RowResult<Line> {
    Ok(Line {
        id: LineId(get(row, "id")?),
        number: Phone {
            e164: get(row, "number_e164")?,
            raw: get(row, "number_raw")?,
        },
        name: get(row, "name")?,
        source_id: opt_id(row, "source_id")?.map(SourceId),
        origin: text_enum(row, "origin", LineOrigin::parse)?,
        lead_rule: text_enum(row, "lead_rule", LeadRule::parse)?,
        created_at: at(get(row, "created_at")?),
    })
}

pub(crate) fn call(row: &AnyRow) -> RowResult<CallRecord> {
    let origin_kind: String = get(row, "origin_kind")?;
    let origin = match origin_kind.as_str() {
        "sip" => CallOrigin::Sip,
        "api" => CallOrigin::Api,
        "bridge" => match get::<Option<i64>>(row, "origin_device")? {
            Some(device) => CallOrigin::Bridge(DeviceId(device)),
            None => return Err(StoreError::Backend("bridge call without a device".into())),
        },
        other => {
            return Err(StoreError::Backend(format!(
                "unknown call origin {other:?}"
            )))
        }
    };
    Ok(CallRecord {
        id: CallId(get(row, "id")?),
        direction: text_enum(row, "direction", Direction::parse)?,
        caller: CallNumber {
            e164: get(row, "caller_e164")?,
            raw: get(row, "caller_raw")?,
        },
        called: CallNumber {
            e164: get(row, "called_e164")?,
            raw: get(row, "called_raw")?,
        },
        line_id: opt_id(row, "line_id")?.map(LineId),
        source_id: opt_id(row, "source_id")?.map(SourceId),
        agent_id: opt_id(row, "agent_id")?.map(UserId),
        queue: get(row, "queue")?,
        started_at: at(get(row, "started_at")?),
        answered_at: get::<Option<i64>>(row, "answered_at")?.map(at),
        ended_at: at(get(row, "ended_at")?),
        duration_s: get(row, "duration_s")?,
        status: text_enum(row, "status", CallStatus::parse)?,
        recording: get(row, "recording")?,
        rating: get::<Option<i64>>(row, "rating")?.map(|r| r.clamp(0, 255) as u8),
        notes: get(row, "notes")?,
        transcript: get(row, "transcript")?,
        contact_id: opt_id(row, "contact_id")?.map(ContactId),
        company_id: opt_id(row, "company_id")?.map(CompanyId),
        lead_id: opt_id(row, "lead_id")?.map(LeadId),
        deal_id: opt_id(row, "deal_id")?.map(DealId),
        origin,
        idempotency_key: get(row, "idempotency_key")?,
    })
}

pub(crate) fn origin_parts(origin: CallOrigin) -> (&'static str, Option<i64>) {
    match origin {
        CallOrigin::Sip => ("sip", None),
        CallOrigin::Api => ("api", None),
        CallOrigin::Bridge(d) => ("bridge", Some(d.0)),
    }
}

pub(crate) fn timeline(row: &AnyRow) -> RowResult<TimelineEntry> {
    let kind: String = get(row, "subject_kind")?;
    let id: i64 = get(row, "subject_id")?;
    Ok(TimelineEntry {
        id: TimelineEntryId(get(row, "id")?),
        subject: Subject::from_parts(&kind, id)
            .ok_or_else(|| StoreError::Backend(format!("unknown timeline subject {kind:?}")))?,
        kind: text_enum(row, "kind", TimelineKind::parse)?,
        at: at(get(row, "at")?),
        call_id: opt_id(row, "call_id")?.map(CallId),
        author_id: opt_id(row, "author_id")?.map(UserId),
        text: get(row, "text")?,
    })
}

pub(crate) fn task(row: &AnyRow) -> RowResult<Task> {
    let kind: String = get(row, "subject_kind")?;
    let id: i64 = get(row, "subject_id")?;
    Ok(Task {
        id: TaskId(get(row, "id")?),
        title: get(row, "title")?,
        kind: text_enum(row, "kind", TaskKind::parse)?,
        subject: Subject::from_parts(&kind, id)
            .ok_or_else(|| StoreError::Backend(format!("unknown task subject {kind:?}")))?,
        due_at: get::<Option<i64>>(row, "due_at")?.map(at),
        assignee_id: UserId(get(row, "assignee_id")?),
        created_by: opt_id(row, "created_by")?.map(UserId),
        call_id: opt_id(row, "call_id")?.map(CallId),
        created_at: at(get(row, "created_at")?),
        done_at: get::<Option<i64>>(row, "done_at")?.map(at),
    })
}

pub(crate) fn webhook(row: &AnyRow) -> RowResult<Webhook> {
    Ok(Webhook {
        id: WebhookId(get(row, "id")?),
        url: get(row, "url")?,
        events: json(row, "events")?,
        secret: get(row, "secret")?,
        active: get::<i64>(row, "active")? != 0,
        created_at: at(get(row, "created_at")?),
    })
}

pub(crate) fn delivery(row: &AnyRow) -> RowResult<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: WebhookDeliveryId(get(row, "id")?),
        webhook_id: WebhookId(get(row, "webhook_id")?),
        event: text_enum(row, "event", EventKind::parse)?,
        payload: json(row, "payload")?,
        state: text_enum(row, "state", DeliveryState::parse)?,
        attempts: get::<i64>(row, "attempts")?.clamp(0, u32::MAX as i64) as u32,
        last_status: get::<Option<i64>>(row, "last_status")?.map(|s| s.clamp(0, 999) as u16),
        last_error: get(row, "last_error")?,
        next_attempt_at: get::<Option<i64>>(row, "next_attempt_at")?.map(at),
        created_at: at(get(row, "created_at")?),
    })
}
