//! Trunks over the API: an admin edits the list without a restart, never sees a password
//! again, and every mistake names its field.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

fn provider() -> serde_json::Value {
    json!({
        "name": "provider",
        "number": "+49 30 123456",
        "username": "acc1",
        "password": "secret-1",
        "domain": "sip.provider.example",
        "host": "sip.provider.example:5060",
        "allow": ["203.0.113.5"]
    })
}

#[tokio::test]
async fn an_admin_stores_trunks_and_passwords_are_write_only() {
    let app = TestApp::new().await;
    let empty = app.get("/api/v1/trunks", &app.admin).await;
    assert_eq!(empty.status, StatusCode::OK, "{:?}", empty.json);
    assert_eq!(empty.json["items"], json!([]));

    let put = app
        .call(
            "PUT",
            "/api/v1/trunks",
            &app.admin,
            Some(json!({"trunks": [provider(), {"name": "pbx", "host": "192.0.2.7:5070"}]})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.json);
    let read = app.get("/api/v1/trunks", &app.admin).await;
    let items = read.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let p = &items[0];
    assert_eq!(p["name"], "provider");
    assert_eq!(p["number"], "+4930123456");
    assert_eq!(p["password_set"], true);
    assert!(p.get("password").is_none(), "{p}");
    assert!(!read.json.to_string().contains("secret-1"));
    // Username and password given: it registers by default, asking for an hour.
    assert_eq!(p["register"], true);
    assert_eq!(p["expires"], 3600);
    assert_eq!(p["read_only"], false);
    assert_eq!(items[1]["register"], false);
    assert_eq!(items[1]["password_set"], false);

    // Sent again without the password (as the form does): the stored one stays.
    let mut again = provider();
    again.as_object_mut().unwrap().remove("password");
    again["expires"] = json!(600);
    let put = app
        .call(
            "PUT",
            "/api/v1/trunks",
            &app.admin,
            Some(json!({"trunks": [again]})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.json);
    let stored = api::trunk_settings::load(app.state.store()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].password.as_deref(), Some("secret-1"));
    assert_eq!(stored[0].expires, 600);

    // Agents and supervisors see no trunk settings.
    let (_, agent) = app.user("ed", "agent", Some("103")).await;
    let (_, supervisor) = app.user("gus", "supervisor", None).await;
    assert_eq!(
        app.get("/api/v1/trunks", &agent).await.status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .call(
            "PUT",
            "/api/v1/trunks",
            &supervisor,
            Some(json!({"trunks": []})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        api::trunk_settings::load(app.state.store())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn mistakes_name_the_trunk_and_field_and_store_nothing() {
    let app = TestApp::new().await;
    let cases = [
        (
            json!({"trunks": [provider(), {"name": "b", "host": "nowhere:99999"}]}),
            "trunks[1].host",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"trunks": [{"name": "a", "host": "h", "allow": ["1.2.3.4", "x y"]}]}),
            "trunks[0].allow[1]",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"trunks": [{"name": "a", "host": "h", "register": true}]}),
            "trunks[0].username",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"trunks": [{"name": "a", "host": "h", "expires": 5}]}),
            "trunks[0].expires",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"trunks": [{"name": "a", "host": "h"}, {"name": "a", "host": "h2"}]}),
            "trunks[1].name",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"trunks": [{"name": "a", "host": "h", "number": "call me"}]}),
            "trunks[0].number",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"trunks": [{"name": "a", "host": "h", "outbound_proxy": "p:0"}]}),
            "trunks[0].outbound_proxy",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"trunks": [{"name": "a", "hots": "h"}]}),
            "trunks[0].hots",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"trunks": [{"name": "a", "host": 5}]}),
            "trunks[0].host",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (body, field, status) in cases {
        let r = app
            .call("PUT", "/api/v1/trunks", &app.admin, Some(body.clone()))
            .await;
        assert_eq!(r.status, status, "{body} → {:?}", r.json);
        assert_eq!(r.json["error"]["field"], field, "{body} → {:?}", r.json);
    }
    assert!(api::trunk_settings::load(app.state.store())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn command_line_trunks_are_listed_read_only_and_their_names_are_taken() {
    let app = TestApp::new().await;
    let cli = sip_net::TrunkConfig::parse("name=cli,host=127.0.0.1:5070").unwrap();
    app.state.set_trunks(sip_net::Trunks::new(vec![cli]));
    let read = app.get("/api/v1/trunks", &app.admin).await;
    assert_eq!(read.json["items"][0]["name"], "cli");
    assert_eq!(read.json["items"][0]["read_only"], true);
    let r = app
        .call(
            "PUT",
            "/api/v1/trunks",
            &app.admin,
            Some(json!({"trunks": [{"name": "cli", "host": "192.0.2.1"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json["error"]["field"], "trunks[0].name");
}
