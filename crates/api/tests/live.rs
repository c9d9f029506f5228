//! The live event stream (SSE): a masking rule changed by an admin applies to the next event of
//! a stream that is already open, without the app reconnecting.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::TestApp;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::time::Duration;
use tower::ServiceExt;

/// The data of the next `call.ringing` event on the stream.
async fn next_ringing(body: &mut Body, buffer: &mut String) -> Value {
    loop {
        if let Some(at) = buffer.find("event: call.ringing") {
            if let Some(end) = buffer[at..].find("\n\n") {
                let frame = buffer[at..at + end].to_owned();
                buffer.drain(..at + end + 2);
                let data = frame
                    .lines()
                    .find_map(|l| l.strip_prefix("data:"))
                    .expect("data line");
                return serde_json::from_str(data.trim()).expect("JSON data");
            }
        }
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("an event within 5 s")
            .expect("the stream is open")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            buffer.push_str(&String::from_utf8_lossy(&data));
        }
    }
}

fn ringing(app: &TestApp, number: &str) {
    app.crm.bus().publish(events::Event::new(
        domain::EventKind::CallRinging,
        chrono::Utc::now(),
        json!({"agent_ids": [1], "number": number, "card": {"number": number, "raw": number}}),
    ));
}

#[tokio::test]
async fn a_changed_masking_rule_reaches_an_open_stream() {
    let app = TestApp::new().await;
    let (_, supervisor) = app.user("mia", "supervisor", None).await;
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get("/api/v1/events")
                .header(header::AUTHORIZATION, format!("Bearer {supervisor}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut buffer = String::new();

    ringing(&app, "+4930123456");
    let clear = next_ringing(&mut body, &mut buffer).await;
    assert_eq!(clear["data"]["number"], "+4930123456", "{clear}");

    let set = app
        .call(
            "PUT",
            "/api/v1/settings/masking",
            &app.admin,
            Some(json!({"supervisor": {"mode": "first", "count": 6}})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.json);
    ringing(&app, "+4930123456");
    let masked = next_ringing(&mut body, &mut buffer).await;
    assert_eq!(masked["data"]["number"], "******23456", "{masked}");
    assert_eq!(masked["data"]["card"]["raw"], "******23456");
    assert!(!masked.to_string().contains("+4930123456"), "{masked}");

    // And back: lifting the rule shows numbers again on the same stream.
    let lifted = app
        .call(
            "PUT",
            "/api/v1/settings/masking",
            &app.admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(lifted.status, StatusCode::OK, "{:?}", lifted.json);
    ringing(&app, "+4930123457");
    let again = next_ringing(&mut body, &mut buffer).await;
    assert_eq!(again["data"]["number"], "+4930123457", "{again}");
}
