//! The chat aggregates: rooms (group rooms and direct conversations), their members, messages.
//!
//! Every write that posts, edits or deletes a message bumps the room's change counter with it:
//! a post in its one statement (the insert, whose trigger moves the counters), an edit or a
//! delete as the first statement of its transaction, so on SQLite the transaction takes the
//! write lock at once (no deferred-to-write upgrade that could fail with `SQLITE_BUSY`), and on
//! PostgreSQL the row lock orders writers per room. Chat writers also take the hub's write turn.

use super::{Db, violated_unique};
use crate::models::chat::{BillCard, ChatMessage, Member, PublicRoom, RoomKind, RoomSummary, Visibility};
use sqlx::FromRow;

pub(crate) type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

const MESSAGE_COLUMNS: &str = "m.id, m.room_id as room, m.seq, m.change, m.sender_id, u.name as sender_name, \
     m.client_id, m.body, m.created_at, m.edited_at, m.deleted_at, m.card";

/// A room as stored.
#[derive(Debug, Clone, FromRow)]
pub struct RoomRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub topic: String,
    pub created_by: i64,
    pub last_seq: i64,
    pub last_change: i64,
    pub visibility: String,
    pub invite_nonce: String,
    pub invite_expires_at: Option<i64>,
    pub invite_max_uses: Option<i64>,
    pub invite_uses: i64,
    pub members_invite: i64,
}

const ROOM_COLUMNS: &str = "r.id, r.kind, r.name, r.topic, r.created_by, r.last_seq, r.last_change, r.visibility, \
     r.invite_nonce, r.invite_expires_at, r.invite_max_uses, r.invite_uses, r.members_invite";

impl RoomRow {
    pub fn kind(&self) -> RoomKind {
        RoomKind::from_db(&self.kind)
    }

    pub fn visibility(&self) -> Visibility {
        Visibility::from_db(&self.visibility)
    }
}

/// A room as one user stands towards it: the input of [`crate::server::access::room`].
#[derive(Debug, Clone, FromRow)]
pub struct RoomStanding {
    #[sqlx(flatten)]
    pub room: RoomRow,
    /// 1 when the user is a member.
    pub member: i64,
    /// 1 when the user was removed and not added again since.
    pub banned: i64,
}

/// The room and whether `user` is a member of it or banned from it.
#[tracing::instrument(skip(db))]
pub async fn standing(db: &Db, room: i64, user: i64) -> Result<Option<RoomStanding>, sqlx::Error> {
    let sql = format!(
        "select {ROOM_COLUMNS},
                (select count(*) from room_members where room_id = r.id and user_id = $2) as member,
                (select count(*) from room_bans where room_id = r.id and user_id = $2) as banned
         from rooms r where r.id = $1"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(room).bind(user).fetch_optional(db).await
}

/// A fresh invite nonce: 128 random bits.
fn new_invite_nonce() -> String {
    crate::server::signing::random_token(16)
}

/// Creates a group room with its creator as the first member.
#[tracing::instrument(skip(db))]
pub async fn create_group(db: &Db, creator: i64, name: &str, topic: &str, visibility: Visibility, now: i64) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let (id,): (i64,) = sqlx::query_as(
        "insert into rooms (kind, name, topic, created_by, visibility, invite_nonce, last_activity_at, created_at)
         values ('group', $1, $2, $3, $4, $5, $6, $6) returning id",
    )
    .bind(name)
    .bind(topic)
    .bind(creator)
    .bind(visibility.as_str())
    .bind(new_invite_nonce())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    add_member(&mut tx, id, creator, now).await?;
    tx.commit().await?;
    Ok(id)
}

pub(crate) async fn add_member(tx: &mut Tx<'_>, room: i64, user: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into room_members (room_id, user_id, joined_at) values ($1, $2, $3)
         on conflict (room_id, user_id) do nothing",
    )
    .bind(room)
    .bind(user)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn direct_key(a: i64, b: i64) -> String {
    format!("{}:{}", a.min(b), a.max(b))
}

