//! Prompts: the recorded announcements routing plays (greeting, out-of-hours, IVR menus),
//! uploaded as WAV files by an admin and stored as `<data dir>/prompts/<name>.wav`.
//!
//! Only what a telephony media path can play without converting is accepted: PCM, mono,
//! 16-bit, 8000 or 16000 Hz. Routing settings refer to prompts by name (`greeting = "welcome"`),
//! and `PUT /api/v1/settings/routing` refuses a name that has no file here.

use crate::auth::{Admin, Supervisor};
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use std::path::{Path as FsPath, PathBuf};

/// Largest prompt accepted: ten minutes at 8 kHz, five at 16 kHz.
pub(crate) const MAX_PROMPT_BODY: usize = 10 * 1024 * 1024;
/// Longest prompt name.
const MAX_NAME: usize = 64;
const DIR: &str = "prompts";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/prompts", get(list_prompts))
        .route(
            "/api/v1/prompts/{name}",
            axum::routing::put(put_prompt)
                .delete(delete_prompt)
                .layer(DefaultBodyLimit::max(MAX_PROMPT_BODY)),
        )
        .route("/api/v1/prompts/{name}/audio", get(prompt_audio))
}

/// One stored prompt, as listed.
#[derive(Debug, Serialize, PartialEq)]
pub struct PromptInfo {
    pub name: String,
    pub duration_ms: u64,
    pub sample_rate: u32,
    pub size_bytes: u64,
}

/// Names are what routing settings refer to and what the file is called: letters, digits,
/// `-` and `_`, starting with a letter or digit (no dots, so no `..` and no extension games).
fn check_name(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "name",
            format!(
                "a prompt name is 1 to {MAX_NAME} letters, digits, '-' or '_', starting with a \
                 letter or digit"
            ),
        ))
    }
}

/// Reads the WAV header and checks the format; the whole file must be readable samples.
fn inspect(bytes: &[u8]) -> Result<(u32, u64), String> {
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a WAV file: {e}"))?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int {
        return Err("the WAV file must be PCM (integer samples), not floating point".into());
    }
    if spec.channels != 1 {
        return Err(format!(
            "the WAV file must be mono, not {} channels",
            spec.channels
        ));
    }
    if spec.bits_per_sample != 16 {
        return Err(format!(
            "the WAV file must have 16-bit samples, not {}-bit",
            spec.bits_per_sample
        ));
    }
    if !matches!(spec.sample_rate, 8000 | 16000) {
        return Err(format!(
            "the WAV file must be sampled at 8000 or 16000 Hz, not {} Hz",
            spec.sample_rate
        ));
    }
    let frames = u64::from(reader.duration());
    if frames == 0 {
        return Err("the WAV file has no samples".into());
    }
    // A header that promises more samples than the body holds is a truncated upload.
    let mut samples = reader.into_samples::<i16>();
    if let Some(Err(e)) = samples.by_ref().find(Result::is_err) {
        return Err(format!("the WAV data is damaged: {e}"));
    }
    Ok((
        spec.sample_rate,
        frames * 1000 / u64::from(spec.sample_rate),
    ))
}

fn file_of(state: &AppState, name: &str) -> PathBuf {
    state.data_dir().join(DIR).join(format!("{name}.wav"))
}

/// The prompts stored, by name. Files that are not valid prompts (put there by hand) are
/// skipped, so the list shows only what routing can play.
pub(crate) async fn stored(data_dir: &FsPath) -> ApiResult<Vec<PromptInfo>> {
    let dir = data_dir.join(DIR);
    let mut entries = match tokio::fs::read_dir(&dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ApiError::internal(e)),
    };
    let mut prompts = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(ApiError::internal)? {
        let file = entry.file_name();
        let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".wav")) else {
            continue;
        };
        if check_name(name).is_err() {
            continue;
        }
        let Ok(bytes) = tokio::fs::read(entry.path()).await else {
            continue;
        };
        if let Ok((sample_rate, duration_ms)) = inspect(&bytes) {
            prompts.push(PromptInfo {
                name: name.to_owned(),
                duration_ms,
                sample_rate,
                size_bytes: bytes.len() as u64,
            });
        }
    }
    prompts.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(prompts)
}

