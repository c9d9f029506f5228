//! Dynamic queries (list filters, multi-row inserts), with each dialect's placeholders.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

use crate::Dialect;

/// One bound value: the only kinds that cross the `Any` driver here.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
}

/// SQL text plus its arguments; [`Sql::arg`] returns the placeholder to splice in.
///
/// Placeholders must appear in the text in the order their arguments were added, each once:
/// SQLite's are anonymous (see [`Dialect::placeholders`]).
#[derive(Debug)]
pub(crate) struct Sql {
    dialect: Dialect,
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(dialect: Dialect, text: &str) -> Self {
        Sql {
            dialect,
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub(crate) fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        self.dialect.placeholders(self.args.len(), 1)
    }

    pub(crate) fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Appends `AND <column> = <arg>` when the filter value is set.
    pub(crate) fn and_eq(&mut self, column: &str, value: Option<Arg>) {
        if let Some(v) = value {
            let p = self.arg(v);
            self.text.push_str(&format!(" AND {column} = {p}"));
        }
    }

    /// Appends `AND <column> LIKE '%text%'`, case-insensitively: `column` holds lowercased text.
    pub(crate) fn and_contains(&mut self, lowercase_column: &str, text: Option<&str>) {
        if let Some(text) = text {
            let p = self.arg(Arg::Text(contains_pattern(text)));
            self.text
                .push_str(&format!(" AND {lowercase_column} LIKE {p} ESCAPE '\\'"));
        }
    }

    /// Appends `LIMIT .. OFFSET ..`.
    pub(crate) fn page(&mut self, page: store::Page) {
        let limit = self.arg(Arg::Int(i64::from(page.limit)));
        let offset = self.arg(Arg::Int(i64::try_from(page.offset).unwrap_or(i64::MAX)));
        self.text
            .push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
    }

    /// Appends one `(..)` row of values, for multi-row inserts.
    pub(crate) fn values_row(&mut self, values: impl IntoIterator<Item = Arg>) {
        if self.text.ends_with(')') {
            self.text.push(',');
        }
        self.text.push_str(" (");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            let p = self.arg(v);
            self.text.push_str(&p);
        }
        self.text.push(')');
    }

    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Int(i) => q.bind(*i),
                Arg::OptInt(i) => q.bind(*i),
                Arg::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }
}

/// `%text%` for LIKE on lowercased text, with LIKE's own wildcards escaped (`ESCAPE '\'`), so a
/// search for `50%` finds "50% off" and not everything starting with 50.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("50%_A\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn placeholders_are_numbered_in_order_for_postgres_and_anonymous_for_sqlite() {
        let filter = |dialect| {
            let mut sql = Sql::new(dialect, "SELECT 1 FROM t WHERE 1 = 1");
            sql.and_eq("a", Some(Arg::Int(1)));
            sql.and_eq("b", None);
            sql.and_contains("c", Some("x"));
            sql.page(store::Page::new(10, 20));
            sql.text
        };
        assert_eq!(
            filter(Dialect::Postgres),
            "SELECT 1 FROM t WHERE 1 = 1 AND a = $1 AND c LIKE $2 ESCAPE '\\' LIMIT $3 OFFSET $4"
        );
        assert_eq!(
            filter(Dialect::Sqlite),
            "SELECT 1 FROM t WHERE 1 = 1 AND a = ? AND c LIKE ? ESCAPE '\\' LIMIT ? OFFSET ?"
        );
        let insert = |dialect| {
            let mut insert = Sql::new(dialect, "INSERT INTO t (a, b) VALUES");
            insert.values_row([Arg::Int(1), Arg::OptInt(None)]);
            insert.values_row([Arg::Int(2), Arg::Text("x".into())]);
            insert.text
        };
        assert_eq!(
            insert(Dialect::Postgres),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            insert(Dialect::Sqlite),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
    }
}