/// The direct conversation of two users, if they have one.
#[tracing::instrument(skip(db))]
pub async fn find_direct(db: &Db, a: i64, b: i64) -> Result<Option<i64>, sqlx::Error> {
    let row: Option<(i64,)> =
        sqlx::query_as("select id from rooms where direct_key = $1").bind(direct_key(a, b)).fetch_optional(db).await?;
    Ok(row.map(|(id,)| id))
}

/// The direct conversation of two users, created on first use. A pair has exactly one.
#[tracing::instrument(skip(db))]
pub async fn direct_room(db: &Db, me: i64, other: i64, now: i64) -> Result<i64, sqlx::Error> {
    let key = direct_key(me, other);
    if let Some(id) = find_direct(db, me, other).await? {
        return Ok(id);
    }
    match create_direct(db, &key, me, other, now).await {
        Ok(id) => Ok(id),
        // The other user started it at the same moment: theirs is ours.
        Err(e) if violated_unique(&e).is_some() => {
            let (id,) = sqlx::query_as("select id from rooms where direct_key = $1").bind(&key).fetch_one(db).await?;
            Ok(id)
        }
        Err(e) => Err(e),
    }
}

async fn create_direct(db: &Db, key: &str, me: i64, other: i64, now: i64) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let (id,): (i64,) = sqlx::query_as(
        "insert into rooms (kind, name, topic, created_by, direct_key, last_activity_at, created_at)
         values ('direct', '', '', $1, $2, $3, $3) returning id",
    )
    .bind(me)
    .bind(key)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    add_member(&mut tx, id, me, now).await?;
    add_member(&mut tx, id, other, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// What joining a room came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// Added now.
    Added,
    /// Was a member already (an invite link's use is not counted).
    Already,
    /// Removed from the room earlier and not added again since.
    Banned,
    /// The link was regenerated, has expired or is used up (or the room is not public).
    Refused,
}

