//! One module per resource; `routes()` assembles them.

mod admin;
mod analytics;
mod bridge;
mod calls;
mod crm;
mod live;
pub(crate) mod prompts;
mod session;
mod sip;
mod tasks;
mod trunks;

use crate::AppState;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Deserializer, Serialize};
use store::Page;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/api/openapi.json", get(crate::openapi::document))
        .merge(session::routes())
        .merge(crm::routes())
        .merge(calls::routes())
        .merge(bridge::routes())
        .merge(admin::routes())
        .merge(live::routes())
        .merge(analytics::routes())
        .merge(sip::routes())
        .merge(tasks::routes())
        .merge(trunks::routes())
        .merge(prompts::routes())
        .merge(web::router())
}

async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let store = state.store();
    match store.ping().await {
        Ok(()) => axum::Json(serde_json::json!({
            "status": "ok",
            "store": store.backend(),
            "version": env!("CARGO_PKG_VERSION"),
        }))
        .into_response(),
        Err(e) => crate::ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            e.to_string(),
        )
        .into_response(),
    }
}

/// `?limit=&offset=` on every list.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct PageQuery {
    pub(crate) limit: Option<u32>,
    pub(crate) offset: Option<u64>,
}

impl PageQuery {
    pub(crate) fn page(&self) -> Page {
        Page::new(self.limit.unwrap_or(50), self.offset.unwrap_or(0))
    }
}

/// A page of a list; `next_offset` is set while there may be more.
#[derive(Debug, Serialize)]
pub(crate) struct Listed<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_offset: Option<u64>,
}

impl<T> Listed<T> {
    pub(crate) fn new(items: Vec<T>, page: Page) -> Self {
        let next_offset =
            (items.len() as u32 == page.limit).then(|| page.offset + items.len() as u64);
        Listed { items, next_offset }
    }
}

/// For PATCH bodies: absent → `None` (leave as is), `null` → `Some(None)` (clear).
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

pub(crate) fn now() -> domain::Timestamp {
    chrono::Utc::now()
}
