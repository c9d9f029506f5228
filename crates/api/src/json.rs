//! Reading requests so that every mistake names its field.
//!
//! axum's own `Json` and `Query` rejections say *what* is wrong but not *where*; these
//! extractors run serde through `serde_path_to_error`, so `{"phones": ["+49", 5]}` answers
//! `field: "phones[1]"`, and unknown or missing fields name themselves.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// A JSON request body, deserialized with field paths in errors.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v.split(';').next().unwrap_or("").trim();
                essence.eq_ignore_ascii_case("application/json")
                    || essence.to_ascii_lowercase().ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| body_rejection(rejection.status(), rejection.body_text()))?;
        parse_json(&bytes).map(JsonBody)
    }
}

pub(crate) fn body_rejection(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, "payload_too_large", "the request body is too large")
    } else {
        ApiError::bad_request(None, text)
    }
}

/// Deserializes JSON, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ApiError::bad_request(None, format!("malformed JSON: {inner}"))
            }
            _ => ApiError::bad_request(
                Some(field_path(&path, &inner.to_string())),
                inner.to_string(),
            ),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(None, format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// The path of the field an error is about: serde's path, plus the name an "unknown field" or
/// "missing field" message carries (serde reports those at the parent's path).
fn field_path(path: &str, message: &str) -> String {
    let named = ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| {
            let rest = message.split_once(prefix)?.1;
            Some(rest.split_once('`')?.0.to_string())
        });
    let path = if path == "." { "" } else { path };
    match named {
        // serde_path_to_error already ends the path with an unknown field's name.
        Some(name) if path == name || path.ends_with(&format!(".{name}")) => path.to_string(),
        Some(name) if path.is_empty() => name,
        Some(name) => format!("{path}.{name}"),
        None if path.is_empty() => "body".to_string(),
        None => path.to_string(),
    }
}

/// Query parameters, deserialized with field names in errors.
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(QueryParams)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                let field = field_path(&path, &message);
                let field = if field == "body" {
                    "query".to_string()
                } else {
                    field
                };
                ApiError::bad_request(
                    Some(field.clone()),
                    format!("query parameter {field}: {message}"),
                )
            })
    }
}

/// A numeric id in the path; anything else answers 400 naming `id`.
pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::bad_request(Some("id".into()), e.body_text()))?;
        raw.parse::<i64>().map(IdPath).map_err(|_| {
            ApiError::bad_request(
                Some("id".into()),
                format!("id must be a whole number, not {raw:?}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Contact {
        name: String,
        #[serde(default)]
        phones: Vec<String>,
        company: Option<Company>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Company {
        name: String,
    }

    fn field_of(body: &str) -> Option<String> {
        parse_json::<Contact>(body.as_bytes()).unwrap_err().field
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"name": 5}"#).as_deref(), Some("name"));
        assert_eq!(
            field_of(r#"{"name": "A", "phones": ["1", 2]}"#).as_deref(),
            Some("phones[1]")
        );
        assert_eq!(
            field_of(r#"{"name": "A", "fax": "1"}"#).as_deref(),
            Some("fax")
        );
        assert_eq!(field_of(r#"{"phones": []}"#).as_deref(), Some("name"));
        assert_eq!(
            field_of(r#"{"name": "A", "company": {"nme": "x"}}"#).as_deref(),
            Some("company.nme")
        );
    }

    #[test]
    fn malformed_json_is_a_bad_request_without_field() {
        let e = parse_json::<Contact>(b"{\"name\": ").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.field, None);
        let e = parse_json::<Contact>(br#"{"name": "A"} trailing"#).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}