/// Adds `user` to a public group room they are not banned from. The insert comes first and
/// decides (on SQLite the transaction then holds the write lock from its first statement).
#[tracing::instrument(skip(db))]
pub async fn join_public(db: &Db, room: i64, user: i64, now: i64) -> Result<Joined, sqlx::Error> {
    let mut tx = db.begin().await?;
    let open = "exists (select 1 from rooms where id = $1 and kind = 'group' and visibility = 'public')";
    let outcome = add_unless_banned(&mut tx, room, user, now, open).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Adds `user` when `condition` holds and they are not banned, in one statement; then says why
/// not, if not.
async fn add_unless_banned(tx: &mut Tx<'_>, room: i64, user: i64, now: i64, condition: &'static str) -> Result<Joined, sqlx::Error> {
    let sql = format!(
        "insert into room_members (room_id, user_id, joined_at) select $1, $2, $3
         where {condition} and not exists (select 1 from room_bans where room_id = $1 and user_id = $2)
         on conflict (room_id, user_id) do nothing"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(room).bind(user).bind(now).execute(&mut **tx).await?;
    if done.rows_affected() == 1 {
        return Ok(Joined::Added);
    }
    let (member, banned): (i64, i64) = sqlx::query_as(
        "select (select count(*) from room_members where room_id = $1 and user_id = $2),
                (select count(*) from room_bans where room_id = $1 and user_id = $2)",
    )
    .bind(room)
    .bind(user)
    .fetch_one(&mut **tx)
    .await?;
    Ok(match (member, banned) {
        (m, _) if m > 0 => Joined::Already,
        (_, b) if b > 0 => Joined::Banned,
        _ => Joined::Refused,
    })
}

/// Adds `user` through the invite link made from `nonce`: refused once the link was
/// regenerated, has expired or is used up; a join counts one use, atomically.
#[tracing::instrument(skip(db, nonce))]
pub async fn join_by_invite(db: &Db, room: i64, nonce: &str, user: i64, now: i64) -> Result<Joined, sqlx::Error> {
    let mut tx = db.begin().await?;
    // First statement a write: on SQLite the transaction holds the write lock from here on.
    let counted: Option<(i64,)> = sqlx::query_as(
        "update rooms set invite_uses = invite_uses + 1
         where id = $1 and kind = 'group' and invite_nonce = $2
           and (invite_expires_at is null or invite_expires_at > $3)
           and (invite_max_uses is null or invite_uses < invite_max_uses)
         returning id",
    )
    .bind(room)
    .bind(nonce)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    if counted.is_none() {
        return Ok(Joined::Refused);
    }
    let outcome = add_unless_banned(&mut tx, room, user, now, "1 = 1").await?;
    // Only a join uses the link up: a member opening it again, or a banned user, does not.
    if outcome == Joined::Added {
        tx.commit().await?;
    }
    Ok(outcome)
}

/// Adds `user` on behalf of someone who may invite, lifting a ban.
#[tracing::instrument(skip(db))]
pub async fn add_by_inviter(db: &Db, room: i64, user: i64, now: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("delete from room_bans where room_id = $1 and user_id = $2").bind(room).bind(user).execute(&mut *tx).await?;
    let added = add_member(&mut tx, room, user, now).await?;
    tx.commit().await?;
    Ok(added)
}

/// Removes `user` from `room`; false when they were not a member.
#[tracing::instrument(skip(db))]
pub async fn remove_member(db: &Db, room: i64, user: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from room_members where room_id = $1 and user_id = $2")
        .bind(room)
        .bind(user)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes `user` from `room` and bans them from it until someone adds them again.
#[tracing::instrument(skip(db))]
pub async fn remove_and_ban(db: &Db, room: i64, user: i64, by: i64, now: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let done = sqlx::query("delete from room_members where room_id = $1 and user_id = $2")
        .bind(room)
        .bind(user)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        // Not a member (or no such user): nothing to remove, nobody to ban.
        return Ok(false);
    }
    sqlx::query(
        "insert into room_bans (room_id, user_id, banned_by, banned_at) values ($1, $2, $3, $4)
         on conflict (room_id, user_id) do nothing",
    )
    .bind(room)
    .bind(user)
    .bind(by)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Replaces the room's invite link (every older link dies) and sets the new one's limits.
#[tracing::instrument(skip(db))]
pub async fn regenerate_invite(db: &Db, room: i64, expires_at: Option<i64>, max_uses: Option<i64>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update rooms set invite_nonce = $2, invite_expires_at = $3, invite_max_uses = $4, invite_uses = 0
         where id = $1 and kind = 'group'",
    )
    .bind(room)
    .bind(new_invite_nonce())
    .bind(expires_at)
    .bind(max_uses)
    .execute(db)
    .await?;
    Ok(())
}

/// Makes a group room public or private and says whether every member may invite.
#[tracing::instrument(skip(db))]
pub async fn set_access(db: &Db, room: i64, visibility: Visibility, members_invite: bool) -> Result<(), sqlx::Error> {
    sqlx::query("update rooms set visibility = $2, members_invite = $3 where id = $1 and kind = 'group'")
        .bind(room)
        .bind(visibility.as_str())
        .bind(i64::from(members_invite))
        .execute(db)
        .await?;
    Ok(())
}

/// Public rooms whose name contains `search` (any case), most recently active first, without
/// those `user` is banned from.
///
/// No index keeps rooms in activity order (every post would rewrite it: migration 0017), so the
/// page is picked first from ids and times alone, and names, topics and member counts are read
/// for its rows only: the sort then carries two numbers a room, and the counts are not made
/// for rooms that do not make the page (10 ms instead of 22 at 10,000 public rooms).
#[tracing::instrument(skip(db))]
pub async fn directory(db: &Db, user: i64, search: &str, limit: i64) -> Result<Vec<PublicRoom>, sqlx::Error> {
    let pattern = format!("%{}%", super::escape_like(&search.to_lowercase()));
    sqlx::query_as(
        "select r.id, r.name, r.topic,
                (select count(*) from room_members where room_id = r.id) as members,
                (select count(*) from room_members where room_id = r.id and user_id = $1) as joined
         from (select id, last_activity_at from rooms
               where visibility = 'public' and kind = 'group' and lower(name) like $2 escape '\\'
                 and not exists (select 1 from room_bans b where b.room_id = rooms.id and b.user_id = $1)
               order by last_activity_at desc, id desc limit $3) page
         join rooms r on r.id = page.id
         order by page.last_activity_at desc, page.id desc",
    )
    .bind(user)
    .bind(pattern)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The number of members of a room.
#[tracing::instrument(skip(db))]
pub async fn member_count(db: &Db, room: i64) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from room_members where room_id = $1").bind(room).fetch_one(db).await?;
    Ok(n)
}

/// Renames a group room (the caller has checked who may).
#[tracing::instrument(skip(db))]
pub async fn rename(db: &Db, room: i64, name: &str, topic: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update rooms set name = $1, topic = $2 where id = $3 and kind = 'group'")
        .bind(name)
        .bind(topic)
        .bind(room)
        .execute(db)
        .await?;
    Ok(())
}

#[derive(FromRow)]
struct MemberRow {
    user_id: i64,
    name: String,
    username: String,
    last_read_seq: i64,
}

/// The members of a room, by name; `online` is left for the caller to fill.
#[tracing::instrument(skip(db))]
pub async fn members(db: &Db, room: i64) -> Result<Vec<Member>, sqlx::Error> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "select u.id as user_id, u.name, u.username, rm.last_read_seq
         from room_members rm join users u on u.id = rm.user_id
         where rm.room_id = $1 order by u.username_key",
    )
    .bind(room)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Member { user_id: r.user_id, name: r.name, username: r.username, last_read_seq: r.last_read_seq, online: false })
        .collect())
}

