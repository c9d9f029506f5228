//! Tasks and call backs over HTTP: the after-call form's "create a task" and "schedule the
//! next call", an agent's own list, marking done, who may see what, and bad input.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::{json, Value};

async fn contact(app: &TestApp, name: &str) -> i64 {
    let r = app
        .post(
            "/api/v1/contacts",
            &app.admin,
            json!({"name": name, "phones": ["030 1234567"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    r.json["id"].as_i64().unwrap()
}

fn titles(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_agent_creates_a_call_back_sees_it_on_the_timeline_and_marks_it_done() {
    let app = TestApp::new().await;
    let (ed, ed_token) = app.user("ed", "agent", Some("103")).await;
    let jan = contact(&app, "Jan Kowalski").await;

    let created = app
        .post(
            "/api/v1/tasks",
            &ed_token,
            json!({"title": "  Call back about the offer ", "kind": "call_back",
                   "subject": {"kind": "contact", "id": jan}, "due_at": "2026-11-23T09:00:00Z"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);
    let task = &created.json;
    assert_eq!(task["title"], "Call back about the offer");
    assert_eq!(task["kind"], "call_back");
    assert_eq!(task["subject"], json!({"kind": "contact", "id": jan}));
    assert_eq!(
        task["assignee_id"], ed,
        "the assignee defaults to the caller"
    );
    assert_eq!(task["created_by"], ed);
    assert_eq!(task["due_at"], "2026-11-23T09:00:00Z");
    assert_eq!(task["done_at"], Value::Null);
    let id = task["id"].as_i64().unwrap();

    // A plain task without a due time, on the same contact.
    let plain = app
        .post(
            "/api/v1/tasks",
            &ed_token,
            json!({"title": "Send the brochure", "subject": {"kind": "contact", "id": jan}}),
        )
        .await;
    assert_eq!(plain.status, StatusCode::CREATED, "{:?}", plain.json);
    assert_eq!(plain.json["kind"], "task");

    // Both are on the contact's timeline, with their titles and author.
    let timeline = app
        .get(&format!("/api/v1/contacts/{jan}/timeline"), &ed_token)
        .await;
    assert_eq!(timeline.status, StatusCode::OK);
    let entries: Vec<&Value> = timeline.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "task_created")
        .collect();
    assert_eq!(entries.len(), 2);
    let texts: Vec<&str> = entries
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"Call back about the offer"), "{texts:?}");
    assert!(entries.iter().all(|e| e["author_id"] == ed));

    // My open tasks: the due one first; filtered by contact too.
    let mine = app
        .get(
            &format!("/api/v1/tasks?assignee_id={ed}&done=false"),
            &ed_token,
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{:?}", mine.json);
    assert_eq!(
        titles(&mine.json),
        ["Call back about the offer", "Send the brochure"]
    );
    let on_jan = app
        .get(&format!("/api/v1/tasks?contact_id={jan}"), &ed_token)
        .await;
    assert_eq!(titles(&on_jan.json).len(), 2);
    let due = app
        .get("/api/v1/tasks?due_before=2026-11-24T00:00:00Z", &ed_token)
        .await;
    assert_eq!(titles(&due.json), ["Call back about the offer"]);

    // Done.
    let done = app
        .call(
            "PATCH",
            &format!("/api/v1/tasks/{id}"),
            &ed_token,
            Some(json!({"done": true})),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.json);
    assert!(done.json["done_at"].is_string());
    let open = app.get("/api/v1/tasks?done=false", &ed_token).await;
    assert_eq!(titles(&open.json), ["Send the brochure"]);
    let closed = app.get("/api/v1/tasks?done=true", &ed_token).await;
    assert_eq!(titles(&closed.json), ["Call back about the offer"]);

    // Title and due time change; reopening clears done_at.
    let changed = app
        .call(
            "PATCH",
            &format!("/api/v1/tasks/{id}"),
            &ed_token,
            Some(json!({"title": "Call back (fleet)", "due_at": "2026-11-24T10:30:00Z", "done": false})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.json);
    assert_eq!(changed.json["title"], "Call back (fleet)");
    assert_eq!(changed.json["due_at"], "2026-11-24T10:30:00Z");
    assert_eq!(changed.json["done_at"], Value::Null);
}

#[tokio::test]
async fn agents_see_and_change_only_their_tasks_supervisors_all() {
    let app = TestApp::new().await;
    let (ed, ed_token) = app.user("ed", "agent", Some("103")).await;
    let (fay, fay_token) = app.user("fay", "agent", Some("104")).await;
    let (_, gus_token) = app.user("gus", "agent", Some("105")).await;
    let (_, sup_token) = app.user("sue", "supervisor", None).await;
    let jan = contact(&app, "Jan").await;

    // Ed writes a task for Fay: both see it, Gus does not.
    let r = app
        .post(
            "/api/v1/tasks",
            &ed_token,
            json!({"title": "Quote for Jan", "subject": {"kind": "contact", "id": jan}, "assignee_id": fay}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(r.json["assignee_id"], fay);
    assert_eq!(r.json["created_by"], ed);
    let id = r.json["id"].as_i64().unwrap();
    // The supervisor's own task, for himself.
    let r = app
        .post(
            "/api/v1/tasks",
            &sup_token,
            json!({"title": "Review Jan", "subject": {"kind": "contact", "id": jan}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let sup_task = r.json["id"].as_i64().unwrap();

    assert_eq!(
        titles(&app.get("/api/v1/tasks", &ed_token).await.json),
        ["Quote for Jan"]
    );
    assert_eq!(
        titles(&app.get("/api/v1/tasks", &fay_token).await.json),
        ["Quote for Jan"]
    );
    assert!(titles(&app.get("/api/v1/tasks", &gus_token).await.json).is_empty());
    // Asking for someone else's tasks does not widen an agent's view.
    assert!(titles(
        &app.get(&format!("/api/v1/tasks?assignee_id={fay}"), &gus_token)
            .await
            .json
    )
    .is_empty());
    assert_eq!(
        titles(&app.get("/api/v1/tasks", &sup_token).await.json).len(),
        2
    );
    assert_eq!(
        titles(&app.get("/api/v1/tasks", &app.admin).await.json).len(),
        2
    );

    // Someone else's task is "not found" for an agent, both to read and to change.
    let path = format!("/api/v1/tasks/{id}");
    assert_eq!(
        app.get(&path, &gus_token).await.status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .call("PATCH", &path, &gus_token, Some(json!({"done": true})))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(
            "PATCH",
            &format!("/api/v1/tasks/{sup_task}"),
            &ed_token,
            Some(json!({"done": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&path, &fay_token).await.status, StatusCode::OK);

    // The assignee and the supervisor may change it.
    let r = app
        .call("PATCH", &path, &fay_token, Some(json!({"done": true})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let r = app
        .call(
            "PATCH",
            &format!("/api/v1/tasks/{sup_task}"),
            &sup_token,
            Some(json!({"assignee_id": ed})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(
        titles(&app.get("/api/v1/tasks?done=false", &ed_token).await.json),
        ["Review Jan"]
    );

    // Without credentials: 401.
    assert_eq!(
        app.get("/api/v1/tasks", "").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn bad_task_input_names_the_field_and_writes_nothing() {
    let app = TestApp::new().await;
    let (ed, ed_token) = app.user("ed", "agent", Some("103")).await;
    let jan = contact(&app, "Jan").await;
    let subject = json!({"kind": "contact", "id": jan});

    let cases = [
        (json!({"subject": subject}), "title"),
        (json!({"title": "  ", "subject": subject}), "title"),
        (json!({"title": "a\nb", "subject": subject}), "title"),
        (
            json!({"title": "x".repeat(301), "subject": subject}),
            "title",
        ),
        (json!({"title": 5, "subject": subject}), "title"),
        (
            json!({"title": "x", "subject": subject, "kind": "meeting"}),
            "kind",
        ),
        (
            json!({"title": "x", "subject": subject, "kind": "call_back"}),
            "due_at",
        ),
        (
            json!({"title": "x", "subject": subject, "due_at": "tomorrow"}),
            "due_at",
        ),
        (
            json!({"title": "x", "subject": {"kind": "contact", "id": jan + 99}}),
            "subject",
        ),
        (
            json!({"title": "x", "subject": {"kind": "company", "id": jan}}),
            "subject.kind",
        ),
        (json!({"title": "x"}), "subject"),
        (
            json!({"title": "x", "subject": subject, "assignee_id": 999}),
            "assignee_id",
        ),
        (
            json!({"title": "x", "subject": subject, "call_id": 999}),
            "call_id",
        ),
        (
            json!({"title": "x", "subject": subject, "priority": 1}),
            "priority",
        ),
    ];
    for (body, field) in cases {
        let r = app.post("/api/v1/tasks", &ed_token, body.clone()).await;
        assert!(
            r.status.is_client_error(),
            "{body}: {} {:?}",
            r.status,
            r.json
        );
        assert_eq!(
            r.json["error"]["field"].as_str(),
            Some(field),
            "{body}: {:?}",
            r.json
        );
    }
    // An API key has no employee to default to.
    let r = app
        .post(
            "/api/v1/tasks",
            &app.admin,
            json!({"title": "x", "subject": subject}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json["error"]["field"], "assignee_id");

    // Nothing was written: no task, nothing on the timeline.
    assert!(titles(&app.get("/api/v1/tasks", &app.admin).await.json).is_empty());
    let timeline = app
        .get(&format!("/api/v1/contacts/{jan}/timeline"), &ed_token)
        .await;
    assert!(timeline.json["items"].as_array().unwrap().is_empty());

    // Query parameters and patches name their field too.
    for (query, field) in [
        ("done=maybe", "done"),
        ("due_before=soon", "due_before"),
        ("assignee_id=x", "assignee_id"),
        ("contact_id=1&lead_id=2", "contact_id"),
        ("colour=red", "colour"),
    ] {
        let r = app.get(&format!("/api/v1/tasks?{query}"), &ed_token).await;
        assert!(r.status.is_client_error(), "{query}: {}", r.status);
        assert_eq!(r.json["error"]["field"].as_str(), Some(field), "{query}");
    }
    let r = app
        .post(
            "/api/v1/tasks",
            &ed_token,
            json!({"title": "Call back", "kind": "call_back", "subject": subject, "due_at": "2026-11-23T09:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let path = format!("/api/v1/tasks/{}", r.json["id"]);
    for (body, field) in [
        (json!({"due_at": null}), "due_at"),
        (json!({"title": ""}), "title"),
        (json!({"done": "yes"}), "done"),
        (json!({"assignee_id": 999}), "assignee_id"),
        (json!({"kind": "task"}), "kind"),
    ] {
        let r = app
            .call("PATCH", &path, &ed_token, Some(body.clone()))
            .await;
        assert!(r.status.is_client_error(), "{body}: {}", r.status);
        assert_eq!(
            r.json["error"]["field"].as_str(),
            Some(field),
            "{body}: {:?}",
            r.json
        );
    }
    let unchanged = app.get(&path, &ed_token).await;
    assert_eq!(unchanged.json["title"], "Call back");
    assert_eq!(unchanged.json["due_at"], "2026-11-23T09:00:00Z");
    assert_eq!(unchanged.json["assignee_id"], ed);
    assert_eq!(
        app.get("/api/v1/tasks/abc", &ed_token).await.json["error"]["field"],
        "id"
    );
}
