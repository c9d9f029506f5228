//! The routing settings (lines, queues, IVR, working hours, outbound rules) as stored.
//!
//! Kept in the store as the canonical TOML text the routing crate exports, under one setting
//! key: the same text `ringbase config export` prints and `ringbase config apply` reads, so a
//! file in version control and the settings edited in the app are one format.

use crate::error::{ApiError, ApiResult};
use routing::{ConfigError, RoutingConfig};
use store::Store;

pub const SETTING_KEY: &str = "routing";

/// The stored settings, or the empty default when none were applied yet.
pub async fn load(store: &dyn Store) -> ApiResult<RoutingConfig> {
    match store.get_setting(SETTING_KEY).await? {
        Some(serde_json::Value::String(toml)) => RoutingConfig::from_toml(&toml).map_err(|e| {
            ApiError::internal(format!("the stored routing settings do not parse: {e}"))
        }),
        Some(_) => Err(ApiError::internal(
            "the stored routing settings are not TOML text",
        )),
        None => Ok(RoutingConfig::default()),
    }
}

/// Validates and stores the settings; returns the canonical TOML.
pub async fn save(store: &dyn Store, config: &RoutingConfig) -> ApiResult<String> {
    config.validate().map_err(config_error)?;
    let toml = config.to_toml().map_err(config_error)?;
    store
        .put_setting(SETTING_KEY, &serde_json::Value::String(toml.clone()))
        .await?;
    Ok(toml)
}

/// A 422 naming the first key at fault; every problem is in the message.
pub fn config_error(e: ConfigError) -> ApiError {
    let field = match &e {
        ConfigError::Parse { key, .. } => key.clone(),
        ConfigError::Invalid(errors) => errors.first().map(|v| v.path.clone()),
        _ => None,
    };
    let mut error = ApiError::invalid("settings", e.to_string());
    error.field = field.or(Some("settings".into()));
    error
}
