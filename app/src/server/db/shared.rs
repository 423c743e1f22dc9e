//! The shared expenses of rooms: entries (bills and settlements), their parts, their history.
//!
//! Balances are not stored: [`balances`] sums them from the live entries every time, so they
//! cannot drift from what the entries say. Every write names the room, so an entry id from
//! another room matches nothing.

use super::Db;
use crate::models::chat::{BillCard, CARD_PARTS, CardPart, ChatMessage};
use crate::models::money::money;
use crate::models::split::{SharedEntry, SharedPart, SplitMode};
use sqlx::FromRow;

/// What a new or edited entry says.
#[derive(Debug, Clone)]
pub struct EntryInput {
    pub settlement: bool,
    pub description: String,
    pub amount_minor: i64,
    pub currency: String,
    pub spent_on: String,
    pub paid_by: i64,
    pub mode: SplitMode,
    /// `(user id, weight, part)`: the parts add up to the amount.
    pub parts: Vec<(i64, i64, i64)>,
    /// One line for the history: what the entry is after this change.
    pub summary: String,
    /// The room's members by name now: the card shows names as they were when written.
    pub names: Vec<(i64, String)>,
}

impl EntryInput {
    fn name_of(&self, user: i64) -> String {
        self.names.iter().find(|n| n.0 == user).map_or_else(|| "Someone".to_string(), |n| n.1.clone())
    }

    /// The entry's card in the room's timeline, and the one line its message says (what a
    /// preview or a notification shows).
    pub fn card(&self, id: i64) -> (BillCard, String) {
        let card = BillCard {
            entry: id,
            settlement: self.settlement,
            description: self.description.clone(),
            amount_minor: self.amount_minor,
            currency: self.currency.clone(),
            paid_by: self.paid_by,
            paid_by_name: self.name_of(self.paid_by),
            parts: self
                .parts
                .iter()
                .take(CARD_PARTS)
                .map(|&(user_id, _, amount_minor)| CardPart { user_id, name: self.name_of(user_id), amount_minor })
                .collect(),
            more_parts: self.parts.len().saturating_sub(CARD_PARTS),
            deleted: false,
        };
        let amount = money(&self.currency, self.amount_minor);
        let line = if self.settlement {
            format!("{} {amount}", self.description)
        } else {
            format!("{} paid {amount} for {}", card.paid_by_name, self.description)
        };
        (card, line)
    }
}

#[derive(FromRow)]
struct EntryRow {
    id: i64,
    kind: String,
    description: String,
    amount_minor: i64,
    currency: String,
    spent_on: String,
    paid_by: i64,
    split_mode: String,
    created_by: i64,
    created_at: i64,
    updated_at: Option<i64>,
}

#[derive(FromRow)]
struct PartRow {
    expense_id: i64,
    user_id: i64,
    weight: i64,
    amount_minor: i64,
}

impl From<PartRow> for SharedPart {
    fn from(p: PartRow) -> Self {
        SharedPart { user_id: p.user_id, weight: p.weight, amount_minor: p.amount_minor }
    }
}

const ENTRY_COLUMNS: &str =
    "id, kind, description, amount_minor, currency, spent_on, paid_by, split_mode, created_by, created_at, updated_at";