/// The ids of the rooms `user` belongs to.
#[tracing::instrument(skip(db))]
pub async fn rooms_of(db: &Db, user: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("select room_id from room_members where user_id = $1").bind(user).fetch_all(db).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The rooms `user` belongs to, each with its last change: where a node starts counting the
/// changes it delivers for a room (anything after it reaches the tab live or by sync).
#[tracing::instrument(skip(db))]
pub async fn rooms_and_changes_of(db: &Db, user: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("select r.id, r.last_change from room_members m join rooms r on r.id = m.room_id where m.user_id = $1")
        .bind(user)
        .fetch_all(db)
        .await
}

/// The last change of each of `rooms` that exists.
pub async fn last_changes(db: &Db, rooms: &[i64]) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let mut out = Vec::with_capacity(rooms.len());
    for chunk in rooms.chunks(200) {
        let list = (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("select id, last_change from rooms where id in ({list})");
        let mut query = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql));
        for room in chunk {
            query = query.bind(*room);
        }
        out.extend(query.fetch_all(db).await?);
    }
    Ok(out)
}

/// The users who share at least one room with `user` (whom their presence concerns).
#[tracing::instrument(skip(db))]
pub async fn contacts_of(db: &Db, user: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "select distinct other.user_id from room_members mine
         join room_members other on other.room_id = mine.room_id
         where mine.user_id = $1 and other.user_id <> $1",
    )
    .bind(user)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

#[derive(FromRow)]
struct SummaryRow {
    id: i64,
    kind: String,
    name: String,
    topic: String,
    last_activity_at: i64,
    unread: i64,
    peer_id: Option<i64>,
    peer_name: Option<String>,
}

/// The user's rooms and conversations, most recent activity first, with their newest message
/// and unread count; `peer_online` is left for the caller to fill.
#[tracing::instrument(skip(db))]
pub async fn summaries(db: &Db, user: i64) -> Result<Vec<RoomSummary>, sqlx::Error> {
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "select r.id, r.kind, r.name, r.topic, r.last_activity_at,
                cast(r.last_seq - rm.last_read_seq as bigint) as unread,
                p.user_id as peer_id, pu.name as peer_name
         from room_members rm
         join rooms r on r.id = rm.room_id
         left join room_members p on r.kind = 'direct' and p.room_id = r.id and p.user_id <> $1
         left join users pu on pu.id = p.user_id
         where rm.user_id = $1 and r.kind <> 'meeting'
         order by r.last_activity_at desc, r.id desc",
    )
    .bind(user)
    .fetch_all(db)
    .await?;
    let mut last = latest_messages(db, user).await?;
    Ok(rows
        .into_iter()
        .map(|r| RoomSummary {
            kind: RoomKind::from_db(&r.kind),
            title: r.peer_name.unwrap_or(r.name),
            topic: r.topic,
            peer_id: r.peer_id,
            peer_online: false,
            last_message: last.remove(&r.id),
            last_activity_at: r.last_activity_at,
            unread: r.unread.max(0),
            call_on: false,
            id: r.id,
        })
        .collect())
}

