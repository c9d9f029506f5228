//! Hiding numbers from roles that may not see them.

use serde::{Deserialize, Serialize};

/// How numbers are shown to a role. JSON: `{"mode": "none"}`, `{"mode": "full"}`,
/// `{"mode": "first", "count": 4}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum MaskRule {
    /// Shown as they are.
    None,
    /// Every character replaced by `*` (the length stays, so layouts do not jump).
    Full,
    /// The first `count` characters replaced by `*`: `+4930123456` → `******23456` with 6.
    First { count: u8 },
}

impl MaskRule {
    pub fn apply(&self, number: &str) -> String {
        match self {
            MaskRule::None => number.to_string(),
            MaskRule::Full => "*".repeat(number.chars().count()),
            MaskRule::First { count } => number
                .chars()
                .enumerate()
                .map(|(i, c)| if i < usize::from(*count) { '*' } else { c })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(MaskRule::None.apply("+4930123456"), "+4930123456");
        assert_eq!(MaskRule::Full.apply("+4930123456"), "***********");
        assert_eq!(
            MaskRule::First { count: 6 }.apply("+4930123456"),
            "******23456"
        );
        assert_eq!(MaskRule::First { count: 40 }.apply("+49"), "***");
        assert_eq!(MaskRule::First { count: 2 }.apply("ÄÖü1"), "**ü1");
    }

    #[test]
    fn json_form() {
        let rule: MaskRule = serde_json::from_str(r#"{"mode":"first","count":4}"#).unwrap();
        assert_eq!(rule, MaskRule::First { count: 4 });
        assert_eq!(
            serde_json::to_string(&MaskRule::Full).unwrap(),
            r#"{"mode":"full"}"#
        );
        assert!(serde_json::from_str::<MaskRule>(r#"{"mode":"half"}"#).is_err());
    }
}
