//! Prompts over the API: an admin uploads WAV files, supervisors list and play them, routing
//! settings may refer only to prompts that exist.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{Reply, TestApp};
use serde_json::json;

fn wav(channels: u16, rate: u32, bits: u16, frames: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..frames * u32::from(channels) {
        if bits == 8 {
            w.write_sample((i % 100) as i8).unwrap();
        } else {
            w.write_sample((i % 1000) as i16).unwrap();
        }
    }
    w.finalize().unwrap();
    out.into_inner()
}

async fn put(app: &TestApp, name: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
    app.raw(
        Request::put(format!("/api/v1/prompts/{name}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

fn assert_field(reply: &Reply, status: StatusCode, field: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.json);
    assert_eq!(reply.json["error"]["field"], field, "{:?}", reply.json);
}

#[tokio::test]
async fn an_admin_uploads_lists_plays_and_deletes_prompts() {
    let app = TestApp::new().await;
    let (_, supervisor) = app.user("mia", "supervisor", None).await;

    let empty = app.get("/api/v1/prompts", &supervisor).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.json["items"], json!([]));

    let welcome = wav(1, 8000, 16, 12000);
    let stored = put(&app, "welcome", &app.admin, "audio/wav", welcome.clone()).await;
    assert_eq!(stored.status, StatusCode::OK, "{:?}", stored.json);
    assert_eq!(stored.json["duration_ms"], 1500);
    let menu = put(
        &app,
        "ivr-main",
        &app.admin,
        "audio/x-wav",
        wav(1, 16000, 16, 8000),
    )
    .await;
    assert_eq!(menu.status, StatusCode::OK, "{:?}", menu.json);

    // Written atomically under the data dir, no temporary left behind.
    let dir = app.dir.join("prompts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["ivr-main.wav", "welcome.wav"]);

    let list = app.get("/api/v1/prompts", &supervisor).await;
    assert_eq!(
        list.json["items"],
        json!([
            {"name": "ivr-main", "duration_ms": 500, "sample_rate": 16000, "size_bytes": 16044},
            {"name": "welcome", "duration_ms": 1500, "sample_rate": 8000, "size_bytes": welcome.len()},
        ])
    );

    let audio = app
        .raw(
            Request::get("/api/v1/prompts/welcome/audio")
                .header(header::AUTHORIZATION, format!("Bearer {supervisor}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(audio.status, StatusCode::OK);
    assert_eq!(audio.headers[header::CONTENT_TYPE], "audio/wav");

    // Replacing keeps one file with the new content.
    let replaced = put(
        &app,
        "welcome",
        &app.admin,
        "audio/wav",
        wav(1, 8000, 16, 800),
    )
    .await;
    assert_eq!(replaced.json["duration_ms"], 100);
    assert_eq!(std::fs::read(dir.join("welcome.wav")).unwrap().len(), 1644);

    let gone = app
        .call("DELETE", "/api/v1/prompts/welcome", &app.admin, None)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(!dir.join("welcome.wav").exists());
    let again = app
        .call("DELETE", "/api/v1/prompts/welcome", &app.admin, None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let missing = app.get("/api/v1/prompts/welcome/audio", &supervisor).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let list = app.get("/api/v1/prompts", &supervisor).await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_names_bad_audio_and_wrong_roles_are_refused() {
    let app = TestApp::new().await;
    let (_, supervisor) = app.user("mia", "supervisor", None).await;
    let (_, agent) = app.user("anna", "agent", None).await;
    let good = wav(1, 8000, 16, 800);

    for (format, field) in [
        (wav(2, 8000, 16, 800), "mono"),
        (wav(1, 44100, 16, 800), "8000 or 16000"),
        (wav(1, 8000, 8, 800), "16-bit"),
        (b"RIFF\x24\0\0\0WAVEfmt nonsense".to_vec(), "WAV"),
        (Vec::new(), "WAV"),
    ] {
        let r = put(&app, "welcome", &app.admin, "audio/wav", format).await;
        assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, "body");
        let message = r.json["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{message}");
    }
    for name in ["..%2Fescape", "a.wav", "-x", "gr%C3%BC%C3%9Fe"] {
        let r = put(&app, name, &app.admin, "audio/wav", good.clone()).await;
        assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, "name");
    }
    let r = put(
        &app,
        "welcome",
        &app.admin,
        "application/json",
        good.clone(),
    )
    .await;
    assert_field(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "content-type");
    let too_big = vec![0u8; 10 * 1024 * 1024 + 1];
    let r = put(&app, "welcome", &app.admin, "audio/wav", too_big).await;
    assert_field(&r, StatusCode::PAYLOAD_TOO_LARGE, "body");

    // Only admins change prompts; agents do not even list them.
    let r = put(&app, "welcome", &supervisor, "audio/wav", good.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/prompts", &agent).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/v1/prompts/welcome/audio", &agent)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .call("DELETE", "/api/v1/prompts/welcome", &supervisor, None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!app.dir.join("prompts").join("welcome.wav").exists());
}

#[tokio::test]
async fn routing_settings_refer_only_to_uploaded_prompts() {
    let app = TestApp::new().await;
    let (anna, _) = app.user("anna", "agent", Some("101")).await;
    let settings = |greeting: &str, menu: &str| {
        json!({
            "agents": [{"id": anna, "name": "Anna"}],
            "lines": [{
                "number": "+493012345678", "name": "Sales", "queue": "sales",
                "greeting": greeting, "ivr": "main",
                "out_of_hours": {"action": "hang_up", "prompt": greeting}
            }],
            "queues": [{"name": "sales", "strategy": "evenly", "members": [anna]}],
            "ivr_menus": [{"name": "main", "prompt": menu, "options": {"1": {"action": "queue", "queue": "sales"}}}]
        })
    };
    let r = app
        .call(
            "PUT",
            "/api/v1/settings/routing",
            &app.admin,
            Some(settings("welcome", "menu")),
        )
        .await;
    assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, "lines[0].greeting");
    assert!(r.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("\"welcome\""));

    put(
        &app,
        "welcome",
        &app.admin,
        "audio/wav",
        wav(1, 8000, 16, 800),
    )
    .await;
    let r = app
        .call(
            "PUT",
            "/api/v1/settings/routing",
            &app.admin,
            Some(settings("welcome", "menu")),
        )
        .await;
    assert_field(&r, StatusCode::UNPROCESSABLE_ENTITY, "ivr_menus[0].prompt");

    put(&app, "menu", &app.admin, "audio/wav", wav(1, 8000, 16, 800)).await;
    let r = app
        .call(
            "PUT",
            "/api/v1/settings/routing",
            &app.admin,
            Some(settings("welcome", "menu")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
}
