//! The mock's HTTP API (a DSP's custom REST delivery API, delivery notes §5), under
//! `/{dsp}`:
//!
//! - `HEAD /uploads/{key}/{path}` → `Upload-Offset`: bytes held of a file (0 when none);
//! - `PATCH /uploads/{key}/{path}` with `Upload-Offset` → appends the body there (409 and
//!   the held offset when they differ): a dropped upload resumes where it stopped;
//! - `POST /messages` with `Idempotency-Key: {key}` → validates and ingests the message
//!   against the files uploaded under that key; 202 with a receipt. The same key again
//!   answers the same receipt without a second effect. 400 when the message is refused;
//! - `GET /acks/{message_id}` → the acknowledgements written for it, as JSON
//!   `[{"name", "document"}]`;
//! - `GET /catalog` → what the DSP has live;
//! - `GET /{folder}` (the profile's `[sales_reports] folder`) → the sales report files
//!   there, as JSON `[{"name", "size"}]`; `GET /{folder}/{name}` → one of them.
//!
//! Every request needs `Authorization: Bearer {token}`.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinHandle;

use crate::keys::Keys;
use crate::{Dsp, DspError};

/// (host, port, path) of an `http://host:port/path` URL.
pub fn split_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.parse().ok()?),
        None => (hostport.to_owned(), 80),
    };
    Some((host, port, format!("/{path}")))
}

#[derive(Clone)]
struct Shared {
    dsps: Vec<(Arc<Dsp>, String)>,
}

impl Shared {
    fn find(&self, name: &str) -> Option<(Arc<Dsp>, String)> {
        self.dsps
            .iter()
            .find(|(d, _)| d.name() == name)
            .map(|(d, t)| (Arc::clone(d), t.clone()))
    }
}

fn answer(code: StatusCode, text: impl Into<String>) -> Response {
    (code, text.into()).into_response()
}

/// Authentication and the 503 fault, before anything else.
fn gate(shared: &Shared, dsp: &str, headers: &HeaderMap) -> Result<Arc<Dsp>, Box<Response>> {
    let Some((d, token)) = shared.find(dsp) else {
        return Err(Box::new(answer(
            StatusCode::NOT_FOUND,
            format!("no DSP {dsp:?} here"),
        )));
    };
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given != Some(token.as_str()) {
        return Err(Box::new(answer(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token",
        )));
    }
    if let Some(n) = d.faults.http_503_every.filter(|n| *n > 0) {
        let k = {
            let mut c = d
                .counters
                .lock()
                .map_err(|_| Box::new(answer(StatusCode::INTERNAL_SERVER_ERROR, "lock")))?;
            c.http_requests += 1;
            if c.http_requests % n == 0 {
                c.http_503s += 1;
            }
            c.http_requests
        };
        if k % n == 0 {
            return Err(Box::new(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("retry-after", d.faults.retry_after_secs.to_string())],
                    "busy (fault injection)",
                )
                    .into_response(),
            ));
        }
    }
    Ok(d)
}

fn upload_path(d: &Dsp, key: &str, path: &str) -> Result<PathBuf, Box<Response>> {
    let mut out = d.dir.join("http").join("uploads");
    for part in [key, path] {
        for c in Path::new(part).components() {
            match c {
                Component::Normal(s) => out.push(s),
                Component::CurDir => {}
                _ => {
                    return Err(Box::new(answer(
                        StatusCode::BAD_REQUEST,
                        format!("path {part:?} is not allowed"),
                    )));
                }
            }
        }
    }
    Ok(out)
}

async fn head_upload(
    State(s): State<Shared>,
    UrlPath((dsp, key, path)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let d = match gate(&s, &dsp, &headers) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let p = match upload_path(&d, &key, &path) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let held = tokio::fs::metadata(&p).await.map(|m| m.len()).unwrap_or(0);
    (StatusCode::OK, [("upload-offset", held.to_string())]).into_response()
}

async fn patch_upload(
    State(s): State<Shared>,
    UrlPath((dsp, key, path)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let d = match gate(&s, &dsp, &headers) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let p = match upload_path(&d, &key, &path) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let Some(offset) = headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return answer(StatusCode::BAD_REQUEST, "Upload-Offset is required");
    };
    if let Some(parent) = p.parent()
        && let Err(e) = tokio::fs::create_dir_all(parent).await
    {
        return answer(StatusCode::INSUFFICIENT_STORAGE, e.to_string());
    }
    let held = tokio::fs::metadata(&p).await.map(|m| m.len()).unwrap_or(0);
    if held != offset {
        return (
            StatusCode::CONFLICT,
            [("upload-offset", held.to_string())],
            format!("the DSP holds {held} bytes, not {offset}"),
        )
            .into_response();
    }
    let mut f = match tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .await
    {
        Ok(f) => f,
        Err(e) => return answer(StatusCode::INSUFFICIENT_STORAGE, e.to_string()),
    };
    let cut = d.faults.http_cut_after_bytes.filter(|_| {
        d.counters
            .lock()
            .map(|mut c| {
                let go = d.faults.http_cuts == 0 || c.http_cuts_done < d.faults.http_cuts;
                if go {
                    c.http_cuts_done += 1;
                }
                go
            })
            .unwrap_or(false)
    });
    let mut got = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            // The client went away: what arrived stays, for a resume.
            let _ = f.flush().await;
            return answer(StatusCode::BAD_REQUEST, "the upload was cut");
        };
        let mut data = &chunk[..];
        if let Some(limit) = cut
            && got + data.len() as u64 > limit
        {
            data = &data[..(limit.saturating_sub(got)) as usize];
            let _ = f.write_all(data).await;
            let _ = f.flush().await;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", d.faults.retry_after_secs.to_string())],
                "connection cut mid-upload (fault injection)",
            )
                .into_response();
        }
        if let Some(rate) = d.faults.slow_bytes_per_sec.filter(|r| *r > 0) {
            tokio::time::sleep(Duration::from_secs_f64(data.len() as f64 / rate as f64)).await;
        }
        if let Err(e) = f.write_all(data).await {
            return answer(StatusCode::INSUFFICIENT_STORAGE, e.to_string());
        }
        got += data.len() as u64;
    }
    if let Err(e) = f.flush().await {
        return answer(StatusCode::INSUFFICIENT_STORAGE, e.to_string());
    }
    (
        StatusCode::NO_CONTENT,
        [("upload-offset", (offset + got).to_string())],
    )
        .into_response()
}

