//! Contacts, companies, leads, deals, their timelines, and the caller lookup.

use super::{double_option, now, Listed, PageQuery};
use crate::auth::{Agent, Principal};
use crate::error::{ApiError, ApiResult};
use crate::json::{IdPath, JsonBody, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::*;
use serde::Deserialize;
use store::{CompanyFilter, ContactFilter, DealFilter, LeadFilter};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/lookup", get(lookup))
        .route("/api/v1/contacts", get(list_contacts).post(create_contact))
        .route(
            "/api/v1/contacts/{id}",
            get(get_contact)
                .patch(update_contact)
                .delete(delete_contact),
        )
        .route("/api/v1/contacts/{id}/timeline", get(contact_timeline))
        .route("/api/v1/contacts/{id}/notes", post(contact_note))
        .route(
            "/api/v1/companies",
            get(list_companies).post(create_company),
        )
        .route(
            "/api/v1/companies/{id}",
            get(get_company).delete(delete_company),
        )
        .route("/api/v1/leads", get(list_leads).post(create_lead))
        .route("/api/v1/leads/{id}", get(get_lead).patch(update_lead))
        .route("/api/v1/leads/{id}/timeline", get(lead_timeline))
        .route("/api/v1/leads/{id}/notes", post(lead_note))
        .route("/api/v1/deals", get(list_deals).post(create_deal))
        .route("/api/v1/deals/{id}", get(get_deal).patch(update_deal))
        .route("/api/v1/deals/{id}/timeline", get(deal_timeline))
        .route("/api/v1/deals/{id}/notes", post(deal_note))
}

// ---- lookup ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupQuery {
    number: String,
}

async fn lookup(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(q): QueryParams<LookupQuery>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let card = state.crm().lookup(&q.number).await?;
    state.reply(&principal, StatusCode::OK, &*card).await
}

// ---- contacts ----

/// `company` links by name (created when new); `company_id` links by id.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactIn {
    name: String,
    company: Option<String>,
    company_id: Option<CompanyId>,
    #[serde(default)]
    phones: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
    responsible_id: Option<UserId>,
}

async fn company_by_name(state: &AppState, name: &str) -> ApiResult<CompanyId> {
    validation::require_text("company", name, 300)?;
    if let Some(c) = state.store().find_company_by_name(name.trim()).await? {
        return Ok(c.id);
    }
    let created = state
        .crm()
        .create_company(NewCompany {
            name: name.trim().to_string(),
            ..Default::default()
        })
        .await?;
    Ok(created.id)
}

