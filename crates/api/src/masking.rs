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

/// Masks every string under a number key, at any depth, and every copy of those numbers inside
/// other strings of the same document: a lead's title "Missed call from +49170…" or a note
/// that quotes the caller's number must not give away what the number keys hide.
///
/// Every response a masked role gets passes through here, so the copies are found with one
/// Aho-Corasick automaton over all the document's numbers (leftmost-longest, so
/// "+4930123456" wins over a shorter "+4930123" inside it): one linear pass per string.
pub fn mask_numbers(value: &mut serde_json::Value, rule: &MaskRule) {
    let mut numbers = Vec::new();
    collect_numbers(value, &mut numbers);
    numbers.retain(|n| n.chars().filter(char::is_ascii_digit).count() >= 3);
    numbers.sort_unstable();
    numbers.dedup();
    let copies = if numbers.is_empty() {
        None
    } else {
        let masked: Vec<String> = numbers.iter().map(|n| rule.apply(n)).collect();
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&numbers)
            .ok()
            .map(|finder| (finder, masked))
    };
    mask_in_place(value, rule, copies.as_ref());
}

/// Numbers to find in text, and what each is replaced with (same index).
type Copies = (aho_corasick::AhoCorasick, Vec<String>);

fn collect_numbers(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match v {
                    serde_json::Value::String(s) if NUMBER_KEYS.contains(&key.as_str()) => {
                        if !s.is_empty() {
                            out.push(s.clone());
                        }
                    }
                    _ => collect_numbers(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_numbers(v, out)),
        _ => {}
    }
}

fn mask_in_place(value: &mut serde_json::Value, rule: &MaskRule, copies: Option<&Copies>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    serde_json::Value::String(s) if NUMBER_KEYS.contains(&key.as_str()) => {
                        *s = rule.apply(s);
                    }
                    serde_json::Value::String(s) => {
                        if let Some((finder, masked)) = copies {
                            if finder.is_match(s.as_str()) {
                                *s = finder.replace_all(s, masked);
                            }
                        }
                    }
                    _ => mask_in_place(v, rule, copies),
                }
            }
        }
        serde_json::Value::Array(items) => items
            .iter_mut()
            .for_each(|v| mask_in_place(v, rule, copies)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_under_number_keys_and_their_copies_in_text_are_masked() {
        let mut lead = json!({
            "id": 7,
            "title": "Missed call from +4917012345678",
            "phones": [{"e164": "+4917012345678", "raw": "0170 12345678"}],
            "notes": "called back on 0170 12345678, no answer",
            "created_at": "2026-11-21T09:00:00Z"
        });
        mask_numbers(&mut lead, &MaskRule::Full);
        let text = lead.to_string();
        assert!(!text.contains("12345678"), "{text}");
        assert_eq!(
            lead["created_at"], "2026-11-21T09:00:00Z",
            "other strings untouched"
        );
        assert_eq!(lead["id"], 7);

        let mut lead = json!({
            "title": "Missed call from +4917012345678",
            "phones": [{"e164": "+4917012345678"}]
        });
        let first = MaskRule::First { count: 6 };
        mask_numbers(&mut lead, &first);
        assert_eq!(lead["phones"][0]["e164"], first.apply("+4917012345678"));
        assert_eq!(
            lead["title"],
            format!("Missed call from {}", first.apply("+4917012345678"))
        );
    }
}
