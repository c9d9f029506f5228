//! SIP passwords and registrations over the API (issue 4). Registrations with real phones are
//! tested end to end with SIPp in crates/ringbase/tests/sip_registrar.rs.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

#[tokio::test]
async fn an_admin_sets_a_sip_password_that_is_stored_as_hashes_only() {
    let app = TestApp::new().await;
    app.state.set_sip(sip_net::Registry::new(
        "pbx.example",
        sip_net::RegistrarConfig::default(),
    ));
    let (anna, _) = app.user("anna", "agent", Some("101")).await;

    let path = format!("/api/v1/users/{anna}/sip-password");
    let r = app
        .call(
            "PUT",
            &path,
            &app.admin,
            Some(json!({"password": "phone-secret-1"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["username"], "anna");
    assert_eq!(r.json["realm"], "pbx.example");
    assert_eq!(r.json["user_id"], anna);

    let stored = app
        .store()
        .get_sip_credentials(domain::UserId(anna))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.username, "anna");
    assert_eq!(stored.realm, "pbx.example");
    // H(A1) = MD5("anna:pbx.example:phone-secret-1"), checked against coreutils' md5sum.
    assert_eq!(stored.ha1_md5, md5_hex("anna:pbx.example:phone-secret-1"));
    assert_eq!(stored.ha1_sha256.len(), 64);
    assert!(!format!("{stored:?}").contains("phone-secret-1"));

    // The web password is untouched: anna still signs in with hers.
    let login = app
        .post(
            "/api/v1/auth/login",
            "",
            json!({"login": "anna", "password": "long-enough-pw"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    // And the SIP password is not a web password.
    let login = app
        .post(
            "/api/v1/auth/login",
            "",
            json!({"login": "anna", "password": "phone-secret-1"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
}

fn md5_hex(text: &str) -> String {
    let out = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("md5sum (coreutils) runs");
    String::from_utf8(out.stdout).unwrap()[..32].to_string()
}

#[tokio::test]
async fn sip_passwords_are_checked_and_only_admins_set_them() {
    let app = TestApp::new().await;
    let (anna, anna_token) = app.user("anna", "agent", None).await;
    let (_, boss_token) = app.user("boss", "supervisor", None).await;
    let path = format!("/api/v1/users/{anna}/sip-password");

    let r = app
        .call("PUT", &path, &app.admin, Some(json!({"password": "short"})))
        .await;
    assert_eq!(r.json["error"]["field"], "password", "{:?}", r.json);
    assert!(r.status.is_client_error());
    let r = app
        .call(
            "PUT",
            &path,
            &app.admin,
            Some(json!({"pass": "long enough"})),
        )
        .await;
    assert!(r.status.is_client_error());
    assert!(app
        .store()
        .get_sip_credentials(domain::UserId(anna))
        .await
        .unwrap()
        .is_none());

    for token in [&anna_token, &boss_token] {
        let r = app
            .call(
                "PUT",
                &path,
                token,
                Some(json!({"password": "long enough"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.json);
    }
    let r = app
        .call(
            "PUT",
            "/api/v1/users/4242/sip-password",
            &app.admin,
            Some(json!({"password": "long enough"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Without a configured SIP service the default realm is used.
    let r = app
        .call(
            "PUT",
            &path,
            &app.admin,
            Some(json!({"password": "long enough"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["realm"], api::DEFAULT_SIP_REALM);
}

#[tokio::test]
async fn registrations_are_for_supervisors_and_admins() {
    let app = TestApp::new().await;
    let (_, agent) = app.user("anna", "agent", None).await;
    let (_, boss) = app.user("boss", "supervisor", None).await;
    let r = app.get("/api/v1/registrations", &agent).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for token in [&boss, &app.admin] {
        let r = app.get("/api/v1/registrations", token).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json, json!({"items": []}));
    }
}
