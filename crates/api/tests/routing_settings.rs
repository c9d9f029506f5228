//! Routing settings over the API: what an admin edits in the app is what `ringbase config
//! export` prints and what `ringbase simulate` follows.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

fn sales_line(agent: i64) -> serde_json::Value {
    json!({
        "agents": [{"id": agent, "name": "Anna Schmidt", "extension": "101"}],
        "lines": [{
            "number": "+493012345678",
            "name": "Sales",
            "time_zone": "Europe/Berlin",
            "queue": "sales",
            "working_hours": {"monday": ["09:00-18:00"], "saturday": ["10:00-14:00"]},
            "out_of_hours": {"action": "voicemail"}
        }],
        "queues": [{
            "name": "sales",
            "strategy": "evenly",
            "members": [agent],
            "rings": 4,
            "no_answer": {"action": "voicemail"}
        }]
    })
}

#[tokio::test]
async fn an_admin_stores_routing_settings_and_a_supervisor_reads_them_back() {
    let app = TestApp::new().await;
    let (anna, _) = app.user("anna", "agent", Some("101")).await;
    let (_, supervisor) = app.user("mia", "supervisor", None).await;

    // Nothing configured yet: the empty settings, not an error.
    let empty = app.get("/api/v1/settings/routing", &supervisor).await;
    assert_eq!(empty.status, StatusCode::OK, "{:?}", empty.json);
    assert_eq!(empty.json["lines"].as_array().map_or(0, Vec::len), 0);

    let put = app
        .call(
            "PUT",
            "/api/v1/settings/routing",
            &app.admin,
            Some(sales_line(anna)),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.json);

    let read = app.get("/api/v1/settings/routing", &supervisor).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json["lines"][0]["name"], "Sales");
    assert_eq!(
        read.json["lines"][0]["working_hours"]["saturday"][0],
        "10:00-14:00"
    );
    assert_eq!(read.json["queues"][0]["members"][0], anna);

    // The same settings as the TOML the CLI exports.
    let stored = api::routing_settings::load(app.state.store())
        .await
        .unwrap();
    let toml = stored.to_toml().unwrap();
    assert!(toml.contains("name = \"Sales\""), "{toml}");
}

#[tokio::test]
async fn invalid_routing_settings_are_refused_with_the_key_and_keep_the_old_ones() {
    let app = TestApp::new().await;
    let (anna, agent) = app.user("anna", "agent", Some("101")).await;
    let good = app
        .call(
            "PUT",
            "/api/v1/settings/routing",
            &app.admin,
            Some(sales_line(anna)),
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{:?}", good.json);

    // A queue that does not exist.
    let mut bad = sales_line(anna);
    bad["lines"][0]["queue"] = json!("nobody");
    let r = app
        .call("PUT", "/api/v1/settings/routing", &app.admin, Some(bad))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.json);
    let field = r.json["error"]["field"].as_str().unwrap_or_default();
    assert!(
        field.contains("queue"),
        "the error names the key: {:?}",
        r.json
    );

    // An unknown key and a wrong type name their field too.
    let mut typo = sales_line(anna);
    typo["lines"][0]["workinghours"] = json!({});
    let r = app
        .call("PUT", "/api/v1/settings/routing", &app.admin, Some(typo))
        .await;
    assert!(r.status.is_client_error(), "{:?}", r.json);
    assert!(
        r.json["error"]["field"]
            .as_str()
            .unwrap_or_default()
            .contains("lines"),
        "{:?}",
        r.json
    );

    // Agents may neither read nor write the settings.
    let r = app.get("/api/v1/settings/routing", &agent).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            "PUT",
            "/api/v1/settings/routing",
            &agent,
            Some(sales_line(anna)),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The good settings are still there.
    let read = app.get("/api/v1/settings/routing", &app.admin).await;
    assert_eq!(read.json["lines"][0]["queue"], "sales");
}
