//! Meetings and their attendance: one row per meeting, one per stint of one person in it.

use super::Db;
use super::chat::add_member;
use crate::models::meeting::{LeftBy, MeetingCode, Stint};
use sqlx::FromRow;

/// A meeting as stored, with the names its page shows.
#[derive(Debug, Clone, FromRow)]
pub struct MeetingRow {
    pub id: i64,
    pub code: String,
    pub room_id: i64,
    /// The room's kind: `meeting` for a meeting by code, else the room it was started from.
    pub room_kind: String,
    pub room_name: String,
    pub host_id: i64,
    pub host_name: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub locked: i64,
}

const MEETING_COLUMNS: &str = "m.id, m.code, m.room_id, r.kind as room_kind, r.name as room_name, m.host_id, \
     h.name as host_name, m.created_at, m.started_at, m.ended_at, m.locked";

const MEETING_FROM: &str = "meetings m join rooms r on r.id = m.room_id join users h on h.id = m.host_id";

/// Creates a meeting reached by `code` with its own chat room, the host its first member.
/// `Ok(None)` when the code is taken (draw another).
#[tracing::instrument(skip(db))]
pub async fn create_by_code(db: &Db, code: &MeetingCode, host: i64, now: i64) -> Result<Option<i64>, sqlx::Error> {
    // Writes first, and a taken code is the unique constraint's answer: on SQLite a transaction
    // that reads before it writes cannot wait for another writer (its upgrade fails at once
    // with "database is locked" when someone committed meanwhile).
    let mut tx = db.begin().await?;
    let (room,): (i64,) = sqlx::query_as(
        "insert into rooms (kind, name, topic, created_by, last_activity_at, created_at)
         values ('meeting', $1, '', $2, $3, $3) returning id",
    )
    .bind(format!("Meeting {code}"))
    .bind(host)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    add_member(&mut tx, room, host, now).await?;
    let Some(id) = insert(&mut tx, code, room, host, now).await? else { return Ok(None) };
    tx.commit().await?;
    Ok(Some(id))
}

/// Creates a meeting whose chat is `room`'s. `Ok(None)` when the code is taken.
#[tracing::instrument(skip(db))]
pub async fn create_in_room(db: &Db, code: &MeetingCode, room: i64, host: i64, now: i64) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(id) = insert(&mut tx, code, room, host, now).await? else { return Ok(None) };
    tx.commit().await?;
    Ok(Some(id))
}

/// Inserts the meeting; `None` when its code is taken (the transaction is then unusable on
/// PostgreSQL and must be dropped).
async fn insert(tx: &mut super::chat::Tx<'_>, code: &MeetingCode, room: i64, host: i64, now: i64) -> Result<Option<i64>, sqlx::Error> {
    let inserted = sqlx::query_scalar(
        "insert into meetings (code, room_id, host_id, created_at) values ($1, $2, $3, $4) returning id",
    )
    .bind(code.as_str())
    .bind(room)
    .bind(host)
    .bind(now)
    .fetch_one(&mut **tx)
    .await;
    match inserted {
        Ok(id) => Ok(Some(id)),
        Err(e) if super::violated_unique(&e).is_some_and(|c| c.contains("code")) => Ok(None),
        Err(e) => Err(e),
    }
}

