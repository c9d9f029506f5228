//! A Ringbase API on a fresh SQLite store in a temp dir, called in-process.

#![allow(dead_code, unreachable_pub)]

use api::AppState;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub crm: Arc<crm::Crm>,
    pub dir: PathBuf,
    pub admin: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub json: Value,
}

impl TestApp {
    pub async fn new() -> TestApp {
        let dir = std::env::temp_dir().join(format!(
            "ringbase-api-test-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store: Arc<dyn store::Store> = Arc::new(
            store_sql::SqlStore::open_sqlite_file(&dir.join("ringbase.db"))
                .await
                .unwrap(),
        );
        let crm = Arc::new(crm::Crm::new(
            store.clone(),
            "DE".parse().unwrap(),
            events::EventBus::default(),
        ));
        let state = AppState::new(crm.clone(), dir.clone());
        let admin = api::auth::create_api_key(store.as_ref(), "test", domain::Role::Admin)
            .await
            .unwrap();
        TestApp {
            router: api::router(state.clone()),
            state,
            crm,
            dir,
            admin,
        }
    }

    pub fn store(&self) -> &dyn store::Store {
        self.crm.store().as_ref()
    }

    pub async fn raw(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            json,
        }
    }

    /// A JSON request with `Authorization: Bearer token` (none when `token` is empty).
    pub async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if !token.is_empty() {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(v) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        self.raw(builder.body(body).unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call("POST", path, token, Some(body)).await
    }

    /// Creates an employee and returns (user id, session token).
    pub async fn user(&self, login: &str, role: &str, extension: Option<&str>) -> (i64, String) {
        let created = self
            .post(
                "/api/v1/users",
                &self.admin,
                serde_json::json!({"name": login, "login": login, "role": role, "extension": extension, "password": "long-enough-pw"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);
        let login_reply = self
            .post(
                "/api/v1/auth/login",
                "",
                serde_json::json!({"login": login, "password": "long-enough-pw"}),
            )
            .await;
        assert_eq!(login_reply.status, StatusCode::OK, "{:?}", login_reply.json);
        (
            created.json["id"].as_i64().unwrap(),
            login_reply.json["token"].as_str().unwrap().to_string(),
        )
    }

    /// Registers a bridge device for the user and returns its token.
    pub async fn device(&self, user_id: i64) -> String {
        let r = self
            .post(
                "/api/v1/devices",
                &self.admin,
                serde_json::json!({"name": "Pixel", "user_id": user_id}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
        r.json["token"].as_str().unwrap().to_string()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