async fn post_message(
    State(s): State<Shared>,
    UrlPath(dsp): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let d = match gate(&s, &dsp, &headers) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && !k.contains('/') && !k.contains(".."))
        .map(str::to_owned)
    else {
        return answer(StatusCode::BAD_REQUEST, "Idempotency-Key is required");
    };
    if let Some(r) = d.state().receipts.get(&key) {
        return (StatusCode::OK, axum::Json(r.clone())).into_response();
    }
    let base = d.dir.join("http").join("uploads").join(&key);
    let dd = Arc::clone(&d);
    let Ok(ingested) = tokio::task::spawn_blocking(move || dd.ingest(&body, &base)).await else {
        return answer(StatusCode::INTERNAL_SERVER_ERROR, "ingest failed");
    };
    let accepted = ingested.ack.status == "FileOK";
    let receipt = serde_json::json!({
        "receipt": format!("{}-{}", d.name(), key),
        "message_id": ingested.message_id,
        "status": ingested.ack.status,
        "error": ingested.ack.error_text,
    });
    if let Ok(mut st) = d.state.lock() {
        st.receipts.insert(key, receipt.clone());
        st.processed.insert(format!("http:{}", ingested.message_id));
        d.save(&st);
    }
    let acks = d.dir.join("http").join("acks");
    d.acknowledge(ingested, acks);
    let code = if accepted {
        StatusCode::ACCEPTED
    } else {
        StatusCode::BAD_REQUEST
    };
    (code, axum::Json(receipt)).into_response()
}

async fn get_acks(
    State(s): State<Shared>,
    UrlPath((dsp, message_id)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let d = match gate(&s, &dsp, &headers) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let dir = d.dir.join("http").join("acks");
    let prefix = format!("ACK_{message_id}_");
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        let mut names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix) && n.ends_with(".xml"))
            .collect();
        names.sort();
        for n in names {
            if let Ok(doc) = std::fs::read_to_string(dir.join(&n)) {
                out.push(serde_json::json!({ "name": n, "document": doc }));
            }
        }
    }
    axum::Json(out).into_response()
}

async fn get_catalog(
    State(s): State<Shared>,
    UrlPath(dsp): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    match gate(&s, &dsp, &headers) {
        Ok(d) => axum::Json(d.state().catalog).into_response(),
        Err(r) => *r,
    }
}

/// The DSP's reports folder, when the request is authorised and names it.
fn reports_dir(
    s: &Shared,
    dsp: &str,
    folder: &str,
    headers: &HeaderMap,
) -> Result<PathBuf, Box<Response>> {
    let d = gate(s, dsp, headers)?;
    if folder != d.profile.sales_reports.folder {
        return Err(Box::new(answer(
            StatusCode::NOT_FOUND,
            format!("no folder {folder:?}"),
        )));
    }
    Ok(d.jail().join(&d.profile.sales_reports.folder))
}

async fn list_reports(
    State(s): State<Shared>,
    UrlPath((dsp, folder)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let dir = match reports_dir(&s, &dsp, &folder, &headers) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let mut out: Vec<(String, u64)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| {
                    let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                    (e.file_name().to_string_lossy().into_owned(), size)
                })
                .filter(|(n, _)| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    axum::Json(
        out.into_iter()
            .map(|(name, size)| serde_json::json!({ "name": name, "size": size }))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn get_report(
    State(s): State<Shared>,
    UrlPath((dsp, folder, name)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let dir = match reports_dir(&s, &dsp, &folder, &headers) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    // One plain file name: no way out of the reports folder.
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
        return answer(StatusCode::BAD_REQUEST, format!("bad report name {name:?}"));
    }
    let path = dir.join(&name);
    match tokio::fs::read(&path).await {
        Ok(bytes) => (StatusCode::OK, bytes).into_response(),
        Err(_) => answer(StatusCode::NOT_FOUND, format!("no report {name:?}")),
    }
}

/// Serves the HTTP DSPs that share `host:port`.
pub async fn serve(
    group: Vec<Arc<Dsp>>,
    host: &str,
    port: u16,
    keys: &Keys,
) -> Result<JoinHandle<()>, DspError> {
    let mut dsps = Vec::new();
    for d in group {
        let token = keys.token(d.name())?;
        dsps.push((d, token));
    }
    let app = Router::new()
        .route(
            "/{dsp}/uploads/{key}/{*path}",
            axum::routing::head(head_upload).patch(patch_upload),
        )
        .route("/{dsp}/messages", post(post_message))
        .route("/{dsp}/acks/{message_id}", get(get_acks))
        .route("/{dsp}/catalog", get(get_catalog))
        .route("/{dsp}/{folder}", get(list_reports))
        .route("/{dsp}/{folder}/{name}", get(get_report))
        .with_state(Shared { dsps });
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|e| DspError::Io(format!("HTTP on {host}:{port}: {e}")))?;
    tracing::info!("HTTP on {host}:{port}");
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("HTTP server: {e}");
        }
    }))
}
