//! The trunks edited in the app, as stored: a JSON list of [`sip_net::TrunkConfig`] under
//! one setting key. The SIP service re-reads it every second, so a `PUT /api/v1/trunks`
//! takes effect without a restart. Passwords are stored in clear: answering a provider's
//! digest challenge needs them (the API never shows them).

use crate::error::{ApiError, ApiResult};
use sip_net::TrunkConfig;
use store::Store;

pub const SETTING_KEY: &str = "trunks";

/// The stored trunks (none when never saved).
pub async fn load(store: &dyn Store) -> ApiResult<Vec<TrunkConfig>> {
    match store.get_setting(SETTING_KEY).await? {
        Some(value) => serde_json::from_value(value)
            .map_err(|e| ApiError::internal(format!("the stored trunks do not parse: {e}"))),
        None => Ok(Vec::new()),
    }
}

/// Stores the list (validated by the caller).
pub async fn save(store: &dyn Store, trunks: &[TrunkConfig]) -> ApiResult<()> {
    let value = serde_json::to_value(trunks).map_err(ApiError::internal)?;
    store.put_setting(SETTING_KEY, &value).await?;
    Ok(())
}