#[tracing::instrument(skip(db))]
pub async fn by_code(db: &Db, code: &MeetingCode) -> Result<Option<MeetingRow>, sqlx::Error> {
    let sql = format!("select {MEETING_COLUMNS} from {MEETING_FROM} where m.code = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(code.as_str()).fetch_optional(db).await
}

#[tracing::instrument(skip(db))]
pub async fn by_id(db: &Db, id: i64) -> Result<Option<MeetingRow>, sqlx::Error> {
    let sql = format!("select {MEETING_COLUMNS} from {MEETING_FROM} where m.id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(db).await
}

/// The meeting of `room` that has not ended, if any.
#[tracing::instrument(skip(db))]
pub async fn open_in_room(db: &Db, room: i64) -> Result<Option<MeetingRow>, sqlx::Error> {
    let sql = format!(
        "select {MEETING_COLUMNS} from {MEETING_FROM} where m.room_id = $1 and m.ended_at is null and r.kind <> 'meeting'
         order by m.id desc limit 1"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(room).fetch_optional(db).await
}

/// The last call of `room` that ended (after someone joined it), with its stints.
#[tracing::instrument(skip(db))]
pub async fn last_ended_in_room(db: &Db, room: i64) -> Result<Option<(MeetingRow, Vec<Stint>)>, sqlx::Error> {
    let sql = format!(
        "select {MEETING_COLUMNS} from {MEETING_FROM}
         where m.room_id = $1 and m.ended_at is not null and m.started_at is not null
         order by m.ended_at desc, m.id desc limit 1"
    );
    let row: Option<MeetingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(room).fetch_optional(db).await?;
    match row {
        Some(row) => Ok(Some(record(db, row).await?)),
        None => Ok(None),
    }
}

/// Whether `user` has ever been in the meeting.
#[tracing::instrument(skip(db))]
pub async fn attended(db: &Db, meeting: i64, user: i64) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as("select id from meeting_attendance where meeting_id = $1 and user_id = $2 limit 1")
        .bind(meeting)
        .bind(user)
        .fetch_optional(db)
        .await?;
    Ok(row.is_some())
}

/// Starts a stint: the meeting counts as started from its first, and in a meeting by code the
/// user becomes a member of its chat room. Returns the stint's id and whether the user was
/// added to the room just now. `Ok(None)` when the meeting has ended meanwhile.
#[tracing::instrument(skip(db))]
pub async fn begin_stint(db: &Db, meeting: i64, user: i64, now: i64) -> Result<Option<(i64, bool)>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let open = sqlx::query("update meetings set started_at = coalesce(started_at, $2) where id = $1 and ended_at is null")
        .bind(meeting)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    if open.rows_affected() == 0 {
        return Ok(None);
    }
    let (room, kind): (i64, String) =
        sqlx::query_as("select r.id, r.kind from meetings m join rooms r on r.id = m.room_id where m.id = $1").bind(meeting).fetch_one(&mut *tx).await?;
    let added = if kind == "meeting" { add_member(&mut tx, room, user, now).await? } else { false };
    let (id,): (i64,) =
        sqlx::query_as("insert into meeting_attendance (meeting_id, user_id, joined_at) values ($1, $2, $3) returning id")
            .bind(meeting)
            .bind(user)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Some((id, added)))
}

/// Makes `user` a member of a meeting's own chat room (to read and post without being in the
/// call: a browser without JavaScript). True when added just now.
#[tracing::instrument(skip(db))]
pub async fn join_chat(db: &Db, room: i64, user: i64, now: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let added = add_member(&mut tx, room, user, now).await?;
    tx.commit().await?;
    Ok(added)
}

/// Ends one stint (once: a stint already ended keeps its first end).
#[tracing::instrument(skip(db))]
pub async fn end_stint(db: &Db, stint: i64, by: LeftBy, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update meeting_attendance set left_at = $2, ended_by = $3 where id = $1 and left_at is null")
        .bind(stint)
        .bind(now)
        .bind(by.as_str())
        .execute(db)
        .await?;
    Ok(())
}

/// Ends the meeting and every stint still open in it.
#[tracing::instrument(skip(db))]
pub async fn end(db: &Db, meeting: i64, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("update meetings set ended_at = $2 where id = $1 and ended_at is null").bind(meeting).bind(now).execute(&mut *tx).await?;
    sqlx::query("update meeting_attendance set left_at = $2, ended_by = 'ended' where meeting_id = $1 and left_at is null")
        .bind(meeting)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

#[tracing::instrument(skip(db))]
pub async fn set_locked(db: &Db, meeting: i64, locked: bool) -> Result<(), sqlx::Error> {
    sqlx::query("update meetings set locked = $2 where id = $1").bind(meeting).bind(i64::from(locked)).execute(db).await?;
    Ok(())
}

/// The people in the call of `meeting` now (their stints still open), in join order. Read
/// here, not from the node's memory: with several nodes the call may run on another.
#[tracing::instrument(skip(db))]
pub async fn people_in(db: &Db, meeting: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "select u.name from meeting_attendance a join users u on u.id = a.user_id
         where a.meeting_id = $1 and a.left_at is null order by a.joined_at, a.id",
    )
    .bind(meeting)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(name,)| name).collect())
}

/// The call on in `room` now, if someone is in it: its code and the people in it.
pub async fn call_in_room(db: &Db, room: i64) -> Result<Option<(String, Vec<String>)>, sqlx::Error> {
    let Some(meeting) = open_in_room(db, room).await? else { return Ok(None) };
    let people = people_in(db, meeting.id).await?;
    Ok((!people.is_empty()).then_some((meeting.code, people)))
}

