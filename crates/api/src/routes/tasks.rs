//! Tasks and call backs on contacts, leads and deals (the after-call form's "create a task" and
//! "schedule the next call"). Agents see and change only tasks assigned to them or written by
//! them; supervisors and admins see all. Someone else's task answers 404 to an agent, as a
//! missing one does, so ids tell nothing.

use super::{double_option, now, Listed};
use crate::auth::{Agent, Principal};
use crate::error::{ApiError, ApiResult};
use crate::json::{IdPath, JsonBody, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, patch};
use axum::Router;
use domain::*;
use serde::Deserialize;
use store::{Page, TaskFilter};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tasks", get(list_tasks).post(create_task))
        .route("/api/v1/tasks/{id}", patch(update_task).get(get_task))
}

/// The employee behind the caller; an API key has none.
fn employee(principal: &Principal) -> Option<UserId> {
    principal.user_id()
}

/// Whether `principal` may see and change `task`.
fn may_see(principal: &Principal, task: &Task) -> bool {
    principal.sees_all_calls()
        || employee(principal)
            .is_some_and(|me| task.assignee_id == me || task.created_by == Some(me))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskIn {
    title: String,
    #[serde(default = "default_kind")]
    kind: TaskKind,
    /// `{"kind": "contact" | "lead" | "deal", "id": 1}`.
    subject: Subject,
    due_at: Option<Timestamp>,
    /// Defaults to the caller (an API key must name one).
    assignee_id: Option<UserId>,
    call_id: Option<CallId>,
}

fn default_kind() -> TaskKind {
    TaskKind::Task
}

async fn create_task(
    State(state): State<AppState>,
    Agent(principal): Agent,
    JsonBody(input): JsonBody<TaskIn>,
) -> ApiResult<Response> {
    let assignee_id = input
        .assignee_id
        .or_else(|| employee(&principal))
        .ok_or_else(|| {
            ApiError::invalid("assignee_id", "an API key must say whom the task is for")
        })?;
    let task = NewTask {
        title: input.title.trim().to_string(),
        kind: input.kind,
        subject: input.subject,
        due_at: input.due_at,
        assignee_id,
        created_by: employee(&principal),
        call_id: input.call_id,
        created_at: now(),
    };
    task.validate()?;
    let created = state.store().create_task(task).await?;
    state.reply(&principal, StatusCode::CREATED, &created).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskListQuery {
    assignee_id: Option<UserId>,
    /// `false`: open only; `true`: done only.
    done: Option<bool>,
    due_before: Option<Timestamp>,
    contact_id: Option<ContactId>,
    lead_id: Option<LeadId>,
    deal_id: Option<DealId>,
    limit: Option<u32>,
    offset: Option<u64>,
}

async fn list_tasks(
    State(state): State<AppState>,
    Agent(principal): Agent,
    QueryParams(q): QueryParams<TaskListQuery>,
) -> ApiResult<Response> {
    let subjects: Vec<Subject> = [
        q.contact_id.map(Subject::Contact),
        q.lead_id.map(Subject::Lead),
        q.deal_id.map(Subject::Deal),
    ]
    .into_iter()
    .flatten()
    .collect();
    if subjects.len() > 1 {
        return Err(ApiError::invalid(
            "contact_id",
            "give at most one of contact_id, lead_id, deal_id",
        ));
    }
    let visible_to = if principal.sees_all_calls() {
        None
    } else {
        Some(
            employee(&principal)
                .ok_or_else(|| ApiError::forbidden("no employee behind this key"))?,
        )
    };
    let filter = TaskFilter {
        assignee_id: q.assignee_id,
        visible_to,
        done: q.done,
        due_before: q.due_before,
        subject: subjects.first().copied(),
    };
    let page = Page::new(q.limit.unwrap_or(50), q.offset.unwrap_or(0));
    let items = state.store().list_tasks(&filter, page).await?;
    state
        .reply(&principal, StatusCode::OK, &Listed::new(items, page))
        .await
}

async fn visible_task(state: &AppState, principal: &Principal, id: TaskId) -> ApiResult<Task> {
    let task = state.store().get_task(id).await?;
    if !may_see(principal, &task) {
        return Err(ApiError::not_found("task"));
    }
    Ok(task)
}

async fn get_task(
    State(state): State<AppState>,
    Agent(principal): Agent,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    let task = visible_task(&state, &principal, TaskId(id)).await?;
    state.reply(&principal, StatusCode::OK, &task).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskPatchIn {
    title: Option<String>,
    /// `null` clears the due time (not for a call back).
    #[serde(default, deserialize_with = "double_option")]
    due_at: Option<Option<Timestamp>>,
    assignee_id: Option<UserId>,
    done: Option<bool>,
}

async fn update_task(
    State(state): State<AppState>,
    Agent(principal): Agent,
    IdPath(id): IdPath,
    JsonBody(input): JsonBody<TaskPatchIn>,
) -> ApiResult<Response> {
    let task = visible_task(&state, &principal, TaskId(id)).await?;
    let patch = TaskPatch {
        title: input.title,
        due_at: input.due_at,
        assignee_id: input.assignee_id,
        done: input.done,
    };
    patch.validate()?;
    // Checked here too, so a broken rule answers 422 naming the field rather than 409.
    patch.apply(&task, now())?;
    let updated = state.store().update_task(task.id, patch, now()).await?;
    state.reply(&principal, StatusCode::OK, &updated).await
}
