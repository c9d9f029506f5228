//! The conformance suite: the executable form of the [`Store`] docs. Every backend runs it.
//!
//! A backend's integration test expands one `#[tokio::test]` per case with
//! [`conformance_tests!`](crate::conformance_tests), giving an expression that makes a fresh,
//! empty store each time it is evaluated (it is pasted into every case):
//!
//! ```text
//! store::conformance_tests!(async { open_a_fresh_store().await });
//! ```
//!
//! The expression evaluates to a future whose output converts into a [`Harness`]: an
//! `Arc<dyn Store>`, or a [`Harness`] with a cleanup step (dropping a database schema, removing a
//! temp directory) that runs after the case, passed or failed. The backend's test crate needs
//! `tokio` (features `macros`, `rt-multi-thread`) as a dev-dependency.
//!
//! Every instant the cases pass to the store is fixed (no clock is read), so a failure
//! reproduces exactly. Each case documents, by its name and its asserts, one rule of the
//! contract; a case that fails names the rule that broke.

mod sip;
mod tasks;
pub use sip::*;
pub use tasks::*;

use crate::*;
use chrono::{Duration, TimeZone, Utc};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Expands one `#[tokio::test]` per conformance case, each on a fresh store made by `$factory`.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::__conformance_cases!($factory;
            backend_names_itself_and_answers_ping,
            users_round_trip_in_id_order,
            user_logins_are_unique_case_insensitively,
            user_extensions_are_unique,
            update_user_changes_only_what_the_patch_sets,
            missing_users_are_not_found,
            password_hashes_round_trip,
            sessions_expire_and_can_be_deleted,
            sessions_need_an_existing_user,
            api_keys_are_found_by_hash,
            devices_are_found_by_hash_and_record_when_seen,
            companies_round_trip_and_are_found_by_name,
            list_companies_filters_and_pages,
            delete_company_unlinks_its_contacts,
            contacts_round_trip,
            contact_references_must_exist,
            create_contacts_writes_every_contact_and_number,
            create_contacts_is_all_or_none,
            list_contacts_filters_and_pages,
            update_contact_patches_and_reindexes_numbers,
            delete_contact_removes_timeline_and_unlinks_calls,
            leads_round_trip,
            open_leads_own_their_numbers,
            closing_a_lead_frees_its_numbers,
            list_leads_filters_and_pages,
            deal_closed_at_follows_the_stage,
            deal_references_must_exist,
            list_deals_filters_and_pages,
            latest_open_deal_prefers_the_contact_then_the_company,
            find_by_phone_spans_parties_with_open_leads_first,
            sources_are_unique_and_kept_while_a_line_uses_them,
            lines_are_unique_by_number_and_patchable,
            lead_exceptions_round_trip,
            log_call_for_a_known_contact_writes_contact_and_deal_timelines,
            log_call_for_an_unknown_caller_creates_a_lead_with_the_line_source,
            log_call_from_the_same_unknown_number_joins_the_open_lead,
            log_call_after_the_lead_closed_creates_a_new_lead,
            log_call_follows_the_line_lead_rule,
            log_call_without_a_line_follows_the_default_rule,
            log_call_creates_unknown_lines_as_seen_on_call,
            log_call_sets_the_contact_source_only_once,
            log_call_with_a_known_idempotency_key_writes_nothing,
            log_call_keeps_a_given_line_and_source,
            log_call_round_trips_every_call_field,
            log_call_with_a_missing_reference_writes_nothing,
            log_calls_in_a_batch_act_like_one_by_one,
            a_large_batch_gives_each_call_its_own_record_and_timeline_entry,
            concurrent_calls_from_one_unknown_number_make_one_lead,
            concurrent_calls_with_one_idempotency_key_make_one_record,
            list_calls_filters_and_orders_newest_first,
            update_call_patches_rating_notes_recording_and_transcript,
            last_call_with_matches_the_remote_side,
            timelines_are_newest_first_and_paged,
            timeline_entries_need_their_subject,
            webhooks_round_trip,
            deliveries_are_queued_only_for_subscribers,
            due_deliveries_respect_next_attempt_at_and_limit,
            delivery_attempts_update_the_log,
            settings_round_trip,
            sip_credentials_round_trip_and_are_replaced,
            sip_user_names_are_unique_and_users_must_exist,
            tasks_round_trip_with_a_timeline_entry,
            task_references_must_exist_and_nothing_is_half_written,
            list_tasks_filters_orders_and_pages,
            update_task_patches_and_keeps_the_rules,
            deleting_a_contact_deletes_its_tasks,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let harness: $crate::conformance::Harness = ($factory).await.into();
                $crate::conformance::run(harness, $crate::conformance::$case).await;
            }
        )*
    };
}

type Cleanup = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A fresh store for one case, and what to do once the case is over.
pub struct Harness {
    pub store: Arc<dyn Store>,
    cleanup: Option<Cleanup>,
}

impl Harness {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Harness {
            store,
            cleanup: None,
        }
    }

    /// Runs `cleanup` after the case, whether it passed or failed, once the store is dropped.
    pub fn with_cleanup(mut self, cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cleanup = Some(Box::pin(cleanup));
        self
    }
}

impl From<Arc<dyn Store>> for Harness {
    fn from(store: Arc<dyn Store>) -> Self {
        Harness::new(store)
    }
}