async fn create_contact(
    State(state): State<AppState>,
    Agent(principal): Agent,
    JsonBody(input): JsonBody<ContactIn>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    if input.company.is_some() && input.company_id.is_some() {
        return Err(ApiError::invalid(
            "company",
            "give company or company_id, not both",
        ));
    }
    let phones = state.crm().phones("phones", &input.phones)?;
    let mut contact = NewContact {
        name: input.name,
        company_id: input.company_id,
        phones,
        emails: input.emails,
        responsible_id: input.responsible_id,
        source_id: None,
    };
    // Validate before creating a company for it, so a bad contact leaves nothing behind.
    contact.validate()?;
    if let Some(name) = &input.company {
        contact.company_id = Some(company_by_name(&state, name).await?);
    }
    let created = state.crm().create_contact(contact).await?;
    state.reply(&principal, StatusCode::CREATED, &created).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactListQuery {
    q: Option<String>,
    company_id: Option<CompanyId>,
    responsible_id: Option<UserId>,
    phone: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

async fn list_contacts(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(q): QueryParams<ContactListQuery>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let phone = match q.phone.as_deref() {
        Some(raw) => state.crm().normalize("phone", raw)?.map(|p| p.e164),
        None => None,
    };
    let filter = ContactFilter {
        name_contains: q.q,
        company_id: q.company_id,
        responsible_id: q.responsible_id,
        phone,
    };
    let page = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .page();
    let items = state.store().list_contacts(&filter, page).await?;
    state
        .reply(&principal, StatusCode::OK, &Listed::new(items, page))
        .await
}

async fn get_contact(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let contact = state.store().get_contact(ContactId(id)).await?;
    state.reply(&principal, StatusCode::OK, &contact).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactPatchIn {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    company_id: Option<Option<CompanyId>>,
    phones: Option<Vec<String>>,
    emails: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    responsible_id: Option<Option<UserId>>,
}

async fn update_contact(
    State(state): State<AppState>,
    Agent(principal): Agent,
    IdPath(id): IdPath,
    JsonBody(input): JsonBody<ContactPatchIn>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let phones = match &input.phones {
        Some(raws) => Some(state.crm().phones("phones", raws)?),
        None => None,
    };
    let patch = ContactPatch {
        name: input.name,
        company_id: input.company_id,
        phones,
        emails: input.emails,
        responsible_id: input.responsible_id,
    };
    let updated = state
        .crm()
        .update_contact(ContactId(id), patch, now())
        .await?;
    state.reply(&principal, StatusCode::OK, &updated).await
}

async fn delete_contact(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    principal.require(Role::Supervisor)?;
    state.crm().delete_contact(ContactId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- companies ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompanyIn {
    name: String,
    #[serde(default)]
    phones: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
    responsible_id: Option<UserId>,
}

async fn create_company(
    State(state): State<AppState>,
    Agent(principal): Agent,
    JsonBody(input): JsonBody<CompanyIn>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let company = NewCompany {
        name: input.name,
        phones: state.crm().phones("phones", &input.phones)?,
        emails: input.emails,
        responsible_id: input.responsible_id,
    };
    let created = state.crm().create_company(company).await?;
    state.reply(&principal, StatusCode::CREATED, &created).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompanyListQuery {
    q: Option<String>,
    responsible_id: Option<UserId>,
    limit: Option<u32>,
    offset: Option<u64>,
}

async fn list_companies(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(q): QueryParams<CompanyListQuery>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let filter = CompanyFilter {
        name_contains: q.q,
        responsible_id: q.responsible_id,
    };
    let page = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .page();
    let items = state.store().list_companies(&filter, page).await?;
    state
        .reply(&principal, StatusCode::OK, &Listed::new(items, page))
        .await
}

async fn get_company(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let company = state.store().get_company(CompanyId(id)).await?;
    state.reply(&principal, StatusCode::OK, &company).await
}

async fn delete_company(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    principal.require(Role::Supervisor)?;
    state.crm().delete_company(CompanyId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- leads ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeadIn {
    title: String,
    name: Option<String>,
    company_name: Option<String>,
    #[serde(default)]
    phones: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
    status: Option<LeadStatus>,
    source_id: Option<SourceId>,
    responsible_id: Option<UserId>,
}

async fn create_lead(
    State(state): State<AppState>,
    Agent(principal): Agent,
    JsonBody(input): JsonBody<LeadIn>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let lead = NewLead {
        title: input.title,
        name: input.name,
        company_name: input.company_name,
        phones: state.crm().phones("phones", &input.phones)?,
        emails: input.emails,
        status: input.status.unwrap_or(LeadStatus::New),
        source_id: input.source_id,
        responsible_id: input.responsible_id,
    };
    let created = state.crm().create_lead(lead, now()).await?;
    state.reply(&principal, StatusCode::CREATED, &created).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeadListQuery {
    status: Option<LeadStatus>,
    open: Option<bool>,
    source_id: Option<SourceId>,
    responsible_id: Option<UserId>,
    phone: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

async fn list_leads(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(q): QueryParams<LeadListQuery>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let phone = match q.phone.as_deref() {
        Some(raw) => state.crm().normalize("phone", raw)?.map(|p| p.e164),
        None => None,
    };
    let filter = LeadFilter {
        status: q.status,
        open_only: q.open.unwrap_or(false),
        source_id: q.source_id,
        responsible_id: q.responsible_id,
        phone,
    };
    let page = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .page();
    let items = state.store().list_leads(&filter, page).await?;
    state
        .reply(&principal, StatusCode::OK, &Listed::new(items, page))
        .await
}

async fn get_lead(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let lead = state.store().get_lead(LeadId(id)).await?;
    state.reply(&principal, StatusCode::OK, &lead).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeadPatchIn {
    title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    name: Option<Option<String>>,
    status: Option<LeadStatus>,
    #[serde(default, deserialize_with = "double_option")]
    responsible_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "double_option")]
    contact_id: Option<Option<ContactId>>,
}

async fn update_lead(
    State(state): State<AppState>,
    Agent(principal): Agent,
    IdPath(id): IdPath,
    JsonBody(input): JsonBody<LeadPatchIn>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let patch = LeadPatch {
        title: input.title,
        name: input.name,
        status: input.status,
        responsible_id: input.responsible_id,
        contact_id: input.contact_id,
    };
    let updated = state.crm().update_lead(LeadId(id), patch).await?;
    state.reply(&principal, StatusCode::OK, &updated).await
}

// ---- deals ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DealIn {
    title: String,
    stage: Option<DealStage>,
    contact_id: Option<ContactId>,
    company_id: Option<CompanyId>,
    responsible_id: Option<UserId>,
    /// Minor units (cents).
    #[serde(default)]
    amount: i64,
    currency: Option<String>,
}

async fn create_deal(
    State(state): State<AppState>,
    Agent(principal): Agent,
    JsonBody(input): JsonBody<DealIn>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let deal = NewDeal {
        title: input.title,
        stage: input.stage.unwrap_or(DealStage::Open),
        contact_id: input.contact_id,
        company_id: input.company_id,
        responsible_id: input.responsible_id,
        amount: Money {
            amount_minor: input.amount,
            currency: input.currency.unwrap_or_else(|| "EUR".into()),
        },
    };
    let created = state.crm().create_deal(deal, now()).await?;
    state.reply(&principal, StatusCode::CREATED, &created).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DealListQuery {
    stage: Option<DealStage>,
    contact_id: Option<ContactId>,
    company_id: Option<CompanyId>,
    responsible_id: Option<UserId>,
    limit: Option<u32>,
    offset: Option<u64>,
}

async fn list_deals(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(q): QueryParams<DealListQuery>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let filter = DealFilter {
        stage: q.stage,
        contact_id: q.contact_id,
        company_id: q.company_id,
        responsible_id: q.responsible_id,
    };
    let page = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .page();
    let items = state.store().list_deals(&filter, page).await?;
    state
        .reply(&principal, StatusCode::OK, &Listed::new(items, page))
        .await
}

async fn get_deal(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let deal = state.store().get_deal(DealId(id)).await?;
    state.reply(&principal, StatusCode::OK, &deal).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DealPatchIn {
    title: Option<String>,
    stage: Option<DealStage>,
    #[serde(default, deserialize_with = "double_option")]
    responsible_id: Option<Option<UserId>>,
    amount: Option<i64>,
    currency: Option<String>,
}

async fn update_deal(
    State(state): State<AppState>,
    Agent(principal): Agent,
    IdPath(id): IdPath,
    JsonBody(input): JsonBody<DealPatchIn>,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    let id = DealId(id);
    let amount = match (input.amount, input.currency) {
        (None, None) => None,
        (amount, currency) => {
            let current = state.store().get_deal(id).await?.amount;
            Some(Money {
                amount_minor: amount.unwrap_or(current.amount_minor),
                currency: currency.unwrap_or(current.currency),
            })
        }
    };
    let patch = DealPatch {
        title: input.title,
        stage: input.stage,
        responsible_id: input.responsible_id,
        amount,
    };
    let updated = state.crm().update_deal(id, patch, now()).await?;
    state.reply(&principal, StatusCode::OK, &updated).await
}

// ---- timelines and notes ----

async fn timeline(
    state: &AppState,
    principal: &Principal,
    subject: Subject,
    q: PageQuery,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    // 404 for a missing subject, rather than an empty timeline.
    match subject {
        Subject::Contact(id) => drop(state.store().get_contact(id).await?),
        Subject::Lead(id) => drop(state.store().get_lead(id).await?),
        Subject::Deal(id) => drop(state.store().get_deal(id).await?),
    }
    let page = q.page();
    let items = state.store().list_timeline(subject, page).await?;
    state
        .reply(principal, StatusCode::OK, &Listed::new(items, page))
        .await
}

async fn contact_timeline(
    State(s): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Response> {
    timeline(&s, &p, Subject::Contact(ContactId(id)), q).await
}

async fn lead_timeline(
    State(s): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Response> {
    timeline(&s, &p, Subject::Lead(LeadId(id)), q).await
}

async fn deal_timeline(
    State(s): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Response> {
    timeline(&s, &p, Subject::Deal(DealId(id)), q).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteIn {
    text: String,
}

async fn note(
    state: &AppState,
    principal: &Principal,
    subject: Subject,
    input: NoteIn,
) -> ApiResult<Response> {
    principal.require(Role::Agent)?;
    validation::require_text("text", &input.text, 10_000)?;
    match subject {
        Subject::Contact(id) => drop(state.store().get_contact(id).await?),
        Subject::Lead(id) => drop(state.store().get_lead(id).await?),
        Subject::Deal(id) => drop(state.store().get_deal(id).await?),
    }
    let entry = state
        .store()
        .add_timeline_entry(NewTimelineEntry {
            subject,
            kind: TimelineKind::Note,
            at: now(),
            call_id: None,
            author_id: principal.user_id(),
            text: Some(input.text),
        })
        .await?;
    state.reply(principal, StatusCode::CREATED, &entry).await
}

async fn contact_note(
    State(s): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    JsonBody(n): JsonBody<NoteIn>,
) -> ApiResult<Response> {
    note(&s, &p, Subject::Contact(ContactId(id)), n).await
}

async fn lead_note(
    State(s): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    JsonBody(n): JsonBody<NoteIn>,
) -> ApiResult<Response> {
    note(&s, &p, Subject::Lead(LeadId(id)), n).await
}

async fn deal_note(
    State(s): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    JsonBody(n): JsonBody<NoteIn>,
) -> ApiResult<Response> {
    note(&s, &p, Subject::Deal(DealId(id)), n).await
}
