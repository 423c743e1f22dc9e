//! Chat over HTTP: the chat home, a room's page and history, room management, and posting a
//! message from a plain form (the live path is the WebSocket at `/ws`).

use crate::models::AppError;
use crate::models::chat::{InviteInfo, PublicRoom, RoomList, RoomView};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    models::Username,
    models::chat::{Member, RoomKind, RoomName, RoomTopic, Visibility},
    server::{AppState, access, ctx, db, hub, now_ms},
};

/// Messages per page of history.
pub const HISTORY_PAGE: i64 = 50;

/// The user's rooms and conversations, most recent first.
#[server(endpoint = "chat_home", output = crate::api::codec::Json)]
pub async fn chat_home() -> Result<RoomList, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let mut rooms = db::chat::summaries(&state.db, s.user_id).await?;
        let peers: Vec<i64> = rooms.iter().filter_map(|r| r.peer_id).collect();
        let online = state.hub.online(&peers);
        let ids: Vec<i64> = rooms.iter().map(|r| r.id).collect();
        let calls = db::meetings::rooms_with_calls(&state.db, &ids).await?;
        for r in &mut rooms {
            r.peer_online = r.peer_id.is_some_and(|p| online.contains(&p));
            r.call_on = calls.contains(&r.id);
        }
        Ok(RoomList { rooms, utc_offset_minutes: viewer_offset(&state, s.user_id).await? })
    })
    .await
}

/// One room: its members and the newest messages, or the page before message `before`.
/// Opening the newest page marks the room read. A room the viewer may not see is not found.
#[server(endpoint = "chat_room", output = crate::api::codec::Json)]
pub async fn chat_room(room: i64, before: Option<i64>) -> Result<RoomView, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let access = access::require(&state.db, room, s.user_id).await?;
        let is_member = access.is_member();
        let mut members = Vec::new();
        let mut messages = Vec::new();
        if is_member {
            // A visitor sees what they are joining, not who is in it or what was said.
            members = db::chat::members(&state.db, room).await?;
            mark_online(&state, &mut members);
            messages = db::chat::history(&state.db, room, before, HISTORY_PAGE + 1).await?;
        }
        let has_older = messages.len() as i64 > HISTORY_PAGE;
        if has_older {
            messages.remove(0);
        }
        let row = &access.room;
        let read_before = members.iter().find(|m| m.user_id == s.user_id).map_or(0, |m| m.last_read_seq);
        if is_member && before.is_none() && row.last_seq > 0 {
            let mark = hub::mark_read(&state.db, &state.hub, s.user_id, room, row.last_seq).await?;
            if let Some(me) = members.iter_mut().find(|m| m.user_id == s.user_id) {
                me.last_read_seq = mark;
            }
        }
        let invite = access.can_invite().then(|| access::invite_of(&state.auth.jwt_secret, &ctx::site_origin(&state), row));
        Ok(RoomView {
            id: row.id,
            kind: row.kind(),
            title: title_for(row, &members, s.user_id),
            topic: row.topic.clone(),
            created_by: row.created_by,
            visibility: row.visibility(),
            members_invite: row.members_invite != 0,
            invite,
            is_member,
            members,
            read_before,
            messages,
            has_older,
            cursor: row.last_change,
            last_seq: row.last_seq,
            utc_offset_minutes: viewer_offset(&state, s.user_id).await?,
            call: if is_member { db::meetings::call_in_room(&state.db, room).await? } else { None },
            last_call: if is_member { last_call(&state, room).await? } else { None },
        })
    })
    .await
}

/// The room's last ended call, as its recap line shows it.
#[cfg(feature = "ssr")]
async fn last_call(state: &AppState, room: i64) -> Result<Option<crate::models::meeting::CallRecap>, AppError> {
    use crate::models::meeting::{MeetingInfo, MeetingRecord};
    let Some((row, stints)) = db::meetings::last_ended_in_room(&state.db, room).await? else { return Ok(None) };
    let meeting = MeetingInfo {
        id: row.id,
        code: row.code,
        room: row.room_id,
        room_name: Some(row.room_name),
        host_id: row.host_id,
        host_name: row.host_name,
        created_at: row.created_at,
        started_at: row.started_at,
        ended_at: row.ended_at,
        locked: row.locked != 0,
        url: String::new(),
    };
    Ok(MeetingRecord { meeting, stints }.recap())
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
        RoomKind::Group | RoomKind::Meeting => row.name.clone(),
        RoomKind::Direct => members.iter().find(|m| m.user_id != me).map_or_else(|| "Just you".into(), |m| m.name.clone()),
    }
}

/// `private` (the default) or `public`, as a form sends it.
#[cfg(feature = "ssr")]
fn visibility_of(raw: Option<&str>) -> Result<Visibility, AppError> {
    match raw.map(str::trim).unwrap_or("private") {
        "" | "private" => Ok(Visibility::Private),
        "public" => Ok(Visibility::Public),
        _ => Err(AppError::Validation { field: "visibility".into(), message: "Choose private or public.".into() }),
    }
}

