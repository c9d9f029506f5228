//! Validation errors name the field, so the API can answer `{"error": ..., "field": "phones[1]"}`.

use serde::Serialize;

/// One invalid field of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Path of the field in the input, e.g. `phones[1]` or `name`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Inputs check themselves before anything is written.
pub trait Validate {
    fn validate(&self) -> Result<(), FieldError>;
}

/// A required, trimmed, non-empty text of at most `max` characters.
pub fn require_text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    optional_text(field, value, max)
}

/// A text of at most `max` characters.
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// A plausible e-mail address: one `@`, something on both sides, no spaces.
///
/// Deliberately loose: the CRM stores what sales people type; it does not send mail.
pub fn email(field: &str, value: &str) -> Result<(), FieldError> {
    let valid = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    };
    if valid && value.len() <= 254 {
        Ok(())
    } else {
        Err(FieldError::new(field, "is not an e-mail address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        assert!(email("e", "anna@example.com").is_ok());
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.com",
            "a b@example.com",
            "a@b",
            "a@@b.com",
        ] {
            assert_eq!(email("e", bad).unwrap_err().field, "e", "{bad}");
        }
    }

    #[test]
    fn text_rules() {
        assert!(require_text("name", "  ", 10).is_err());
        assert!(require_text("name", "Anna", 3).is_err());
        assert!(require_text("name", "Anna", 4).is_ok());
        assert!(optional_text("note", "a\u{0}b", 10).is_err());
        assert!(optional_text("note", "line\nline", 10).is_ok());
    }
}