async fn insert_parts(tx: &mut super::chat::Tx<'_>, id: i64, parts: &[(i64, i64, i64)]) -> Result<(), sqlx::Error> {
    for &(user, weight, amount) in parts {
        sqlx::query("insert into shared_expense_parts (expense_id, user_id, weight, amount_minor) values ($1, $2, $3, $4)")
            .bind(id)
            .bind(user)
            .bind(weight)
            .bind(amount)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn log(tx: &mut super::chat::Tx<'_>, id: i64, action: &str, by: i64, now: i64, summary: &str) -> Result<(), sqlx::Error> {
    sqlx::query("insert into shared_expense_history (expense_id, action, changed_by, changed_at, summary) values ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(action)
        .bind(by)
        .bind(now)
        .bind(summary)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stores a new entry of `room` added by `by`, with its card in the room's timeline: the
/// entry's id and the card's message. The caller holds the hub's write turn.
#[tracing::instrument(skip(db, entry))]
pub async fn add(db: &Db, room: i64, by: i64, entry: &EntryInput, now: i64) -> Result<(i64, Option<ChatMessage>), sqlx::Error> {
    let mut tx = db.begin().await?;
    let (id,): (i64,) = sqlx::query_as(
        "insert into shared_expenses (room_id, kind, description, amount_minor, currency, spent_on, paid_by, split_mode, created_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
    )
    .bind(room)
    .bind(if entry.settlement { "settlement" } else { "expense" })
    .bind(&entry.description)
    .bind(entry.amount_minor)
    .bind(&entry.currency)
    .bind(&entry.spent_on)
    .bind(entry.paid_by)
    .bind(entry.mode.as_str())
    .bind(by)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    insert_parts(&mut tx, id, &entry.parts).await?;
    log(&mut tx, id, "added", by, now, &entry.summary).await?;
    let (card, line) = entry.card(id);
    let message = super::chat::post_card(&mut tx, room, (by, &entry.name_of(by)), &line, &card, now).await?;
    tx.commit().await?;
    Ok((id, message))
}

/// Replaces entry `id` of `room`, if `by` added it and it is not deleted, and rewrites its card.
/// `None`: no such entry of theirs; `Some(message)`: the card's message as rewritten, if any.
/// The caller holds the hub's write turn.
#[tracing::instrument(skip(db, entry))]
pub async fn edit(db: &Db, room: i64, id: i64, by: i64, entry: &EntryInput, now: i64) -> Result<Option<Option<ChatMessage>>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let changed = sqlx::query(
        "update shared_expenses set description = $1, amount_minor = $2, currency = $3, spent_on = $4, paid_by = $5,
                split_mode = $6, updated_at = $7
         where id = $8 and room_id = $9 and created_by = $10 and deleted_at is null",
    )
    .bind(&entry.description)
    .bind(entry.amount_minor)
    .bind(&entry.currency)
    .bind(&entry.spent_on)
    .bind(entry.paid_by)
    .bind(entry.mode.as_str())
    .bind(now)
    .bind(id)
    .bind(room)
    .bind(by)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(None);
    }
    sqlx::query("delete from shared_expense_parts where expense_id = $1").bind(id).execute(&mut *tx).await?;
    insert_parts(&mut tx, id, &entry.parts).await?;
    log(&mut tx, id, "edited", by, now, &entry.summary).await?;
    let (card, line) = entry.card(id);
    let message = super::chat::rewrite_card(&mut tx, &line, &card, now).await?;
    tx.commit().await?;
    Ok(Some(message))
}

/// Deletes entry `id` of `room` if `by` added it (the row stays for its history); its card
/// stays in the timeline, marked deleted. As [`edit`] answers. The caller holds the hub's
/// write turn.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &Db, room: i64, id: i64, by: i64, now: i64) -> Result<Option<Option<ChatMessage>>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let changed = sqlx::query(
        "update shared_expenses set deleted_at = $1 where id = $2 and room_id = $3 and created_by = $4 and deleted_at is null",
    )
    .bind(now)
    .bind(id)
    .bind(room)
    .bind(by)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(None);
    }
    log(&mut tx, id, "deleted", by, now, "").await?;
    let message = match super::chat::card_message(&mut tx, id).await? {
        Some(ChatMessage { card: Some(mut card), body, .. }) => {
            card.deleted = true;
            super::chat::rewrite_card(&mut tx, &format!("Deleted: {body}"), &card, now).await?
        }
        _ => None,
    };
    tx.commit().await?;
    Ok(Some(message))
}

fn entry_of(row: EntryRow, parts: Vec<SharedPart>) -> SharedEntry {
    SharedEntry {
        id: row.id,
        settlement: row.kind == "settlement",
        description: row.description,
        amount_minor: row.amount_minor,
        currency: row.currency,
        spent_on: row.spent_on,
        paid_by: row.paid_by,
        mode: SplitMode::parse(&row.split_mode).unwrap_or(SplitMode::Exact),
        parts,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
        history: Vec::new(),
        copied_by_me: false,
    }
}

