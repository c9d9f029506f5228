//! Ringbase's HTTP API.
//!
//! `router(state)` is the whole API as a value: the server binds it to a socket, tests call it
//! in-process. Layout:
//! - [`error`]: every failure as JSON naming the field; [`json`]: extractors that make it so.
//! - [`auth`]: API keys, sessions, bridge devices, roles.
//! - [`masking`]: number masking per role, applied to every response body.
//! - `routes/*`: one module per resource; [`openapi`]: the document at `/api/openapi.json`.

pub mod auth;
pub mod error;
pub mod json;
pub mod masking;
pub mod openapi;
mod routes;
pub mod routing_settings;
pub mod trunk_settings;

use auth::Principal;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use crm::Crm;
use error::ApiResult;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use store::Store;

pub use error::ApiError;
pub use routes::prompts::{store_prompt, PromptInfo};

/// Largest JSON body accepted; calls and contacts are small, imports use the CLI.
pub const MAX_JSON_BODY: usize = 1024 * 1024;
/// Largest recording a bridge app may upload.
pub const MAX_RECORDING_BODY: usize = 200 * 1024 * 1024;

/// The SIP realm when none is configured.
pub const DEFAULT_SIP_REALM: &str = "ringbase";

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    crm: Arc<Crm>,
    data_dir: PathBuf,
    masking: masking::MaskingCache,
    /// The SIP registrar's bindings and realm, shared with the SIP service (see `set_sip`).
    sip: std::sync::OnceLock<sip_net::Registry>,
    /// The trunks' live status and the command line's trunks, shared with the SIP service.
    trunks: std::sync::OnceLock<sip_net::Trunks>,
}

impl AppState {
    pub fn new(crm: Arc<Crm>, data_dir: PathBuf) -> Self {
        AppState {
            inner: Arc::new(Inner {
                crm,
                data_dir,
                masking: masking::MaskingCache::default(),
                sip: std::sync::OnceLock::new(),
                trunks: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Shares the SIP registrar's registry with the API (registrations, realm for SIP
    /// passwords). Without it the API uses an empty registry with the realm "ringbase".
    /// Only the first call counts; call it before serving.
    pub fn set_sip(&self, registry: sip_net::Registry) {
        let _ = self.inner.sip.set(registry);
    }

    /// Shares the trunks' status (and the command line's trunks) with the API. Only the
    /// first call counts; without it the API knows no command-line trunks and no status.
    pub fn set_trunks(&self, trunks: sip_net::Trunks) {
        let _ = self.inner.trunks.set(trunks);
    }

    pub(crate) fn trunks(&self) -> &sip_net::Trunks {
        self.inner.trunks.get_or_init(sip_net::Trunks::default)
    }

    pub(crate) fn sip(&self) -> &sip_net::Registry {
        self.inner.sip.get_or_init(|| {
            sip_net::Registry::new(DEFAULT_SIP_REALM, sip_net::RegistrarConfig::default())
        })
    }

    pub fn crm(&self) -> &Crm {
        &self.inner.crm
    }

    pub fn store(&self) -> &dyn Store {
        self.inner.crm.store().as_ref()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.inner.data_dir
    }

    pub(crate) fn masking(&self) -> &masking::MaskingCache {
        &self.inner.masking
    }

    /// A JSON response for `principal`, with numbers masked as his role requires.
    pub(crate) async fn reply<T: Serialize>(
        &self,
        principal: &Principal,
        status: StatusCode,
        body: &T,
    ) -> ApiResult<Response> {
        let mut value = serde_json::to_value(body).map_err(ApiError::internal)?;
        if let Some(rule) = self
            .masking()
            .rule_for(self.store(), principal.role)
            .await?
        {
            masking::mask_numbers(&mut value, &rule);
        }
        Ok((status, axum::Json(value)).into_response())
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    routes::routes()
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .fallback(|| async { ApiError::not_found("route") })
        .with_state(state)
}
