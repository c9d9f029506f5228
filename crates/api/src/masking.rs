//! Number masking for chosen roles: every number the API returns to them is masked.
//!
//! Rules live in the `masking` setting as `{"agent": {"mode": "first", "count": 4}, ...}`.
//! Masking works on the response JSON rather than on each type: every number Ringbase returns
//! sits under a key named `e164`, `raw` or `number`, so one walk covers every endpoint,
//! including ones added later.

use crate::error::ApiResult;
use domain::Role;
use phone::MaskRule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::Store;
use tokio::sync::RwLock;

pub const SETTING_KEY: &str = "masking";

/// Role → rule. Roles not listed see numbers in full.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MaskingPolicy(pub BTreeMap<Role, MaskRule>);

#[derive(Default)]
pub(crate) struct MaskingCache {
    policy: RwLock<Option<MaskingPolicy>>,
}

impl MaskingCache {
    pub(crate) async fn policy(&self, store: &dyn Store) -> ApiResult<MaskingPolicy> {
        if let Some(p) = self.policy.read().await.as_ref() {
            return Ok(p.clone());
        }
        let policy = match store.get_setting(SETTING_KEY).await? {
            Some(value) => serde_json::from_value(value).unwrap_or_else(|e| {
                tracing::error!(error = %e, "the stored masking setting is unreadable; masking every role fully");
                MaskingPolicy(Role::ALL.iter().map(|r| (*r, MaskRule::Full)).collect())
            }),
            None => MaskingPolicy::default(),
        };
        *self.policy.write().await = Some(policy.clone());
        Ok(policy)
    }

    pub(crate) async fn rule_for(
        &self,
        store: &dyn Store,
        role: Role,
    ) -> ApiResult<Option<MaskRule>> {
        Ok(self
            .policy(store)
            .await?
            .0
            .get(&role)
            .cloned()
            .filter(|r| *r != MaskRule::None))
    }

    pub(crate) async fn set(&self, store: &dyn Store, policy: MaskingPolicy) -> ApiResult<()> {
        let value = serde_json::to_value(&policy).map_err(crate::ApiError::internal)?;
        store.put_setting(SETTING_KEY, &value).await?;
        *self.policy.write().await = Some(policy);
        Ok(())
    }
}

const NUMBER_KEYS: [&str; 3] = ["e164", "raw", "number"];

/// Masks every string under a number key, at any depth.
pub fn mask_numbers(value: &mut serde_json::Value, rule: &MaskRule) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    serde_json::Value::String(s) if NUMBER_KEYS.contains(&key.as_str()) => {
                        *s = rule.apply(s);
                    }
                    _ => mask_numbers(v, rule),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_numbers(v, rule)),
        _ => {}
    }
}