/// Creates a group room (private unless asked otherwise) and opens it.
#[server(endpoint = "create_room", output = crate::api::codec::Json)]
pub async fn create_room(name: String, topic: String, visibility: Option<String>) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let (name, topic) = (RoomName::parse(&name)?, RoomTopic::parse(&topic)?);
        let visibility = visibility_of(visibility.as_deref())?;
        let id = db::chat::create_group(&state.db, s.user_id, name.as_str(), topic.as_str(), visibility, now_ms()).await?;
        state.hub.member_joined(id, s.user_id).await;
        leptos_axum::redirect(&format!("/chat/{id}"));
        Ok(id)
    })
    .await
}

/// What an invite link leads to, for the page that offers to join.
#[server(endpoint = "invite_preview", output = crate::api::codec::Json)]
pub async fn invite_preview(token: String) -> Result<InviteInfo, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let (row, standing) = valid_invite(&state, &token, s.user_id).await?;
        if standing.banned > 0 && standing.member == 0 {
            return Err(banned());
        }
        let members = db::chat::member_count(&state.db, row.id).await?;
        Ok(InviteInfo { room: row.id, name: row.name, topic: row.topic, members, is_member: standing.member > 0 })
    })
    .await
}

/// The room behind a live invite link; an unknown, regenerated, expired or used-up link is
/// one error, whatever the reason (for anyone not already in the room).
#[cfg(feature = "ssr")]
async fn valid_invite(state: &AppState, input: &str, user: i64) -> Result<(db::chat::RoomRow, db::chat::RoomStanding), AppError> {
    let dead = || AppError::Validation { field: "room".into(), message: "This invite link is invalid or has expired.".into() };
    let token = access::InviteToken::parse(input).ok_or_else(dead)?;
    let standing = db::chat::standing(&state.db, token.room, user).await?.ok_or_else(dead)?;
    let row = standing.room.clone();
    // A member opening a link to their own room is let through whatever the link's state.
    let live = standing.member > 0
        || row.kind() == RoomKind::Group
        && token.matches(&state.auth.jwt_secret, &row.invite_nonce)
        && row.invite_expires_at.is_none_or(|at| at > now_ms())
        && row.invite_max_uses.is_none_or(|max| row.invite_uses < max);
    if !live {
        return Err(dead());
    }
    Ok((row, standing))
}

#[cfg(feature = "ssr")]
fn banned() -> AppError {
    AppError::Validation { field: "room".into(), message: "You were removed from this room. Ask a member to add you again.".into() }
}

/// Joins a group room by its invite link (or token), or a public room by its number, then
/// opens it.
#[server(endpoint = "join_room", output = crate::api::codec::Json)]
pub async fn join_room(room: String) -> Result<i64, AppError> {
    use db::chat::Joined;
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let (id, joined) = if room.contains('.') {
            let (row, standing) = valid_invite(&state, &room, s.user_id).await?;
            match standing.member > 0 {
                true => (row.id, Joined::Already),
                false => (row.id, db::chat::join_by_invite(&state.db, row.id, &row.invite_nonce, s.user_id, now_ms()).await?),
            }
        } else {
            let id = public_room_number(&room)?;
            (id, db::chat::join_public(&state.db, id, s.user_id, now_ms()).await?)
        };
        match joined {
            Joined::Added => state.hub.member_joined(id, s.user_id).await,
            Joined::Already => {}
            Joined::Banned => return Err(banned()),
            Joined::Refused if room.contains('.') => {
                return Err(AppError::Validation { field: "room".into(), message: "This invite link is invalid or has expired.".into() });
            }
            Joined::Refused => return Err(no_public_room()),
        }
        leptos_axum::redirect(&format!("/chat/{id}"));
        Ok(id)
    })
    .await
}

#[cfg(feature = "ssr")]
fn no_public_room() -> AppError {
    AppError::Validation { field: "room".into(), message: "There is no public room with that number: private rooms need their invite link.".into() }
}

/// A public room's number as typed.
#[cfg(feature = "ssr")]
fn public_room_number(input: &str) -> Result<i64, AppError> {
    input.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| AppError::Validation {
        field: "room".into(),
        message: "Paste an invite link, or the number of a public room.".into(),
    })
}

/// Public rooms whose name contains `q`, for the directory.
#[server(endpoint = "public_rooms", output = crate::api::codec::Json)]
pub async fn public_rooms(q: Option<String>) -> Result<Vec<PublicRoom>, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let q: String = q.unwrap_or_default().trim().chars().take(80).collect();
        Ok(db::chat::directory(&state.db, s.user_id, &q, DIRECTORY_PAGE).await?)
    })
    .await
}

/// Rooms the directory lists at most.
pub const DIRECTORY_PAGE: i64 = 50;