async fn latest_messages(db: &Db, user: i64) -> Result<std::collections::HashMap<i64, ChatMessage>, sqlx::Error> {
    let sql = format!(
        "select {MESSAGE_COLUMNS} from room_members rm
         join rooms r on r.id = rm.room_id
         join messages m on m.room_id = r.id and m.seq = r.last_seq
         join users u on u.id = m.sender_id
         where rm.user_id = $1"
    );
    let rows: Vec<ChatMessage> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user).fetch_all(db).await?;
    Ok(rows.into_iter().map(|m| (m.room, m)).collect())
}

/// What posting a message did.
#[derive(Debug)]
pub enum Posted {
    /// Stored now.
    New(ChatMessage),
    /// The sender had already sent this client id: the message stored then.
    Again(ChatMessage),
    /// The room does not exist or the sender is not a member; nothing stored.
    NotMember,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room: i64,
    pub sender_id: i64,
    pub sender_name: String,
    pub client_id: String,
    pub body: String,
}

impl NewMessage {
    /// The message as stored: `(id, seq, change)` as the insert returned them.
    pub(crate) fn stored(&self, (id, seq, change): (i64, i64, i64), now: i64, card: Option<&BillCard>) -> ChatMessage {
        ChatMessage {
            id,
            room: self.room,
            seq,
            change,
            sender_id: self.sender_id,
            sender_name: self.sender_name.clone(),
            client_id: self.client_id.clone(),
            body: self.body.clone(),
            created_at: now,
            edited_at: None,
            deleted_at: None,
            card: card.cloned(),
        }
    }
}

/// Stores messages in one transaction (many posts, one commit). For each: the next position
/// in its room, the message, and the sender's read mark (you have read what you wrote). A
/// client id its sender used before stores nothing and answers the message stored then.
pub async fn post_all(db: &Db, messages: &[NewMessage], now: i64) -> Result<Vec<Posted>, sqlx::Error> {
    post_all_on(&mut *db.acquire().await?, messages, now).await
}

/// [`post_all`] on a connection of the caller's: the post committer keeps one for itself, so
/// SQLite's page cache stays warm (a pooled connection finds its cache stale after every
/// write made through another, and reads the pages again).
#[tracing::instrument(skip_all, fields(count = messages.len()))]
pub async fn post_all_on(conn: &mut sqlx::AnyConnection, messages: &[NewMessage], now: i64) -> Result<Vec<Posted>, sqlx::Error> {
    let posted = |stored: Option<ChatMessage>| stored.map_or(Posted::NotMember, Posted::New);
    let mut out = Vec::with_capacity(messages.len());
    if conn.backend_name() == "PostgreSQL" {
        // Several nodes may post to one room at once: each transaction locks its rooms' rows
        // first (in id order, so two batches never wait on each other in a circle), then takes
        // positions from them. A room's changes therefore commit in the order of their numbers,
        // which is what lets a node that sees change N conclude that every change below N is
        // committed (the bus's gap fill relies on it).
        let mut rooms: Vec<i64> = messages.iter().map(|m| m.room).collect();
        rooms.sort_unstable();
        rooms.dedup();
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for room in rooms {
            sqlx::query("select id from rooms where id = $1 for update").bind(room).execute(&mut *tx).await?;
        }
        for m in messages {
            out.push(posted(insert_one(&mut tx, m, None, now).await?));
        }
        tx.commit().await?;
    } else if let [m] = messages {
        // One post is one statement, atomic by itself: no transaction to open and commit.
        out.push(posted(insert_one(&mut *conn, m, None, now).await?));
    } else {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for m in messages {
            out.push(posted(insert_one(&mut tx, m, None, now).await?));
        }
        tx.commit().await?;
    }
    answer_repeats(conn, messages, &mut out).await?;
    Ok(out)
}

/// Where nothing was inserted, a repeated client id (answer with the first message) or not a
/// member (left as it is).
pub async fn answer_repeats(conn: &mut sqlx::AnyConnection, messages: &[NewMessage], out: &mut [Posted]) -> Result<(), sqlx::Error> {
    for (m, posted) in messages.iter().zip(out.iter_mut()) {
        if matches!(posted, Posted::NotMember)
            && let Some(first) = by_client_id(&mut *conn, m.sender_id, &m.client_id).await?
        {
            *posted = Posted::Again(first);
        }
    }
    Ok(())
}