async fn list_prompts(
    State(state): State<AppState>,
    Supervisor(_): Supervisor,
) -> ApiResult<Response> {
    let items = stored(state.data_dir()).await?;
    Ok(axum::Json(serde_json::json!({ "items": items })).into_response())
}

/// Stores (or replaces) a prompt from an `audio/wav` body.
async fn put_prompt(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    check_name(&name)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !matches!(
        essence.to_ascii_lowercase().as_str(),
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave"
    ) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the prompt as audio/wav",
        )
        .field("content-type"));
    }
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("a prompt may be at most {} MiB", MAX_PROMPT_BODY >> 20),
            )
            .field("body")
        } else {
            crate::json::body_rejection(r.status(), r.body_text())
        }
    })?;
    let info = store_prompt(state.data_dir(), &name, &body).await?;
    Ok(axum::Json(info).into_response())
}

/// Checks a prompt (name and WAV format, errors naming `name` or `body`) and stores it under
/// `data_dir`, replacing one of the same name. Also used by `ringbase demo`.
pub async fn store_prompt(data_dir: &FsPath, name: &str, wav: &[u8]) -> ApiResult<PromptInfo> {
    check_name(name)?;
    let (sample_rate, duration_ms) =
        inspect(wav).map_err(|message| ApiError::invalid("body", message))?;
    let dir = data_dir.join(DIR);
    // A temp name of its own per upload: two uploads of one name at once must not write
    // into the same file (the last rename wins, whole).
    let tmp = dir.join(format!(".{name}.{:016x}.wav.part", rand::random::<u64>()));
    let write = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(&tmp, wav).await?;
        // Rename is atomic: a call playing the prompt never reads half a file.
        tokio::fs::rename(&tmp, dir.join(format!("{name}.wav"))).await
    };
    write.await.map_err(ApiError::internal)?;
    tracing::info!(prompt = %name, duration_ms, "prompt stored");
    Ok(PromptInfo {
        name: name.to_owned(),
        duration_ms,
        sample_rate,
        size_bytes: wav.len() as u64,
    })
}

async fn prompt_audio(
    State(state): State<AppState>,
    Supervisor(_): Supervisor,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    check_name(&name)?;
    let bytes = tokio::fs::read(file_of(&state, &name))
        .await
        .map_err(|_| ApiError::not_found("prompt"))?;
    Ok(([(header::CONTENT_TYPE, "audio/wav")], bytes).into_response())
}

async fn delete_prompt(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    check_name(&name)?;
    match tokio::fs::remove_file(file_of(&state, &name)).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::not_found("prompt")),
        Err(e) => Err(ApiError::internal(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn names() {
        for ok in ["welcome", "out-of-hours", "ivr_main_2", "A1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_NAME + 1);
        for bad in [
            "",
            "..",
            "a.wav",
            "a/b",
            "-x",
            "_x",
            "grüße",
            "a b",
            long.as_str(),
        ] {
            assert_eq!(
                check_name(bad).unwrap_err().field.as_deref(),
                Some("name"),
                "{bad}"
            );
        }
    }

    #[test]
    fn formats() {
        assert_eq!(inspect(&wav(1, 8000, 16, 4000)), Ok((8000, 500)));
        assert_eq!(inspect(&wav(1, 16000, 16, 16000)), Ok((16000, 1000)));
        assert!(inspect(&wav(2, 8000, 16, 100))
            .unwrap_err()
            .contains("mono"));
        assert!(inspect(&wav(1, 44100, 16, 100))
            .unwrap_err()
            .contains("44100"));
        assert!(inspect(&wav(1, 8000, 8, 100))
            .unwrap_err()
            .contains("16-bit"));
        assert!(inspect(&wav(1, 8000, 16, 0))
            .unwrap_err()
            .contains("no samples"));
        assert!(inspect(b"RIFF....WAVEjunk").is_err());
        let mut cut = wav(1, 8000, 16, 4000);
        cut.truncate(cut.len() - 100);
        assert!(inspect(&cut).unwrap_err().contains("damaged"));
    }
}
