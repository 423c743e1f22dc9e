//! Meetings over HTTP: start one (on its own or from a room), find one by code, its page and the
//! user's history. The call itself runs over the WebSocket (`call_*` frames).

use crate::models::AppError;
use crate::models::meeting::MeetingRecord;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::{
    models::chat::RoomKind,
    models::meeting::{MeetingCode, MeetingInfo},
    server::{AppState, access, ctx, db, now_ms},
};

/// Meetings listed in the history.
pub const HISTORY_LIMIT: i64 = 50;

/// What the meeting page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingView {
    /// The meeting; its stints only for those who may see who came (see `access::meeting`).
    pub record: MeetingRecord,
    /// Why the viewer cannot join now (ended, locked), if they cannot.
    pub closed: Option<String>,
    /// The call's chat, when the viewer may read and post in it (a member of its room).
    pub chat: Option<crate::models::chat::RoomView>,
    /// Who is in the call now (shown before joining).
    pub in_call: Vec<String>,
    pub now: i64,
}

#[cfg(feature = "ssr")]
fn info_of(state: &AppState, row: &db::meetings::MeetingRow) -> MeetingInfo {
    let room_name = (RoomKind::from_db(&row.room_kind) != RoomKind::Meeting).then(|| row.room_name.clone());
    MeetingInfo {
        id: row.id,
        code: row.code.clone(),
        room: row.room_id,
        room_name,
        host_id: row.host_id,
        host_name: row.host_name.clone(),
        created_at: row.created_at,
        started_at: row.started_at,
        ended_at: row.ended_at,
        locked: row.locked != 0,
        url: format!("{}/meetings/{}", ctx::site_origin(state), row.code),
    }
}

/// Draws codes until one is free (a clash is a 1 in 10^14 event; three tries are plenty).
#[cfg(feature = "ssr")]
async fn create(state: &AppState, user: i64, room: Option<i64>) -> Result<MeetingCode, AppError> {
    use rand::RngCore;
    for _ in 0..3 {
        let mut bytes = [0u8; 10];
        rand::rng().fill_bytes(&mut bytes);
        let code = MeetingCode::from_random(bytes);
        let created = match room {
            Some(room) => db::meetings::create_in_room(&state.db, &code, room, user, now_ms()).await?,
            None => db::meetings::create_by_code(&state.db, &code, user, now_ms()).await?,
        };
        if created.is_some() {
            return Ok(code);
        }
    }
    Err(AppError::Internal)
}

/// Starts a meeting and opens it. With `room`, the call of that room (its members only, its
/// chat the room's); a call already on there is joined instead of starting a second one.
#[server(endpoint = "start_meeting", output = crate::api::codec::Json)]
pub async fn start_meeting(room: Option<i64>) -> Result<String, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let code = match room {
            Some(room) => {
                let access = access::require(&state.db, room, s.user_id).await?;
                if !access.is_member() || access.room.kind() == RoomKind::Meeting {
                    return Err(AppError::NotFound);
                }
                match db::meetings::open_in_room(&state.db, room).await? {
                    Some(open) => MeetingCode::parse(&open.code).map_err(|_| AppError::Internal)?,
                    None => {
                        limit_starts(&state, s.user_id)?;
                        create(&state, s.user_id, Some(room)).await?
                    }
                }
            }
            None => {
                limit_starts(&state, s.user_id)?;
                create(&state, s.user_id, None).await?
            }
        };
        leptos_axum::redirect(&code.path());
        Ok(code.as_str().to_string())
    })
    .await
}

#[cfg(feature = "ssr")]
fn limit_starts(state: &AppState, user: i64) -> Result<(), AppError> {
    state.hub.calls.starts.check(&user).map_err(|wait| AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) })
}

/// Every lookup by code counts against the user's rate: codes are not to be guessed.
#[cfg(feature = "ssr")]
pub(crate) fn limit_lookups(state: &AppState, user: i64) -> Result<(), AppError> {
    state.hub.calls.lookups.check(&user).map_err(|wait| AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) })
}