/// Inserts one message: `$1` room, `$2` sender, `$3` client id, `$4` body, `$5` time, `$6` shared
/// expense, `$7` card; returns its id, seq and change, or no row when refused. See [`insert_one`];
/// [`super::direct`] runs the same statement on SQLite without sqlx.
pub(crate) const INSERT_MESSAGE: &str = "insert into messages (room_id, seq, change, sender_id, client_id, body, created_at, shared_expense_id, card)
     select r.id, r.last_seq + 1, r.last_change + 1, $2, $3, $4, $5, $6, $7 from rooms r
     where r.id = $1 and exists (select 1 from room_members where room_id = $1 and user_id = $2)
     on conflict (sender_id, client_id) do nothing
     returning id, seq, change";

/// One statement: the insert takes its position from the room, and the trigger
/// `messages_posted` (migration 0016) moves the room's counters and the sender's read mark (you
/// have read what you wrote) in the same statement. A refused message (not a member, or a
/// repeated client id) inserts nothing and so moves nothing. Positions are taken from the room
/// inside the statement: writers take the hub's write turn (one writer per room at a time).
async fn insert_one(conn: &mut sqlx::AnyConnection, m: &NewMessage, card: Option<&BillCard>, now: i64) -> Result<Option<ChatMessage>, sqlx::Error> {
    let card_json = card.map(card_json).transpose()?;
    let row: Option<(i64, i64, i64)> = sqlx::query_as(INSERT_MESSAGE)
    .bind(m.room)
    .bind(m.sender_id)
    .bind(&m.client_id)
    .bind(&m.body)
    .bind(now)
    .bind(card.map(|c| c.entry))
    .bind(card_json)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|stored| m.stored(stored, now, card)))
}