/// Of `rooms`, those with a call someone is in now.
#[tracing::instrument(skip(db, rooms), fields(rooms = rooms.len()))]
pub async fn rooms_with_calls(db: &Db, rooms: &[i64]) -> Result<std::collections::HashSet<i64>, sqlx::Error> {
    if rooms.is_empty() {
        return Ok(Default::default());
    }
    let placeholders: Vec<String> = (1..=rooms.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "select distinct m.room_id from meetings m join rooms r on r.id = m.room_id
         where m.room_id in ({}) and m.ended_at is null and r.kind <> 'meeting'
           and exists (select 1 from meeting_attendance a where a.meeting_id = m.id and a.left_at is null)",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
    for id in rooms {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(db).await?.into_iter().map(|(id,)| id).collect())
}

/// Ends the open stints of `meetings` as dropped: the node running their calls died. The
/// meetings stay open: the first to rejoin starts the call again on another node.
#[tracing::instrument(skip(db))]
pub async fn drop_stints(db: &Db, meetings: &[i64], now: i64) -> Result<(), sqlx::Error> {
    if meetings.is_empty() {
        return Ok(());
    }
    let placeholders: Vec<String> = (2..=meetings.len() + 1).map(|i| format!("${i}")).collect();
    let sql = format!(
        "update meeting_attendance set left_at = $1, ended_by = 'dropped' where left_at is null and meeting_id in ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
    for meeting in meetings {
        query = query.bind(*meeting);
    }
    query.execute(db).await?;
    Ok(())
}

/// Closes the stints and meetings a stopped process left open: nobody is in a call when the
/// server starts.
#[tracing::instrument(skip(db))]
pub async fn close_all_open(db: &Db, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("update meeting_attendance set left_at = $1, ended_by = 'dropped' where left_at is null").bind(now).execute(&mut *tx).await?;
    sqlx::query("update meetings set ended_at = $1 where ended_at is null and started_at is not null").bind(now).execute(&mut *tx).await?;
    tx.commit().await
}

#[derive(FromRow)]
struct StintRow {
    meeting_id: i64,
    user_id: i64,
    name: String,
    joined_at: i64,
    left_at: Option<i64>,
    ended_by: Option<String>,
}

/// The stints of each of `meetings`, in join order.
async fn stints_of(db: &Db, meetings: &[i64]) -> Result<Vec<(i64, Stint)>, sqlx::Error> {
    if meetings.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=meetings.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "select a.meeting_id, a.user_id, u.name, a.joined_at, a.left_at, a.ended_by
         from meeting_attendance a join users u on u.id = a.user_id
         where a.meeting_id in ({}) order by a.joined_at, a.id",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, StintRow>(sqlx::AssertSqlSafe(sql));
    for id in meetings {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let left_by = r.ended_by.as_deref().and_then(LeftBy::from_db);
            (r.meeting_id, Stint { user_id: r.user_id, name: r.name, joined_at: r.joined_at, left_at: r.left_at, left_by })
        })
        .collect())
}

/// The meetings `user` took part in, newest first, each with every stint.
#[tracing::instrument(skip(db))]
pub async fn history(db: &Db, user: i64, limit: i64) -> Result<Vec<(MeetingRow, Vec<Stint>)>, sqlx::Error> {
    let sql = format!(
        "select {MEETING_COLUMNS} from {MEETING_FROM}
         where m.id in (select meeting_id from meeting_attendance where user_id = $1)
         order by coalesce(m.started_at, m.created_at) desc, m.id desc limit $2"
    );
    let meetings: Vec<MeetingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user).bind(limit).fetch_all(db).await?;
    with_stints(db, meetings).await
}

/// One meeting with its stints.
pub async fn record(db: &Db, meeting: MeetingRow) -> Result<(MeetingRow, Vec<Stint>), sqlx::Error> {
    Ok(with_stints(db, vec![meeting]).await?.remove(0))
}

async fn with_stints(db: &Db, meetings: Vec<MeetingRow>) -> Result<Vec<(MeetingRow, Vec<Stint>)>, sqlx::Error> {
    let ids: Vec<i64> = meetings.iter().map(|m| m.id).collect();
    let mut stints = stints_of(db, &ids).await?;
    Ok(meetings
        .into_iter()
        .map(|m| {
            let mine = stints.extract_if(.., |(id, _)| *id == m.id).map(|(_, s)| s).collect();
            (m, mine)
        })
        .collect())
}