/// Opens the meeting a code (or a pasted link) names.
#[server(endpoint = "find_meeting", output = crate::api::codec::Json)]
pub async fn find_meeting(code: String) -> Result<String, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        limit_lookups(&state, s.user_id)?;
        let code = MeetingCode::parse(&code)?;
        let no_meeting = || AppError::Validation { field: "code".into(), message: "There is no meeting with that code.".into() };
        access::meeting(&state.db, &code, s.user_id).await?.ok_or_else(no_meeting)?;
        leptos_axum::redirect(&code.path());
        Ok(code.as_str().to_string())
    })
    .await
}

/// One meeting: who came, for how long, and whether the viewer can join now.
#[server(endpoint = "meeting_page", output = crate::api::codec::Json)]
pub async fn meeting_page(code: String) -> Result<MeetingView, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        limit_lookups(&state, s.user_id)?;
        let code = MeetingCode::parse(&code).map_err(|_| AppError::NotFound)?;
        let access = access::meeting(&state.db, &code, s.user_id).await?.ok_or(AppError::NotFound)?;
        let sees_attendance = access.sees_attendance;
        let (row, mut stints) = db::meetings::record(&state.db, access.meeting).await?;
        if !sees_attendance {
            stints.clear();
        }
        let closed = if row.ended_at.is_some() {
            Some("This meeting has ended.".to_string())
        } else if row.locked != 0 && !access.is_host {
            Some("The host has locked this meeting: nobody new may join.".to_string())
        } else {
            None
        };
        let chat_member = access::room(&state.db, row.room_id, s.user_id).await?.is_some_and(|a| a.is_member());
        let chat = match chat_member {
            true => Some(crate::api::chat::chat_room(row.room_id, None).await?),
            false => None,
        };
        let in_call = db::meetings::people_in(&state.db, row.id).await?;
        Ok(MeetingView { record: MeetingRecord { meeting: info_of(&state, &row), stints }, closed, chat, in_call, now: now_ms() })
    })
    .await
}

/// Joins the chat of a meeting by code without joining the call (the page without
/// JavaScript offers it: a call needs JavaScript, its chat does not). Room calls need nothing:
/// their chat is the room's.
#[server(endpoint = "join_meeting_chat", output = crate::api::codec::Json)]
pub async fn join_meeting_chat(code: String) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        limit_lookups(&state, s.user_id)?;
        let code = MeetingCode::parse(&code).map_err(|_| AppError::NotFound)?;
        let access = access::meeting(&state.db, &code, s.user_id).await?.ok_or(AppError::NotFound)?;
        let m = access.meeting;
        if RoomKind::from_db(&m.room_kind) != RoomKind::Meeting {
            return Err(AppError::NotFound);
        }
        if m.ended_at.is_some() {
            return Err(AppError::Validation { field: "code".into(), message: "This meeting has ended: its chat is for those who took part.".into() });
        }
        if m.locked != 0 && !access.is_host {
            return Err(AppError::Validation { field: "code".into(), message: "The host has locked this meeting: nobody new may join.".into() });
        }
        if db::meetings::join_chat(&state.db, m.room_id, s.user_id, now_ms()).await? {
            state.hub.member_joined(m.room_id, s.user_id).await;
        }
        leptos_axum::redirect(&code.path());
        Ok(m.room_id)
    })
    .await
}

/// The meetings the user took part in, newest first, with everyone's time in each.
#[server(endpoint = "meeting_history", output = crate::api::codec::Json)]
pub async fn meeting_history() -> Result<(Vec<MeetingRecord>, i64), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let rows = db::meetings::history(&state.db, s.user_id, HISTORY_LIMIT).await?;
        let records = rows.into_iter().map(|(row, stints)| MeetingRecord { meeting: info_of(&state, &row), stints }).collect();
        Ok((records, now_ms()))
    })
    .await
}