fn card_json(card: &BillCard) -> Result<String, sqlx::Error> {
    serde_json::to_string(card).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// Posts the card of a shared expense or payment in its room, inside the ledger's transaction
/// (the entry and its card are stored together). The sender is whoever wrote the entry; the
/// caller holds the hub's write turn (see [`crate::server::hub::Hub::write_turn`]).
pub(crate) async fn post_card(tx: &mut Tx<'_>, room: i64, sender: (i64, &str), body: &str, card: &BillCard, now: i64) -> Result<Option<ChatMessage>, sqlx::Error> {
    let message = NewMessage {
        room,
        sender_id: sender.0,
        sender_name: sender.1.to_string(),
        // One card per entry: a retried transaction cannot post it twice.
        client_id: format!("shared-expense-{}", card.entry),
        body: body.to_string(),
    };
    insert_one(tx, &message, Some(card), now).await
}

/// The message carrying the card of shared expense `entry`, if it has one (entries added
/// before cards existed have none).
pub(crate) async fn card_message(tx: &mut Tx<'_>, entry: i64) -> Result<Option<ChatMessage>, sqlx::Error> {
    let sql = format!("select {MESSAGE_COLUMNS} from messages m join users u on u.id = m.sender_id where m.shared_expense_id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(entry).fetch_optional(&mut **tx).await
}

/// Rewrites the card of entry `card.entry` as it is now, as an edit of its message (a new
/// change in the room, so every member's timeline follows, live or on reconnect). The message
/// as rewritten, or `None` when the entry has no card.
pub(crate) async fn rewrite_card(tx: &mut Tx<'_>, body: &str, card: &BillCard, now: i64) -> Result<Option<ChatMessage>, sqlx::Error> {
    let change: Option<(i64,)> = sqlx::query_as(
        "update rooms set last_change = last_change + 1
         where id = (select room_id from messages where shared_expense_id = $1)
         returning last_change",
    )
    .bind(card.entry)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((change,)) = change else {
        return Ok(None);
    };
    sqlx::query("update messages set change = $2, body = $3, card = $4, edited_at = $5 where shared_expense_id = $1")
        .bind(card.entry)
        .bind(change)
        .bind(body)
        .bind(card_json(card)?)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    card_message(tx, card.entry).await
}

async fn by_client_id(conn: &mut sqlx::AnyConnection, sender: i64, client_id: &str) -> Result<Option<ChatMessage>, sqlx::Error> {
    let sql = format!(
        "select {MESSAGE_COLUMNS} from messages m join users u on u.id = m.sender_id
         where m.sender_id = $1 and m.client_id = $2"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(sender).bind(client_id).fetch_optional(conn).await
}

#[tracing::instrument(skip(db))]
pub async fn by_id(db: &Db, id: i64) -> Result<Option<ChatMessage>, sqlx::Error> {
    let sql = format!("select {MESSAGE_COLUMNS} from messages m join users u on u.id = m.sender_id where m.id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(db).await
}

/// Replaces the body of the sender's own, undeleted message. `None`: no such message of theirs.
#[tracing::instrument(skip(db, body))]
pub async fn edit(db: &Db, sender: i64, id: i64, body: &str, now: i64) -> Result<Option<ChatMessage>, sqlx::Error> {
    rewrite(db, sender, id, "body = $4, edited_at = $5", body, now).await
}

/// Deletes the sender's own message: the row stays (its position is kept), the body goes.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &Db, sender: i64, id: i64, now: i64) -> Result<Option<ChatMessage>, sqlx::Error> {
    rewrite(db, sender, id, "body = $4, deleted_at = $5", "", now).await
}

async fn rewrite(db: &Db, sender: i64, id: i64, set: &str, body: &str, now: i64) -> Result<Option<ChatMessage>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let change: Option<(i64,)> = sqlx::query_as(
        "update rooms set last_change = last_change + 1
         where id = (select room_id from messages where id = $1 and sender_id = $2 and deleted_at is null
                     and shared_expense_id is null)
         returning last_change",
    )
    .bind(id)
    .bind(sender)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((change,)) = change else {
        return Ok(None);
    };
    let sql = format!("update messages set change = $3, {set} where id = $1 and sender_id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(sender)
        .bind(change)
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    by_id(db, id).await
}

/// A page of history: up to `limit` messages before position `before` (or the newest),
/// oldest first.
#[tracing::instrument(skip(db))]
pub async fn history(db: &Db, room: i64, before: Option<i64>, limit: i64) -> Result<Vec<ChatMessage>, sqlx::Error> {
    let sql = format!(
        "select {MESSAGE_COLUMNS} from messages m join users u on u.id = m.sender_id
         where m.room_id = $1 and m.seq < $2 order by m.seq desc limit $3"
    );
    let mut rows: Vec<ChatMessage> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(room)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(db)
        .await?;
    rows.reverse();
    Ok(rows)
}

/// Up to `limit` messages written after change `after`, in the order they were written.
#[tracing::instrument(skip(db))]
pub async fn changes_after(db: &Db, room: i64, after: i64, limit: i64) -> Result<Vec<ChatMessage>, sqlx::Error> {
    let sql = format!(
        "select {MESSAGE_COLUMNS} from messages m join users u on u.id = m.sender_id
         where m.room_id = $1 and m.change > $2 order by m.change limit $3"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(room).bind(after).bind(limit).fetch_all(db).await
}

/// Moves the member's read mark forward to `seq` (never back, never past the newest message).
/// Returns the mark now stored and whether it moved, or `None` when `user` is not a member.
#[tracing::instrument(skip(db))]
pub async fn mark_read(db: &Db, room: i64, user: i64, seq: i64) -> Result<Option<(i64, bool)>, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as(
        "update room_members set last_read_seq = (select case when r.last_seq < $3 then r.last_seq else $3 end
                                                  from rooms r where r.id = $1)
         where room_id = $1 and user_id = $2 and last_read_seq < $3
         returning last_read_seq",
    )
    .bind(room)
    .bind(user)
    .bind(seq)
    .fetch_optional(db)
    .await?;
    if let Some((mark,)) = row {
        return Ok(Some((mark, true)));
    }
    let current: Option<(i64,)> = sqlx::query_as("select last_read_seq from room_members where room_id = $1 and user_id = $2")
        .bind(room)
        .bind(user)
        .fetch_optional(db)
        .await?;
    Ok(current.map(|(m,)| (m, false)))
}
