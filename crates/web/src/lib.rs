//! The web app, compiled into the binary: `ringbase serve` needs no separate web server.
//!
//! Layout:
//! - `assets/`: the app itself, plain ES modules and one stylesheet, no build step. The files
//!   are embedded with `include_bytes!`, so the binary is the whole deployment.
//! - [`router`]: `/` answers the page; `/assets/{version}/{path}` answers one asset.
//!
//! Caching: the page is never cached (`no-cache`, revalidated by ETag), and names the assets
//! under a version that is a hash of all of them. An asset asked for under the current version
//! is cached for a year as immutable: a new build has a new version, so browsers fetch it anew
//! and a slow laptop loads the app from its cache on every later visit. Modules import each
//! other by relative path, so they all stay under the same version.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::OnceLock;

/// One embedded file.
struct Asset {
    /// Path under `assets/`, as the browser asks for it.
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $type:expr),* $(,)?) => {
        &[$(Asset {
            path: $path,
            content_type: $type,
            bytes: include_bytes!(concat!("../assets/", $path)),
        }),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Everything the app is made of, except the page itself.
static ASSETS: &[Asset] = assets!(
    "app.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "app.js" => JS,
    "api.js" => JS,
    "dom.js" => JS,
    "i18n.js" => JS,
    "dictionaries.js" => JS,
    "forms.js" => JS,
    "live.js" => JS,
    "callpop.js" => JS,
    "zip.js" => JS,
    "views/login.js" => JS,
    "views/home.js" => JS,
    "views/contacts.js" => JS,
    "views/calls.js" => JS,
    "views/board.js" => JS,
    "views/analytics.js" => JS,
    "views/admin.js" => JS,
    "views/settings.js" => JS,
);

/// The page, with `{{V}}` where the asset version goes.
const INDEX_TEMPLATE: &str = include_str!("../assets/index.html");

/// Browsers may run only our own scripts and styles, talk only to us, and never frame us.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A hash of every asset and the page: changes whenever any file of the app changes.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        // FNV-1a: a content fingerprint, not a security boundary.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let files = ASSETS
            .iter()
            .flat_map(|a| [a.path.as_bytes(), a.bytes])
            .chain([INDEX_TEMPLATE.as_bytes()]);
        for bytes in files {
            for &b in bytes {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
            // Separate files, so moving bytes from one file to the next changes the hash.
            hash ^= 0xff;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{:012x}", hash & 0xffff_ffff_ffff)
    })
}

fn index_html() -> &'static str {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(|| INDEX_TEMPLATE.replace("{{V}}", version()))
}

/// Routes for the app's page and assets; merged into the API router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{version}/{*path}", get(asset))
}

fn etag() -> HeaderValue {
    HeaderValue::from_str(&format!("\"{}\"", version())).expect("the version is hex")
}

fn not_modified(headers: &HeaderMap) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag()))
}

async fn index(headers: HeaderMap) -> Response {
    let common = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::ETAG, etag()),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
    ];
    if not_modified(&headers) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        index_html(),
    )
        .into_response()
}

async fn asset(
    Path((asked_version, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such asset",
        )
            .into_response();
    };
    // A page from an older build may still ask for its version: it gets today's file, but
    // uncached, so the stale name never pins stale content.
    let cache = if asked_version == version() {
        IMMUTABLE
    } else {
        "no-cache"
    };
    let common = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::ETAG, etag()),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if not_modified(&headers) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn fetch(uri: &str, if_none_match: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut request = Request::get(uri);
        if let Some(tag) = if_none_match {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        let response = router::<()>()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, body.to_vec())
    }

    fn header_of(headers: &HeaderMap, name: header::HeaderName) -> &str {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn the_page_names_versioned_assets_and_is_revalidated() {
        let (status, headers, body) = fetch("/", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            header_of(&headers, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(header_of(&headers, header::CACHE_CONTROL), "no-cache");
        assert!(header_of(&headers, header::CONTENT_SECURITY_POLICY).contains("script-src 'self'"));
        let page = String::from_utf8(body).unwrap();
        assert!(!page.contains("{{V}}"));
        assert!(page.contains(&format!("/assets/{}/app.js", version())));
        assert!(page.contains(&format!("/assets/{}/app.css", version())));

        let tag = header_of(&headers, header::ETAG).to_string();
        let (status, _, body) = fetch("/", Some(&tag)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn current_assets_are_immutable_with_their_types() {
        for (path, expected_type) in [
            ("app.js", "text/javascript; charset=utf-8"),
            ("views/calls.js", "text/javascript; charset=utf-8"),
            ("app.css", "text/css; charset=utf-8"),
            ("favicon.svg", "image/svg+xml"),
        ] {
            let (status, headers, body) =
                fetch(&format!("/assets/{}/{path}", version()), None).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(header_of(&headers, header::CONTENT_TYPE), expected_type);
            assert_eq!(header_of(&headers, header::CACHE_CONTROL), IMMUTABLE);
            assert_eq!(
                header_of(&headers, header::X_CONTENT_TYPE_OPTIONS),
                "nosniff"
            );
            assert!(!body.is_empty());
        }
    }

    #[tokio::test]
    async fn an_old_version_gets_the_file_uncached_and_unknown_files_404() {
        let (status, headers, _) = fetch("/assets/0123456789ab/app.js", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header_of(&headers, header::CACHE_CONTROL), "no-cache");
        let (status, _, _) = fetch(&format!("/assets/{}/secret.rs", version()), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = fetch(&format!("/assets/{}/../src/lib.rs", version()), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    /// Every module another module imports is served: a missing entry in `ASSETS` would
    /// break the app only in the browser otherwise.
    #[test]
    fn every_imported_module_is_embedded() {
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(asset.bytes).unwrap();
            let dir = asset.path.rsplit_once('/').map_or("", |(d, _)| d);
            // Static (`from './x.js'`) and dynamic (`import('./x.js')`) imports alike.
            let specs = ["from '", "import('"].into_iter().flat_map(|marker| {
                text.match_indices(marker).filter_map(move |(at, _)| {
                    let rest = &text[at + marker.len()..];
                    rest.split('\'').next().filter(|s| s.starts_with('.'))
                })
            });
            for spec in specs {
                let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
                for seg in spec.split('/') {
                    match seg {
                        "." => {}
                        ".." => {
                            parts.pop();
                        }
                        s => parts.push(s),
                    }
                }
                let resolved = parts.join("/");
                assert!(
                    ASSETS.iter().any(|a| a.path == resolved),
                    "{} imports {spec} ({resolved}), which is not embedded",
                    asset.path
                );
            }
        }
    }

    #[test]
    fn the_version_is_a_short_hex_fingerprint() {
        let v = version();
        assert_eq!(v.len(), 12);
        assert!(v.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
