//! The HTTP API, end to end in process: what a sales team and its admin see.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::TestApp;
use serde_json::{json, Value};

#[tokio::test]
async fn health_reports_the_store() {
    let app = TestApp::new().await;
    let r = app.get("/health", "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["status"], "ok");
    assert_eq!(r.json["store"], "sqlite");
}

#[tokio::test]
async fn without_credentials_every_api_route_answers_401_json() {
    let app = TestApp::new().await;
    for path in [
        "/api/v1/contacts",
        "/api/v1/calls",
        "/api/v1/lookup?number=1",
        "/api/v1/apikeys",
    ] {
        let r = app.get(path, "").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.json["error"]["code"], "unauthorized", "{path}");
    }
    let r = app.get("/api/v1/contacts", "rbk_notakey").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_contact_created_with_a_national_number_is_found_by_any_spelling() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/api/v1/contacts",
            &app.admin,
            json!({"name": "Jan Kowalski", "company": "Acme GmbH", "phones": ["030 1234567"], "emails": ["jan@acme.example"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let id = r.json["id"].as_i64().unwrap();
    assert_eq!(r.json["phones"][0]["e164"], "+49301234567");
    assert_eq!(r.json["phones"][0]["raw"], "030 1234567");

    for spelling in [
        "+49 (0)30 1234-567",
        "0049 30 1234567",
        "030/1234567",
        "tel:+49301234567",
        "sip:+49301234567@trunk.example;user=phone",
        "\"Jan\" <sip:49301234567@10.0.0.1>",
    ] {
        let q = format!("/api/v1/lookup?number={}", urlencode(spelling));
        let r = app.get(&q, &app.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{spelling}: {:?}", r.json);
        assert_eq!(r.json["number"], "+49301234567", "{spelling}");
        assert_eq!(r.json["contact"]["id"], id, "{spelling}");
        assert_eq!(r.json["company"]["name"], "Acme GmbH", "{spelling}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn lookup_of_a_known_caller_shows_open_deal_responsible_manager_and_last_call() {
    let app = TestApp::new().await;
    let (manager, _) = app.user("maria", "agent", Some("101")).await;
    let contact = app
        .post("/api/v1/contacts", &app.admin, json!({"name": "Giulia Rossi", "phones": ["+39 02 1234 5678"], "responsible_id": manager}))
        .await
        .json;
    let deal = app
        .post("/api/v1/deals", &app.admin, json!({"title": "Fleet", "contact_id": contact["id"], "amount": 1250000, "currency": "EUR"}))
        .await;
    assert_eq!(deal.status, StatusCode::CREATED, "{:?}", deal.json);
    let call = app
        .post(
            "/api/v1/calls",
            &app.admin,
            json!({"direction": "incoming", "remote": "+390212345678", "line": "+4930999000", "started_at": "2026-11-20T10:00:00Z",
                   "answered_at": "2026-11-20T10:00:05Z", "ended_at": "2026-11-20T10:02:05Z", "status": "answered", "agent_id": manager}),
        )
        .await;
    assert_eq!(call.status, StatusCode::CREATED, "{:?}", call.json);
    assert_eq!(call.json["call"]["duration_s"], 120);
    assert_eq!(call.json["call"]["contact_id"], contact["id"]);
    assert_eq!(call.json["call"]["deal_id"], deal.json["id"]);

    let card = app
        .get("/api/v1/lookup?number=0039%2002%201234%205678", &app.admin)
        .await
        .json;
    assert_eq!(card["contact"]["name"], "Giulia Rossi");
    assert_eq!(card["deal"]["title"], "Fleet");
    assert_eq!(card["responsible"]["login"], "maria");
    assert_eq!(card["last_call"]["id"], call.json["call"]["id"]);

    // The call is on the contact's and the deal's timelines.
    let t = app
        .get(
            &format!("/api/v1/contacts/{}/timeline", contact["id"]),
            &app.admin,
        )
        .await
        .json;
    assert_eq!(t["items"][0]["kind"], "call");
    let t = app
        .get(
            &format!("/api/v1/deals/{}/timeline", deal.json["id"]),
            &app.admin,
        )
        .await
        .json;
    assert_eq!(t["items"][0]["call_id"], call.json["call"]["id"]);
}

#[tokio::test]
async fn anonymous_callers_are_logged_without_a_contact_or_lead() {
    let app = TestApp::new().await;
    for raw in [
        "anonymous",
        "Restricted",
        "sip:anonymous@anonymous.invalid",
        "",
    ] {
        let r = app
            .get(
                &format!("/api/v1/lookup?number={}", urlencode(raw)),
                &app.admin,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{raw:?}");
        assert_eq!(r.json["number"], serde_json::Value::Null, "{raw:?}");
        assert_eq!(r.json["contact"], serde_json::Value::Null);
    }
    let r = app
        .post("/api/v1/calls", &app.admin, json!({"direction": "incoming", "remote": "anonymous", "line": "+4930999000",
            "started_at": "2026-11-20T10:00:00Z", "ended_at": "2026-11-20T10:00:20Z", "status": "missed"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(r.json["call"]["caller"]["e164"], serde_json::Value::Null);
    assert_eq!(r.json["call"]["caller"]["raw"], "anonymous");
    assert_eq!(r.json["created_lead"], serde_json::Value::Null);
}

#[tokio::test]
async fn bad_input_gets_a_4xx_naming_the_field_and_writes_nothing() {
    let app = TestApp::new().await;
    let cases = [
        (json!({"name": 5}), StatusCode::BAD_REQUEST, "name"),
        (
            json!({"name": "A", "phones": ["030 1234567", 7]}),
            StatusCode::BAD_REQUEST,
            "phones[1]",
        ),
        (
            json!({"name": "A", "fax": "1"}),
            StatusCode::BAD_REQUEST,
            "fax",
        ),
        (json!({"phones": []}), StatusCode::BAD_REQUEST, "name"),
        (
            json!({"name": "A", "phones": ["hello"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phones[0]",
        ),
        (
            json!({"name": "A", "phones": ["030 1234567", "12"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phones[1]",
        ),
        (
            json!({"name": "A", "emails": ["nope"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "emails[0]",
        ),
        (
            json!({"name": "A", "company": "Ghost Ltd", "emails": ["nope"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "emails[0]",
        ),
        (
            json!({"name": "A", "company_id": 999}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "company_id",
        ),
    ];
    for (body, status, field) in cases {
        let r = app.post("/api/v1/contacts", &app.admin, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {:?}", r.json);
        assert_eq!(r.json["error"]["field"], field, "{body}");
    }
    // Nothing half-written: no contact, and the company named by the refused contact does not exist.
    assert_eq!(
        app.get("/api/v1/contacts", &app.admin).await.json["items"],
        json!([])
    );
    assert_eq!(
        app.get("/api/v1/companies", &app.admin).await.json["items"],
        json!([])
    );

    // Malformed JSON, wrong content type, oversized bodies, bad ids and bad query parameters.
    let r = app
        .raw(
            Request::post("/api/v1/contacts")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{\"name\": "))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["error"]["code"], "bad_request");
    let r = app
        .raw(
            Request::post("/api/v1/contacts")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("name=A"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let r = app
        .raw(
            Request::post("/api/v1/contacts")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json["error"]["code"], "payload_too_large");
    let r = app.get("/api/v1/contacts/abc", &app.admin).await;
    assert_eq!(
        (r.status, r.json["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("id"))
    );
    let r = app.get("/api/v1/contacts?limit=many", &app.admin).await;
    assert_eq!(
        (r.status, r.json["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit"))
    );
    let r = app
        .get("/api/v1/calls?direction=sideways", &app.admin)
        .await;
    assert_eq!(
        (r.status, r.json["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("direction"))
    );
    let r = app
        .get("/api/v1/lookup?number=not-a-number", &app.admin)
        .await;
    assert_eq!(
        (r.status, r.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("number"))
    );
    let r = app.get("/api/v1/contacts/12345", &app.admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_caller_on_a_tracked_line_becomes_one_lead_with_the_lines_source() {
    let app = TestApp::new().await;
    let source = app
        .post("/api/v1/sources", &app.admin, json!({"name": "Google Ads"}))
        .await
        .json;
    let line = app
        .post(
            "/api/v1/lines",
            &app.admin,
            json!({"number": "+49 89 998877", "name": "Google DE", "source_id": source["id"]}),
        )
        .await;
    assert_eq!(line.status, StatusCode::CREATED, "{:?}", line.json);

    // The trunk forwarded the tracking number: it is in Diversion; To holds our trunk's DID.
    let missed = json!({"direction": "incoming", "remote": "+4917012345678",
        "to": "<sip:+4930999000@pbx.example>", "diversion": "<sip:+4989998877@carrier.example>;reason=unconditional",
        "started_at": "2026-11-21T09:00:00Z", "ended_at": "2026-11-21T09:00:30Z", "status": "missed", "idempotency_key": "pbx-1"});
    let r = app.post("/api/v1/calls", &app.admin, missed.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(r.json["call"]["line_id"], line.json["id"]);
    assert_eq!(r.json["call"]["source_id"], source["id"]);
    let lead = &r.json["created_lead"];
    assert_eq!(lead["source_id"], source["id"]);
    assert_eq!(lead["status"], "new");
    assert_eq!(lead["title"], "Missed call from +4917012345678");

    // The same report again (a retry) is not a second call.
    let again = app.post("/api/v1/calls", &app.admin, missed).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json["duplicate"], true);
    assert_eq!(again.json["call"]["id"], r.json["call"]["id"]);

    // A second call from the same number joins the open lead.
    let second = app
        .post("/api/v1/calls", &app.admin, json!({"direction": "incoming", "remote": "0170 12345678", "line": "+4989998877",
            "started_at": "2026-11-21T10:00:00Z", "answered_at": "2026-11-21T10:00:04Z", "ended_at": "2026-11-21T10:03:00Z", "status": "answered"}))
        .await;
    assert_eq!(second.json["created_lead"], serde_json::Value::Null);
    assert_eq!(second.json["call"]["lead_id"], lead["id"]);
    let leads = app.get("/api/v1/leads?open=true", &app.admin).await.json;
    assert_eq!(leads["items"].as_array().unwrap().len(), 1);
    let timeline = app
        .get(
            &format!("/api/v1/leads/{}/timeline", lead["id"]),
            &app.admin,
        )
        .await
        .json;
    let kinds: Vec<_> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "call").count(),
        2,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"lead_created".to_string()));
}

#[tokio::test]
async fn numbers_first_seen_on_calls_are_kept_and_cannot_be_deleted() {
    let app = TestApp::new().await;
    let r = app
        .post("/api/v1/calls", &app.admin, json!({"direction": "incoming", "remote": "+4917012345678", "to": "sip:+4930555000@pbx",
            "started_at": "2026-11-21T09:00:00Z", "ended_at": "2026-11-21T09:00:30Z", "status": "missed"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(r.json["line"]["origin"], "seen_on_call");
    let id = r.json["line"]["id"].as_i64().unwrap();
    let d = app
        .call("DELETE", &format!("/api/v1/lines/{id}"), &app.admin, None)
        .await;
    assert_eq!(d.status, StatusCode::CONFLICT, "{:?}", d.json);
    let manual = app
        .post(
            "/api/v1/lines",
            &app.admin,
            json!({"number": "+4930555111"}),
        )
        .await
        .json;
    let d = app
        .call(
            "DELETE",
            &format!("/api/v1/lines/{}", manual["id"]),
            &app.admin,
            None,
        )
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn numbers_on_the_exception_list_never_create_leads() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/api/v1/lead-exceptions",
            &app.admin,
            json!({"number": "030 111222"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let r = app
        .post("/api/v1/calls", &app.admin, json!({"direction": "incoming", "remote": "+4930111222", "line": "+4930999000",
            "started_at": "2026-11-21T09:00:00Z", "ended_at": "2026-11-21T09:00:30Z", "status": "missed"}))
        .await;
    assert_eq!(r.json["created_lead"], serde_json::Value::Null);
    assert_eq!(r.json["call"]["lead_id"], serde_json::Value::Null);
}

#[tokio::test]
async fn the_bridge_app_reports_calls_idempotently_and_gets_the_caller_card() {
    let app = TestApp::new().await;
    let (anna, anna_session) = app.user("anna", "agent", Some("102")).await;
    let token = app.device(anna).await;
    app.post("/api/v1/contacts", &app.admin, json!({"name": "Piotr Nowak", "company": "Nowak Sp. z o.o.", "phones": ["+48 601 234 567"]})).await;

    let card = app
        .get("/api/v1/bridge/caller?number=0048601234567", &token)
        .await;
    assert_eq!(card.status, StatusCode::OK, "{:?}", card.json);
    assert_eq!(card.json["name"], "Piotr Nowak");
    assert_eq!(card.json["company"], "Nowak Sp. z o.o.");
    assert_eq!(card.json["known"], true);

    let report = json!({"idempotency_key": "c-1", "direction": "incoming", "number": "+48601234567",
        "started_at": "2026-11-21T12:00:00Z", "ring_s": 6, "duration_s": 95, "answered": true});
    let first = app
        .post("/api/v1/bridge/calls", &token, report.clone())
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.json);
    assert_eq!(first.json["call"]["agent_id"], anna);
    assert_eq!(first.json["call"]["duration_s"], 95);
    assert_eq!(first.json["call"]["answered_at"], "2026-11-21T12:00:06Z");
    for _ in 0..3 {
        let retry = app
            .post("/api/v1/bridge/calls", &token, report.clone())
            .await;
        assert_eq!(retry.status, StatusCode::OK);
        assert_eq!(retry.json["call"]["id"], first.json["call"]["id"]);
    }
    let calls = app.get("/api/v1/calls", &app.admin).await.json;
    assert_eq!(calls["items"].as_array().unwrap().len(), 1);

    // The recording follows the call.
    let id = first.json["call"]["id"].as_i64().unwrap();
    let up = app
        .raw(
            Request::put(format!("/api/v1/bridge/calls/{id}/recording"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "audio/mpeg")
                .body(Body::from(vec![0xFFu8, 0xFB, 0x90, 0x00, 1, 2, 3]))
                .unwrap(),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{:?}", up.json);
    let down = app
        .raw(
            Request::get(format!("/api/v1/calls/{id}/recording"))
                .header(header::AUTHORIZATION, format!("Bearer {anna_session}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(down.status, StatusCode::OK);
    assert_eq!(down.headers[header::CONTENT_TYPE], "audio/mpeg");

    // A missed call from an unknown number makes a lead for Anna.
    let missed = app
        .post(
            "/api/v1/bridge/calls",
            &token,
            json!({"idempotency_key": "c-2", "direction": "incoming", "number": "+4915112345678",
            "started_at": "2026-11-21T13:00:00Z", "ring_s": 20, "answered": false}),
        )
        .await;
    assert_eq!(missed.json["call"]["status"], "missed");
    assert_eq!(missed.json["created_lead"]["responsible_id"], anna);

    // Devices use the bridge API only; people and keys cannot report as a device.
    assert_eq!(
        app.get("/api/v1/contacts", &token).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post("/api/v1/bridge/calls", &app.admin, report)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let bad = app
        .post(
            "/api/v1/bridge/calls",
            &token,
            json!({"idempotency_key": "c-3", "direction": "incoming", "number": "+48601234567",
            "started_at": "2026-11-21T12:00:00Z", "duration_s": 0, "answered": true}),
        )
        .await;
    assert_eq!(
        (bad.status, bad.json["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("duration_s"))
    );
}

#[tokio::test]
async fn a_wrong_login_and_a_wrong_password_get_the_same_answer() {
    let app = TestApp::new().await;
    app.user("carla", "agent", None).await;
    let wrong_user = app
        .post(
            "/api/v1/auth/login",
            "",
            json!({"login": "nobody", "password": "long-enough-pw"}),
        )
        .await;
    let wrong_pass = app
        .post(
            "/api/v1/auth/login",
            "",
            json!({"login": "carla", "password": "not-her-password"}),
        )
        .await;
    assert_eq!(wrong_user.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_user.status, wrong_pass.status);
    assert_eq!(wrong_user.json, wrong_pass.json);
}

#[tokio::test]
async fn sessions_work_by_cookie_and_end_at_logout() {
    let app = TestApp::new().await;
    let (_, token) = app.user("dora", "agent", None).await;
    let with_cookie = |t: &str| {
        Request::get("/api/v1/me")
            .header(header::COOKIE, format!("theme=dark; rb_session={t}"))
            .body(Body::empty())
            .unwrap()
    };
    let me = app.raw(with_cookie(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json["user"]["login"], "dora");
    let out = app.call("POST", "/api/v1/auth/logout", &token, None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.raw(with_cookie(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn roles_are_enforced_and_agents_see_only_their_calls() {
    let app = TestApp::new().await;
    let (ed, ed_token) = app.user("ed", "agent", Some("103")).await;
    let (fay, _) = app.user("fay", "agent", Some("104")).await;
    let (_, sup_token) = app.user("gus", "supervisor", None).await;
    for (agent, minute) in [(ed, 1), (fay, 2)] {
        let r = app
            .post("/api/v1/calls", &app.admin, json!({"direction": "outgoing", "remote": "+4930123456", "line": "+4930999000", "agent_id": agent,
                "started_at": format!("2026-11-21T09:0{minute}:00Z"), "ended_at": format!("2026-11-21T09:0{minute}:30Z"), "status": "missed"}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    }
    let mine = app
        .get(&format!("/api/v1/calls?agent_id={fay}"), &ed_token)
        .await
        .json;
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["agent_id"], ed);
    assert_eq!(
        app.get("/api/v1/calls", &sup_token).await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    for (method, path, body) in [
        (
            "POST",
            "/api/v1/apikeys",
            Some(json!({"name": "x", "role": "admin"})),
        ),
        (
            "POST",
            "/api/v1/users",
            Some(json!({"name": "x", "login": "x", "role": "admin"})),
        ),
        ("GET", "/api/v1/webhooks", None),
        ("PUT", "/api/v1/settings/masking", Some(json!({}))),
        ("POST", "/api/v1/calls", Some(json!({}))),
    ] {
        let r = app.call(method, path, &ed_token, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    // An agent may pause himself, but not promote himself.
    let me = app
        .call(
            "PATCH",
            &format!("/api/v1/users/{ed}"),
            &ed_token,
            Some(json!({"work_state": "paused", "pause_reason": "lunch"})),
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.json);
    assert_eq!(me.json["work_state"], "paused");
    let up = app
        .call(
            "PATCH",
            &format!("/api/v1/users/{ed}"),
            &ed_token,
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(up.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn masked_roles_never_see_a_whole_number() {
    let app = TestApp::new().await;
    let (_, agent) = app.user("hank", "agent", None).await;
    let set = app
        .call(
            "PUT",
            "/api/v1/settings/masking",
            &app.admin,
            Some(json!({"agent": {"mode": "first", "count": 6}})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.json);
    let c = app
        .post(
            "/api/v1/contacts",
            &app.admin,
            json!({"name": "Ina", "phones": ["+4930123456"]}),
        )
        .await
        .json;
    assert_eq!(c["phones"][0]["e164"], "+4930123456", "admins see numbers");
    let seen = app
        .get(&format!("/api/v1/contacts/{}", c["id"]), &agent)
        .await
        .json;
    assert_eq!(seen["phones"][0]["e164"], "******23456");
    let card = app
        .get("/api/v1/lookup?number=%2B4930123456", &agent)
        .await
        .json;
    assert_eq!(card["number"], "******23456");
    assert!(!card.to_string().contains("+4930123456"), "{card}");

    // A missed call from an unknown number creates a lead titled with the number: the title is
    // masked like the number itself, wherever the masked role reads it.
    let logged = app
        .post(
            "/api/v1/calls",
            &app.admin,
            json!({"direction": "incoming", "remote": "+49 170 7654321",
                   "started_at": "2026-11-21T09:00:00Z", "ended_at": "2026-11-21T09:00:20Z",
                   "status": "missed", "idempotency_key": "mask-1"}),
        )
        .await;
    assert!(logged.status.is_success(), "{:?}", logged.json);
    let leads = app.get("/api/v1/leads", &agent).await.json;
    assert_eq!(leads["items"][0]["phones"][0]["e164"], "******7654321");
    assert_eq!(leads["items"][0]["title"], "Missed call from ******7654321");
    assert!(!leads.to_string().contains("+491707654321"), "{leads}");
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::new().await;
    for op in api::openapi::OPERATIONS {
        let path = op
            .path
            .replace("{id}", "1")
            .replace("{number}", "%2B4930111222");
        let r = app.call(&op.method.to_uppercase(), &path, "", None).await;
        assert_ne!(r.status, StatusCode::NOT_FOUND, "{} {}", op.method, op.path);
        assert_ne!(
            r.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{} {}",
            op.method,
            op.path
        );
    }
    let doc = app.get("/api/openapi.json", "").await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.json["openapi"], "3.1.0");
    assert!(doc.json["paths"]["/api/v1/contacts"]["post"]["requestBody"].is_object());
}

#[tokio::test]
async fn transcripts_are_set_by_supervisors_or_api_keys_and_masked_like_text() {
    let app = TestApp::new().await;
    let (ed, ed_token) = app.user("ed", "agent", None).await;
    let (_, sup_token) = app.user("gus", "supervisor", None).await;
    let logged = app
        .post(
            "/api/v1/calls",
            &app.admin,
            json!({"direction": "incoming", "remote": "+49 170 7654321", "agent_id": ed,
                   "started_at": "2026-11-21T09:00:00Z", "answered_at": "2026-11-21T09:00:05Z",
                   "ended_at": "2026-11-21T09:02:00Z", "status": "answered", "idempotency_key": "tr-1"}),
        )
        .await;
    assert_eq!(logged.status, StatusCode::CREATED, "{:?}", logged.json);
    let id = logged.json["call"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/calls/{id}");
    assert_eq!(
        app.get(&path, &ed_token).await.json["transcript"],
        Value::Null
    );

    // The agent rates his call, but may not write what was said.
    let own = app
        .call(
            "PATCH",
            &path,
            &ed_token,
            Some(json!({"transcript": "made up"})),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{:?}", own.json);
    assert_eq!(own.json["error"]["field"], "transcript");
    assert_eq!(
        app.get(&path, &ed_token).await.json["transcript"],
        Value::Null
    );

    // The speech-to-text integration (an API key) sets it; the rating stays.
    let said = "Caller: my number is +491707654321, please call back.\nAgent: will do.";
    let rated = app
        .call("PATCH", &path, &ed_token, Some(json!({"rating": 4})))
        .await;
    assert_eq!(rated.status, StatusCode::OK, "{:?}", rated.json);
    let set = app
        .call(
            "PATCH",
            &path,
            &app.admin,
            Some(json!({"transcript": said})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.json);
    assert_eq!(set.json["transcript"], said);
    assert_eq!(set.json["rating"], 4);
    let listed = app.get("/api/v1/calls", &ed_token).await.json;
    assert_eq!(listed["items"][0]["transcript"], said);

    // A supervisor corrects it; bad text is refused naming the field.
    let fixed = app
        .call(
            "PATCH",
            &path,
            &sup_token,
            Some(json!({"transcript": "Caller: hello"})),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::OK, "{:?}", fixed.json);
    let bad = app
        .call(
            "PATCH",
            &path,
            &sup_token,
            Some(json!({"transcript": "a\u{0}b"})),
        )
        .await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        bad.json
    );
    assert_eq!(bad.json["error"]["field"], "transcript");
    let long = "x".repeat(domain::MAX_TRANSCRIPT_CHARS + 1);
    let bad = app
        .call(
            "PATCH",
            &path,
            &app.admin,
            Some(json!({"transcript": long})),
        )
        .await;
    assert_eq!(bad.json["error"]["field"], "transcript", "{:?}", bad.json);
    app.call(
        "PATCH",
        &path,
        &app.admin,
        Some(json!({"transcript": said})),
    )
    .await;

    // Masked roles do not read the caller's number in the transcript either.
    let masking = app
        .call(
            "PUT",
            "/api/v1/settings/masking",
            &app.admin,
            Some(json!({"agent": {"mode": "first", "count": 6}})),
        )
        .await;
    assert_eq!(masking.status, StatusCode::OK);
    let seen = app.get(&path, &ed_token).await.json;
    assert_eq!(
        seen["transcript"],
        "Caller: my number is ******7654321, please call back.\nAgent: will do."
    );
    assert_eq!(app.get(&path, &sup_token).await.json["transcript"], said);

    // Clearing it with null.
    let cleared = app
        .call(
            "PATCH",
            &path,
            &app.admin,
            Some(json!({"transcript": null})),
        )
        .await;
    assert_eq!(cleared.json["transcript"], Value::Null);
}
