//! Chat over HTTP: the chat home, a room's page and history, room management, and posting a
//! message from a plain form (the live path is the WebSocket at `/ws`).

use crate::models::AppError;
use crate::models::chat::{RoomList, RoomView};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    models::Username,
    models::chat::{Member, RoomKind, RoomName, RoomTopic},
    server::{AppState, ctx, db, hub, now_ms},
};

/// Messages per page of history.
pub const HISTORY_PAGE: i64 = 50;

/// The user's rooms and conversations, most recent first.
#[server(endpoint = "chat_home")]
pub async fn chat_home() -> Result<RoomList, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let mut rooms = db::chat::summaries(&state.db, s.user_id).await?;
        let peers: Vec<i64> = rooms.iter().filter_map(|r| r.peer_id).collect();
        let online = state.hub.online(&peers);
        for r in &mut rooms {
            r.peer_online = r.peer_id.is_some_and(|p| online.contains(&p));
        }
        Ok(RoomList { rooms, utc_offset_minutes: viewer_offset(&state, s.user_id).await? })
    })
    .await
}

/// One room: its members and the newest messages, or the page before message `before`.
/// Opening the newest page marks the room read.
#[server(endpoint = "chat_room")]
pub async fn chat_room(room: i64, before: Option<i64>) -> Result<RoomView, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let row = db::chat::room(&state.db, room).await?.ok_or(AppError::NotFound)?;
        let mut members = db::chat::members(&state.db, room).await?;
        let is_member = members.iter().any(|m| m.user_id == s.user_id);
        if !is_member && row.kind() == RoomKind::Direct {
            return Err(AppError::NotFound);
        }
        if !is_member {
            // Someone with the link sees what they are joining, not who is in it.
            members.clear();
        }
        mark_online(&state, &mut members);
        let mut messages = Vec::new();
        if is_member {
            messages = db::chat::history(&state.db, room, before, HISTORY_PAGE + 1).await?;
        }
        let has_older = messages.len() as i64 > HISTORY_PAGE;
        if has_older {
            messages.remove(0);
        }
        if is_member && before.is_none() && row.last_seq > 0 {
            let mark = hub::mark_read(&state.db, &state.hub, s.user_id, room, row.last_seq).await?;
            if let Some(me) = members.iter_mut().find(|m| m.user_id == s.user_id) {
                me.last_read_seq = mark;
            }
        }
        let title = title_for(&row, &members, s.user_id);
        Ok(RoomView {
            id: row.id,
            kind: row.kind(),
            title,
            topic: row.topic,
            created_by: row.created_by,
            is_member,
            members,
            messages,
            has_older,
            cursor: row.last_change,
            last_seq: row.last_seq,
            utc_offset_minutes: viewer_offset(&state, s.user_id).await?,
        })
    })
    .await
}

#[cfg(feature = "ssr")]
async fn viewer_offset(state: &AppState, user: i64) -> Result<i32, AppError> {
    let user = db::users::by_id(&state.db, user).await?.ok_or(AppError::Unauthorized)?;
    Ok(crate::server::clock::offset_minutes_now(&user.time_zone))
}

#[cfg(feature = "ssr")]
fn mark_online(state: &AppState, members: &mut [Member]) {
    let ids: Vec<i64> = members.iter().map(|m| m.user_id).collect();
    let online = state.hub.online(&ids);
    for m in members {
        m.online = online.contains(&m.user_id);
    }
}

#[cfg(feature = "ssr")]
fn title_for(row: &db::chat::RoomRow, members: &[Member], me: i64) -> String {
    match row.kind() {
        RoomKind::Group => row.name.clone(),
        RoomKind::Direct => members.iter().find(|m| m.user_id != me).map_or_else(|| "Just you".into(), |m| m.name.clone()),
    }
}

/// Creates a group room and opens it.
#[server(endpoint = "create_room")]
pub async fn create_room(name: String, topic: String) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let (name, topic) = (RoomName::parse(&name)?, RoomTopic::parse(&topic)?);
        let id = db::chat::create_group(&state.db, s.user_id, name.as_str(), topic.as_str(), now_ms()).await?;
        state.hub.member_joined(id, s.user_id);
        leptos_axum::redirect(&format!("/chat/{id}"));
        Ok(id)
    })
    .await
}

