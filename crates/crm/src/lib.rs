//! The CRM side of Ringbase: who is calling, and what every call leaves behind.
//!
//! Layout:
//! - [`Crm`]: the service the API, the bridge app and the SIP server call. It normalises
//!   numbers, answers lookups from an in-process cache, logs calls (timeline, leads, call
//!   tracking, all through one [`store::Store::log_call`] transaction) and publishes events.
//!   Every CRM write goes through it, so the cache is invalidated on every write.
//! - [`card`]: the caller card and the rule for which entity it shows.
//! - [`tracking`]: the dialed number from To / Diversion, per connection priority.

mod cache;
pub mod card;
pub mod tracking;

pub use card::CallerCard;

use cache::LookupCache;
use domain::*;
use events::{Event, EventBus};
use phone::{PhoneInput, Region};
use std::collections::HashMap;
use std::sync::Arc;
use store::{CallLog, CallParties, LoggedCall, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type CrmResult<T> = Result<T, CrmError>;

/// A finished call as a reporter (SIP server, bridge app, API client) knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallReport {
    pub direction: Direction,
    /// The customer's number, raw (may be anonymous).
    pub remote: String,
    /// Our number on the call: dialed by the customer, or presented when we called out.
    pub line: Option<String>,
    pub agent_id: Option<UserId>,
    pub queue: Option<String>,
    pub started_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub ended_at: Timestamp,
    pub status: CallStatus,
    pub recording: Option<String>,
    pub rating: Option<u8>,
    pub notes: Option<String>,
    pub origin: CallOrigin,
    pub idempotency_key: Option<String>,
}

/// How many caller cards are kept; a card is a few hundred bytes.
const CACHE_CAPACITY: usize = 200_000;

pub struct Crm {
    store: Arc<dyn Store>,
    region: Region,
    bus: EventBus,
    cache: LookupCache,
    parsed: ParsedNumbers,
}

