//! Who is signed in: the layer that reads the token cookies on every request, renews an
//! expired access token from the refresh token, and starts and ends logins.

use super::cookies::{self, ACCESS, REFRESH};
use super::tokens::{self, RefreshDecision};
use crate::server::hub::Logins;
use crate::server::{AppState, db, now_ms};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{AUTHORIZATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue};

/// The signed-in user and login of the current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentSession {
    pub user_id: i64,
    pub session_id: i64,
}

/// Axum middleware: puts a [`CurrentSession`] into the request's extensions when the request
/// carries a valid access token, or a valid refresh token (then rotated, new cookies set).
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let (session, set_cookies) = resolve(&state, req.headers()).await;
    if let Some(s) = session {
        req.extensions_mut().insert(s);
    }
    let mut res = next.run(req).await;
    // A handler that set the session cookies itself (login, logout) has the last word.
    let handler_set_session = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(b"huddle_"));
    if !handler_set_session {
        for c in set_cookies.into_iter().filter_map(|c| HeaderValue::try_from(c).ok()) {
            res.headers_mut().append(SET_COOKIE, c);
        }
    }
    res
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

/// When the access token a request carries expires (seconds since the epoch), if it is valid.
pub fn access_expiry(state: &AppState, headers: &HeaderMap) -> Option<i64> {
    let token = bearer(headers).or_else(|| cookies::read(headers, ACCESS))?;
    tokens::verify_access_claims(&state.auth.jwt_secret, token).map(|c| c.exp)
}

async fn resolve(state: &AppState, headers: &HeaderMap) -> (Option<CurrentSession>, Vec<String>) {
    let access = bearer(headers).or_else(|| cookies::read(headers, ACCESS));
    let valid = access.and_then(|t| tokens::verify_access(&state.auth.jwt_secret, t));
    // A token of a login that has ended is refused even though it has not expired.
    if let Some((user_id, session_id)) = valid.filter(|&(_, login)| !state.revoked.contains(login, now_ms())) {
        return (Some(CurrentSession { user_id, session_id }), Vec::new());
    }
    let Some(presented) = cookies::read(headers, REFRESH).filter(|t| !t.is_empty()) else {
        return (None, Vec::new());
    };
    match renew(state, presented).await {
        Ok(Renewal::Renewed(session, set)) => (Some(session), set.to_vec()),
        Ok(Renewal::Kept(session)) => (Some(session), Vec::new()),
        Ok(Renewal::SignedOut) => (None, cookies::clear_pair(&state.auth).to_vec()),
        Err(e) => {
            // The database is unreachable: keep the cookies, the next request may succeed.
            tracing::error!(error = %e, "refresh failed");
            (None, Vec::new())
        }
    }
}

/// The outcome of presenting a refresh token.
pub enum Renewal {
    /// Rotated: the new cookies to set.
    Renewed(CurrentSession, [String; 2]),
    /// Accepted within the rotation grace; the cookies stay as they are.
    Kept(CurrentSession),
    /// Invalid, expired, revoked, or reused (then its whole login was revoked).
    SignedOut,
}

/// Exchanges a refresh token per [`tokens::decide`].
#[tracing::instrument(skip_all)]
pub async fn renew(state: &AppState, presented: &str) -> Result<Renewal, sqlx::Error> {
    let now = now_ms();
    let old_hash = tokens::hash_refresh_token(presented);
    let record = db::sessions::find_token(&state.db, &old_hash).await?;
    match tokens::decide(record.as_ref(), now) {
        RefreshDecision::Reject => Ok(Renewal::SignedOut),
        RefreshDecision::Reuse { user_id, session_id } => {
            tracing::warn!(user_id, session_id, "refresh token reused: revoking its login");
            end_logins(state, user_id, Logins::One(session_id)).await?;
            Ok(Renewal::SignedOut)
        }
        RefreshDecision::Grace { user_id, session_id } => Ok(Renewal::Kept(CurrentSession { user_id, session_id })),
        RefreshDecision::Rotate { user_id, session_id } => {
            let session = CurrentSession { user_id, session_id };
            let refresh = tokens::new_refresh_token();
            let new_hash = tokens::hash_refresh_token(&refresh);
            let expires = now + state.auth.refresh_ttl.as_millis() as i64;
            if !db::sessions::rotate(&state.db, session_id, &old_hash, &new_hash, now, expires).await? {
                return Ok(Renewal::Kept(session));
            }
            Ok(Renewal::Renewed(session, cookie_pair(state, session, &refresh, now)))
        }
    }
}

fn cookie_pair(state: &AppState, s: CurrentSession, refresh: &str, now_ms: i64) -> [String; 2] {
    let ttl = state.auth.access_ttl.as_secs() as i64;
    let access = tokens::issue_access(&state.auth.jwt_secret, s.user_id, s.session_id, now_ms / 1000, ttl);
    cookies::set_pair(&state.auth, &access, refresh)
}

/// Starts a new login for `user_id`: stores its first refresh token and returns the cookies.
pub async fn start_login(
    state: &AppState,
    user_id: i64,
    user_agent: &str,
) -> Result<(CurrentSession, [String; 2]), sqlx::Error> {
    let now = now_ms();
    let refresh = tokens::new_refresh_token();
    let expires = now + state.auth.refresh_ttl.as_millis() as i64;
    let hash = tokens::hash_refresh_token(&refresh);
    let session_id = db::sessions::start(&state.db, user_id, user_agent, &hash, now, expires).await?;
    let session = CurrentSession { user_id, session_id };
    Ok((session, cookie_pair(state, session, &refresh, now)))
}

/// Ends logins of `user_id`: in the database, for the access tokens already issued to them,
/// and for their open sockets. False when `Logins::One` named no active login of the user.
pub async fn end_logins(state: &AppState, user_id: i64, which: Logins) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let ended = match which {
        Logins::One(id) if db::sessions::revoke(&state.db, user_id, id, now).await? => vec![id],
        Logins::One(_) => return Ok(false),
        Logins::AllBut(keep) => db::sessions::revoke_all(&state.db, user_id, keep, now).await?,
    };
    logins_ended(state, user_id, &ended, which, now);
    Ok(true)
}

/// After logins were ended in the database (`ended`, at `now`): their access tokens stop
/// working and their sockets close.
pub fn logins_ended(state: &AppState, user_id: i64, ended: &[i64], which: Logins, now: i64) {
    state.revoked.add(ended, now, state.auth.access_ttl.as_millis() as i64);
    // The other nodes refuse them too.
    state.hub.fanout().logins_ended(ended, now);
    state.hub.signed_out(user_id, which);
}
