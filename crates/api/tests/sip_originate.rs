//! Click-to-call over the API without a SIP service: who may ask for whom, which field a
//! refusal names, and 503 when SIP is not running. The call itself, with real phones, is
//! tested end to end with SIPp in crates/ringbase/tests/sip_originate.rs.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

const PATH: &str = "/api/v1/calls/originate";

#[tokio::test]
async fn originate_checks_the_caller_and_the_body_then_needs_sip() {
    let app = TestApp::new().await;
    // A registry that no SIP service drives: nothing can be placed.
    app.state.set_sip(sip_net::Registry::new(
        "pbx.example",
        sip_net::RegistrarConfig::default(),
    ));
    let (anna, anna_token) = app.user("anna", "agent", Some("101")).await;
    let (bob, _) = app.user("bob", "agent", Some("102")).await;
    let (_, supervisor) = app.user("sue", "supervisor", None).await;

    // An agent may not start a call from someone else's phone.
    let r = app
        .post(
            PATH,
            &anna_token,
            json!({"user": bob, "number": "+4930123456"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.json);

    // For himself he passes the checks; without SIP running: 503.
    let r = app
        .post(
            PATH,
            &anna_token,
            json!({"user": anna, "number": "+4930123456"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.json);
    assert_eq!(r.json["error"]["code"], "sip_unavailable");

    // Supervisors and admins may for anyone.
    for token in [&supervisor, &app.admin] {
        let r = app
            .post(PATH, token, json!({"user": bob, "number": "030 123456"}))
            .await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.json);
    }

    // Refusals name the field.
    let r = app
        .post(PATH, &app.admin, json!({"user": bob, "number": "call me"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.json);
    assert_eq!(r.json["error"]["field"], "number");
    let r = app
        .post(
            PATH,
            &app.admin,
            json!({"user": 999_999, "number": "+4930123456"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.json);
    assert_eq!(r.json["error"]["field"], "user");
    let r = app
        .post(PATH, &app.admin, json!({"number": "+4930123456"}))
        .await;
    assert!(r.status.is_client_error(), "{:?}", r.json);
    assert!(r.json.to_string().contains("user"), "{:?}", r.json);
}