/// The newest `limit` live entries of `room` (by date, then as added), with their parts.
#[tracing::instrument(skip(db))]
pub async fn entries(db: &Db, room: i64, limit: i64) -> Result<Vec<SharedEntry>, sqlx::Error> {
    let rows: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ENTRY_COLUMNS} from shared_expenses where room_id = $1 and deleted_at is null
         order by spent_on desc, id desc limit $2"
    )))
    .bind(room)
    .bind(limit)
    .fetch_all(db)
    .await?;
    let oldest = rows.iter().map(|r| r.id).min().unwrap_or(0);
    let parts: Vec<PartRow> = sqlx::query_as(
        "select p.expense_id, p.user_id, p.weight, p.amount_minor
         from shared_expense_parts p join shared_expenses e on e.id = p.expense_id
         where e.room_id = $1 and e.deleted_at is null and e.id >= $2 order by p.expense_id, p.user_id",
    )
    .bind(room)
    .bind(oldest)
    .fetch_all(db)
    .await?;
    let mut by_entry: std::collections::HashMap<i64, Vec<SharedPart>> = std::collections::HashMap::new();
    for p in parts {
        by_entry.entry(p.expense_id).or_default().push(p.into());
    }
    Ok(rows.into_iter().map(|r| { let parts = by_entry.remove(&r.id).unwrap_or_default(); entry_of(r, parts) }).collect())
}

/// Entry `id` of `room`, if it is live.
#[tracing::instrument(skip(db))]
pub async fn entry(db: &Db, room: i64, id: i64) -> Result<Option<SharedEntry>, sqlx::Error> {
    let row: Option<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ENTRY_COLUMNS} from shared_expenses where id = $1 and room_id = $2 and deleted_at is null"
    )))
    .bind(id)
    .bind(room)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let parts: Vec<PartRow> = sqlx::query_as(
        "select expense_id, user_id, weight, amount_minor from shared_expense_parts where expense_id = $1 order by user_id",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    let parts = parts.into_iter().map(SharedPart::from).collect();
    Ok(Some(entry_of(row, parts)))
}

/// How many live entries `room` has.
pub async fn count(db: &Db, room: i64) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from shared_expenses where room_id = $1 and deleted_at is null").bind(room).fetch_one(db).await?;
    Ok(n)
}

/// Every member's balance in `room` per currency, summed from the live entries: what they paid
/// minus their parts. `(currency, user id, balance)`, zero balances included.
#[tracing::instrument(skip(db))]
pub async fn balances(db: &Db, room: i64) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select currency, user_id, cast(sum(amount) as bigint) as balance from (
             select currency, paid_by as user_id, amount_minor as amount
             from shared_expenses where room_id = $1 and deleted_at is null
             union all
             select e.currency, p.user_id, -p.amount_minor as amount
             from shared_expense_parts p join shared_expenses e on e.id = p.expense_id
             where e.room_id = $1 and e.deleted_at is null
         ) t group by currency, user_id order by currency, user_id",
    )
    .bind(room)
    .fetch_all(db)
    .await
}

/// `user`'s non-zero balances in `room`: `(currency, balance)`.
pub async fn balance_of(db: &Db, room: i64, user: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    Ok(balances(db, room).await?.into_iter().filter(|(_, u, b)| *u == user && *b != 0).map(|(c, _, b)| (c, b)).collect())
}

/// Everyone a room's entries name, with whether they are a member now: `(id, name, username, member)`.
#[tracing::instrument(skip(db))]
pub async fn people(db: &Db, room: i64) -> Result<Vec<(i64, String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select u.id, u.name, u.username,
                case when exists (select 1 from room_members rm where rm.room_id = $1 and rm.user_id = u.id) then 1 else 0 end as member
         from users u
         where u.id in (select user_id from room_members where room_id = $1)
            or u.id in (select paid_by from shared_expenses where room_id = $1)
            or u.id in (select p.user_id from shared_expense_parts p join shared_expenses e on e.id = p.expense_id where e.room_id = $1)
         order by u.username_key",
    )
    .bind(room)
    .fetch_all(db)
    .await
}

/// The settle-up plans last shown for `room`: `(currency, JSON list of transfers)`.
#[tracing::instrument(skip(db))]
pub async fn plans(db: &Db, room: i64) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("select currency, plan from shared_settle_plans where room_id = $1").bind(room).fetch_all(db).await
}

/// Keeps `plan` (JSON) as the settle-up plan of `room` in `currency`.
#[tracing::instrument(skip(db, plan))]
pub async fn store_plan(db: &Db, room: i64, currency: &str, plan: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into shared_settle_plans (room_id, currency, plan) values ($1, $2, $3)
         on conflict (room_id, currency) do update set plan = excluded.plan",
    )
    .bind(room)
    .bind(currency)
    .bind(plan)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct RoomBalanceRow {
    room_id: i64,
    kind: String,
    name: String,
    other: String,
    currency: String,
    balance: i64,
}

