//! The storage contract of Ringbase.
//!
//! One trait, [`Store`], implemented by every backend (SQLite by default, PostgreSQL to scale),
//! used as `Arc<dyn Store>`. Methods are grouped by aggregate. Each method is one transaction:
//! a method that writes several rows ([`Store::log_call`], [`Store::create_contact`], ...) writes
//! all of them or none.
//!
//! The conformance suite (feature `testing`, module `conformance`) is the executable form of
//! this contract: every backend runs it, so a behaviour documented here is a behaviour tested.

use async_trait::async_trait;
use domain::*;

#[cfg(feature = "testing")]
pub mod conformance;

/// What can go wrong in storage. Backend details are flattened into `Backend`: callers act on
/// the kind, not on the driver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The entity does not exist (or is not visible).
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: i64 },
    /// A uniqueness or state rule refused the write; `field` names the input that collides.
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    /// A reference to another entity points nowhere (e.g. `company_id` of a missing company).
    #[error("{field}: no such {entity}")]
    MissingReference { field: String, entity: &'static str },
    /// The database failed (connection lost, disk full, ...).
    #[error("storage backend: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Offset pagination: simple for clients, and lists here are browsed page by page, not synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub offset: u64,
}

impl Page {
    pub const MAX_LIMIT: u32 = 500;

    pub fn new(limit: u32, offset: u64) -> Self {
        Page {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            offset,
        }
    }
}

impl Default for Page {
    fn default() -> Self {
        Page::new(50, 0)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    pub company_id: Option<CompanyId>,
    pub responsible_id: Option<UserId>,
    /// E.164 number the contact carries.
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyFilter {
    pub name_contains: Option<String>,
    pub responsible_id: Option<UserId>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadFilter {
    pub status: Option<LeadStatus>,
    /// Only New and InProgress.
    pub open_only: bool,
    pub source_id: Option<SourceId>,
    pub responsible_id: Option<UserId>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DealFilter {
    pub stage: Option<DealStage>,
    pub contact_id: Option<ContactId>,
    pub company_id: Option<CompanyId>,
    pub responsible_id: Option<UserId>,
}

/// Calls are listed newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallFilter {
    /// `started_at >= from`.
    pub from: Option<Timestamp>,
    /// `started_at < until`.
    pub until: Option<Timestamp>,
    pub direction: Option<Direction>,
    pub status: Option<CallStatus>,
    pub agent_id: Option<UserId>,
    pub line_id: Option<LineId>,
    pub source_id: Option<SourceId>,
    pub queue: Option<String>,
    pub contact_id: Option<ContactId>,
    pub lead_id: Option<LeadId>,
    /// E.164 on either side of the call.
    pub number: Option<String>,
}

/// Tasks are listed open ones first, then by due time (soonest first, no due time last), then
/// oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFilter {
    pub assignee_id: Option<UserId>,
    /// Only tasks assigned to or created by this user (what an agent may see).
    pub visible_to: Option<UserId>,
    /// `Some(false)`: open only; `Some(true)`: done only.
    pub done: Option<bool>,
    /// `due_at < due_before` (tasks without a due time never match).
    pub due_before: Option<Timestamp>,
    pub subject: Option<Subject>,
}

/// Whom a number belongs to, as stored. The CRM layer picks the card from this.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhoneMatches {
    pub contacts: Vec<Contact>,
    pub companies: Vec<Company>,
    /// Leads carrying the number, open ones first, newest first within each group.
    pub leads: Vec<Lead>,
}

/// The CRM parties a call is linked to, decided by the CRM layer before logging.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallParties {
    pub contact_id: Option<ContactId>,
    pub company_id: Option<CompanyId>,
    pub lead_id: Option<LeadId>,
    pub deal_id: Option<DealId>,
}

impl CallParties {
    pub fn is_known(&self) -> bool {
        self.contact_id.is_some() || self.company_id.is_some() || self.lead_id.is_some()
    }
}

