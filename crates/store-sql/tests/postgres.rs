//! The conformance suite on the real PostgreSQL server, a fresh schema per case.
//!
//! The server is required: when it cannot be reached these tests fail, they do not skip, so CI
//! really runs them. URL from `RINGBASE_TEST_DATABASE_URL`, else the local test database.

use sqlx::Connection;
use std::sync::Arc;
use store::conformance::Harness;
use store::Store;
use store_sql::SqlStore;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn url() -> String {
    std::env::var("RINGBASE_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

fn fresh_schema() -> String {
    format!("rb_test_{:016x}", rand::random::<u64>())
}

async fn drop_schema(url: &str, schema: &str) {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to drop the test schema");
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .expect("drop the test schema");
}

async fn fresh_postgres() -> Harness {
    let url = url();
    let schema = fresh_schema();
    let store = SqlStore::open_postgres_schema(&url, &schema)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is required for these tests; set RINGBASE_TEST_DATABASE_URL \
                 (tried {url}): {e}"
            )
        });
    Harness::new(Arc::new(store)).with_cleanup(async move { drop_schema(&url, &schema).await })
}

store::conformance_tests!(fresh_postgres());

#[tokio::test]
async fn schemas_keep_stores_apart() {
    let url = url();
    let (a, b) = (fresh_schema(), fresh_schema());
    let store_a = SqlStore::open_postgres_schema(&url, &a)
        .await
        .expect("open a");
    let store_b = SqlStore::open_postgres_schema(&url, &b)
        .await
        .expect("open b");
    assert_eq!(store_a.backend(), "postgres");
    store_a.create_source("Ads").await.expect("write a");
    assert_eq!(store_a.list_sources().await.expect("read a").len(), 1);
    assert!(store_b.list_sources().await.expect("read b").is_empty());
    store_a.close().await;
    store_b.close().await;
    drop_schema(&url, &a).await;
    drop_schema(&url, &b).await;
}

#[tokio::test]
async fn bad_schema_names_are_refused() {
    for bad in ["", "Public", "a;drop table x", "1abc", &"x".repeat(64)] {
        assert!(
            SqlStore::open_postgres_schema(&url(), bad).await.is_err(),
            "{bad:?}"
        );
    }
}
