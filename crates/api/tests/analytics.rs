//! `GET /api/v1/analytics` end to end: calls reported over the API, figures per manager, queue
//! and source, the period filter, field errors and roles.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::{json, Value};

fn row<'a>(rows: &'a Value, key: &str, value: Value) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no row with {key} = {value} in {rows}"))
}

#[tokio::test]
async fn figures_per_manager_queue_and_source_for_a_period() {
    let app = TestApp::new().await;
    let (anna, anna_token) = app.user("anna", "agent", Some("101")).await;
    let (_, sue) = app.user("sue", "supervisor", Some("110")).await;
    let source = app
        .post("/api/v1/sources", &app.admin, json!({"name": "Google Ads"}))
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    let r = app
        .post(
            "/api/v1/lines",
            &app.admin,
            json!({"number": "+49 89 998877", "name": "Google", "source_id": source}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);

    // Three calls on the 20th (two in the sales queue), one on the 22nd.
    for (key, remote, status, started, answered, ended) in [
        (
            "a1",
            "+4930111001",
            "answered",
            "2026-11-20T10:00:00Z",
            Some("2026-11-20T10:00:08Z"),
            "2026-11-20T10:01:08Z",
        ),
        (
            "a2",
            "+4930111002",
            "answered",
            "2026-11-20T11:00:00Z",
            Some("2026-11-20T11:00:45Z"),
            "2026-11-20T11:01:15Z",
        ),
        (
            "a3",
            "+4930111003",
            "missed",
            "2026-11-20T12:00:00Z",
            None,
            "2026-11-20T12:00:30Z",
        ),
        (
            "a4",
            "+4930111004",
            "answered",
            "2026-11-22T09:00:00Z",
            Some("2026-11-22T09:00:05Z"),
            "2026-11-22T09:00:35Z",
        ),
    ] {
        let queue = if key == "a4" {
            Value::Null
        } else {
            json!("sales")
        };
        let r = app
            .post(
                "/api/v1/calls",
                &app.admin,
                json!({"direction": "incoming", "remote": remote, "line": "+4989998877", "agent_id": anna,
                       "queue": queue, "started_at": started, "answered_at": answered, "ended_at": ended,
                       "status": status, "idempotency_key": key}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    }

    let r = app
        .get(
            "/api/v1/analytics?from=2026-11-20T00:00:00Z&until=2026-11-21T00:00:00Z&service_level_s=20",
            &sue,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let report = r.json;
    assert_eq!(report["calls"], 3);
    assert_eq!(report["truncated"], false);

    let m = row(&report["managers"], "agent_id", json!(anna));
    assert_eq!(m["incoming"], 3);
    assert_eq!(m["answered"], 2);
    assert_eq!(m["missed"], 1);
    assert_eq!(m["talk_total_s"], 60 + 30);
    assert_eq!(m["talk_avg_s"], 45.0);

    let q = row(&report["queues"], "queue", json!("sales"));
    assert_eq!(q["calls"], 3);
    assert_eq!(q["answered_in_time"], 1, "8 s is within 20 s, 45 s is not");
    assert_eq!(q["abandoned"], 1);
    assert_eq!(q["service_level"], 0.33);
    assert_eq!(q["wait_avg_s"], 27.67, "(8 + 45 + 30) / 3");

    let s = row(&report["sources"], "source_id", json!(source));
    assert_eq!(s["calls"], 3);
    assert_eq!(s["leads"], 3, "each unknown caller became a lead");

    // The whole log without a period.
    let all = app.get("/api/v1/analytics", &sue).await.json;
    assert_eq!(all["calls"], 4);

    // Errors name the field; agents may not read the figures.
    let r = app.get("/api/v1/analytics?service_level_s=0", &sue).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json["error"]["field"], "service_level_s");
    let r = app
        .get(
            "/api/v1/analytics?from=2026-11-21T00:00:00Z&until=2026-11-20T00:00:00Z",
            &sue,
        )
        .await;
    assert_eq!(r.json["error"]["field"], "until");
    let r = app.get("/api/v1/analytics?from=yesterday", &sue).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["error"]["field"], "from");
    let r = app.get("/api/v1/analytics", &anna_token).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