/// Everything that logging one finished call writes, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct CallLog {
    /// The call. Its `line_id`/`source_id`, when `None`, are filled from `line_number`.
    pub call: NewCall,
    /// Our number on the call (call tracking). Found, or created as `SeenOnCall` if new.
    pub line_number: Option<Phone>,
    /// Who the remote number belongs to.
    pub parties: CallParties,
    /// For an unknown caller whose number is not on the exception list: the lead to create if
    /// the line's [`LeadRule`] allows it for the call's direction (a call with no line follows
    /// [`LeadRule::default`]). If an open lead already carries the number, the call joins that
    /// lead instead and no lead is created. The lead's source is the line's source.
    pub lead_candidate: Option<NewLead>,
}

/// What [`Store::log_call`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedCall {
    pub call: CallRecord,
    /// The lead this call created, if it did.
    pub created_lead: Option<Lead>,
    /// The line, if the call had one; `line_created` says it was first seen on this call.
    pub line: Option<Line>,
    pub line_created: bool,
    /// True when a call with the same idempotency key was logged before; `call` is that record
    /// and nothing was written.
    pub duplicate: bool,
}

/// Outcome of one webhook delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub status: Option<u16>,
    pub error: Option<String>,
    /// `None` when delivered or when there will be no further attempt.
    pub next_attempt_at: Option<Timestamp>,
    pub state: DeliveryState,
}

