//! Typed errors at the crate boundary.

use std::fmt;

/// A problem with the routing settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML does not parse or does not fit the format (unknown key, wrong type).
    #[error("line {line}, column {column}: {}{message}", key.as_deref().map(|key| format!("{key}: ")).unwrap_or_default())]
    Parse {
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Best-effort key path of the offending value, e.g. `queues.no_answer.action`.
        key: Option<String>,
        message: String,
    },
    /// The TOML parses but refers to things that do not exist or breaks a rule.
    #[error("{}", join_errors(.0))]
    Invalid(Vec<ValidationError>),
    /// The settings could not be written as TOML.
    #[error("cannot export the settings: {0}")]
    Export(String),
}

/// One validation problem and the key path it is about, e.g.
/// `ivr_menus["main"].options."1".queue: unknown queue "salez"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

fn join_errors(errors: &[ValidationError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ConfigError {
    /// Turns toml's error (a byte span and a message) into "line N, column M: message".
    pub(crate) fn from_toml(source: &str, error: &toml::de::Error) -> Self {
        let offset = error.span().map(|span| span.start).unwrap_or(0);
        let (line, column) = line_and_column(source, offset);
        ConfigError::Parse {
            line,
            column,
            key: key_path_at(source, line, column),
            message: error.message().trim().replace('`', "\""),
        }
    }
}

/// The key path of the value at (line, column): the nearest table header above, then the
/// first and the last `key =` on the line before the column (an inline table's outer and
/// inner key). Best effort: it reads the text, not the parse tree.
pub(crate) fn key_path_at(source: &str, line: usize, column: usize) -> Option<String> {
    let lines: Vec<&str> = source.lines().collect();
    let text = lines.get(line.checked_sub(1)?)?;
    let header = lines[..line]
        .iter()
        .rev()
        .map(|candidate| candidate.trim())
        .find(|candidate| candidate.starts_with('['))
        .map(|candidate| {
            candidate
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned()
        });
    let before: String = text.chars().take(column.saturating_sub(1)).collect();
    let mut keys: Vec<String> = Vec::new();
    let mut rest = before.as_str();
    while let Some(at) = rest.find('=') {
        let key: String = rest[..at]
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '"' | '.'))
            .collect::<Vec<char>>()
            .into_iter()
            .rev()
            .collect();
        let key = key.trim_matches('"').to_owned();
        if !key.is_empty() {
            keys.push(key);
        }
        rest = &rest[at + 1..];
    }
    let mut path: Vec<String> = header.into_iter().collect();
    match keys.len() {
        0 => {}
        1 => path.push(keys.remove(0)),
        _ => {
            let last = keys.pop().unwrap_or_default();
            path.push(keys.remove(0));
            path.push(last);
        }
    }
    (!path.is_empty()).then(|| path.join("."))
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_and_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |tail| tail.chars().count())
        + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// A scenario for the simulator could not be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimulateError {
    /// The routing settings are wrong.
    #[error("settings: {0}")]
    Config(#[from] ConfigError),
    /// The scenario file does not parse.
    #[error("scenario: line {line}, column {column}: {message}")]
    Scenario {
        line: usize,
        column: usize,
        message: String,
    },
    /// The scenario parses but a value is wrong (unknown time zone, bad start time, unknown agent).
    #[error("scenario: {0}")]
    InvalidScenario(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        assert_eq!(line_and_column(text, 10), (2, 4));
        assert_eq!(line_and_column(text, 999), (3, 1));
    }

    #[test]
    fn key_path_reads_header_and_keys() {
        let text = "[[queues]]\nname = \"q\"\nno_answer = { action = \"x\" }\n";
        assert_eq!(key_path_at(text, 2, 8).as_deref(), Some("queues.name"));
        assert_eq!(
            key_path_at(text, 3, 24).as_deref(),
            Some("queues.no_answer.action")
        );
        assert_eq!(key_path_at(text, 1, 1).as_deref(), Some("queues"));
        assert_eq!(key_path_at("x = 1", 1, 5).as_deref(), Some("x"));
        assert_eq!(key_path_at("", 4, 1), None);
    }
}