impl Crm {
    pub fn new(store: Arc<dyn Store>, region: Region, bus: EventBus) -> Self {
        Crm {
            store,
            region,
            bus,
            cache: LookupCache::new(CACHE_CAPACITY),
            parsed: ParsedNumbers::default(),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn region(&self) -> Region {
        self.region
    }

    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// Whether anyone may want an event of this kind: a listener to every event (the web
    /// app's live panel), or a webhook subscribed to it as far as the store knows without a
    /// query. When this says no, a publisher can skip building the event: the SIP server
    /// serialized two caller cards per call for nobody, a twentieth of its time.
    pub fn hears(&self, kind: EventKind) -> bool {
        self.bus.has_listeners_beyond_webhooks()
            || self.store.webhook_subscribers_known(kind) != Some(false)
    }

    // ---- numbers ----

    /// `Ok(None)` for anonymous / withheld; an error naming `field` for what is not a number.
    pub fn normalize(&self, field: &str, raw: &str) -> Result<Option<Phone>, FieldError> {
        match self.parsed.parse(raw, self.region) {
            Parsed::NoNumber => Ok(None),
            Parsed::E164(e164) => Ok(Some(Phone {
                e164,
                raw: raw.trim().to_string(),
            })),
            Parsed::Invalid(why) => Err(FieldError::new(field, why)),
        }
    }

    /// Phones of a contact, company or lead: each must be a number; duplicates are dropped.
    pub fn phones(&self, field: &str, raws: &[String]) -> Result<Vec<Phone>, FieldError> {
        let mut phones: Vec<Phone> = Vec::with_capacity(raws.len());
        for (i, raw) in raws.iter().enumerate() {
            let name = format!("{field}[{i}]");
            match self.normalize(&name, raw)? {
                Some(p) if !phones.iter().any(|q| q.e164 == p.e164) => phones.push(p),
                Some(_) => {}
                None => return Err(FieldError::new(name, "is not a phone number")),
            }
        }
        Ok(phones)
    }

    fn call_number(&self, raw: &str) -> CallNumber {
        // A call is logged whatever the number looks like; only a real number gets an E.164.
        let e164 = match self.parsed.parse(raw, self.region) {
            Parsed::E164(e164) => Some(e164),
            _ => None,
        };
        CallNumber {
            e164,
            raw: raw.trim().to_string(),
        }
    }

    // ---- lookup ----

    /// Who is calling from `raw`. Answers from the cache when it can.
    pub async fn lookup(&self, raw: &str) -> CrmResult<Arc<CallerCard>> {
        let number = self.normalize("number", raw)?;
        let Some(number) = number else {
            return Ok(Arc::new(CallerCard::unknown(None, raw.trim().to_string())));
        };
        if let Some(card) = self.card_in_cache(&number) {
            return Ok(card);
        }
        let ticket = self.cache.ticket();
        let card = Arc::new(self.card_from_store(&number).await?);
        self.cache.put(number.e164.clone(), card.clone(), ticket);
        Ok(card)
    }

    /// [`Crm::lookup`] when it needs no database: the card of a number in the cache (and of
    /// anonymous callers), else `None`. Lets the SIP loop, which must not wait, answer most
    /// calls at once and hand only the rest to a task.
    pub fn lookup_cached(&self, raw: &str) -> Option<Arc<CallerCard>> {
        match self.normalize("number", raw) {
            Ok(Some(number)) => self.card_in_cache(&number),
            Ok(None) => Some(Arc::new(CallerCard::unknown(None, raw.trim().to_string()))),
            Err(_) => None,
        }
    }

    fn card_in_cache(&self, number: &Phone) -> Option<Arc<CallerCard>> {
        let card = self.cache.get(&number.e164)?;
        if card.raw == number.raw {
            return Some(card);
        }
        // Same number, other spelling: share everything but the raw form.
        let mut card = (*card).clone();
        card.raw = number.raw.clone();
        Some(Arc::new(card))
    }

    async fn card_from_store(&self, number: &Phone) -> CrmResult<CallerCard> {
        let store = &self.store;
        let picked = card::pick(store.find_by_phone(&number.e164).await?);
        let mut company = picked.company;
        if let Some(company_id) = picked.contact.as_ref().and_then(|c| c.company_id) {
            if company.as_ref().map(|c| c.id) != Some(company_id) {
                company = Some(store.get_company(company_id).await?);
            }
        }
        let deal = if picked.contact.is_some() || company.is_some() {
            store
                .latest_open_deal(
                    picked.contact.as_ref().map(|c| c.id),
                    company.as_ref().map(|c| c.id),
                )
                .await?
        } else {
            None
        };
        let responsible_id = picked
            .contact
            .as_ref()
            .and_then(|c| c.responsible_id)
            .or(company.as_ref().and_then(|c| c.responsible_id))
            .or(deal.as_ref().and_then(|d| d.responsible_id))
            .or(picked.lead.as_ref().and_then(|l| l.responsible_id));
        let responsible = match responsible_id {
            Some(id) => match store.get_user(id).await {
                Ok(user) => Some(user),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let last_call = store.last_call_with(&number.e164).await?;
        Ok(CallerCard {
            number: Some(number.e164.clone()),
            raw: number.raw.clone(),
            contact: picked.contact,
            company,
            lead: picked.lead,
            deal,
            responsible,
            last_call,
        })
    }

    /// Drops every cached card; call after any CRM write the other methods do not cover.
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    // ---- calls ----

    /// Logs a finished call: links it to the caller's contact / company / lead / deal, creates a
    /// lead for an unknown caller as the line's rules say, writes the timelines and the source,
    /// and publishes `call.ended` (and `lead.created`). Idempotent by `idempotency_key`.
    pub async fn log_call(&self, report: CallReport) -> CrmResult<LoggedCall> {
        let (log, remote) = self.prepare_call_log(report, &mut HashMap::new()).await?;
        let logged = self.store.log_call(log).await?;
        self.call_logged(&logged, remote.as_deref());
        Ok(logged)
    }

    /// Several [`Crm::log_call`]s, written together (one commit) where the store can: the
    /// SIP server logs its finished calls this way. Results in order, each as `log_call`
    /// would have answered it.
    pub async fn log_calls(&self, reports: Vec<CallReport>) -> Vec<CrmResult<LoggedCall>> {
        let mut results: Vec<Option<CrmResult<LoggedCall>>> = Vec::with_capacity(reports.len());
        let mut logs = Vec::with_capacity(reports.len());
        let mut remotes = Vec::with_capacity(reports.len());
        let mut seen = HashMap::new();
        for report in reports {
            match self.prepare_call_log(report, &mut seen).await {
                Ok((log, remote)) => {
                    results.push(None);
                    logs.push(log);
                    remotes.push(remote);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        let mut stored = self.store.log_calls(logs).await.into_iter().zip(remotes);
        results
            .into_iter()
            .map(|result| match result {
                Some(failed) => failed,
                None => {
                    let (logged, remote) = stored.next().expect("one store result per log");
                    let logged = logged?;
                    self.call_logged(&logged, remote.as_deref());
                    Ok(logged)
                }
            })
            .collect()
    }

    /// Validation, numbers and the CRM's side of one report: who the parties are, and the
    /// lead an unknown caller would get. Also answers the remote's E.164, if it has one.
    ///
    /// `seen` remembers the parties of each number already prepared in the same batch: a
    /// number calling several times in one batch is looked up once (a lead the first call
    /// creates is joined by the others inside the store's transaction).
    async fn prepare_call_log(
        &self,
        report: CallReport,
        seen: &mut HashMap<String, (CallParties, bool)>,
    ) -> CrmResult<(CallLog, Option<String>)> {
        let remote = self.call_number(&report.remote);
        let line_number = match report.line.as_deref() {
            Some(raw) if !raw.trim().is_empty() => self.normalize("line", raw)?,
            _ => None,
        };
        let ours = CallNumber {
            e164: line_number.as_ref().map(|l| l.e164.clone()),
            raw: report.line.clone().unwrap_or_default().trim().to_string(),
        };
        let (caller, called) = match report.direction {
            Direction::Incoming => (remote.clone(), ours),
            Direction::Outgoing | Direction::Callback => (ours, remote.clone()),
        };
        let call = NewCall {
            direction: report.direction,
            caller,
            called,
            line_id: None,
            source_id: None,
            agent_id: report.agent_id,
            queue: report.queue,
            started_at: report.started_at,
            answered_at: report.answered_at,
            ended_at: report.ended_at,
            status: report.status,
            recording: report.recording,
            rating: report.rating,
            notes: report.notes,
            origin: report.origin,
            idempotency_key: report.idempotency_key,
        };
        call.validate()?;

        let (parties, lead_candidate) = match &remote.e164 {
            Some(e164) => {
                let (parties, wants_lead) = match seen.get(e164) {
                    Some(known) => *known,
                    None => {
                        let parties = self.lookup(e164).await?.parties();
                        let wants_lead =
                            !parties.is_known() && !self.store.is_lead_exception(e164).await?;
                        seen.insert(e164.clone(), (parties, wants_lead));
                        (parties, wants_lead)
                    }
                };
                let candidate =
                    wants_lead.then(|| lead_for_unknown_caller(&call, e164, &remote.raw));
                (parties, candidate)
            }
            None => (Default::default(), None),
        };

        Ok((
            CallLog {
                call,
                line_number,
                parties,
                lead_candidate,
            },
            remote.e164,
        ))
    }

    /// After a call was stored: the remote's cached card gets the call as its last one (or is
    /// dropped, when the call created a lead or set the contact's source) and the bus hears of the call and of a lead it created. Nothing for a duplicate.
    fn call_logged(&self, logged: &LoggedCall, remote_e164: Option<&str>) {
        if logged.duplicate {
            return;
        }
        if let Some(e164) = remote_e164 {
            // Busy numbers call again and again: keep their card warm, with this call as the
            // last one, unless the call changed more than that.
            self.cache
                .revise(e164, |card| card::after_call(card, logged));
        }
        let at = logged.call.ended_at;
        if let Some(lead) = logged
            .created_lead
            .as_ref()
            .filter(|_| self.hears(EventKind::LeadCreated))
        {
            self.bus.publish(Event::new(
                EventKind::LeadCreated,
                at,
                serde_json::json!({ "lead": lead, "call_id": logged.call.id }),
            ));
        }
        if self.hears(EventKind::CallEnded) {
            self.bus.publish(Event::new(
                EventKind::CallEnded,
                at,
                serde_json::json!({ "call": logged.call }),
            ));
        }
    }

    // ---- CRM writes (each invalidates the cache) ----

    pub async fn create_contact(&self, contact: NewContact) -> CrmResult<Contact> {
        contact.validate()?;
        let created = self.store.create_contact(contact).await?;
        self.cache.invalidate_all();
        Ok(created)
    }

    pub async fn create_contacts(&self, contacts: Vec<NewContact>) -> CrmResult<u64> {
        for (i, c) in contacts.iter().enumerate() {
            c.validate()
                .map_err(|e| FieldError::new(format!("[{i}].{}", e.field), e.message))?;
        }
        let n = self.store.create_contacts(contacts).await?;
        self.cache.invalidate_all();
        Ok(n)
    }

    pub async fn update_contact(
        &self,
        id: ContactId,
        patch: ContactPatch,
        now: Timestamp,
    ) -> CrmResult<Contact> {
        patch.validate()?;
        let updated = self.store.update_contact(id, patch, now).await?;
        self.cache.invalidate_all();
        Ok(updated)
    }

    pub async fn delete_contact(&self, id: ContactId) -> CrmResult<()> {
        self.store.delete_contact(id).await?;
        self.cache.invalidate_all();
        Ok(())
    }

    pub async fn create_company(&self, company: NewCompany) -> CrmResult<Company> {
        company.validate()?;
        let created = self.store.create_company(company).await?;
        self.cache.invalidate_all();
        Ok(created)
    }

    pub async fn delete_company(&self, id: CompanyId) -> CrmResult<()> {
        self.store.delete_company(id).await?;
        self.cache.invalidate_all();
        Ok(())
    }

    pub async fn create_lead(&self, lead: NewLead, at: Timestamp) -> CrmResult<Lead> {
        lead.validate()?;
        let created = self.store.create_lead(lead).await?;
        self.cache.invalidate_all();
        self.bus.publish(Event::new(
            EventKind::LeadCreated,
            at,
            serde_json::json!({ "lead": created }),
        ));
        Ok(created)
    }

    pub async fn update_lead(&self, id: LeadId, patch: LeadPatch) -> CrmResult<Lead> {
        patch.validate()?;
        let updated = self.store.update_lead(id, patch).await?;
        self.cache.invalidate_all();
        Ok(updated)
    }

    pub async fn create_deal(&self, deal: NewDeal, now: Timestamp) -> CrmResult<Deal> {
        deal.validate()?;
        let created = self.store.create_deal(deal, now).await?;
        self.cache.invalidate_all();
        Ok(created)
    }

    pub async fn update_deal(
        &self,
        id: DealId,
        patch: DealPatch,
        now: Timestamp,
    ) -> CrmResult<Deal> {
        patch.validate()?;
        let updated = self.store.update_deal(id, patch, now).await?;
        self.cache.invalidate_all();
        Ok(updated)
    }

    /// Users appear on cards as the responsible manager.
    pub async fn update_user(&self, id: UserId, patch: UserPatch) -> CrmResult<User> {
        patch.validate()?;
        let updated = self.store.update_user(id, patch).await?;
        self.cache.invalidate_all();
        Ok(updated)
    }

    pub async fn update_call(&self, id: CallId, patch: CallPatch) -> CrmResult<CallRecord> {
        patch.validate()?;
        let updated = self.store.update_call(id, patch).await?;
        if let Some(e164) = &updated.remote().e164 {
            self.cache.invalidate(e164);
        }
        Ok(updated)
    }
}

/// The lead an unknown caller gets. Its source is filled in by the store from the line.
fn lead_for_unknown_caller(call: &NewCall, e164: &str, raw: &str) -> NewLead {
    let title = match (call.direction, call.status) {
        (Direction::Incoming, CallStatus::Answered) => format!("Incoming call from {e164}"),
        (Direction::Incoming, _) => format!("Missed call from {e164}"),
        (Direction::Outgoing | Direction::Callback, _) => format!("Call to {e164}"),
    };
    NewLead {
        title,
        name: None,
        company_name: None,
        phones: vec![Phone {
            e164: e164.to_string(),
            raw: raw.to_string(),
        }],
        emails: Vec::new(),
        status: LeadStatus::New,
        source_id: None,
        responsible_id: call.agent_id,
    }
}

/// What a raw number parses to, as the CRM uses it.
#[derive(Debug, Clone)]
enum Parsed {
    NoNumber,
    E164(String),
    Invalid(String),
}

/// Numbers parsed lately. libphonenumber's parse (metadata and regular expressions) was the
/// biggest cost of a cached caller lookup, and every SIP call parses the same caller and line
/// numbers several times (lookup at ringing, again when logged). The region is fixed per
/// `Crm`, so the raw text alone is the key. Bounded: cleared when full (a simple rule; a
/// full cache is refilled by the numbers in use within moments).
#[derive(Default)]
struct ParsedNumbers {
    map: std::sync::Mutex<HashMap<String, Parsed>>,
}

/// Raw forms remembered at most.
const PARSED_NUMBERS: usize = 50_000;

impl ParsedNumbers {
    fn parse(&self, raw: &str, region: Region) -> Parsed {
        if let Some(hit) = self.lock().get(raw) {
            return hit.clone();
        }
        let parsed = match phone::parse(raw, region) {
            PhoneInput::NoNumber => Parsed::NoNumber,
            PhoneInput::Number(n) => Parsed::E164(n.e164().to_string()),
            PhoneInput::Invalid(why) => Parsed::Invalid(why.to_string()),
        };
        let mut map = self.lock();
        if map.len() >= PARSED_NUMBERS {
            map.clear();
        }
        map.insert(raw.to_owned(), parsed.clone());
        parsed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Parsed>> {
        // A panic while holding the lock cannot leave the map inconsistent (inserts and
        // clears are single calls), so a poisoned lock is used as is.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod cache_follows_calls {
    //! The cached card of a number that calls again is revised, not thrown away, and always
    //! equals what a cold lookup reads from the store.
    use super::*;
    use chrono::TimeZone;

    async fn crm() -> Crm {
        let store: Arc<dyn Store> = Arc::new(
            store_sql::SqlStore::open("sqlite::memory:")
                .await
                .expect("store"),
        );
        Crm::new(store, "DE".parse().unwrap(), EventBus::new(16))
    }

    fn at(h: u32, m: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 20, h, m, 0).unwrap()
    }

    fn call(remote: &str, from: (u32, u32), to: (u32, u32), key: &str) -> CallReport {
        CallReport {
            direction: Direction::Incoming,
            remote: remote.into(),
            line: Some("+4930999000".into()),
            agent_id: None,
            queue: None,
            started_at: at(from.0, from.1),
            answered_at: Some(at(from.0, from.1)),
            ended_at: at(to.0, to.1),
            status: CallStatus::Answered,
            recording: None,
            rating: None,
            notes: None,
            origin: CallOrigin::Api,
            idempotency_key: Some(key.into()),
        }
    }

    /// The card from the store, as a process with a cold cache would read it.
    async fn cold(crm: &Crm, e164: &str) -> CallerCard {
        let cold = Crm::new(crm.store.clone(), crm.region, EventBus::new(16));
        (*cold.lookup(e164).await.unwrap()).clone()
    }

    #[tokio::test]
    async fn a_repeat_callers_card_keeps_its_latest_call_and_is_dropped_when_the_call_changed_more()
    {
        let crm = crm().await;
        let store = crm.store().clone();
        let ads = store.create_source("Google Ads").await.unwrap();
        store
            .create_line(NewLine {
                number: Phone {
                    e164: "+4930999000".into(),
                    raw: "030 999000".into(),
                },
                name: "Ads".into(),
                source_id: Some(ads.id),
                origin: LineOrigin::Manual,
                lead_rule: LeadRule::default(),
            })
            .await
            .unwrap();
        let giulia = "+390212345678";
        crm.create_contact(NewContact {
            name: "Giulia Rossi".into(),
            company_id: None,
            phones: vec![Phone {
                e164: giulia.into(),
                raw: giulia.into(),
            }],
            emails: vec![],
            responsible_id: None,
            source_id: None,
        })
        .await
        .unwrap();

        // First call over the ad line: Giulia's contact gets its first source, so her card
        // (which shows the contact) is read again.
        crm.lookup(giulia).await.unwrap();
        crm.log_call(call(giulia, (10, 0), (10, 2), "a"))
            .await
            .unwrap();
        assert!(crm.cache.get(giulia).is_none(), "the contact changed");
        let card = crm.lookup(giulia).await.unwrap();
        assert_eq!(card.contact.as_ref().unwrap().source_id, Some(ads.id));

        // Second call: only the last call changed; the card stays cached, revised.
        let second = crm
            .log_call(call(giulia, (10, 5), (10, 6), "b"))
            .await
            .unwrap();
        let cached = crm.cache.get(giulia).expect("still cached");
        assert_eq!(cached.last_call.as_ref().unwrap().id, second.call.id);
        assert_eq!(*cached, cold(&crm, giulia).await);
        let spelled = crm.lookup_cached("0039 02 1234 5678").expect("cached");
        assert_eq!(
            (spelled.raw.as_str(), spelled.contact.as_ref().map(|c| c.id)),
            ("0039 02 1234 5678", cached.contact.as_ref().map(|c| c.id))
        );
        assert!(
            crm.lookup_cached("+4930555").is_none(),
            "not cached: needs the store"
        );
        assert!(crm
            .lookup_cached("anonymous")
            .is_some_and(|c| c.number.is_none()));

        // A long call that started earlier but ended later is not the last call.
        crm.log_call(call(giulia, (9, 0), (10, 30), "c"))
            .await
            .unwrap();
        let cached = crm.cache.get(giulia).expect("still cached");
        assert_eq!(cached.last_call.as_ref().unwrap().id, second.call.id);
        assert_eq!(*cached, cold(&crm, giulia).await);

        // An unknown caller: the first call creates a lead (dropped), the next join it (kept).
        let stranger = "+4917612345678";
        crm.lookup(stranger).await.unwrap();
        let first = crm
            .log_call(call(stranger, (11, 0), (11, 1), "d"))
            .await
            .unwrap();
        assert!(first.created_lead.is_some());
        assert!(crm.cache.get(stranger).is_none(), "a lead was created");
        assert!(crm.lookup(stranger).await.unwrap().lead.is_some());
        let results = crm
            .log_calls(vec![
                call(stranger, (11, 5), (11, 6), "e"),
                call(stranger, (11, 7), (11, 8), "f"),
            ])
            .await;
        let last = results[1].as_ref().unwrap();
        let cached = crm.cache.get(stranger).expect("still cached");
        assert_eq!(cached.last_call.as_ref().unwrap().id, last.call.id);
        assert_eq!(*cached, cold(&crm, stranger).await);
    }
}

#[cfg(test)]
mod who_hears_events {
    //! Publishers skip events nobody wants, and only when the store is sure of it.
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn an_event_is_heard_by_a_subscribed_webhook_or_a_live_listener() {
        let store: Arc<dyn Store> = Arc::new(
            store_sql::SqlStore::open("sqlite::memory:")
                .await
                .expect("store"),
        );
        let crm = Crm::new(store.clone(), "DE".parse().unwrap(), EventBus::new(16));
        // Before the store has read its webhooks it cannot be sure: the event is built.
        assert!(crm.hears(EventKind::CallEnded));
        assert!(!store
            .has_webhook_subscribers(EventKind::CallEnded)
            .await
            .unwrap());
        assert!(!crm.hears(EventKind::CallEnded), "no webhook, no listener");
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
            .unwrap();
        store
            .create_webhook(
                NewWebhook {
                    url: "http://127.0.0.1:9/hook".into(),
                    events: vec![EventKind::CallEnded],
                    secret: "s3cret-s3cret".into(),
                },
                at,
            )
            .await
            .expect("webhook");
        assert!(
            crm.hears(EventKind::CallEnded),
            "a new webhook is heard at once"
        );
        assert!(store
            .has_webhook_subscribers(EventKind::CallEnded)
            .await
            .unwrap());
        assert!(crm.hears(EventKind::CallEnded));
        assert!(
            !crm.hears(EventKind::CallRinging),
            "the webhook wants only call.ended"
        );
        let _live = crm.bus().subscribe();
        assert!(
            crm.hears(EventKind::CallRinging),
            "a live panel wants everything"
        );
    }
}