/// Leaves a group room.
#[server(endpoint = "leave_room", output = crate::api::codec::Json)]
pub async fn leave_room(room: i64) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let access = access::require(&state.db, room, s.user_id).await?;
        if access.room.kind() != RoomKind::Group || !access.is_member() {
            return Err(AppError::Forbidden);
        }
        if let Some(message) = crate::api::shared::unsettled(&state.db, room, s.user_id).await? {
            return Err(AppError::Refused { message });
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
#[server(endpoint = "rename_room", output = crate::api::codec::Json)]
pub async fn rename_room(room: i64, name: String, topic: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let (name, topic) = (RoomName::parse(&name)?, RoomTopic::parse(&topic)?);
        if !access::require(&state.db, room, s.user_id).await?.can_manage() {
            return Err(AppError::Forbidden);
        }
        db::chat::rename(&state.db, room, name.as_str(), topic.as_str()).await?;
        state.hub.publish(hub::Topic::Room(room), &crate::models::ws::ServerMsg::RoomChanged { room });
        Ok(())
    })
    .await
}

/// Makes a room public or private and says whether every member may invite; only its
/// creator may.
#[server(endpoint = "room_access", output = crate::api::codec::Json)]
pub async fn room_access(room: i64, visibility: String, members_invite: Option<String>) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let visibility = visibility_of(Some(&visibility))?;
        if !access::require(&state.db, room, s.user_id).await?.can_manage() {
            return Err(AppError::Forbidden);
        }
        db::chat::set_access(&state.db, room, visibility, members_invite.is_some_and(|v| !v.is_empty())).await?;
        state.hub.publish(hub::Topic::Room(room), &crate::models::ws::ServerMsg::RoomChanged { room });
        Ok(())
    })
    .await
}

/// Replaces the room's invite link (every older link stops working), optionally limited in
/// time (`expires_in_hours`) and in joins (`max_uses`); empty means no limit.
#[server(endpoint = "regenerate_invite", output = crate::api::codec::Json)]
pub async fn regenerate_invite(room: i64, expires_in_hours: String, max_uses: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let hours = optional_count(&expires_in_hours, "expires_in_hours", 24 * 365)?;
        let max_uses = optional_count(&max_uses, "max_uses", 10_000)?;
        if !access::require(&state.db, room, s.user_id).await?.can_invite() {
            return Err(AppError::Forbidden);
        }
        let expires_at = hours.map(|h| now_ms() + h * 3_600_000);
        db::chat::regenerate_invite(&state.db, room, expires_at, max_uses).await?;
        Ok(())
    })
    .await
}

/// A limit as a form sends it: empty for none, else a whole number from 1 to `max`.
#[cfg(feature = "ssr")]
fn optional_count(raw: &str, field: &str, max: i64) -> Result<Option<i64>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i64>().ok().filter(|n| (1..=max).contains(n)).map(Some).ok_or_else(|| AppError::Validation {
        field: field.into(),
        message: format!("Leave it empty for no limit, or enter a whole number from 1 to {max}."),
    })
}

/// Adds someone to a group room by username, lifting a ban; whoever may invite may.
#[server(endpoint = "add_member", output = crate::api::codec::Json)]
pub async fn add_member(room: i64, username: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let name = Username::parse(&username)?;
        if !access::require(&state.db, room, s.user_id).await?.can_invite() {
            return Err(AppError::Forbidden);
        }
        let unknown = || AppError::Validation { field: "username".into(), message: "Nobody has that username.".into() };
        let user = db::users::by_username_key(&state.db, &name.key()).await?.ok_or_else(unknown)?;
        if db::chat::add_by_inviter(&state.db, room, user.id, now_ms()).await? {
            state.hub.member_joined(room, user.id).await;
        }
        Ok(())
    })
    .await
}

/// Removes a member from a group room and bans them until someone adds them again; only its
/// creator may, and not themself.
#[server(endpoint = "remove_member", output = crate::api::codec::Json)]
pub async fn remove_member(room: i64, user_id: i64) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let access = access::require(&state.db, room, s.user_id).await?;
        if !access.can_manage() || user_id == s.user_id {
            return Err(AppError::Forbidden);
        }
        if !db::shared::balance_of(&state.db, room, user_id).await?.is_empty() {
            return Err(AppError::Refused { message: "They still owe or are owed money in this room: settle up first.".into() });
        }
        if db::chat::remove_and_ban(&state.db, room, user_id, s.user_id, now_ms()).await? {
            state.hub.member_left(room, user_id);
        }
        Ok(())
    })
    .await
}

/// Opens the direct conversation with `username`, starting it if needed.
#[server(endpoint = "start_direct", output = crate::api::codec::Json)]
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
            state.hub.member_joined(id, s.user_id).await;
            state.hub.member_joined(id, other.id).await;
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

/// Posts a message from a plain form (without JavaScript), then shows the room again (or the
/// meeting page `back` names).
/// `client_id` may be left out: the server then makes one.
#[server(endpoint = "post_message", output = crate::api::codec::Json)]
pub async fn post_message(room: i64, body: String, client_id: Option<String>, back: Option<String>) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let client_id = client_id.filter(|c| !c.is_empty()).unwrap_or_else(random_uuid);
        let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
        let sent = hub::send(&state.hub, user.id, &user.name, room, &client_id, &body).await?;
        // A meeting's page shows its chat too: a post from there goes back there.
        let back = back.as_deref().and_then(crate::models::local_path).filter(|p| p.starts_with("/meetings/"));
        leptos_axum::redirect(&back.map_or_else(|| format!("/chat/{room}"), str::to_string));
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
