//! Saved reports (premium): every CSV export a premium account makes is kept, listed on the
//! reports page and downloadable again through an authorised route until it expires (30 days
//! by default). Files go to a folder under the data folder, or to an S3-compatible bucket when
//! one is configured; both through the `object_store` crate, so the code is one.

use super::auth::CurrentSession;
use super::db::{self, Db};
use super::{AppState, now_ms};
use crate::models::AppError;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use object_store::path::Path as Key;
use object_store::{GetOptions, ObjectStore, PutOptions, PutPayload};
use std::sync::Arc;
use std::time::Duration;

/// Where saved reports are kept: `HUDDLE_REPORTS_BUCKET` and friends, or a folder.
#[derive(Clone, Debug)]
pub enum StoreConfig {
    Folder(std::path::PathBuf),
    S3 { bucket: String, endpoint: Option<String>, region: String, access_key_id: String, secret_access_key: String },
}

pub struct SavedReports {
    store: Arc<dyn ObjectStore>,
    /// How long a report is kept.
    pub keep: Duration,
}

/// A report larger than this is not kept (it still downloads as usual).
pub const MAX_SIZE: usize = 20 * 1024 * 1024;
/// Reports listed.
pub const LISTED: i64 = 100;
/// How often expired reports are removed.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

impl SavedReports {
    pub fn new(config: &StoreConfig, keep: Duration) -> Result<Self, String> {
        let store: Arc<dyn ObjectStore> = match config {
            StoreConfig::Folder(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
                Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|e| e.to_string())?)
            }
            StoreConfig::S3 { bucket, endpoint, region, access_key_id, secret_access_key } => {
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key);
                if let Some(endpoint) = endpoint {
                    // A self-hosted S3 (MinIO, Garage, moto): path-style URLs, plain HTTP allowed.
                    builder = builder.with_endpoint(endpoint).with_allow_http(true).with_virtual_hosted_style_request(false);
                }
                Arc::new(builder.build().map_err(|e| e.to_string())?)
            }
        };
        Ok(Self { store, keep })
    }

    /// Keeps a finished export of `user_id`.
    pub async fn save(&self, db: &Db, user_id: i64, file_name: &str, description: &str, rows: i64, body: Vec<u8>) {
        let key = format!("reports/{user_id}/{}.csv", super::signing::random_token(16));
        let size = body.len() as i64;
        if let Err(e) = self.store.put_opts(&Key::from(key.as_str()), PutPayload::from(body), PutOptions::default()).await {
            tracing::error!(error = %e, user_id, "cannot keep a saved report");
            return;
        }
        let now = now_ms();
        let report = db::saved_reports::NewReport {
            user_id,
            object_key: &key,
            file_name,
            description,
            rows,
            size,
            created_at: now,
            expires_at: now + self.keep.as_millis() as i64,
        };
        if let Err(e) = db::saved_reports::insert(db, &report).await {
            tracing::error!(error = %e, user_id, "cannot record a saved report");
            let _ = self.delete(&key).await;
        }
    }

    /// Removes the reports that expired, rows first (a download never finds a row without its
    /// file); a file whose delete fails is logged and left.
    pub async fn sweep(&self, db: &Db, now: i64) -> Result<usize, sqlx::Error> {
        let keys = db::saved_reports::remove_expired(db, now).await?;
        for key in &keys {
            if let Err(e) = self.delete(key).await
                && !matches!(e, object_store::Error::NotFound { .. })
            {
                tracing::warn!(error = %e, key, "cannot delete an expired report");
            }
        }
        Ok(keys.len())
    }

    /// Whether the store has `key` (for tests and checks).
    pub async fn has(&self, key: &str) -> bool {
        self.store.get_opts(&Key::from(key), GetOptions::new().with_head(true)).await.is_ok()
    }

    async fn read(&self, key: &str) -> Result<axum::body::Bytes, object_store::Error> {
        self.store.get_opts(&Key::from(key), GetOptions::default()).await?.bytes().await
    }

    /// The core trait's own delete (a stream of one): its future is `Send`, which the extension
    /// trait's is not known to be.
    async fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        use futures::{StreamExt, TryStreamExt};
        let one = futures::stream::once(futures::future::ready(Ok(Key::from(key)))).boxed();
        self.store.delete_stream(one).try_next().await.map(drop)
    }
}

/// Removes expired reports now and then, for as long as the server runs.
pub fn spawn_sweeper(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            if let Err(e) = state.saved_reports.sweep(&state.db, now_ms()).await {
                tracing::error!(error = %e, "cannot remove expired reports");
            }
        }
    });
}

/// The user's saved reports (premium only; `None` otherwise).
pub async fn list(state: &AppState, user_id: i64) -> Result<Option<Vec<crate::models::premium::SavedReport>>, AppError> {
    let user = db::users::by_id(&state.db, user_id).await?.ok_or(AppError::Unauthorized)?;
    if user.premium_since.is_none() {
        return Ok(None);
    }
    let rows = db::saved_reports::live_for_user(&state.db, user_id, now_ms(), LISTED).await?;
    Ok(Some(
        rows.into_iter()
            .map(|r| crate::models::premium::SavedReport {
                id: r.id,
                description: r.description,
                file_name: r.file_name,
                rows: r.rows,
                size: r.size,
                created_at: r.created_at,
                expires_at: r.expires_at,
            })
            .collect(),
    ))
}

/// `GET /reports/saved/{id}`: a saved report of the signed-in user; anyone else's, like an
/// unknown one, is not found; an expired one is gone (410).
pub async fn download(State(state): State<AppState>, session: Option<Extension<CurrentSession>>, Path(id): Path<String>) -> Response {
    let Some(Extension(session)) = session else {
        return (StatusCode::UNAUTHORIZED, "Please sign in first.").into_response();
    };
    let Ok(id) = id.trim_end_matches(".csv").parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "Not found.").into_response();
    };
    let report = match db::saved_reports::own(&state.db, session.user_id, id).await {
        Ok(Some(r)) => r,
        Ok(None) => return (StatusCode::NOT_FOUND, "Not found.").into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, AppError::from(e).to_string()).into_response(),
    };
    if report.expires_at <= now_ms() {
        return (StatusCode::GONE, "This report has expired. Export it again from the reports page.").into_response();
    }
    let body = match state.saved_reports.read(&report.object_key).await {
        Ok(bytes) => bytes,
        Err(e) => return stored_error(e),
    };
    super::export::csv_attachment(body, &report.file_name)
}

fn stored_error(e: object_store::Error) -> Response {
    tracing::error!(error = %e, "cannot read a saved report");
    (StatusCode::INTERNAL_SERVER_ERROR, AppError::Internal.to_string()).into_response()
}