/// The room id in `42` or an invite link like `https://huddle.example/chat/42`.
#[cfg(feature = "ssr")]
fn room_id_of(input: &str) -> Result<i64, AppError> {
    let last = input.trim().trim_end_matches('/').rsplit('/').next().unwrap_or("");
    last.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| AppError::Validation {
        field: "room".into(),
        message: "Enter a room number or an invite link.".into(),
    })
}

/// Joins a group room by its id or invite link, then opens it.
#[server(endpoint = "join_room")]
pub async fn join_room(room: String) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let id = room_id_of(&room)?;
        let not_found = || AppError::Validation { field: "room".into(), message: "There is no room with that number.".into() };
        let row = db::chat::room(&state.db, id).await?.ok_or_else(not_found)?;
        if row.kind() != RoomKind::Group {
            return Err(not_found());
        }
        if db::chat::join(&state.db, id, s.user_id, now_ms()).await? {
            state.hub.member_joined(id, s.user_id);
        }
        leptos_axum::redirect(&format!("/chat/{id}"));
        Ok(id)
    })
    .await
}

/// Leaves a group room.
#[server(endpoint = "leave_room")]
pub async fn leave_room(room: i64) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let row = db::chat::room(&state.db, room).await?.ok_or(AppError::NotFound)?;
        if row.kind() != RoomKind::Group {
            return Err(AppError::Forbidden);
        }
        if db::chat::remove_member(&state.db, room, s.user_id).await? {
            state.hub.member_left(room, s.user_id);
        }
        leptos_axum::redirect("/chat");
        Ok(())
    })
    .await
}

/// Renames a group room; only its creator may.
#[server(endpoint = "rename_room")]
pub async fn rename_room(room: i64, name: String, topic: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let (name, topic) = (RoomName::parse(&name)?, RoomTopic::parse(&topic)?);
        if !db::chat::rename(&state.db, room, s.user_id, name.as_str(), topic.as_str()).await? {
            return Err(AppError::Forbidden);
        }
        state.hub.publish(hub::Topic::Room(room), &crate::models::ws::ServerMsg::RoomChanged { room });
        Ok(())
    })
    .await
}

/// Removes a member from a group room; only its creator may, and not themself.
#[server(endpoint = "remove_member")]
pub async fn remove_member(room: i64, user_id: i64) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let row = db::chat::room(&state.db, room).await?.ok_or(AppError::NotFound)?;
        if row.kind() != RoomKind::Group || row.created_by != s.user_id || user_id == s.user_id {
            return Err(AppError::Forbidden);
        }
        if db::chat::remove_member(&state.db, room, user_id).await? {
            state.hub.member_left(room, user_id);
        }
        Ok(())
    })
    .await
}

/// Opens the direct conversation with `username`, starting it if needed.
#[server(endpoint = "start_direct")]
pub async fn start_direct(username: String) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let name = Username::parse(&username)?;
        let unknown = || AppError::Validation { field: "username".into(), message: "Nobody has that username.".into() };
        let other = db::users::by_username_key(&state.db, &name.key()).await?.ok_or_else(unknown)?;
        if other.id == s.user_id {
            return Err(AppError::Validation { field: "username".into(), message: "That is you.".into() });
        }
        let existed = direct_exists(&state, s.user_id, other.id).await?;
        let id = db::chat::direct_room(&state.db, s.user_id, other.id, now_ms()).await?;
        if !existed {
            state.hub.member_joined(id, s.user_id);
            state.hub.member_joined(id, other.id);
        }
        leptos_axum::redirect(&format!("/chat/{id}"));
        Ok(id)
    })
    .await
}

#[cfg(feature = "ssr")]
async fn direct_exists(state: &AppState, a: i64, b: i64) -> Result<bool, AppError> {
    Ok(db::chat::find_direct(&state.db, a, b).await?.is_some())
}

/// Posts a message from a plain form (without JavaScript), then shows the room again.
/// `client_id` may be left out: the server then makes one.
#[server(endpoint = "post_message")]
pub async fn post_message(room: i64, body: String, client_id: Option<String>) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let client_id = client_id.filter(|c| !c.is_empty()).unwrap_or_else(random_uuid);
        let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
        let sent = hub::send(&state.hub, user.id, &user.name, room, &client_id, &body).await?;
        leptos_axum::redirect(&format!("/chat/{room}"));
        Ok(sent.message().id)
    })
    .await
}

/// A random (version 4) UUID.
#[cfg(feature = "ssr")]
fn random_uuid() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}