/// Runs one case on its own task, so a failing case still gets its cleanup; then re-raises the
/// case's panic.
pub async fn run<F, Fut>(harness: Harness, case: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Harness { store, cleanup } = harness;
    let outcome = tokio::spawn(case(store)).await;
    if let Some(cleanup) = cleanup {
        cleanup.await;
    }
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("case did not finish: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures: fixed instants and small builders.

/// A fixed instant: 2026-03-02 (a Monday) at `hour:minute` UTC.
fn at(hour: u32, minute: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, hour, minute, 0)
        .single()
        .expect("a valid fixed instant")
}

/// A German number as stored: E.164 plus the national form people type.
fn phone(e164: &str) -> Phone {
    Phone {
        e164: e164.to_string(),
        raw: match e164.strip_prefix("+49") {
            Some(national) => format!("0{national}"),
            None => e164.to_string(),
        },
    }
}

fn new_user(login: &str, extension: Option<&str>) -> NewUser {
    NewUser {
        name: format!("User {login}"),
        login: login.to_string(),
        role: Role::Agent,
        extension: extension.map(str::to_string),
        mobile: None,
    }
}

fn new_contact(name: &str, phones: &[&str]) -> NewContact {
    NewContact {
        name: name.to_string(),
        phones: phones.iter().map(|p| phone(p)).collect(),
        ..Default::default()
    }
}

fn new_lead(title: &str, phones: &[&str], status: LeadStatus) -> NewLead {
    NewLead {
        title: title.to_string(),
        name: None,
        company_name: None,
        phones: phones.iter().map(|p| phone(p)).collect(),
        emails: Vec::new(),
        status,
        source_id: None,
        responsible_id: None,
    }
}

fn new_deal(title: &str, contact_id: Option<ContactId>, company_id: Option<CompanyId>) -> NewDeal {
    NewDeal {
        title: title.to_string(),
        stage: DealStage::Open,
        contact_id,
        company_id,
        responsible_id: None,
        amount: Money {
            amount_minor: 150_000,
            currency: "EUR".into(),
        },
    }
}

fn manual_line(e164: &str, source_id: Option<SourceId>, lead_rule: LeadRule) -> NewLine {
    NewLine {
        number: phone(e164),
        name: format!("Line {e164}"),
        source_id,
        origin: LineOrigin::Manual,
        lead_rule,
    }
}

fn number(e164: &str) -> CallNumber {
    CallNumber {
        e164: Some(e164.to_string()),
        raw: e164.to_string(),
    }
}

/// A missed call of `direction` between the customer `remote` and our number `ours`.
fn new_call(direction: Direction, remote: &str, ours: &str, started: Timestamp) -> NewCall {
    let (caller, called) = match direction {
        Direction::Incoming => (number(remote), number(ours)),
        Direction::Outgoing | Direction::Callback => (number(ours), number(remote)),
    };
    NewCall {
        direction,
        caller,
        called,
        line_id: None,
        source_id: None,
        agent_id: None,
        queue: None,
        started_at: started,
        answered_at: None,
        ended_at: started + Duration::seconds(20),
        status: CallStatus::Missed,
        recording: None,
        rating: None,
        notes: None,
        origin: CallOrigin::Api,
        idempotency_key: None,
    }
}

/// Logging a call on our line `ours` (found or created), with no parties and no lead candidate.
fn plain_log(call: NewCall, ours: &str) -> CallLog {
    CallLog {
        call,
        line_number: Some(phone(ours)),
        parties: CallParties::default(),
        lead_candidate: None,
    }
}

/// Logging a call from a number nobody carries: the CRM offers a lead candidate.
fn unknown_caller_log(call: NewCall, ours: Option<&str>) -> CallLog {
    let remote = call.remote_e164().unwrap_or_default().to_string();
    CallLog {
        line_number: ours.map(phone),
        parties: CallParties::default(),
        lead_candidate: Some(new_lead(
            &format!("Call from {remote}"),
            &[&remote],
            LeadStatus::New,
        )),
        call,
    }
}

trait RemoteE164 {
    fn remote_e164(&self) -> Option<&str>;
}

impl RemoteE164 for NewCall {
    fn remote_e164(&self) -> Option<&str> {
        match self.direction {
            Direction::Incoming => self.caller.e164.as_deref(),
            Direction::Outgoing | Direction::Callback => self.called.e164.as_deref(),
        }
    }
}

#[track_caller]
fn expect_conflict<T: std::fmt::Debug>(result: StoreResult<T>, expected_field: &str) {
    match result {
        Err(StoreError::Conflict { field, .. }) => {
            assert_eq!(field, expected_field, "conflict field")
        }
        other => panic!("expected Conflict on {expected_field}, got {other:?}"),
    }
}

#[track_caller]
fn expect_missing<T: std::fmt::Debug>(
    result: StoreResult<T>,
    expected_field: &str,
    expected_entity: &str,
) {
    match result {
        Err(StoreError::MissingReference { field, entity }) => {
            assert_eq!(field, expected_field, "missing reference field");
            assert_eq!(entity, expected_entity, "missing reference entity");
        }
        other => panic!("expected MissingReference on {expected_field}, got {other:?}"),
    }
}

#[track_caller]
fn expect_not_found<T: std::fmt::Debug>(result: StoreResult<T>) {
    match result {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

fn ids<T, I>(items: &[T], id: impl Fn(&T) -> I) -> Vec<I> {
    items.iter().map(id).collect()
}

/// Every call in the store, newest first (the suite's stores hold few).
async fn all_calls(store: &dyn Store) -> Vec<CallRecord> {
    store
        .list_calls(&CallFilter::default(), Page::new(Page::MAX_LIMIT, 0))
        .await
        .expect("list calls")
}

async fn all_leads(store: &dyn Store) -> Vec<Lead> {
    store
        .list_leads(&LeadFilter::default(), Page::new(Page::MAX_LIMIT, 0))
        .await
        .expect("list leads")
}

async fn timeline(store: &dyn Store, subject: Subject) -> Vec<TimelineEntry> {
    store
        .list_timeline(subject, Page::new(Page::MAX_LIMIT, 0))
        .await
        .expect("list timeline")
}

fn kinds(entries: &[TimelineEntry]) -> Vec<TimelineKind> {
    entries.iter().map(|e| e.kind).collect()
}

// ---------------------------------------------------------------------------------------------
// Health.

pub async fn backend_names_itself_and_answers_ping(store: Arc<dyn Store>) {
    assert!(!store.backend().is_empty());
    store.ping().await.expect("ping");
}

// ---------------------------------------------------------------------------------------------
// Users and sign-in.

pub async fn users_round_trip_in_id_order(store: Arc<dyn Store>) {
    let anna = store
        .create_user(
            NewUser {
                name: "Anna Meier".into(),
                login: "Anna.Meier".into(),
                role: Role::Supervisor,
                extension: Some("101".into()),
                mobile: Some(phone("+4915112345678")),
            },
            None,
        )
        .await
        .expect("create anna");
    assert_eq!(anna.name, "Anna Meier");
    assert_eq!(anna.login, "Anna.Meier", "the login keeps its spelling");
    assert_eq!(anna.role, Role::Supervisor);
    assert_eq!(anna.extension.as_deref(), Some("101"));
    assert_eq!(anna.mobile, Some(phone("+4915112345678")));
    assert_eq!(
        anna.work_state,
        WorkState::OffShift,
        "new users start off shift"
    );
    assert_eq!(anna.pause_reason, None);
    assert_eq!(store.get_user(anna.id).await.expect("get"), anna);

    let bob = store
        .create_user(new_user("bob", None), None)
        .await
        .expect("create bob");
    let carl = store
        .create_user(new_user("carl", None), None)
        .await
        .expect("users without extension coexist");
    assert_eq!(
        ids(&store.list_users().await.expect("list"), |u| u.id),
        vec![anna.id, bob.id, carl.id]
    );
}

pub async fn user_logins_are_unique_case_insensitively(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("Anna.Meier", None), Some("hash-1".into()))
        .await
        .expect("create");
    expect_conflict(
        store.create_user(new_user("anna.meier", None), None).await,
        "login",
    );
    expect_conflict(
        store.create_user(new_user("ANNA.MEIER", None), None).await,
        "login",
    );
    let (found, hash) = store
        .find_user_by_login("ANNA.meier")
        .await
        .expect("find")
        .expect("found whatever the case");
    assert_eq!(found, anna);
    assert_eq!(hash.as_deref(), Some("hash-1"));
    assert!(store
        .find_user_by_login("anna")
        .await
        .expect("find")
        .is_none());
    assert_eq!(store.list_users().await.expect("list").len(), 1);
}

pub async fn user_extensions_are_unique(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", Some("101")), None)
        .await
        .expect("anna");
    expect_conflict(
        store.create_user(new_user("bob", Some("101")), None).await,
        "extension",
    );
    let bob = store
        .create_user(new_user("bob", Some("102")), None)
        .await
        .expect("bob");
    let taken = UserPatch {
        extension: Some(Some("101".into())),
        ..Default::default()
    };
    expect_conflict(store.update_user(bob.id, taken).await, "extension");
    assert_eq!(
        store
            .get_user(bob.id)
            .await
            .expect("get")
            .extension
            .as_deref(),
        Some("102")
    );

    assert_eq!(
        store.find_user_by_extension("101").await.expect("find"),
        Some(anna.clone())
    );
    assert_eq!(
        store.find_user_by_extension("103").await.expect("find"),
        None
    );

    // Giving up an extension frees it.
    let cleared = store
        .update_user(
            anna.id,
            UserPatch {
                extension: Some(None),
                ..Default::default()
            },
        )
        .await
        .expect("clear");
    assert_eq!(cleared.extension, None);
    let moved = store
        .update_user(
            bob.id,
            UserPatch {
                extension: Some(Some("101".into())),
                ..Default::default()
            },
        )
        .await
        .expect("take the freed extension");
    assert_eq!(moved.extension.as_deref(), Some("101"));
    assert_eq!(
        store
            .find_user_by_extension("101")
            .await
            .expect("find")
            .map(|u| u.id),
        Some(bob.id)
    );
}

pub async fn update_user_changes_only_what_the_patch_sets(store: Arc<dyn Store>) {
    let anna = store
        .create_user(
            NewUser {
                mobile: Some(phone("+4915112345678")),
                ..new_user("anna", Some("101"))
            },
            None,
        )
        .await
        .expect("create");
    let unchanged = store
        .update_user(anna.id, UserPatch::default())
        .await
        .expect("empty patch");
    assert_eq!(unchanged, anna);

    let paused = store
        .update_user(
            anna.id,
            UserPatch {
                name: Some("Anna M.".into()),
                role: Some(Role::Admin),
                work_state: Some(WorkState::Paused),
                pause_reason: Some(Some("lunch".into())),
                ..Default::default()
            },
        )
        .await
        .expect("patch");
    assert_eq!(paused.name, "Anna M.");
    assert_eq!(paused.role, Role::Admin);
    assert_eq!(paused.work_state, WorkState::Paused);
    assert_eq!(paused.pause_reason.as_deref(), Some("lunch"));
    assert_eq!(paused.extension.as_deref(), Some("101"), "not in the patch");
    assert_eq!(
        paused.mobile,
        Some(phone("+4915112345678")),
        "not in the patch"
    );
    assert_eq!(store.get_user(anna.id).await.expect("get"), paused);

    let no_mobile = store
        .update_user(
            anna.id,
            UserPatch {
                mobile: Some(None),
                ..Default::default()
            },
        )
        .await
        .expect("clear mobile");
    assert_eq!(no_mobile.mobile, None);
    assert_eq!(no_mobile.name, "Anna M.");
}

pub async fn missing_users_are_not_found(store: Arc<dyn Store>) {
    expect_not_found(store.get_user(UserId(4242)).await);
    expect_not_found(store.update_user(UserId(4242), UserPatch::default()).await);
    expect_not_found(store.set_user_password(UserId(4242), "h".into()).await);
}

pub async fn password_hashes_round_trip(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("create");
    let (_, hash) = store
        .find_user_by_login("anna")
        .await
        .expect("find")
        .expect("found");
    assert_eq!(hash, None, "created without a password");
    store
        .set_user_password(anna.id, "argon2-hash".into())
        .await
        .expect("set");
    let (user, hash) = store
        .find_user_by_login("anna")
        .await
        .expect("find")
        .expect("found");
    assert_eq!(user, anna);
    assert_eq!(hash.as_deref(), Some("argon2-hash"));
}

pub async fn sessions_expire_and_can_be_deleted(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("create");
    let expires = at(18, 0);
    store
        .create_session("token-a", anna.id, expires)
        .await
        .expect("session a");
    store
        .create_session("token-b", anna.id, expires)
        .await
        .expect("session b");

    assert_eq!(
        store.find_session("token-a", at(9, 0)).await.expect("find"),
        Some(anna.clone())
    );
    assert_eq!(
        store
            .find_session("token-a", expires - Duration::milliseconds(1))
            .await
            .expect("find"),
        Some(anna.clone())
    );
    assert_eq!(
        store.find_session("token-a", expires).await.expect("find"),
        None,
        "expired at expires_at"
    );
    assert_eq!(
        store
            .find_session("token-a", at(19, 0))
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        store.find_session("unknown", at(9, 0)).await.expect("find"),
        None
    );

    store.delete_session("token-a").await.expect("delete");
    assert_eq!(
        store.find_session("token-a", at(9, 0)).await.expect("find"),
        None
    );
    assert_eq!(
        store.find_session("token-b", at(9, 0)).await.expect("find"),
        Some(anna),
        "other sessions stay"
    );
}

pub async fn sessions_need_an_existing_user(store: Arc<dyn Store>) {
    expect_missing(
        store.create_session("token", UserId(4242), at(18, 0)).await,
        "user_id",
        "user",
    );
    assert_eq!(
        store.find_session("token", at(9, 0)).await.expect("find"),
        None
    );
}

pub async fn api_keys_are_found_by_hash(store: Arc<dyn Store>) {
    let admin = store
        .create_api_key("ci", Role::Admin, "rb_ab12", "hash-admin")
        .await
        .expect("create");
    assert_eq!(admin.name, "ci");
    assert_eq!(admin.role, Role::Admin);
    assert_eq!(admin.prefix, "rb_ab12");
    let agent = store
        .create_api_key("crm sync", Role::Agent, "rb_cd34", "hash-agent")
        .await
        .expect("create");

    assert_eq!(
        store.find_api_key("hash-admin").await.expect("find"),
        Some(admin.clone())
    );
    assert_eq!(
        store.find_api_key("hash-agent").await.expect("find"),
        Some(agent.clone())
    );
    assert_eq!(
        store.find_api_key("rb_ab12").await.expect("find"),
        None,
        "found by hash only"
    );
    assert_eq!(
        store.list_api_keys().await.expect("list"),
        vec![admin.clone(), agent.clone()]
    );

    store.delete_api_key(admin.id).await.expect("delete");
    assert_eq!(store.find_api_key("hash-admin").await.expect("find"), None);
    assert_eq!(store.list_api_keys().await.expect("list"), vec![agent]);
    expect_not_found(store.delete_api_key(admin.id).await);
}

pub async fn devices_are_found_by_hash_and_record_when_seen(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let device = store
        .create_device("Anna's Pixel", anna.id, "hash-dev")
        .await
        .expect("create");
    assert_eq!(device.name, "Anna's Pixel");
    assert_eq!(device.user_id, anna.id);
    assert_eq!(device.last_seen_at, None, "never seen yet");

    let seen = store
        .find_device("hash-dev", at(9, 0))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(seen.id, device.id);
    assert_eq!(seen.last_seen_at, Some(at(9, 0)));
    let later = store
        .find_device("hash-dev", at(11, 0))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(later.last_seen_at, Some(at(11, 0)));
    let listed = store.list_devices().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_seen_at, Some(at(11, 0)), "seen-at is stored");

    assert_eq!(
        store.find_device("unknown", at(9, 0)).await.expect("find"),
        None
    );
    expect_missing(
        store.create_device("ghost", UserId(4242), "hash-2").await,
        "user_id",
        "user",
    );

    store.delete_device(device.id).await.expect("delete");
    assert_eq!(
        store
            .find_device("hash-dev", at(12, 0))
            .await
            .expect("find"),
        None
    );
    expect_not_found(store.delete_device(device.id).await);
}

// ---------------------------------------------------------------------------------------------
// Companies.

pub async fn companies_round_trip_and_are_found_by_name(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let acme = store
        .create_company(NewCompany {
            name: "Acme GmbH".into(),
            phones: vec![phone("+4930111111")],
            emails: vec!["info@acme.example".into()],
            responsible_id: Some(anna.id),
        })
        .await
        .expect("create");
    assert_eq!(acme.name, "Acme GmbH");
    assert_eq!(acme.phones, vec![phone("+4930111111")]);
    assert_eq!(acme.emails, vec!["info@acme.example".to_string()]);
    assert_eq!(acme.responsible_id, Some(anna.id));
    assert_eq!(store.get_company(acme.id).await.expect("get"), acme);

    // Names need not be unique; import links to the oldest.
    let twin = store
        .create_company(NewCompany {
            name: "acme gmbh".into(),
            ..Default::default()
        })
        .await
        .expect("same name again");
    assert_ne!(twin.id, acme.id);
    assert_eq!(
        store.find_company_by_name("ACME GMBH").await.expect("find"),
        Some(acme.clone())
    );
    assert_eq!(
        store.find_company_by_name("Acme").await.expect("find"),
        None,
        "exact names only"
    );

    expect_not_found(store.get_company(CompanyId(4242)).await);
    expect_missing(
        store
            .create_company(NewCompany {
                name: "Ghost AG".into(),
                responsible_id: Some(UserId(4242)),
                ..Default::default()
            })
            .await,
        "responsible_id",
        "user",
    );
    assert_eq!(
        store.find_company_by_name("Ghost AG").await.expect("find"),
        None
    );
}

pub async fn list_companies_filters_and_pages(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let mut made = Vec::new();
    for (name, responsible) in [
        ("Acme GmbH", Some(anna.id)),
        ("ACME Logistics", None),
        ("Bolt 100% AG", Some(anna.id)),
        ("Bolt 1000 AG", None),
        ("Cargo_X", None),
    ] {
        let company = store
            .create_company(NewCompany {
                name: name.into(),
                responsible_id: responsible,
                ..Default::default()
            })
            .await
            .expect("create");
        made.push(company.id);
    }
    let list = |filter: CompanyFilter, page: Page| {
        let store = store.clone();
        async move {
            ids(
                &store.list_companies(&filter, page).await.expect("list"),
                |c| c.id,
            )
        }
    };
    let all = Page::default();
    assert_eq!(
        list(CompanyFilter::default(), all).await,
        made,
        "by id ascending"
    );
    let by_name = |q: &str| CompanyFilter {
        name_contains: Some(q.into()),
        ..Default::default()
    };
    assert_eq!(
        list(by_name("acme"), all).await,
        vec![made[0], made[1]],
        "case-insensitive"
    );
    assert_eq!(
        list(by_name("100%"), all).await,
        vec![made[2]],
        "% is literal"
    );
    assert_eq!(
        list(by_name("o_x"), all).await,
        vec![made[4]],
        "_ is literal"
    );
    assert_eq!(list(by_name("nobody"), all).await, Vec::<CompanyId>::new());
    let by_responsible = CompanyFilter {
        responsible_id: Some(anna.id),
        ..Default::default()
    };
    assert_eq!(list(by_responsible, all).await, vec![made[0], made[2]]);
    let both = CompanyFilter {
        name_contains: Some("bolt".into()),
        responsible_id: Some(anna.id),
    };
    assert_eq!(list(both, all).await, vec![made[2]]);
    assert_eq!(
        list(CompanyFilter::default(), Page::new(2, 0)).await,
        made[0..2].to_vec()
    );
    assert_eq!(
        list(CompanyFilter::default(), Page::new(2, 2)).await,
        made[2..4].to_vec()
    );
    assert_eq!(
        list(CompanyFilter::default(), Page::new(2, 4)).await,
        made[4..].to_vec()
    );
    assert_eq!(
        list(CompanyFilter::default(), Page::new(2, 6)).await,
        Vec::<CompanyId>::new()
    );
}

pub async fn delete_company_unlinks_its_contacts(store: Arc<dyn Store>) {
    let acme = store
        .create_company(NewCompany {
            name: "Acme".into(),
            phones: vec![phone("+4930111111")],
            ..Default::default()
        })
        .await
        .expect("company");
    let anna = store
        .create_contact(NewContact {
            company_id: Some(acme.id),
            ..new_contact("Anna", &["+4930222222"])
        })
        .await
        .expect("contact");
    store.delete_company(acme.id).await.expect("delete");
    expect_not_found(store.get_company(acme.id).await);
    assert_eq!(
        store
            .get_contact(anna.id)
            .await
            .expect("contact stays")
            .company_id,
        None
    );
    assert!(store
        .find_by_phone("+4930111111")
        .await
        .expect("find")
        .companies
        .is_empty());
    expect_not_found(store.delete_company(acme.id).await);
}

// ---------------------------------------------------------------------------------------------
// Contacts.

pub async fn contacts_round_trip(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let acme = store
        .create_company(NewCompany {
            name: "Acme".into(),
            ..Default::default()
        })
        .await
        .expect("company");
    let ads = store.create_source("Google Ads").await.expect("source");
    let input = NewContact {
        name: "Max Muster".into(),
        company_id: Some(acme.id),
        phones: vec![phone("+4930123456"), phone("+4915112345678")],
        emails: vec!["max@acme.example".into(), "max@home.example".into()],
        responsible_id: Some(anna.id),
        source_id: Some(ads.id),
    };
    let max = store.create_contact(input.clone()).await.expect("create");
    assert_eq!(max.name, input.name);
    assert_eq!(max.company_id, input.company_id);
    assert_eq!(
        max.phones, input.phones,
        "numbers keep their order and raw form"
    );
    assert_eq!(max.emails, input.emails);
    assert_eq!(max.responsible_id, input.responsible_id);
    assert_eq!(max.source_id, input.source_id);
    assert_eq!(max.created_at, max.updated_at);
    assert_eq!(store.get_contact(max.id).await.expect("get"), max);
    expect_not_found(store.get_contact(ContactId(4242)).await);
}

pub async fn contact_references_must_exist(store: Arc<dyn Store>) {
    let with = |f: fn(&mut NewContact)| {
        let mut c = new_contact("Max", &["+4930123456"]);
        f(&mut c);
        c
    };
    expect_missing(
        store
            .create_contact(with(|c| c.company_id = Some(CompanyId(4242))))
            .await,
        "company_id",
        "company",
    );
    expect_missing(
        store
            .create_contact(with(|c| c.responsible_id = Some(UserId(4242))))
            .await,
        "responsible_id",
        "user",
    );
    expect_missing(
        store
            .create_contact(with(|c| c.source_id = Some(SourceId(4242))))
            .await,
        "source_id",
        "source",
    );
    let listed = store
        .list_contacts(&ContactFilter::default(), Page::default())
        .await
        .expect("list");
    assert!(listed.is_empty(), "nothing written: {listed:?}");
    assert!(store
        .find_by_phone("+4930123456")
        .await
        .expect("find")
        .contacts
        .is_empty());
}

pub async fn create_contacts_writes_every_contact_and_number(store: Arc<dyn Store>) {
    assert_eq!(
        store
            .create_contacts(Vec::new())
            .await
            .expect("empty batch"),
        0
    );
    let acme = store
        .create_company(NewCompany {
            name: "Acme".into(),
            ..Default::default()
        })
        .await
        .expect("company");
    // More than one multi-row statement's worth, with a second and a repeated number on some.
    const N: usize = 1234;
    let batch: Vec<NewContact> = (0..N)
        .map(|i| {
            let mut c = new_contact(&format!("Import {i:04}"), &[&format!("+49301{i:06}")]);
            if i % 10 == 0 {
                c.phones.push(phone(&format!("+49151{i:06}")));
                c.phones.push(phone(&format!("+49301{i:06}")));
                c.company_id = Some(acme.id);
            }
            c
        })
        .collect();
    assert_eq!(
        store.create_contacts(batch).await.expect("import"),
        N as u64
    );

    let mut listed = Vec::new();
    let mut offset = 0;
    loop {
        let page = store
            .list_contacts(
                &ContactFilter::default(),
                Page::new(Page::MAX_LIMIT, offset),
            )
            .await
            .expect("list");
        if page.is_empty() {
            break;
        }
        offset += page.len() as u64;
        listed.extend(page);
    }
    assert_eq!(listed.len(), N);
    let names: Vec<String> = listed.iter().map(|c| c.name.clone()).collect();
    let expected: Vec<String> = (0..N).map(|i| format!("Import {i:04}")).collect();
    assert_eq!(names, expected, "in input order, by id");

    for i in [0usize, 1, 499, 500, 501, 999, 1000, N - 1] {
        let found = store
            .find_by_phone(&format!("+49301{i:06}"))
            .await
            .expect("find");
        assert_eq!(
            ids(&found.contacts, |c| c.name.clone()),
            vec![format!("Import {i:04}")],
            "number {i}"
        );
        if i % 10 == 0 {
            let second = store
                .find_by_phone(&format!("+49151{i:06}"))
                .await
                .expect("find");
            assert_eq!(ids(&second.contacts, |c| c.id), vec![found.contacts[0].id]);
            assert_eq!(found.contacts[0].company_id, Some(acme.id));
            assert_eq!(found.contacts[0].phones.len(), 3, "numbers stored as given");
        }
    }
    let in_acme = store
        .list_contacts(
            &ContactFilter {
                company_id: Some(acme.id),
                ..Default::default()
            },
            Page::new(Page::MAX_LIMIT, 0),
        )
        .await
        .expect("list");
    assert_eq!(in_acme.len(), N.div_ceil(10));
}

pub async fn create_contacts_is_all_or_none(store: Arc<dyn Store>) {
    let acme = store
        .create_company(NewCompany {
            name: "Acme".into(),
            ..Default::default()
        })
        .await
        .expect("company");
    let mut batch: Vec<NewContact> = (0..5)
        .map(|i| NewContact {
            company_id: Some(acme.id),
            ..new_contact(&format!("Batch {i}"), &[&format!("+4930555000{i}")])
        })
        .collect();
    batch[3].company_id = Some(CompanyId(4242));
    expect_missing(
        store.create_contacts(batch.clone()).await,
        "[3].company_id",
        "company",
    );
    batch[3].company_id = None;
    batch[1].responsible_id = Some(UserId(4242));
    expect_missing(
        store.create_contacts(batch.clone()).await,
        "[1].responsible_id",
        "user",
    );
    batch[1].responsible_id = None;
    batch[4].source_id = Some(SourceId(4242));
    expect_missing(
        store.create_contacts(batch.clone()).await,
        "[4].source_id",
        "source",
    );

    let listed = store
        .list_contacts(&ContactFilter::default(), Page::default())
        .await
        .expect("list");
    assert!(listed.is_empty(), "nothing written: {listed:?}");
    assert!(store
        .find_by_phone("+49305550000")
        .await
        .expect("find")
        .contacts
        .is_empty());

    batch[4].source_id = None;
    assert_eq!(store.create_contacts(batch).await.expect("fixed batch"), 5);
}

pub async fn list_contacts_filters_and_pages(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let acme = store
        .create_company(NewCompany {
            name: "Acme".into(),
            ..Default::default()
        })
        .await
        .expect("company");
    let mut made = Vec::new();
    for (name, company, responsible, phones) in [
        ("Anna 50% Rabatt", Some(acme.id), None, vec!["+4930100001"]),
        (
            "Anna 500",
            None,
            Some(anna.id),
            vec!["+4930100002", "+4930100009"],
        ),
        (
            "Max_Muster",
            Some(acme.id),
            Some(anna.id),
            vec!["+4930100003"],
        ),
        ("Max Muster", None, None, vec!["+4930100009"]),
        ("Zoe", None, None, vec![]),
    ] {
        let c = store
            .create_contact(NewContact {
                company_id: company,
                responsible_id: responsible,
                ..new_contact(name, &phones)
            })
            .await
            .expect("create");
        made.push(c.id);
    }
    let list = |filter: ContactFilter, page: Page| {
        let store = store.clone();
        async move {
            ids(
                &store.list_contacts(&filter, page).await.expect("list"),
                |c| c.id,
            )
        }
    };
    let all = Page::default();
    let by_name = |q: &str| ContactFilter {
        name_contains: Some(q.into()),
        ..Default::default()
    };
    assert_eq!(list(ContactFilter::default(), all).await, made);
    assert_eq!(
        list(by_name("ANNA"), all).await,
        vec![made[0], made[1]],
        "case-insensitive"
    );
    assert_eq!(
        list(by_name("50%"), all).await,
        vec![made[0]],
        "% is literal"
    );
    assert_eq!(
        list(by_name("x_m"), all).await,
        vec![made[2]],
        "_ is literal"
    );
    assert_eq!(
        list(
            ContactFilter {
                company_id: Some(acme.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[0], made[2]]
    );
    assert_eq!(
        list(
            ContactFilter {
                responsible_id: Some(anna.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[1], made[2]]
    );
    assert_eq!(
        list(
            ContactFilter {
                phone: Some("+4930100009".into()),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[1], made[3]]
    );
    assert_eq!(
        list(
            ContactFilter {
                name_contains: Some("max".into()),
                company_id: Some(acme.id),
                responsible_id: Some(anna.id),
                phone: Some("+4930100003".into()),
            },
            all
        )
        .await,
        vec![made[2]],
        "filters combine"
    );
    assert_eq!(
        list(ContactFilter::default(), Page::new(2, 1)).await,
        made[1..3].to_vec()
    );
    assert_eq!(
        list(ContactFilter::default(), Page::new(10, 4)).await,
        made[4..].to_vec()
    );
}

pub async fn update_contact_patches_and_reindexes_numbers(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let acme = store
        .create_company(NewCompany {
            name: "Acme".into(),
            ..Default::default()
        })
        .await
        .expect("company");
    let max = store
        .create_contact(NewContact {
            company_id: Some(acme.id),
            emails: vec!["max@acme.example".into()],
            ..new_contact("Max", &["+4930100001", "+4930100002"])
        })
        .await
        .expect("create");

    let unchanged = store
        .update_contact(max.id, ContactPatch::default(), at(10, 0))
        .await
        .expect("empty patch");
    assert_eq!(unchanged.phones, max.phones);
    assert_eq!(unchanged.company_id, Some(acme.id));
    assert_eq!(
        unchanged.updated_at,
        at(10, 0),
        "updated_at is the given now"
    );

    let patched = store
        .update_contact(
            max.id,
            ContactPatch {
                name: Some("Max Muster".into()),
                company_id: Some(None),
                phones: Some(vec![phone("+4930100002"), phone("+4930100003")]),
                emails: Some(Vec::new()),
                responsible_id: Some(Some(anna.id)),
            },
            at(11, 0),
        )
        .await
        .expect("patch");
    assert_eq!(patched.name, "Max Muster");
    assert_eq!(patched.company_id, None);
    assert_eq!(
        patched.phones,
        vec![phone("+4930100002"), phone("+4930100003")]
    );
    assert!(patched.emails.is_empty());
    assert_eq!(patched.responsible_id, Some(anna.id));
    assert_eq!(patched.created_at, max.created_at);
    assert_eq!(patched.updated_at, at(11, 0));
    assert_eq!(store.get_contact(max.id).await.expect("get"), patched);

    assert!(
        store
            .find_by_phone("+4930100001")
            .await
            .expect("find")
            .contacts
            .is_empty(),
        "old number dropped"
    );
    for kept in ["+4930100002", "+4930100003"] {
        assert_eq!(
            ids(
                &store.find_by_phone(kept).await.expect("find").contacts,
                |c| c.id
            ),
            vec![max.id]
        );
    }

    expect_missing(
        store
            .update_contact(
                max.id,
                ContactPatch {
                    company_id: Some(Some(CompanyId(4242))),
                    ..Default::default()
                },
                at(12, 0),
            )
            .await,
        "company_id",
        "company",
    );
    expect_missing(
        store
            .update_contact(
                max.id,
                ContactPatch {
                    responsible_id: Some(Some(UserId(4242))),
                    ..Default::default()
                },
                at(12, 0),
            )
            .await,
        "responsible_id",
        "user",
    );
    assert_eq!(
        store.get_contact(max.id).await.expect("get"),
        patched,
        "failed patches change nothing"
    );
    expect_not_found(
        store
            .update_contact(ContactId(4242), ContactPatch::default(), at(12, 0))
            .await,
    );
}

pub async fn delete_contact_removes_timeline_and_unlinks_calls(store: Arc<dyn Store>) {
    let max = store
        .create_contact(new_contact("Max", &["+4930100001"]))
        .await
        .expect("contact");
    let other = store
        .create_contact(new_contact("Other", &["+4930100002"]))
        .await
        .expect("other");
    let deal = store
        .create_deal(new_deal("Fleet", Some(max.id), None), at(8, 0))
        .await
        .expect("deal");
    let logged = store
        .log_call(CallLog {
            parties: CallParties {
                contact_id: Some(max.id),
                deal_id: Some(deal.id),
                ..Default::default()
            },
            ..plain_log(
                new_call(Direction::Incoming, "+4930100001", "+4930999000", at(9, 0)),
                "+4930999000",
            )
        })
        .await
        .expect("log");
    store
        .add_timeline_entry(NewTimelineEntry {
            subject: Subject::Contact(max.id),
            kind: TimelineKind::Note,
            at: at(9, 30),
            call_id: None,
            author_id: None,
            text: Some("called back".into()),
        })
        .await
        .expect("note");
    store
        .add_timeline_entry(NewTimelineEntry {
            subject: Subject::Contact(other.id),
            kind: TimelineKind::Note,
            at: at(9, 30),
            call_id: None,
            author_id: None,
            text: Some("someone else".into()),
        })
        .await
        .expect("note on other");
    assert_eq!(
        timeline(store.as_ref(), Subject::Contact(max.id))
            .await
            .len(),
        2
    );

    store.delete_contact(max.id).await.expect("delete");
    expect_not_found(store.get_contact(max.id).await);
    assert!(
        timeline(store.as_ref(), Subject::Contact(max.id))
            .await
            .is_empty(),
        "timeline gone"
    );
    assert_eq!(
        timeline(store.as_ref(), Subject::Contact(other.id))
            .await
            .len(),
        1,
        "others' stays"
    );
    let call = store
        .get_call(logged.call.id)
        .await
        .expect("the call stays");
    assert_eq!(call.contact_id, None, "and loses the link");
    assert_eq!(call.deal_id, Some(deal.id));
    assert_eq!(
        store
            .get_deal(deal.id)
            .await
            .expect("deal stays")
            .contact_id,
        None
    );
    assert!(store
        .find_by_phone("+4930100001")
        .await
        .expect("find")
        .contacts
        .is_empty());
    expect_not_found(store.delete_contact(max.id).await);
}

// ---------------------------------------------------------------------------------------------
// Leads.

pub async fn leads_round_trip(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let ads = store.create_source("Google Ads").await.expect("source");
    let input = NewLead {
        title: "Fleet request".into(),
        name: Some("Max Muster".into()),
        company_name: Some("Muster KG".into()),
        phones: vec![phone("+4930100001"), phone("+4915100001")],
        emails: vec!["max@muster.example".into()],
        status: LeadStatus::InProgress,
        source_id: Some(ads.id),
        responsible_id: Some(anna.id),
    };
    let lead = store.create_lead(input.clone()).await.expect("create");
    assert_eq!(lead.title, input.title);
    assert_eq!(lead.name, input.name);
    assert_eq!(lead.company_name, input.company_name);
    assert_eq!(lead.phones, input.phones);
    assert_eq!(lead.emails, input.emails);
    assert_eq!(lead.status, input.status);
    assert_eq!(lead.source_id, input.source_id);
    assert_eq!(lead.responsible_id, input.responsible_id);
    assert_eq!(lead.contact_id, None);
    assert_eq!(store.get_lead(lead.id).await.expect("get"), lead);
    expect_not_found(store.get_lead(LeadId(4242)).await);
    expect_not_found(store.update_lead(LeadId(4242), LeadPatch::default()).await);
    expect_missing(
        store
            .create_lead(NewLead {
                source_id: Some(SourceId(4242)),
                ..new_lead("x", &["+4930100009"], LeadStatus::New)
            })
            .await,
        "source_id",
        "source",
    );
}

pub async fn open_leads_own_their_numbers(store: Arc<dyn Store>) {
    let first = store
        .create_lead(new_lead(
            "first",
            &["+4930100001", "+4930100002"],
            LeadStatus::New,
        ))
        .await
        .expect("first");
    expect_conflict(
        store
            .create_lead(new_lead(
                "second",
                &["+4930100003", "+4930100002"],
                LeadStatus::InProgress,
            ))
            .await,
        "phones[1]",
    );
    assert!(
        store
            .find_by_phone("+4930100003")
            .await
            .expect("find")
            .leads
            .is_empty(),
        "the refused lead wrote nothing"
    );
    // Closed leads hold no number.
    let junk = store
        .create_lead(new_lead("old spam", &["+4930100001"], LeadStatus::Junk))
        .await
        .expect("a closed lead may share a number");
    let third = store
        .create_lead(new_lead("third", &["+4930100003"], LeadStatus::New))
        .await
        .expect("a free number");
    assert_eq!(
        ids(&all_leads(store.as_ref()).await, |l| l.id),
        vec![first.id, junk.id, third.id]
    );
}

pub async fn closing_a_lead_frees_its_numbers(store: Arc<dyn Store>) {
    let max = store
        .create_contact(new_contact("Max", &[]))
        .await
        .expect("contact");
    let first = store
        .create_lead(new_lead("first", &["+4930100001"], LeadStatus::New))
        .await
        .expect("first");
    let junked = store
        .update_lead(
            first.id,
            LeadPatch {
                status: Some(LeadStatus::Junk),
                ..Default::default()
            },
        )
        .await
        .expect("close");
    assert_eq!(junked.status, LeadStatus::Junk);
    let second = store
        .create_lead(new_lead("second", &["+4930100001"], LeadStatus::New))
        .await
        .expect("the number is free again");
    expect_conflict(
        store
            .update_lead(
                first.id,
                LeadPatch {
                    status: Some(LeadStatus::InProgress),
                    ..Default::default()
                },
            )
            .await,
        "phones[0]",
    );
    assert_eq!(
        store.get_lead(first.id).await.expect("get").status,
        LeadStatus::Junk,
        "refused reopen changed nothing"
    );

    let converted = store
        .update_lead(
            second.id,
            LeadPatch {
                title: Some("second, converted".into()),
                name: Some(Some("Max".into())),
                status: Some(LeadStatus::Converted),
                contact_id: Some(Some(max.id)),
                ..Default::default()
            },
        )
        .await
        .expect("convert");
    assert_eq!(converted.status, LeadStatus::Converted);
    assert_eq!(converted.contact_id, Some(max.id));
    assert_eq!(converted.title, "second, converted");
    assert_eq!(converted.name.as_deref(), Some("Max"));
    assert_eq!(store.get_lead(second.id).await.expect("get"), converted);

    let reopened = store
        .update_lead(
            first.id,
            LeadPatch {
                status: Some(LeadStatus::InProgress),
                ..Default::default()
            },
        )
        .await
        .expect("reopen once the number is free");
    assert_eq!(reopened.status, LeadStatus::InProgress);
    expect_conflict(
        store
            .create_lead(new_lead("third", &["+4930100001"], LeadStatus::New))
            .await,
        "phones[0]",
    );
    expect_missing(
        store
            .update_lead(
                second.id,
                LeadPatch {
                    contact_id: Some(Some(ContactId(4242))),
                    ..Default::default()
                },
            )
            .await,
        "contact_id",
        "contact",
    );
}

pub async fn list_leads_filters_and_pages(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let ads = store.create_source("Ads").await.expect("source");
    let mut made = Vec::new();
    for (title, status, source, responsible, phones) in [
        (
            "a",
            LeadStatus::New,
            Some(ads.id),
            None,
            vec!["+4930100001"],
        ),
        (
            "b",
            LeadStatus::InProgress,
            None,
            Some(anna.id),
            vec!["+4930100002"],
        ),
        (
            "c",
            LeadStatus::Converted,
            Some(ads.id),
            Some(anna.id),
            vec!["+4930100001"],
        ),
        ("d", LeadStatus::Junk, None, None, vec!["+4930100003"]),
        ("e", LeadStatus::New, None, None, vec!["+4930100004"]),
    ] {
        let lead = store
            .create_lead(NewLead {
                source_id: source,
                responsible_id: responsible,
                ..new_lead(title, &phones, status)
            })
            .await
            .expect("create");
        made.push(lead.id);
    }
    let list = |filter: LeadFilter, page: Page| {
        let store = store.clone();
        async move {
            ids(&store.list_leads(&filter, page).await.expect("list"), |l| {
                l.id
            })
        }
    };
    let all = Page::default();
    assert_eq!(list(LeadFilter::default(), all).await, made);
    assert_eq!(
        list(
            LeadFilter {
                status: Some(LeadStatus::New),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[0], made[4]]
    );
    assert_eq!(
        list(
            LeadFilter {
                open_only: true,
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[0], made[1], made[4]]
    );
    assert_eq!(
        list(
            LeadFilter {
                source_id: Some(ads.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[0], made[2]]
    );
    assert_eq!(
        list(
            LeadFilter {
                responsible_id: Some(anna.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[1], made[2]]
    );
    assert_eq!(
        list(
            LeadFilter {
                phone: Some("+4930100001".into()),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[0], made[2]]
    );
    assert_eq!(
        list(
            LeadFilter {
                phone: Some("+4930100001".into()),
                open_only: true,
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[0]],
        "filters combine"
    );
    assert_eq!(
        list(LeadFilter::default(), Page::new(2, 2)).await,
        made[2..4].to_vec()
    );
}

// ---------------------------------------------------------------------------------------------
// Deals.

pub async fn deal_closed_at_follows_the_stage(store: Arc<dyn Store>) {
    let max = store
        .create_contact(new_contact("Max", &[]))
        .await
        .expect("contact");
    let deal = store
        .create_deal(new_deal("Fleet", Some(max.id), None), at(8, 0))
        .await
        .expect("create");
    assert_eq!(deal.stage, DealStage::Open);
    assert_eq!(deal.created_at, at(8, 0));
    assert_eq!(deal.closed_at, None);
    assert_eq!(
        deal.amount,
        Money {
            amount_minor: 150_000,
            currency: "EUR".into()
        }
    );
    assert_eq!(store.get_deal(deal.id).await.expect("get"), deal);

    let stage = |s: DealStage| DealPatch {
        stage: Some(s),
        ..Default::default()
    };
    let won = store
        .update_deal(deal.id, stage(DealStage::Won), at(9, 0))
        .await
        .expect("won");
    assert_eq!((won.stage, won.closed_at), (DealStage::Won, Some(at(9, 0))));
    let renamed = store
        .update_deal(
            deal.id,
            DealPatch {
                title: Some("Fleet 2026".into()),
                amount: Some(Money {
                    amount_minor: 99,
                    currency: "USD".into(),
                }),
                ..Default::default()
            },
            at(10, 0),
        )
        .await
        .expect("rename");
    assert_eq!(
        renamed.closed_at,
        Some(at(9, 0)),
        "only a stage change moves closed_at"
    );
    assert_eq!(renamed.title, "Fleet 2026");
    assert_eq!(
        renamed.amount,
        Money {
            amount_minor: 99,
            currency: "USD".into()
        }
    );
    let lost = store
        .update_deal(deal.id, stage(DealStage::Lost), at(11, 0))
        .await
        .expect("lost");
    assert_eq!(
        (lost.stage, lost.closed_at),
        (DealStage::Lost, Some(at(11, 0)))
    );
    let reopened = store
        .update_deal(deal.id, stage(DealStage::Open), at(12, 0))
        .await
        .expect("reopen");
    assert_eq!(
        (reopened.stage, reopened.closed_at),
        (DealStage::Open, None)
    );
    assert_eq!(store.get_deal(deal.id).await.expect("get"), reopened);

    let born_won = store
        .create_deal(
            NewDeal {
                stage: DealStage::Won,
                ..new_deal("Spot sale", Some(max.id), None)
            },
            at(13, 0),
        )
        .await
        .expect("create won");
    assert_eq!(born_won.closed_at, Some(at(13, 0)));
    expect_not_found(store.get_deal(DealId(4242)).await);
    expect_not_found(
        store
            .update_deal(DealId(4242), DealPatch::default(), at(13, 0))
            .await,
    );
}

pub async fn deal_references_must_exist(store: Arc<dyn Store>) {
    expect_missing(
        store
            .create_deal(new_deal("x", Some(ContactId(4242)), None), at(8, 0))
            .await,
        "contact_id",
        "contact",
    );
    expect_missing(
        store
            .create_deal(new_deal("x", None, Some(CompanyId(4242))), at(8, 0))
            .await,
        "company_id",
        "company",
    );
    let max = store
        .create_contact(new_contact("Max", &[]))
        .await
        .expect("contact");
    expect_missing(
        store
            .create_deal(
                NewDeal {
                    responsible_id: Some(UserId(4242)),
                    ..new_deal("x", Some(max.id), None)
                },
                at(8, 0),
            )
            .await,
        "responsible_id",
        "user",
    );
    let listed = store
        .list_deals(&DealFilter::default(), Page::default())
        .await
        .expect("list");
    assert!(listed.is_empty(), "nothing written: {listed:?}");
}

pub async fn list_deals_filters_and_pages(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let max = store
        .create_contact(new_contact("Max", &[]))
        .await
        .expect("contact");
    let acme = store
        .create_company(NewCompany {
            name: "Acme".into(),
            ..Default::default()
        })
        .await
        .expect("company");
    let mut made = Vec::new();
    for (stage, contact, company, responsible) in [
        (DealStage::Open, Some(max.id), None, None),
        (DealStage::Won, Some(max.id), Some(acme.id), Some(anna.id)),
        (DealStage::Open, None, Some(acme.id), Some(anna.id)),
        (DealStage::Lost, None, Some(acme.id), None),
    ] {
        let deal = store
            .create_deal(
                NewDeal {
                    stage,
                    responsible_id: responsible,
                    ..new_deal("d", contact, company)
                },
                at(8, 0),
            )
            .await
            .expect("create");
        made.push(deal.id);
    }
    let list = |filter: DealFilter, page: Page| {
        let store = store.clone();
        async move {
            ids(&store.list_deals(&filter, page).await.expect("list"), |d| {
                d.id
            })
        }
    };
    let all = Page::default();
    assert_eq!(list(DealFilter::default(), all).await, made);
    assert_eq!(
        list(
            DealFilter {
                stage: Some(DealStage::Open),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[0], made[2]]
    );
    assert_eq!(
        list(
            DealFilter {
                contact_id: Some(max.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[0], made[1]]
    );
    assert_eq!(
        list(
            DealFilter {
                company_id: Some(acme.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[1], made[2], made[3]]
    );
    assert_eq!(
        list(
            DealFilter {
                responsible_id: Some(anna.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[1], made[2]]
    );
    assert_eq!(
        list(
            DealFilter {
                company_id: Some(acme.id),
                stage: Some(DealStage::Open),
                ..Default::default()
            },
            all
        )
        .await,
        vec![made[2]]
    );
    assert_eq!(
        list(DealFilter::default(), Page::new(1, 3)).await,
        vec![made[3]]
    );
}

pub async fn latest_open_deal_prefers_the_contact_then_the_company(store: Arc<dyn Store>) {
    let acme = store
        .create_company(NewCompany {
            name: "Acme".into(),
            ..Default::default()
        })
        .await
        .expect("company");
    let max = store
        .create_contact(NewContact {
            company_id: Some(acme.id),
            ..new_contact("Max", &[])
        })
        .await
        .expect("contact");
    let eva = store
        .create_contact(new_contact("Eva", &[]))
        .await
        .expect("contact");
    assert_eq!(
        store
            .latest_open_deal(Some(max.id), Some(acme.id))
            .await
            .expect("none yet"),
        None
    );

    let company_deal = store
        .create_deal(new_deal("company", None, Some(acme.id)), at(8, 0))
        .await
        .expect("deal");
    assert_eq!(
        store
            .latest_open_deal(Some(max.id), Some(acme.id))
            .await
            .expect("latest")
            .map(|d| d.id),
        Some(company_deal.id),
        "the company's when the contact has none"
    );
    let older = store
        .create_deal(new_deal("older", Some(max.id), None), at(9, 0))
        .await
        .expect("deal");
    let newer = store
        .create_deal(new_deal("newer", Some(max.id), None), at(10, 0))
        .await
        .expect("deal");
    store
        .create_deal(
            NewDeal {
                stage: DealStage::Won,
                ..new_deal("won", Some(max.id), None)
            },
            at(11, 0),
        )
        .await
        .expect("a newer deal, but not open");
    let latest = store
        .latest_open_deal(Some(max.id), Some(acme.id))
        .await
        .expect("latest");
    assert_eq!(
        latest.map(|d| d.id),
        Some(newer.id),
        "the contact's newest open deal"
    );

    store
        .update_deal(
            newer.id,
            DealPatch {
                stage: Some(DealStage::Lost),
                ..Default::default()
            },
            at(12, 0),
        )
        .await
        .expect("lose");
    assert_eq!(
        store
            .latest_open_deal(Some(max.id), None)
            .await
            .expect("latest")
            .map(|d| d.id),
        Some(older.id)
    );
    assert_eq!(
        store
            .latest_open_deal(Some(eva.id), None)
            .await
            .expect("latest"),
        None
    );
    assert_eq!(
        store
            .latest_open_deal(None, Some(acme.id))
            .await
            .expect("latest")
            .map(|d| d.id),
        Some(company_deal.id)
    );
    assert_eq!(
        store.latest_open_deal(None, None).await.expect("latest"),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Caller lookup.

pub async fn find_by_phone_spans_parties_with_open_leads_first(store: Arc<dyn Store>) {
    const N: &str = "+4930123456";
    let acme = store
        .create_company(NewCompany {
            name: "Acme".into(),
            phones: vec![phone(N)],
            ..Default::default()
        })
        .await
        .expect("company");
    let max = store
        .create_contact(new_contact("Max", &["+4930999999", N]))
        .await
        .expect("contact with the number second");
    let eva = store
        .create_contact(new_contact("Eva", &[N]))
        .await
        .expect("contact");
    let _elsewhere = store
        .create_contact(new_contact("Zoe", &["+4930888888"]))
        .await
        .expect("contact");

    let oldest = store
        .create_lead(new_lead("oldest", &[N], LeadStatus::New))
        .await
        .expect("lead");
    store
        .update_lead(
            oldest.id,
            LeadPatch {
                status: Some(LeadStatus::Junk),
                ..Default::default()
            },
        )
        .await
        .expect("junk");
    let middle = store
        .create_lead(new_lead("middle", &[N], LeadStatus::New))
        .await
        .expect("lead");
    store
        .update_lead(
            middle.id,
            LeadPatch {
                status: Some(LeadStatus::Converted),
                ..Default::default()
            },
        )
        .await
        .expect("convert");
    let open = store
        .create_lead(new_lead("open", &[N], LeadStatus::InProgress))
        .await
        .expect("lead");

    let found = store.find_by_phone(N).await.expect("find");
    let mut contacts = ids(&found.contacts, |c| c.id);
    contacts.sort();
    assert_eq!(contacts, vec![max.id, eva.id]);
    assert_eq!(
        found.contacts.iter().find(|c| c.id == max.id),
        Some(&store.get_contact(max.id).await.expect("get"))
    );
    assert_eq!(found.companies, vec![acme]);
    assert_eq!(
        ids(&found.leads, |l| l.id),
        vec![open.id, middle.id, oldest.id],
        "open leads first, then newest first"
    );
    assert_eq!(found.leads[0], store.get_lead(open.id).await.expect("get"));

    assert_eq!(
        store.find_by_phone("+4930777777").await.expect("find"),
        PhoneMatches::default()
    );
    let other = store.find_by_phone("+4930999999").await.expect("find");
    assert_eq!(ids(&other.contacts, |c| c.id), vec![max.id]);
    assert!(other.companies.is_empty() && other.leads.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Call tracking: sources, lines, lead exceptions.

pub async fn sources_are_unique_and_kept_while_a_line_uses_them(store: Arc<dyn Store>) {
    let ads = store.create_source("Google Ads").await.expect("create");
    assert_eq!(ads.name, "Google Ads");
    expect_conflict(store.create_source("google ads").await, "name");
    let insta = store.create_source("Instagram").await.expect("create");
    assert_eq!(
        store.list_sources().await.expect("list"),
        vec![ads.clone(), insta.clone()]
    );

    let line = store
        .create_line(manual_line("+4930999001", Some(ads.id), LeadRule::All))
        .await
        .expect("line");
    expect_conflict(store.delete_source(ads.id).await, "id");
    assert_eq!(
        store.list_sources().await.expect("list").len(),
        2,
        "refused delete changed nothing"
    );

    store
        .update_line(
            line.id,
            LinePatch {
                source_id: Some(None),
                ..Default::default()
            },
        )
        .await
        .expect("unassign");
    store
        .delete_source(ads.id)
        .await
        .expect("delete once unassigned");
    assert_eq!(store.list_sources().await.expect("list"), vec![insta]);
    expect_not_found(store.delete_source(ads.id).await);
    store
        .create_source("Google Ads")
        .await
        .expect("the name is free again");
}

pub async fn lines_are_unique_by_number_and_patchable(store: Arc<dyn Store>) {
    let ads = store.create_source("Ads").await.expect("source");
    let input = manual_line("+4930999001", Some(ads.id), LeadRule::Incoming);
    let line = store.create_line(input.clone()).await.expect("create");
    assert_eq!(line.number, input.number);
    assert_eq!(line.name, input.name);
    assert_eq!(line.source_id, Some(ads.id));
    assert_eq!(line.origin, LineOrigin::Manual);
    assert_eq!(line.lead_rule, LeadRule::Incoming);
    assert_eq!(store.get_line(line.id).await.expect("get"), line);
    assert_eq!(
        store
            .find_line_by_number("+4930999001")
            .await
            .expect("find"),
        Some(line.clone())
    );
    assert_eq!(
        store
            .find_line_by_number("+4930999002")
            .await
            .expect("find"),
        None
    );
    expect_conflict(
        store
            .create_line(manual_line("+4930999001", None, LeadRule::All))
            .await,
        "number",
    );
    expect_missing(
        store
            .create_line(manual_line(
                "+4930999003",
                Some(SourceId(4242)),
                LeadRule::All,
            ))
            .await,
        "source_id",
        "source",
    );

    let second = store
        .create_line(manual_line("+4930999002", None, LeadRule::All))
        .await
        .expect("second");
    assert_eq!(
        store.list_lines().await.expect("list"),
        vec![line.clone(), second.clone()]
    );

    let patched = store
        .update_line(
            line.id,
            LinePatch {
                name: Some("Spring campaign".into()),
                source_id: Some(None),
                lead_rule: Some(LeadRule::None),
            },
        )
        .await
        .expect("patch");
    assert_eq!(patched.name, "Spring campaign");
    assert_eq!(patched.source_id, None);
    assert_eq!(patched.lead_rule, LeadRule::None);
    assert_eq!(patched.number, line.number, "numbers do not change");
    assert_eq!(store.get_line(line.id).await.expect("get"), patched);
    expect_missing(
        store
            .update_line(
                line.id,
                LinePatch {
                    source_id: Some(Some(SourceId(4242))),
                    ..Default::default()
                },
            )
            .await,
        "source_id",
        "source",
    );
    expect_not_found(store.update_line(LineId(4242), LinePatch::default()).await);

    store
        .delete_line(second.id)
        .await
        .expect("manual lines can be deleted");
    expect_not_found(store.get_line(second.id).await);
    expect_not_found(store.delete_line(second.id).await);
    assert_eq!(store.list_lines().await.expect("list"), vec![patched]);
}

pub async fn lead_exceptions_round_trip(store: Arc<dyn Store>) {
    store
        .add_lead_exception(phone("+4930100001"))
        .await
        .expect("add");
    store
        .add_lead_exception(phone("+4930100002"))
        .await
        .expect("add");
    assert!(store.is_lead_exception("+4930100001").await.expect("is"));
    assert!(!store.is_lead_exception("+4930100003").await.expect("is"));
    let listed: BTreeSet<String> = store
        .list_lead_exceptions()
        .await
        .expect("list")
        .into_iter()
        .map(|p| format!("{} {}", p.e164, p.raw))
        .collect();
    let expected: BTreeSet<String> = [phone("+4930100001"), phone("+4930100002")]
        .into_iter()
        .map(|p| format!("{} {}", p.e164, p.raw))
        .collect();
    assert_eq!(listed, expected, "numbers keep their raw form");
    store
        .remove_lead_exception("+4930100001")
        .await
        .expect("remove");
    assert!(!store.is_lead_exception("+4930100001").await.expect("is"));
    assert_eq!(
        store.list_lead_exceptions().await.expect("list"),
        vec![phone("+4930100002")]
    );
    expect_not_found(store.remove_lead_exception("+4930100001").await);
}

// ---------------------------------------------------------------------------------------------
// log_call.

pub async fn log_call_for_a_known_contact_writes_contact_and_deal_timelines(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", Some("101")), None)
        .await
        .expect("agent");
    let ads = store.create_source("Ads").await.expect("source");
    let line = store
        .create_line(manual_line("+4930999001", Some(ads.id), LeadRule::All))
        .await
        .expect("line");
    let max = store
        .create_contact(new_contact("Max", &["+4930100001"]))
        .await
        .expect("contact");
    let deal = store
        .create_deal(new_deal("Fleet", Some(max.id), None), at(8, 0))
        .await
        .expect("deal");

    let mut call = new_call(Direction::Incoming, "+4930100001", "+4930999001", at(9, 0));
    call.agent_id = Some(anna.id);
    let logged = store
        .log_call(CallLog {
            parties: CallParties {
                contact_id: Some(max.id),
                deal_id: Some(deal.id),
                ..Default::default()
            },
            // A known caller never becomes a lead, whatever the CRM offered.
            lead_candidate: Some(new_lead("ignored", &["+4930100001"], LeadStatus::New)),
            ..plain_log(call, "+4930999001")
        })
        .await
        .expect("log");
    assert!(!logged.duplicate);
    assert_eq!(logged.created_lead, None);
    assert_eq!(logged.line, Some(line.clone()));
    assert!(!logged.line_created);
    let record = &logged.call;
    assert_eq!(record.contact_id, Some(max.id));
    assert_eq!(record.deal_id, Some(deal.id));
    assert_eq!(record.lead_id, None);
    assert_eq!(record.line_id, Some(line.id));
    assert_eq!(record.source_id, Some(ads.id), "filled from the line");
    assert!(all_leads(store.as_ref()).await.is_empty());

    for subject in [Subject::Contact(max.id), Subject::Deal(deal.id)] {
        let entries = timeline(store.as_ref(), subject).await;
        assert_eq!(entries.len(), 1, "{subject:?}");
        assert_eq!(entries[0].kind, TimelineKind::Call);
        assert_eq!(entries[0].call_id, Some(record.id));
        assert_eq!(entries[0].at, at(9, 0));
        assert_eq!(entries[0].author_id, Some(anna.id));
        assert_eq!(entries[0].subject, subject);
    }
}

pub async fn log_call_for_an_unknown_caller_creates_a_lead_with_the_line_source(
    store: Arc<dyn Store>,
) {
    let ads = store.create_source("Ads").await.expect("source");
    let line = store
        .create_line(manual_line("+4930999001", Some(ads.id), LeadRule::All))
        .await
        .expect("line");
    let logged = store
        .log_call(unknown_caller_log(
            new_call(Direction::Incoming, "+4930100001", "+4930999001", at(9, 0)),
            Some("+4930999001"),
        ))
        .await
        .expect("log");
    let lead = logged.created_lead.clone().expect("a lead is created");
    assert_eq!(lead.status, LeadStatus::New);
    assert_eq!(lead.source_id, Some(ads.id), "the line's source");
    assert_eq!(lead.phones, vec![phone("+4930100001")]);
    assert_eq!(lead.title, "Call from +4930100001");
    assert_eq!(store.get_lead(lead.id).await.expect("get"), lead);
    assert_eq!(logged.call.lead_id, Some(lead.id));
    assert_eq!(logged.call.contact_id, None);
    assert_eq!(logged.call.line_id, Some(line.id));
    assert_eq!(logged.call.source_id, Some(ads.id));

    let entries = timeline(store.as_ref(), Subject::Lead(lead.id)).await;
    assert_eq!(
        kinds(&entries),
        vec![TimelineKind::Call, TimelineKind::LeadCreated],
        "newest first"
    );
    assert_eq!(entries[0].call_id, Some(logged.call.id));
    assert_eq!(entries[1].call_id, None);

    // The new lead holds the number.
    expect_conflict(
        store
            .create_lead(new_lead("dup", &["+4930100001"], LeadStatus::New))
            .await,
        "phones[0]",
    );
    let found = store.find_by_phone("+4930100001").await.expect("find");
    assert_eq!(ids(&found.leads, |l| l.id), vec![lead.id]);
}

pub async fn log_call_from_the_same_unknown_number_joins_the_open_lead(store: Arc<dyn Store>) {
    let first = store
        .log_call(unknown_caller_log(
            new_call(Direction::Incoming, "+4930100001", "+4930999001", at(9, 0)),
            Some("+4930999001"),
        ))
        .await
        .expect("first");
    let lead = first.created_lead.expect("first call creates the lead");
    let second = store
        .log_call(unknown_caller_log(
            new_call(Direction::Incoming, "+4930100001", "+4930999001", at(10, 0)),
            Some("+4930999001"),
        ))
        .await
        .expect("second");
    assert_eq!(second.created_lead, None, "no second lead");
    assert_eq!(second.call.lead_id, Some(lead.id), "joins the open lead");
    assert_eq!(all_leads(store.as_ref()).await.len(), 1);
    // We called him back: still the same lead (callbacks count as outgoing; rule All).
    let callback = store
        .log_call(unknown_caller_log(
            new_call(Direction::Callback, "+4930100001", "+4930999001", at(11, 0)),
            Some("+4930999001"),
        ))
        .await
        .expect("callback");
    assert_eq!(callback.call.lead_id, Some(lead.id));
    let entries = timeline(store.as_ref(), Subject::Lead(lead.id)).await;
    assert_eq!(
        kinds(&entries),
        vec![
            TimelineKind::Call,
            TimelineKind::Call,
            TimelineKind::Call,
            TimelineKind::LeadCreated
        ]
    );
    assert_eq!(
        entries.iter().filter_map(|e| e.call_id).collect::<Vec<_>>(),
        vec![callback.call.id, second.call.id, first.call.id]
    );
}

pub async fn log_call_after_the_lead_closed_creates_a_new_lead(store: Arc<dyn Store>) {
    let first = store
        .log_call(unknown_caller_log(
            new_call(Direction::Incoming, "+4930100001", "+4930999001", at(9, 0)),
            Some("+4930999001"),
        ))
        .await
        .expect("first");
    let old = first.created_lead.expect("lead");
    store
        .update_lead(
            old.id,
            LeadPatch {
                status: Some(LeadStatus::Junk),
                ..Default::default()
            },
        )
        .await
        .expect("close");
    let again = store
        .log_call(unknown_caller_log(
            new_call(Direction::Incoming, "+4930100001", "+4930999001", at(12, 0)),
            Some("+4930999001"),
        ))
        .await
        .expect("again");
    let new = again.created_lead.expect("a new lead");
    assert_ne!(new.id, old.id);
    assert_eq!(again.call.lead_id, Some(new.id));
    assert_eq!(
        store.get_lead(old.id).await.expect("old").status,
        LeadStatus::Junk
    );
    let found = store.find_by_phone("+4930100001").await.expect("find");
    assert_eq!(
        ids(&found.leads, |l| l.id),
        vec![new.id, old.id],
        "the open one first"
    );
}

pub async fn log_call_follows_the_line_lead_rule(store: Arc<dyn Store>) {
    for (rule, direction, creates) in [
        (LeadRule::None, Direction::Incoming, false),
        (LeadRule::None, Direction::Outgoing, false),
        (LeadRule::Incoming, Direction::Incoming, true),
        (LeadRule::Incoming, Direction::Outgoing, false),
        (LeadRule::Incoming, Direction::Callback, false),
        (LeadRule::Outgoing, Direction::Incoming, false),
        (LeadRule::Outgoing, Direction::Outgoing, true),
        (LeadRule::Outgoing, Direction::Callback, true),
        (LeadRule::All, Direction::Incoming, true),
        (LeadRule::All, Direction::Outgoing, true),
    ] {
        let ours = format!(
            "+4930999{:03}",
            store.list_lines().await.expect("lines").len()
        );
        let remote = format!(
            "+4930100{:03}",
            store.list_lines().await.expect("lines").len()
        );
        store
            .create_line(manual_line(&ours, None, rule))
            .await
            .expect("line");
        let logged = store
            .log_call(unknown_caller_log(
                new_call(direction, &remote, &ours, at(9, 0)),
                Some(&ours),
            ))
            .await
            .expect("log");
        assert_eq!(
            logged.created_lead.is_some(),
            creates,
            "rule {rule:?}, {direction:?} call"
        );
        assert_eq!(
            logged.call.lead_id.is_some(),
            creates,
            "rule {rule:?}, {direction:?} call"
        );
        let leads = store
            .list_leads(
                &LeadFilter {
                    phone: Some(remote.clone()),
                    ..Default::default()
                },
                Page::default(),
            )
            .await
            .expect("leads");
        assert_eq!(
            leads.len(),
            usize::from(creates),
            "rule {rule:?}, {direction:?} call"
        );
    }
}

pub async fn log_call_without_a_line_follows_the_default_rule(store: Arc<dyn Store>) {
    assert_eq!(LeadRule::default(), LeadRule::All);
    let logged = store
        .log_call(unknown_caller_log(
            new_call(Direction::Outgoing, "+4930100001", "+4930999001", at(9, 0)),
            None,
        ))
        .await
        .expect("log");
    assert_eq!(logged.line, None);
    assert!(!logged.line_created);
    assert_eq!(logged.call.line_id, None);
    assert_eq!(logged.call.source_id, None);
    let lead = logged
        .created_lead
        .expect("the default rule creates leads for every direction");
    assert_eq!(lead.source_id, None, "no line, no source");
    assert!(
        store.list_lines().await.expect("lines").is_empty(),
        "no line is made up"
    );
}

pub async fn log_call_creates_unknown_lines_as_seen_on_call(store: Arc<dyn Store>) {
    let first = store
        .log_call(plain_log(
            new_call(Direction::Incoming, "+4930100001", "+4930999001", at(9, 0)),
            "+4930999001",
        ))
        .await
        .expect("log");
    assert!(first.line_created);
    let line = first.line.clone().expect("line");
    assert_eq!(line.number, phone("+4930999001"));
    assert_eq!(line.origin, LineOrigin::SeenOnCall);
    assert_eq!(line.lead_rule, LeadRule::default());
    assert_eq!(line.source_id, None);
    assert_eq!(first.call.line_id, Some(line.id));
    assert_eq!(
        store
            .find_line_by_number("+4930999001")
            .await
            .expect("find"),
        Some(line.clone())
    );

    let second = store
        .log_call(plain_log(
            new_call(Direction::Incoming, "+4930100002", "+4930999001", at(10, 0)),
            "+4930999001",
        ))
        .await
        .expect("log");
    assert!(!second.line_created);
    assert_eq!(second.line, Some(line.clone()));
    assert_eq!(store.list_lines().await.expect("lines").len(), 1);

    expect_conflict(store.delete_line(line.id).await, "origin");
    assert_eq!(store.get_line(line.id).await.expect("kept"), line);

    // A line added by hand can go; its calls stay, without the link.
    let manual = store
        .create_line(manual_line("+4930999002", None, LeadRule::All))
        .await
        .expect("manual");
    let on_manual = store
        .log_call(plain_log(
            new_call(Direction::Incoming, "+4930100003", "+4930999002", at(11, 0)),
            "+4930999002",
        ))
        .await
        .expect("log");
    assert_eq!(on_manual.call.line_id, Some(manual.id));
    store.delete_line(manual.id).await.expect("delete manual");
    assert_eq!(
        store
            .get_call(on_manual.call.id)
            .await
            .expect("call stays")
            .line_id,
        None
    );
}

pub async fn log_call_sets_the_contact_source_only_once(store: Arc<dyn Store>) {
    let ads = store.create_source("Ads").await.expect("source");
    let radio = store.create_source("Radio").await.expect("source");
    store
        .create_line(manual_line("+4930999001", Some(ads.id), LeadRule::All))
        .await
        .expect("line");
    store
        .create_line(manual_line("+4930999002", Some(radio.id), LeadRule::All))
        .await
        .expect("line");
    let max = store
        .create_contact(new_contact("Max", &["+4930100001"]))
        .await
        .expect("contact");
    let eva = store
        .create_contact(NewContact {
            source_id: Some(radio.id),
            ..new_contact("Eva", &["+4930100002"])
        })
        .await
        .expect("contact with a source");
    let known = |contact: ContactId, remote: &str, ours: &str, t: Timestamp| CallLog {
        parties: CallParties {
            contact_id: Some(contact),
            ..Default::default()
        },
        ..plain_log(new_call(Direction::Incoming, remote, ours, t), ours)
    };

    store
        .log_call(known(max.id, "+4930100001", "+4930999001", at(9, 0)))
        .await
        .expect("log");
    assert_eq!(
        store.get_contact(max.id).await.expect("get").source_id,
        Some(ads.id),
        "first source set"
    );
    store
        .log_call(known(max.id, "+4930100001", "+4930999002", at(10, 0)))
        .await
        .expect("log");
    assert_eq!(
        store.get_contact(max.id).await.expect("get").source_id,
        Some(ads.id),
        "not overwritten"
    );
    store
        .log_call(known(eva.id, "+4930100002", "+4930999001", at(11, 0)))
        .await
        .expect("log");
    assert_eq!(
        store.get_contact(eva.id).await.expect("get").source_id,
        Some(radio.id),
        "given source kept"
    );
}

pub async fn log_call_with_a_known_idempotency_key_writes_nothing(store: Arc<dyn Store>) {
    let mut call = new_call(Direction::Incoming, "+4930100001", "+4930999001", at(9, 0));
    call.idempotency_key = Some("bridge-42".into());
    let first = store
        .log_call(unknown_caller_log(call.clone(), Some("+4930999001")))
        .await
        .expect("first");
    assert!(!first.duplicate);
    let lead = first.created_lead.clone().expect("lead");

    // The same report again, even with other details, changes nothing.
    let mut again = call.clone();
    again.started_at = at(10, 0);
    again.ended_at = at(10, 1);
    again.caller = number("+4930100002");
    let second = store
        .log_call(unknown_caller_log(again, Some("+4930999002")))
        .await
        .expect("second");
    assert!(second.duplicate);
    assert_eq!(second.call, first.call, "the first record");
    assert_eq!(second.created_lead, None);
    assert!(!second.line_created);
    assert_eq!(second.line, first.line);

    assert_eq!(
        ids(&all_calls(store.as_ref()).await, |c| c.id),
        vec![first.call.id]
    );
    assert_eq!(
        ids(&all_leads(store.as_ref()).await, |l| l.id),
        vec![lead.id]
    );
    assert_eq!(
        store.list_lines().await.expect("lines").len(),
        1,
        "no line for the duplicate"
    );
    assert_eq!(
        timeline(store.as_ref(), Subject::Lead(lead.id)).await.len(),
        2
    );

    // A different key is a different call.
    call.idempotency_key = Some("bridge-43".into());
    let third = store
        .log_call(unknown_caller_log(call, Some("+4930999001")))
        .await
        .expect("third");
    assert!(!third.duplicate);
    assert_eq!(third.call.lead_id, Some(lead.id));
    assert_eq!(all_calls(store.as_ref()).await.len(), 2);
}

pub async fn log_call_keeps_a_given_line_and_source(store: Arc<dyn Store>) {
    let ads = store.create_source("Ads").await.expect("source");
    let radio = store.create_source("Radio").await.expect("source");
    let line = store
        .create_line(manual_line("+4930999001", Some(ads.id), LeadRule::All))
        .await
        .expect("line");
    let mut call = new_call(Direction::Incoming, "+4930100001", "+4930999001", at(9, 0));
    call.line_id = Some(line.id);
    call.source_id = Some(radio.id);
    let logged = store
        .log_call(CallLog {
            line_number: None,
            ..unknown_caller_log(call, None)
        })
        .await
        .expect("log");
    assert_eq!(logged.call.line_id, Some(line.id));
    assert_eq!(
        logged.call.source_id,
        Some(radio.id),
        "a given source wins over the line's"
    );
    assert_eq!(logged.line, Some(line));
    assert!(!logged.line_created);
    assert_eq!(logged.created_lead.expect("lead").source_id, Some(radio.id));
}

pub async fn log_call_round_trips_every_call_field(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", Some("101")), None)
        .await
        .expect("agent");
    let device = store
        .create_device("Pixel", anna.id, "hash")
        .await
        .expect("device");
    let acme = store
        .create_company(NewCompany {
            name: "Acme".into(),
            ..Default::default()
        })
        .await
        .expect("company");
    let max = store
        .create_contact(NewContact {
            company_id: Some(acme.id),
            ..new_contact("Max", &["+4930100001"])
        })
        .await
        .expect("contact");
    let call = NewCall {
        direction: Direction::Outgoing,
        caller: number("+4930999001"),
        called: CallNumber {
            e164: Some("+4930100001".into()),
            raw: "030 100001".into(),
        },
        line_id: None,
        source_id: None,
        agent_id: Some(anna.id),
        queue: Some("sales".into()),
        started_at: at(9, 0),
        answered_at: Some(at(9, 0) + Duration::seconds(7)),
        ended_at: at(9, 0) + Duration::seconds(7 + 125),
        status: CallStatus::Answered,
        recording: Some("2026/03/02/call-1.wav".into()),
        rating: Some(4),
        notes: Some("wants a quote".into()),
        origin: CallOrigin::Bridge(device.id),
        idempotency_key: Some("pixel-1".into()),
    };
    let logged = store
        .log_call(CallLog {
            parties: CallParties {
                contact_id: Some(max.id),
                company_id: Some(acme.id),
                ..Default::default()
            },
            ..plain_log(call.clone(), "+4930999001")
        })
        .await
        .expect("log");
    let r = &logged.call;
    assert_eq!(r.direction, call.direction);
    assert_eq!(r.caller, call.caller);
    assert_eq!(r.called, call.called);
    assert_eq!(r.remote(), &call.called);
    assert_eq!(r.agent_id, Some(anna.id));
    assert_eq!(r.queue.as_deref(), Some("sales"));
    assert_eq!(
        (r.started_at, r.answered_at, r.ended_at),
        (call.started_at, call.answered_at, call.ended_at)
    );
    assert_eq!(r.duration_s, 125, "talk time from answer to end");
    assert_eq!(r.status, CallStatus::Answered);
    assert_eq!(r.recording, call.recording);
    assert_eq!(r.rating, Some(4));
    assert_eq!(r.notes, call.notes);
    assert_eq!(
        (r.contact_id, r.company_id, r.lead_id, r.deal_id),
        (Some(max.id), Some(acme.id), None, None)
    );
    assert_eq!(r.origin, CallOrigin::Bridge(device.id));
    assert_eq!(r.idempotency_key.as_deref(), Some("pixel-1"));
    assert_eq!(&store.get_call(r.id).await.expect("get"), r);

    // Anonymous callers have no E.164; the record keeps what was received.
    let mut anonymous = new_call(Direction::Incoming, "+4930100009", "+4930999001", at(10, 0));
    anonymous.caller = CallNumber {
        e164: None,
        raw: "anonymous".into(),
    };
    let logged = store
        .log_call(plain_log(anonymous.clone(), "+4930999001"))
        .await
        .expect("log");
    assert_eq!(logged.call.caller, anonymous.caller);
    assert_eq!(logged.call.duration_s, 0);
    assert_eq!(logged.call.origin, CallOrigin::Api);
    expect_not_found(store.get_call(CallId(4242)).await);
}

pub async fn log_call_with_a_missing_reference_writes_nothing(store: Arc<dyn Store>) {
    let mut call = new_call(Direction::Incoming, "+4930100001", "+4930999001", at(9, 0));
    call.agent_id = Some(UserId(4242));
    let result = store
        .log_call(unknown_caller_log(call, Some("+4930999001")))
        .await;
    match result {
        Err(StoreError::MissingReference { field, entity }) => {
            assert!(field.contains("agent_id"), "names the agent: {field}");
            assert_eq!(entity, "user");
        }
        other => panic!("expected MissingReference, got {other:?}"),
    }
    assert!(all_calls(store.as_ref()).await.is_empty());
    assert!(all_leads(store.as_ref()).await.is_empty());
    assert_eq!(
        store
            .find_line_by_number("+4930999001")
            .await
            .expect("find"),
        None,
        "all or nothing"
    );

    let with_ghost_contact = CallLog {
        parties: CallParties {
            contact_id: Some(ContactId(4242)),
            ..Default::default()
        },
        ..plain_log(
            new_call(Direction::Incoming, "+4930100001", "+4930999001", at(9, 0)),
            "+4930999001",
        )
    };
    match store.log_call(with_ghost_contact).await {
        Err(StoreError::MissingReference { field, entity }) => {
            assert!(field.contains("contact_id"), "names the contact: {field}");
            assert_eq!(entity, "contact");
        }
        other => panic!("expected MissingReference, got {other:?}"),
    }
    assert!(all_calls(store.as_ref()).await.is_empty());
}

pub async fn log_calls_in_a_batch_act_like_one_by_one(store: Arc<dyn Store>) {
    let keyed = |remote: &str, hour: u32, key: &str| {
        let mut call = new_call(Direction::Incoming, remote, "+4930999001", at(hour, 0));
        call.idempotency_key = Some(key.to_string());
        unknown_caller_log(call, Some("+4930999001"))
    };
    let mut ghost = new_call(Direction::Incoming, "+4930100003", "+4930999001", at(12, 0));
    ghost.agent_id = Some(UserId(4242));
    // A batch where every call is fine (a backend may commit it in one transaction).
    let results = store
        .log_calls(vec![
            keyed("+4930100001", 9, "sip:a:in"),
            // The same caller again: joins the lead the first call of this batch created.
            keyed("+4930100001", 10, "sip:b:in"),
            // A retried report inside the same batch: no second record.
            keyed("+4930100001", 9, "sip:a:in"),
        ])
        .await;
    assert_eq!(results.len(), 3, "one result per call, in order");
    let first = results[0].as_ref().expect("first");
    let lead = first
        .created_lead
        .clone()
        .expect("the first call creates a lead");
    let second = results[1].as_ref().expect("second");
    assert_eq!(second.created_lead, None);
    assert_eq!(second.call.lead_id, Some(lead.id));
    let again = results[2].as_ref().expect("duplicate");
    assert!(again.duplicate, "the retried report is a duplicate");
    assert_eq!(again.call.id, first.call.id);
    for logged in &results {
        let logged = logged.as_ref().expect("logged");
        let stored = store.get_call(logged.call.id).await.expect("stored");
        assert_eq!(logged.call, stored, "the answer is the stored record");
    }
    // Every field of an answered call comes back as stored, instants to the millisecond.
    let mut full = new_call(Direction::Incoming, "+4930100009", "+4930999001", at(13, 0));
    full.started_at += Duration::microseconds(1_500);
    full.answered_at = Some(full.started_at + Duration::microseconds(2_000_700));
    full.ended_at = full.started_at + Duration::seconds(95);
    full.status = CallStatus::Answered;
    full.queue = Some("sales".into());
    full.recording = Some("rec/13.wav".into());
    full.rating = Some(4);
    full.notes = Some("wants a quote".into());
    full.idempotency_key = Some("sip:full:in".into());
    let logged = store
        .log_calls(vec![
            unknown_caller_log(full, Some("+4930999001")),
            keyed("+4930100001", 14, "sip:d:in"),
        ])
        .await;
    for logged in &logged {
        let logged = logged.as_ref().expect("logged");
        let stored = store.get_call(logged.call.id).await.expect("stored");
        assert_eq!(logged.call, stored, "the answer is the stored record");
    }
    let full = &logged[0].as_ref().expect("full").call;
    assert_eq!(
        (full.duration_s, full.rating, full.queue.as_deref()),
        (92, Some(4), Some("sales"))
    );
    // A bad call costs the others in its batch nothing.
    let results = store
        .log_calls(vec![
            unknown_caller_log(ghost, Some("+4930999001")),
            keyed("+4930100002", 11, "sip:c:in"),
            keyed("+4930100001", 9, "sip:a:in"),
        ])
        .await;
    match &results[0] {
        Err(StoreError::MissingReference { field, .. }) => assert!(field.contains("agent_id")),
        other => panic!("expected MissingReference, got {other:?}"),
    }
    let other = results[1].as_ref().expect("other caller");
    assert!(
        other.created_lead.is_some(),
        "a second unknown number, a second lead"
    );
    assert!(results[2].as_ref().expect("duplicate again").duplicate);
    assert_eq!(all_calls(store.as_ref()).await.len(), 5);
    assert_eq!(all_leads(store.as_ref()).await.len(), 3);
    assert!(store.log_calls(Vec::new()).await.is_empty());
}

/// A batch as large as the SIP server writes under load (a backend may insert it several
/// rows per statement): every answer is its own stored record, ids differ and grow in batch
/// order, and each lead's timeline points at its own call.
pub async fn a_large_batch_gives_each_call_its_own_record_and_timeline_entry(
    store: Arc<dyn Store>,
) {
    const CALLS: u32 = 89;
    let logs: Vec<CallLog> = (0..CALLS)
        .map(|i| {
            let remote = format!("+49301{i:05}");
            let mut call = new_call(
                Direction::Incoming,
                &remote,
                "+4930999001",
                at(8 + i / 60, i % 60),
            );
            call.queue = Some(format!("queue {i}"));
            call.idempotency_key = Some(format!("sip:batch-{i}:in"));
            unknown_caller_log(call, Some("+4930999001"))
        })
        .collect();
    // The first call's report again at the end, several insert statements later.
    let mut logs = logs;
    logs.push(logs[0].clone());
    let mut results = store.log_calls(logs).await;
    let again = results
        .pop()
        .expect("a result for the repeat")
        .expect("logged");
    assert!(again.duplicate, "the repeated report is a duplicate");
    assert_eq!(
        again.call,
        results[0].as_ref().expect("first").call,
        "the repeat answers the first call's record"
    );
    assert_eq!(results.len(), CALLS as usize, "one result per call");
    let mut last_id = 0;
    for (i, result) in results.iter().enumerate() {
        let logged = result.as_ref().expect("logged");
        assert!(!logged.duplicate);
        assert!(logged.call.id.0 > last_id, "ids grow in batch order");
        last_id = logged.call.id.0;
        assert_eq!(
            logged.call.queue.as_deref(),
            Some(format!("queue {i}").as_str())
        );
        let stored = store.get_call(logged.call.id).await.expect("stored");
        assert_eq!(
            logged.call, stored,
            "call {i}: the answer is the stored record"
        );
        let lead = logged
            .created_lead
            .as_ref()
            .expect("an unknown number, a new lead");
        assert_eq!(logged.call.lead_id, Some(lead.id));
        let calls_on_lead: Vec<Option<CallId>> = timeline(store.as_ref(), Subject::Lead(lead.id))
            .await
            .into_iter()
            .filter(|e| e.kind == TimelineKind::Call)
            .map(|e| e.call_id)
            .collect();
        assert_eq!(
            calls_on_lead,
            vec![Some(logged.call.id)],
            "call {i}'s lead timeline"
        );
    }
    assert_eq!(all_calls(store.as_ref()).await.len(), CALLS as usize);
}

/// How many calls race in the concurrency cases.
const RACERS: usize = 20;

pub async fn concurrent_calls_from_one_unknown_number_make_one_lead(store: Arc<dyn Store>) {
    // The line exists, so the racing transactions meet only on the new lead's number.
    store
        .create_line(manual_line("+4930999001", None, LeadRule::All))
        .await
        .expect("line");
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let started = at(9, 0) + Duration::seconds(i as i64);
            store
                .log_call(unknown_caller_log(
                    new_call(Direction::Incoming, "+4930100001", "+4930999001", started),
                    Some("+4930999001"),
                ))
                .await
        }));
    }
    let mut logged = Vec::new();
    for task in tasks {
        logged.push(task.await.expect("task").expect("every call is logged"));
    }
    let created: Vec<&Lead> = logged
        .iter()
        .filter_map(|l| l.created_lead.as_ref())
        .collect();
    assert_eq!(created.len(), 1, "exactly one call created the lead");
    let lead_id = created[0].id;
    assert!(
        logged.iter().all(|l| l.call.lead_id == Some(lead_id)),
        "all calls on that lead"
    );
    assert!(logged.iter().all(|l| !l.line_created));

    assert_eq!(
        ids(&all_leads(store.as_ref()).await, |l| l.id),
        vec![lead_id]
    );
    let calls = all_calls(store.as_ref()).await;
    assert_eq!(calls.len(), RACERS);
    assert!(calls.iter().all(|c| c.lead_id == Some(lead_id)));
    let entries = timeline(store.as_ref(), Subject::Lead(lead_id)).await;
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.kind == TimelineKind::Call)
            .count(),
        RACERS
    );
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.kind == TimelineKind::LeadCreated)
            .count(),
        1
    );
    assert_eq!(store.list_lines().await.expect("lines").len(), 1);
}

pub async fn concurrent_calls_with_one_idempotency_key_make_one_record(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for _ in 0..RACERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut call = new_call(Direction::Incoming, "+4930100001", "+4930999001", at(9, 0));
            call.idempotency_key = Some("bridge-7".into());
            store
                .log_call(unknown_caller_log(call, Some("+4930999001")))
                .await
        }));
    }
    let mut logged = Vec::new();
    for task in tasks {
        logged.push(task.await.expect("task").expect("every report is answered"));
    }
    assert_eq!(
        logged.iter().filter(|l| !l.duplicate).count(),
        1,
        "one report made the record"
    );
    let id = logged[0].call.id;
    assert!(
        logged.iter().all(|l| l.call.id == id),
        "everyone sees that record"
    );
    assert_eq!(ids(&all_calls(store.as_ref()).await, |c| c.id), vec![id]);
    assert_eq!(all_leads(store.as_ref()).await.len(), 1);
    assert_eq!(
        logged.iter().filter(|l| l.created_lead.is_some()).count(),
        1
    );
    assert_eq!(
        logged.iter().filter(|l| l.line_created).count(),
        1,
        "and one new line"
    );
    assert_eq!(store.list_lines().await.expect("lines").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Calls.

pub async fn list_calls_filters_and_orders_newest_first(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", Some("101")), None)
        .await
        .expect("user");
    let bob = store
        .create_user(new_user("bob", Some("102")), None)
        .await
        .expect("user");
    let ads = store.create_source("Ads").await.expect("source");
    let l1 = store
        .create_line(manual_line("+4930999001", Some(ads.id), LeadRule::None))
        .await
        .expect("line");
    let l2 = store
        .create_line(manual_line("+4930999002", None, LeadRule::None))
        .await
        .expect("line");
    let max = store
        .create_contact(new_contact("Max", &["+4930100001"]))
        .await
        .expect("contact");
    let lead = store
        .create_lead(new_lead("lead", &["+4930100003"], LeadStatus::New))
        .await
        .expect("lead");

    let mut c1 = new_call(
        Direction::Incoming,
        "+4930100001",
        &l1.number.e164,
        at(9, 0),
    );
    c1.status = CallStatus::Answered;
    c1.answered_at = Some(at(9, 0));
    c1.ended_at = at(9, 5);
    c1.agent_id = Some(anna.id);
    c1.queue = Some("sales".into());
    let c1 = store
        .log_call(CallLog {
            parties: CallParties {
                contact_id: Some(max.id),
                ..Default::default()
            },
            ..plain_log(c1, &l1.number.e164)
        })
        .await
        .expect("c1")
        .call;
    let mut c2 = new_call(Direction::Outgoing, "+4930100002", "+4930999009", at(10, 0));
    c2.status = CallStatus::Busy;
    c2.agent_id = Some(bob.id);
    let c2 = store
        .log_call(CallLog {
            call: c2,
            line_number: None,
            parties: CallParties::default(),
            lead_candidate: None,
        })
        .await
        .expect("c2")
        .call;
    let mut c3 = new_call(
        Direction::Callback,
        "+4930100003",
        &l2.number.e164,
        at(11, 0),
    );
    c3.agent_id = Some(anna.id);
    let c3 = store
        .log_call(CallLog {
            parties: CallParties {
                lead_id: Some(lead.id),
                ..Default::default()
            },
            ..plain_log(c3, &l2.number.e164)
        })
        .await
        .expect("c3")
        .call;
    let mut c4 = new_call(
        Direction::Incoming,
        "+4930100004",
        &l1.number.e164,
        at(11, 0),
    );
    c4.status = CallStatus::Voicemail;
    let c4 = store
        .log_call(plain_log(c4, &l1.number.e164))
        .await
        .expect("c4")
        .call;

    let list = |filter: CallFilter, page: Page| {
        let store = store.clone();
        async move {
            ids(&store.list_calls(&filter, page).await.expect("list"), |c| {
                c.id
            })
        }
    };
    let all = Page::default();
    assert_eq!(
        list(CallFilter::default(), all).await,
        vec![c4.id, c3.id, c2.id, c1.id],
        "newest first; same start: later id first"
    );
    assert_eq!(
        list(
            CallFilter {
                from: Some(at(10, 0)),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c4.id, c3.id, c2.id]
    );
    assert_eq!(
        list(
            CallFilter {
                until: Some(at(10, 0)),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c1.id]
    );
    assert_eq!(
        list(
            CallFilter {
                from: Some(at(10, 0)),
                until: Some(at(11, 0)),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c2.id],
        "from inclusive, until exclusive"
    );
    assert_eq!(
        list(
            CallFilter {
                direction: Some(Direction::Incoming),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c4.id, c1.id]
    );
    assert_eq!(
        list(
            CallFilter {
                status: Some(CallStatus::Missed),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c3.id]
    );
    assert_eq!(
        list(
            CallFilter {
                agent_id: Some(anna.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c3.id, c1.id]
    );
    assert_eq!(
        list(
            CallFilter {
                line_id: Some(l1.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c4.id, c1.id]
    );
    assert_eq!(
        list(
            CallFilter {
                source_id: Some(ads.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c4.id, c1.id]
    );
    assert_eq!(
        list(
            CallFilter {
                queue: Some("sales".into()),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c1.id]
    );
    assert_eq!(
        list(
            CallFilter {
                contact_id: Some(max.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c1.id]
    );
    assert_eq!(
        list(
            CallFilter {
                lead_id: Some(lead.id),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c3.id]
    );
    assert_eq!(
        list(
            CallFilter {
                number: Some("+4930100001".into()),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c1.id],
        "the caller's side"
    );
    assert_eq!(
        list(
            CallFilter {
                number: Some("+4930100003".into()),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c3.id],
        "the called side"
    );
    assert_eq!(
        list(
            CallFilter {
                number: Some(l1.number.e164.clone()),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c4.id, c1.id],
        "either side"
    );
    assert_eq!(
        list(
            CallFilter {
                agent_id: Some(anna.id),
                direction: Some(Direction::Incoming),
                ..Default::default()
            },
            all
        )
        .await,
        vec![c1.id],
        "filters combine"
    );
    assert_eq!(
        list(CallFilter::default(), Page::new(2, 1)).await,
        vec![c3.id, c2.id]
    );
    assert_eq!(
        list(CallFilter::default(), Page::new(2, 4)).await,
        Vec::<CallId>::new()
    );
}

pub async fn update_call_patches_rating_notes_recording_and_transcript(store: Arc<dyn Store>) {
    let logged = store
        .log_call(plain_log(
            new_call(Direction::Incoming, "+4930100001", "+4930999001", at(9, 0)),
            "+4930999001",
        ))
        .await
        .expect("log");
    let rated = store
        .update_call(
            logged.call.id,
            CallPatch {
                rating: Some(Some(5)),
                notes: Some(Some("great".into())),
                recording: Some(Some("r.wav".into())),
                ..Default::default()
            },
        )
        .await
        .expect("patch");
    assert_eq!(logged.call.transcript, None, "a new call has no transcript");
    assert_eq!(rated.rating, Some(5));
    assert_eq!(rated.notes.as_deref(), Some("great"));
    assert_eq!(rated.recording.as_deref(), Some("r.wav"));
    assert_eq!(rated.transcript, None);
    assert_eq!(rated.started_at, logged.call.started_at, "the rest stays");
    assert_eq!(store.get_call(logged.call.id).await.expect("get"), rated);

    // The transcript arrives later (speech to text), long and multi-line; the rest stays.
    let said = format!(
        "Agent: Good morning.\nCaller: Hello, {}\n",
        "ä ".repeat(5000)
    );
    let transcribed = store
        .update_call(
            logged.call.id,
            CallPatch {
                transcript: Some(Some(said.clone())),
                ..Default::default()
            },
        )
        .await
        .expect("transcript");
    assert_eq!(transcribed.transcript.as_deref(), Some(said.as_str()));
    assert_eq!(
        transcribed.notes.as_deref(),
        Some("great"),
        "not in the patch"
    );
    assert_eq!(
        store.get_call(logged.call.id).await.expect("get"),
        transcribed
    );
    let listed = store
        .list_calls(&CallFilter::default(), Page::new(10, 0))
        .await
        .expect("list");
    assert_eq!(listed, vec![transcribed.clone()], "the call log carries it");

    let cleared = store
        .update_call(
            logged.call.id,
            CallPatch {
                notes: Some(None),
                ..Default::default()
            },
        )
        .await
        .expect("clear");
    assert_eq!(cleared.notes, None);
    assert_eq!(cleared.rating, Some(5), "not in the patch");
    assert_eq!(cleared.transcript.as_deref(), Some(said.as_str()));
    let untranscribed = store
        .update_call(
            logged.call.id,
            CallPatch {
                transcript: Some(None),
                ..Default::default()
            },
        )
        .await
        .expect("clear the transcript");
    assert_eq!(untranscribed.transcript, None);
    assert_eq!(
        store
            .get_call(logged.call.id)
            .await
            .expect("get")
            .transcript,
        None
    );
    expect_not_found(store.update_call(CallId(4242), CallPatch::default()).await);
}

pub async fn last_call_with_matches_the_remote_side(store: Arc<dyn Store>) {
    const CUSTOMER: &str = "+4930100001";
    const OURS: &str = "+4930999001";
    assert_eq!(store.last_call_with(CUSTOMER).await.expect("none"), None);
    let first = store
        .log_call(plain_log(
            new_call(Direction::Incoming, CUSTOMER, OURS, at(9, 0)),
            OURS,
        ))
        .await
        .expect("log");
    assert_eq!(
        store
            .last_call_with(CUSTOMER)
            .await
            .expect("last")
            .map(|c| c.id),
        Some(first.call.id)
    );
    let back = store
        .log_call(plain_log(
            new_call(Direction::Outgoing, CUSTOMER, OURS, at(10, 0)),
            OURS,
        ))
        .await
        .expect("log");
    // An older call logged later does not count as the last one.
    store
        .log_call(plain_log(
            new_call(Direction::Incoming, CUSTOMER, OURS, at(8, 0)),
            OURS,
        ))
        .await
        .expect("log");
    assert_eq!(
        store
            .last_call_with(CUSTOMER)
            .await
            .expect("last")
            .map(|c| c.id),
        Some(back.call.id)
    );
    assert_eq!(
        store
            .last_call_with(OURS)
            .await
            .expect("our own number is not a remote side"),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Timelines.

pub async fn timelines_are_newest_first_and_paged(store: Arc<dyn Store>) {
    let anna = store
        .create_user(new_user("anna", None), None)
        .await
        .expect("user");
    let max = store
        .create_contact(new_contact("Max", &[]))
        .await
        .expect("contact");
    let eva = store
        .create_contact(new_contact("Eva", &[]))
        .await
        .expect("contact");
    let note = |subject: Subject, t: Timestamp, text: &str| NewTimelineEntry {
        subject,
        kind: TimelineKind::Note,
        at: t,
        call_id: None,
        author_id: Some(anna.id),
        text: Some(text.to_string()),
    };
    let mut made = Vec::new();
    for (t, text) in [
        (at(9, 0), "first"),
        (at(11, 0), "third"),
        (at(10, 0), "second"),
        (at(11, 0), "fourth"),
    ] {
        let entry = store
            .add_timeline_entry(note(Subject::Contact(max.id), t, text))
            .await
            .expect("add");
        assert_eq!(entry.subject, Subject::Contact(max.id));
        assert_eq!(entry.kind, TimelineKind::Note);
        assert_eq!(entry.at, t);
        assert_eq!(entry.author_id, Some(anna.id));
        assert_eq!(entry.text.as_deref(), Some(text));
        made.push(entry);
    }
    store
        .add_timeline_entry(note(Subject::Contact(eva.id), at(12, 0), "eva"))
        .await
        .expect("add");

    let texts = |entries: Vec<TimelineEntry>| -> Vec<String> {
        entries.into_iter().filter_map(|e| e.text).collect()
    };
    let max_line = timeline(store.as_ref(), Subject::Contact(max.id)).await;
    assert_eq!(max_line[0], made[3]);
    assert_eq!(
        texts(max_line),
        vec!["fourth", "third", "second", "first"],
        "newest first, then later id first"
    );
    let page = store
        .list_timeline(Subject::Contact(max.id), Page::new(2, 1))
        .await
        .expect("page");
    assert_eq!(texts(page), vec!["third", "second"]);
    assert_eq!(
        texts(timeline(store.as_ref(), Subject::Contact(eva.id)).await),
        vec!["eva"]
    );
    // Subjects of other kinds with the same number are other timelines.
    assert!(timeline(store.as_ref(), Subject::Lead(LeadId(max.id.0)))
        .await
        .is_empty());
}

pub async fn timeline_entries_need_their_subject(store: Arc<dyn Store>) {
    let entry = |subject: Subject| NewTimelineEntry {
        subject,
        kind: TimelineKind::Note,
        at: at(9, 0),
        call_id: None,
        author_id: None,
        text: Some("note".into()),
    };
    expect_missing(
        store
            .add_timeline_entry(entry(Subject::Contact(ContactId(4242))))
            .await,
        "subject",
        "contact",
    );
    expect_missing(
        store
            .add_timeline_entry(entry(Subject::Lead(LeadId(4242))))
            .await,
        "subject",
        "lead",
    );
    expect_missing(
        store
            .add_timeline_entry(entry(Subject::Deal(DealId(4242))))
            .await,
        "subject",
        "deal",
    );
    let max = store
        .create_contact(new_contact("Max", &[]))
        .await
        .expect("contact");
    expect_missing(
        store
            .add_timeline_entry(NewTimelineEntry {
                author_id: Some(UserId(4242)),
                ..entry(Subject::Contact(max.id))
            })
            .await,
        "author_id",
        "user",
    );
    expect_missing(
        store
            .add_timeline_entry(NewTimelineEntry {
                call_id: Some(CallId(4242)),
                ..entry(Subject::Contact(max.id))
            })
            .await,
        "call_id",
        "call",
    );
    assert!(timeline(store.as_ref(), Subject::Contact(max.id))
        .await
        .is_empty());
}

// ---------------------------------------------------------------------------------------------
// Webhooks.

fn new_webhook(url: &str, events: &[EventKind]) -> NewWebhook {
    NewWebhook {
        url: url.to_string(),
        events: events.to_vec(),
        secret: "0123456789abcdef-secret".into(),
    }
}

pub async fn webhooks_round_trip(store: Arc<dyn Store>) {
    let hook = store
        .create_webhook(
            new_webhook(
                "https://crm.example/hook",
                &[EventKind::CallEnded, EventKind::LeadCreated],
            ),
            at(8, 0),
        )
        .await
        .expect("create");
    assert_eq!(hook.url, "https://crm.example/hook");
    assert_eq!(
        hook.events,
        vec![EventKind::CallEnded, EventKind::LeadCreated]
    );
    assert_eq!(hook.secret, "0123456789abcdef-secret");
    assert!(hook.active, "new webhooks are active");
    assert_eq!(hook.created_at, at(8, 0));
    let other = store
        .create_webhook(
            new_webhook("http://intranet/hook", &[EventKind::CallStarted]),
            at(8, 30),
        )
        .await
        .expect("create");
    assert_eq!(
        store.list_webhooks().await.expect("list"),
        vec![hook.clone(), other.clone()]
    );
    store.delete_webhook(hook.id).await.expect("delete");
    assert_eq!(store.list_webhooks().await.expect("list"), vec![other]);
    expect_not_found(store.delete_webhook(hook.id).await);
}

pub async fn deliveries_are_queued_only_for_subscribers(store: Arc<dyn Store>) {
    let subscribed = |kind| {
        let store = store.clone();
        async move {
            store
                .has_webhook_subscribers(kind)
                .await
                .expect("subscribers")
        }
    };
    assert!(!subscribed(EventKind::CallEnded).await, "no webhooks yet");
    let ended = store
        .create_webhook(
            new_webhook(
                "https://a.example/h",
                &[EventKind::CallEnded, EventKind::LeadCreated],
            ),
            at(8, 0),
        )
        .await
        .expect("hook");
    let started = store
        .create_webhook(
            new_webhook(
                "https://b.example/h",
                &[EventKind::CallStarted, EventKind::CallEnded],
            ),
            at(8, 0),
        )
        .await
        .expect("hook");
    assert!(
        subscribed(EventKind::CallEnded).await,
        "a new webhook counts at once"
    );
    assert!(subscribed(EventKind::CallStarted).await);
    assert!(!subscribed(EventKind::CallRinging).await);
    let payload = serde_json::json!({"call": {"id": 7, "numbers": ["+4930100001"]}, "ok": true});
    assert_eq!(
        store
            .enqueue_deliveries(EventKind::CallEnded, &payload, at(9, 0))
            .await
            .expect("enqueue"),
        2
    );
    assert_eq!(
        store
            .enqueue_deliveries(EventKind::LeadCreated, &payload, at(9, 1))
            .await
            .expect("enqueue"),
        1
    );
    assert_eq!(
        store
            .enqueue_deliveries(EventKind::CallRinging, &payload, at(9, 2))
            .await
            .expect("enqueue"),
        0
    );

    let queued = store
        .list_deliveries(ended.id, Page::default())
        .await
        .expect("list");
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[0].event, EventKind::LeadCreated, "newest first");
    assert_eq!(queued[1].event, EventKind::CallEnded);
    let d = &queued[1];
    assert_eq!(d.webhook_id, ended.id);
    assert_eq!(d.payload, payload);
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!(d.attempts, 0);
    assert_eq!((d.last_status, d.last_error.as_deref()), (None, None));
    assert_eq!(d.next_attempt_at, Some(at(9, 0)), "due at once");
    assert_eq!(d.created_at, at(9, 0));
    assert_eq!(
        store
            .list_deliveries(started.id, Page::default())
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        store
            .list_deliveries(ended.id, Page::new(1, 1))
            .await
            .expect("page")[0]
            .id,
        d.id
    );

    store.delete_webhook(started.id).await.expect("delete");
    assert_eq!(
        store
            .enqueue_deliveries(EventKind::CallStarted, &payload, at(9, 3))
            .await
            .expect("enqueue"),
        0,
        "a deleted webhook gets nothing"
    );
    assert!(
        !subscribed(EventKind::CallStarted).await,
        "only the deleted one had it"
    );
    assert!(subscribed(EventKind::CallEnded).await);
}

pub async fn due_deliveries_respect_next_attempt_at_and_limit(store: Arc<dyn Store>) {
    let hook = store
        .create_webhook(
            new_webhook("https://a.example/h", &[EventKind::CallEnded]),
            at(8, 0),
        )
        .await
        .expect("hook");
    let payload = serde_json::json!({"n": 1});
    for minute in [0, 1, 2] {
        store
            .enqueue_deliveries(EventKind::CallEnded, &payload, at(9, minute))
            .await
            .expect("enqueue");
    }
    assert!(
        store
            .due_deliveries(at(8, 59), 10)
            .await
            .expect("due")
            .is_empty(),
        "nothing due yet"
    );
    let due = store.due_deliveries(at(9, 1), 10).await.expect("due");
    assert_eq!(due.len(), 2, "due at or before now");
    assert_eq!(due[0].0.next_attempt_at, Some(at(9, 0)), "oldest first");
    assert_eq!(due[1].0.next_attempt_at, Some(at(9, 1)));
    assert_eq!(due[0].1, hook, "with its webhook");
    let limited = store.due_deliveries(at(10, 0), 2).await.expect("due");
    assert_eq!(limited.len(), 2, "limit");
    assert_eq!(limited[0].0.id, due[0].0.id);

    // A failed attempt moves the delivery to its retry time.
    store
        .record_delivery_attempt(
            due[0].0.id,
            DeliveryAttempt {
                status: Some(503),
                error: Some("unavailable".into()),
                next_attempt_at: Some(at(9, 30)),
                state: DeliveryState::Pending,
            },
        )
        .await
        .expect("record");
    let due_at_ten_past = store.due_deliveries(at(9, 10), 10).await.expect("due");
    assert_eq!(due_at_ten_past.len(), 2);
    assert!(
        due_at_ten_past.iter().all(|(d, _)| d.id != due[0].0.id),
        "waits for its retry time"
    );
    let due_later = store.due_deliveries(at(9, 30), 10).await.expect("due");
    assert_eq!(due_later.len(), 3);
    assert_eq!(
        due_later[2].0.id, due[0].0.id,
        "now due, after the older-due ones"
    );
}

pub async fn delivery_attempts_update_the_log(store: Arc<dyn Store>) {
    let hook = store
        .create_webhook(
            new_webhook("https://a.example/h", &[EventKind::CallEnded]),
            at(8, 0),
        )
        .await
        .expect("hook");
    store
        .enqueue_deliveries(EventKind::CallEnded, &serde_json::json!({}), at(9, 0))
        .await
        .expect("enqueue");
    let id = store
        .list_deliveries(hook.id, Page::default())
        .await
        .expect("list")[0]
        .id;

    store
        .record_delivery_attempt(
            id,
            DeliveryAttempt {
                status: None,
                error: Some("connection refused".into()),
                next_attempt_at: Some(at(9, 1)),
                state: DeliveryState::Pending,
            },
        )
        .await
        .expect("first attempt");
    let after_first = &store
        .list_deliveries(hook.id, Page::default())
        .await
        .expect("list")[0];
    assert_eq!(after_first.attempts, 1);
    assert_eq!(after_first.last_status, None);
    assert_eq!(
        after_first.last_error.as_deref(),
        Some("connection refused")
    );
    assert_eq!(after_first.next_attempt_at, Some(at(9, 1)));
    assert_eq!(after_first.state, DeliveryState::Pending);

    store
        .record_delivery_attempt(
            id,
            DeliveryAttempt {
                status: Some(200),
                error: None,
                next_attempt_at: None,
                state: DeliveryState::Delivered,
            },
        )
        .await
        .expect("second attempt");
    let delivered = &store
        .list_deliveries(hook.id, Page::default())
        .await
        .expect("list")[0];
    assert_eq!(delivered.attempts, 2);
    assert_eq!(delivered.last_status, Some(200));
    assert_eq!(delivered.last_error, None);
    assert_eq!(delivered.next_attempt_at, None);
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert!(
        store
            .due_deliveries(at(23, 0), 10)
            .await
            .expect("due")
            .is_empty(),
        "delivered is never due"
    );

    store
        .enqueue_deliveries(EventKind::CallEnded, &serde_json::json!({}), at(9, 0))
        .await
        .expect("enqueue");
    let second = store
        .list_deliveries(hook.id, Page::default())
        .await
        .expect("list")[0]
        .id;
    store
        .record_delivery_attempt(
            second,
            DeliveryAttempt {
                status: Some(500),
                error: Some("gave up".into()),
                next_attempt_at: None,
                state: DeliveryState::Failed,
            },
        )
        .await
        .expect("final attempt");
    assert!(
        store
            .due_deliveries(at(23, 0), 10)
            .await
            .expect("due")
            .is_empty(),
        "failed is never due"
    );
    let failed = &store
        .list_deliveries(hook.id, Page::default())
        .await
        .expect("list")[0];
    assert_eq!(
        (failed.state, failed.attempts, failed.last_status),
        (DeliveryState::Failed, 1, Some(500))
    );

    expect_not_found(
        store
            .record_delivery_attempt(
                WebhookDeliveryId(4242),
                DeliveryAttempt {
                    status: None,
                    error: None,
                    next_attempt_at: None,
                    state: DeliveryState::Failed,
                },
            )
            .await,
    );
}

// ---------------------------------------------------------------------------------------------
// Settings.

pub async fn settings_round_trip(store: Arc<dyn Store>) {
    assert_eq!(store.get_setting("routing").await.expect("get"), None);
    let routing = serde_json::json!({
        "working_hours": {"mon": ["09:00", "18:00"]},
        "queues": [{"name": "sales", "strategy": "evenly", "members": [1, 2]}],
        "greeting": "Willkommen bei Acme – bitte warten",
        "enabled": true,
        "ratio": 0.5,
        "nothing": null
    });
    store.put_setting("routing", &routing).await.expect("put");
    assert_eq!(
        store.get_setting("routing").await.expect("get"),
        Some(routing)
    );
    let replaced = serde_json::json!(["replaced"]);
    store
        .put_setting("routing", &replaced)
        .await
        .expect("overwrite");
    assert_eq!(
        store.get_setting("routing").await.expect("get"),
        Some(replaced)
    );
    store
        .put_setting("other", &serde_json::json!(42))
        .await
        .expect("put");
    assert_eq!(
        store.get_setting("other").await.expect("get"),
        Some(serde_json::json!(42))
    );
    assert_eq!(
        store.get_setting("Routing").await.expect("keys are exact"),
        None
    );
}