/// `user`'s non-zero balances in every room they are a member of, by room name then currency.
/// A direct conversation is named after the other person.
#[tracing::instrument(skip(db))]
pub async fn balances_of(db: &Db, user: i64) -> Result<Vec<crate::models::split::RoomBalance>, sqlx::Error> {
    let rows: Vec<RoomBalanceRow> = sqlx::query_as(
        "select b.room_id, r.kind, r.name,
                coalesce((select u.name from room_members m join users u on u.id = m.user_id
                          where m.room_id = b.room_id and m.user_id <> $1 order by u.id limit 1), '') as other,
                b.currency, b.balance
         from (select room_id, currency, cast(sum(amount) as bigint) as balance from (
                   select room_id, currency, amount_minor as amount
                   from shared_expenses where paid_by = $1 and deleted_at is null
                   union all
                   select e.room_id, e.currency, -p.amount_minor as amount
                   from shared_expense_parts p join shared_expenses e on e.id = p.expense_id
                   where p.user_id = $1 and e.deleted_at is null
               ) t group by room_id, currency) b
         join rooms r on r.id = b.room_id
         where b.balance <> 0 and exists (select 1 from room_members m where m.room_id = b.room_id and m.user_id = $1)
         order by r.name, b.room_id, b.currency",
    )
    .bind(user)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| crate::models::split::RoomBalance {
            room_id: r.room_id,
            room_name: if r.kind == "direct" { r.other } else { r.name },
            currency: r.currency,
            balance_minor: r.balance,
        })
        .collect())
}

/// The history of `room`'s live entries from entry `from` on: `(entry, action, user id, when)`,
/// oldest first.
#[tracing::instrument(skip(db))]
pub async fn room_history(db: &Db, room: i64, from: i64) -> Result<Vec<(i64, String, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select h.expense_id, h.action, h.changed_by, h.changed_at
         from shared_expense_history h join shared_expenses e on e.id = h.expense_id
         where e.room_id = $1 and e.deleted_at is null and e.id >= $2 order by h.id",
    )
    .bind(room)
    .bind(from)
    .fetch_all(db)
    .await
}

/// Remembers that `user` copied their part of entry `expense` into personal expense `personal`.
/// False if they already had.
#[tracing::instrument(skip(db))]
pub async fn link_copy(db: &Db, expense: i64, user: i64, personal: i64) -> Result<bool, sqlx::Error> {
    match sqlx::query("insert into shared_expense_copies (expense_id, user_id, personal_id) values ($1, $2, $3)")
        .bind(expense)
        .bind(user)
        .bind(personal)
        .execute(db)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if super::violated_unique(&e).is_some() => Ok(false),
        Err(e) => Err(e),
    }
}

/// The personal copies of entry `expense`: `(user id, personal expense id)`.
#[tracing::instrument(skip(db))]
pub async fn copies(db: &Db, expense: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("select user_id, personal_id from shared_expense_copies where expense_id = $1 order by user_id")
        .bind(expense)
        .fetch_all(db)
        .await
}

/// The entries of `room` whose part `user` has copied, from entry `from` on.
#[tracing::instrument(skip(db))]
pub async fn copied_by(db: &Db, room: i64, user: i64, from: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "select c.expense_id from shared_expense_copies c join shared_expenses e on e.id = c.expense_id
         where e.room_id = $1 and c.user_id = $2 and e.id >= $3",
    )
    .bind(room)
    .bind(user)
    .bind(from)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bill_split_among_a_large_room_is_a_small_card() {
        let members: Vec<(i64, String)> = (1..=500).map(|u| (u, format!("Member {u}"))).collect();
        let entry = EntryInput {
            settlement: false,
            description: "Venue".into(),
            amount_minor: 500_000,
            currency: "EUR".into(),
            spent_on: "2026-11-20".into(),
            paid_by: 1,
            mode: SplitMode::Equal,
            parts: members.iter().map(|m| (m.0, 1, 1000)).collect(),
            summary: String::new(),
            names: members,
        };
        let (card, line) = entry.card(7);
        assert_eq!((card.parts.len(), card.more_parts), (CARD_PARTS, 500 - CARD_PARTS));
        assert_eq!(card.parts[0].name, "Member 1");
        assert_eq!(line, "Member 1 paid 5.000,00\u{a0}€ for Venue");
        assert!(serde_json::to_string(&card).unwrap().len() < 1500);
    }
}