/// A user's SIP credentials (digest authentication of his phones), separate from his web
/// password. Never the password itself: only H(A1) = H(username:realm:password) for the realm
/// they were set for, with MD5 and with SHA-256 (RFC 7616, RFC 8760). A registrar that runs
/// with another realm cannot use them; the password must be set again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipCredentials {
    pub user_id: UserId,
    /// The digest user name the phone authenticates with (unique, compared exactly).
    pub username: String,
    pub realm: String,
    /// MD5(username:realm:password), lower-case hex.
    pub ha1_md5: String,
    /// SHA-256(username:realm:password), lower-case hex.
    pub ha1_sha256: String,
    pub updated_at: Timestamp,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is ("sqlite", "postgres"), for logs and /health.
    fn backend(&self) -> &'static str;

    /// A cheap round trip, for /health.
    async fn ping(&self) -> StoreResult<()>;

    // ---- users and sign-in ----
    /// Logins are unique, case-insensitively (`Conflict` on `login`).
    async fn create_user(&self, user: NewUser, password_hash: Option<String>) -> StoreResult<User>;
    async fn get_user(&self, id: UserId) -> StoreResult<User>;
    /// The user and his password hash (None if he may not sign in with a password).
    async fn find_user_by_login(&self, login: &str) -> StoreResult<Option<(User, Option<String>)>>;
    async fn find_user_by_extension(&self, extension: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Extensions are unique (`Conflict` on `extension`).
    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<User>;
    async fn set_user_password(&self, id: UserId, password_hash: String) -> StoreResult<()>;
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: UserId,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// The session's user, if the session exists and has not expired at `now`.
    async fn find_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<User>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    // ---- SIP credentials (phones' digest authentication; hashes only) ----
    /// Sets (or replaces) the user's SIP credentials. `NotFound` for a missing user,
    /// `Conflict` on `username` when another user's credentials use that name.
    async fn set_sip_credentials(&self, credentials: SipCredentials) -> StoreResult<()>;
    /// The credentials whose user name is exactly `username`.
    async fn find_sip_credentials(&self, username: &str) -> StoreResult<Option<SipCredentials>>;
    async fn get_sip_credentials(&self, user_id: UserId) -> StoreResult<Option<SipCredentials>>;
    /// Removes them (the user's phones can no longer register); no error if there were none.
    async fn delete_sip_credentials(&self, user_id: UserId) -> StoreResult<()>;

    // ---- API keys and bridge devices (secrets arrive hashed) ----
    async fn create_api_key(
        &self,
        name: &str,
        role: Role,
        prefix: &str,
        key_hash: &str,
    ) -> StoreResult<ApiKey>;
    async fn find_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>>;
    async fn delete_api_key(&self, id: ApiKeyId) -> StoreResult<()>;
    async fn create_device(
        &self,
        name: &str,
        user_id: UserId,
        token_hash: &str,
    ) -> StoreResult<Device>;
    /// Finds the device by token and records that it was seen at `now`.
    async fn find_device(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<Device>>;
    async fn list_devices(&self) -> StoreResult<Vec<Device>>;
    async fn delete_device(&self, id: DeviceId) -> StoreResult<()>;

    // ---- CRM ----
    async fn create_company(&self, company: NewCompany) -> StoreResult<Company>;
    async fn get_company(&self, id: CompanyId) -> StoreResult<Company>;
    /// Exact, case-insensitive name match; the oldest company wins. Import links by name.
    async fn find_company_by_name(&self, name: &str) -> StoreResult<Option<Company>>;
    async fn list_companies(&self, filter: &CompanyFilter, page: Page)
        -> StoreResult<Vec<Company>>;
    async fn delete_company(&self, id: CompanyId) -> StoreResult<()>;

    async fn create_contact(&self, contact: NewContact) -> StoreResult<Contact>;
    /// Many contacts in one transaction (import): all or none. Returns how many were written.
    async fn create_contacts(&self, contacts: Vec<NewContact>) -> StoreResult<u64>;
    async fn get_contact(&self, id: ContactId) -> StoreResult<Contact>;
    async fn list_contacts(&self, filter: &ContactFilter, page: Page) -> StoreResult<Vec<Contact>>;
    async fn update_contact(
        &self,
        id: ContactId,
        patch: ContactPatch,
        now: Timestamp,
    ) -> StoreResult<Contact>;
    /// Deletes the contact, its timeline and its tasks; calls keep their record but lose the link.
    async fn delete_contact(&self, id: ContactId) -> StoreResult<()>;

    /// A lead that is open takes its numbers: `Conflict` on `phones[i]` if another open lead
    /// already carries one of them.
    async fn create_lead(&self, lead: NewLead) -> StoreResult<Lead>;
    async fn get_lead(&self, id: LeadId) -> StoreResult<Lead>;
    async fn list_leads(&self, filter: &LeadFilter, page: Page) -> StoreResult<Vec<Lead>>;
    /// Closing a lead (converted, junk) frees its numbers for a new lead.
    async fn update_lead(&self, id: LeadId, patch: LeadPatch) -> StoreResult<Lead>;

    async fn create_deal(&self, deal: NewDeal, now: Timestamp) -> StoreResult<Deal>;
    async fn get_deal(&self, id: DealId) -> StoreResult<Deal>;
    async fn list_deals(&self, filter: &DealFilter, page: Page) -> StoreResult<Vec<Deal>>;
    /// Moving to won or lost sets `closed_at` to `now`; back to open clears it.
    async fn update_deal(&self, id: DealId, patch: DealPatch, now: Timestamp) -> StoreResult<Deal>;
    /// The most recently created open deal of the contact, else of the company.
    async fn latest_open_deal(
        &self,
        contact_id: Option<ContactId>,
        company_id: Option<CompanyId>,
    ) -> StoreResult<Option<Deal>>;

    /// Everyone who carries this E.164 number.
    async fn find_by_phone(&self, e164: &str) -> StoreResult<PhoneMatches>;

    // ---- call tracking ----
    /// Source names are unique, case-insensitively.
    async fn create_source(&self, name: &str) -> StoreResult<Source>;
    async fn list_sources(&self) -> StoreResult<Vec<Source>>;
    /// Refused (`Conflict`) while a line is assigned to it.
    async fn delete_source(&self, id: SourceId) -> StoreResult<()>;
    /// Numbers are unique (`Conflict` on `number`).
    async fn create_line(&self, line: NewLine) -> StoreResult<Line>;
    async fn get_line(&self, id: LineId) -> StoreResult<Line>;
    async fn find_line_by_number(&self, e164: &str) -> StoreResult<Option<Line>>;
    async fn list_lines(&self) -> StoreResult<Vec<Line>>;
    async fn update_line(&self, id: LineId, patch: LinePatch) -> StoreResult<Line>;
    /// Only lines added by hand can be deleted (`Conflict` on `origin` otherwise).
    async fn delete_line(&self, id: LineId) -> StoreResult<()>;
    /// Numbers that never create leads (colleagues, suppliers, the building's front desk).
    async fn add_lead_exception(&self, number: Phone) -> StoreResult<()>;
    async fn remove_lead_exception(&self, e164: &str) -> StoreResult<()>;
    async fn list_lead_exceptions(&self) -> StoreResult<Vec<Phone>>;
    async fn is_lead_exception(&self, e164: &str) -> StoreResult<bool>;

    // ---- calls and timelines ----
    /// Logs a finished call with everything that follows from it, in one transaction: the line
    /// (found or created), the lead (created or joined), the call record, a timeline entry on
    /// each linked contact / lead / deal, and the contact's first source. Idempotent by the
    /// call's idempotency key.
    async fn log_call(&self, log: CallLog) -> StoreResult<LoggedCall>;
    /// Several [`Store::log_call`]s with the results in order, as if logged one by one (a
    /// later call sees the lead an earlier one created); a backend may commit them together.
    async fn log_calls(&self, logs: Vec<CallLog>) -> Vec<StoreResult<LoggedCall>> {
        let mut results = Vec::with_capacity(logs.len());
        for log in logs {
            results.push(self.log_call(log).await);
        }
        results
    }
    async fn get_call(&self, id: CallId) -> StoreResult<CallRecord>;
    async fn list_calls(&self, filter: &CallFilter, page: Page) -> StoreResult<Vec<CallRecord>>;
    async fn update_call(&self, id: CallId, patch: CallPatch) -> StoreResult<CallRecord>;
    /// The newest call with this number on the remote side.
    async fn last_call_with(&self, e164: &str) -> StoreResult<Option<CallRecord>>;
    async fn add_timeline_entry(&self, entry: NewTimelineEntry) -> StoreResult<TimelineEntry>;
    /// Newest first.
    async fn list_timeline(&self, subject: Subject, page: Page) -> StoreResult<Vec<TimelineEntry>>;

    // ---- tasks ----
    /// Creates the task and, in the same transaction, a `TaskCreated` entry (text: the title,
    /// at: `created_at`, author: `created_by`, call: `call_id`) on its subject's timeline.
    /// `MissingReference` on `subject`, `assignee_id`, `created_by` or `call_id`.
    async fn create_task(&self, task: NewTask) -> StoreResult<Task>;
    async fn get_task(&self, id: TaskId) -> StoreResult<Task>;
    async fn list_tasks(&self, filter: &TaskFilter, page: Page) -> StoreResult<Vec<Task>>;
    /// Applies the patch at `now` ([`TaskPatch::apply`]): `Conflict` on the field when the
    /// result breaks a task rule (a call back without a due time), `MissingReference` on
    /// `assignee_id`.
    async fn update_task(&self, id: TaskId, patch: TaskPatch, now: Timestamp) -> StoreResult<Task>;

    // ---- webhooks ----
    async fn create_webhook(&self, hook: NewWebhook, now: Timestamp) -> StoreResult<Webhook>;
    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>>;
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()>;
    /// Whether an active webhook subscribes to `event`: lets the dispatcher skip building a
    /// payload nobody receives (most events, on most systems). May lag a webhook created or
    /// deleted by another process by a few seconds; never this process's own changes.
    async fn has_webhook_subscribers(&self, event: EventKind) -> StoreResult<bool>;
    /// [`Store::has_webhook_subscribers`] without waiting: the answer when the store knows it
    /// from a recent read, `None` when it would have to ask the database. Lets the SIP loop
    /// skip building an event no webhook receives without ever blocking.
    fn webhook_subscribers_known(&self, _event: EventKind) -> Option<bool> {
        None
    }
    /// Queues one pending delivery per active webhook subscribed to `event`; returns how many.
    async fn enqueue_deliveries(
        &self,
        event: EventKind,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<u64>;
    /// Pending deliveries due at `now`, oldest first, with their webhook.
    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<(WebhookDelivery, Webhook)>>;
    /// Records an attempt: increments `attempts`, stores the outcome and the next state.
    async fn record_delivery_attempt(
        &self,
        id: WebhookDeliveryId,
        attempt: DeliveryAttempt,
    ) -> StoreResult<()>;
    /// Newest first.
    async fn list_deliveries(
        &self,
        webhook_id: WebhookId,
        page: Page,
    ) -> StoreResult<Vec<WebhookDelivery>>;

    // ---- settings (small JSON documents by key) ----
    async fn get_setting(&self, key: &str) -> StoreResult<Option<serde_json::Value>>;
    async fn put_setting(&self, key: &str, value: &serde_json::Value) -> StoreResult<()>;
}
