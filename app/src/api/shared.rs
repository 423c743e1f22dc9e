//! Shared expenses in rooms: add, edit and delete bills, record payments, read the ledger.
//!
//! Every function asks [`access::require`](crate::server::access::require) first: only members
//! see or touch a room's shared expenses, and to anyone else the room (and so every entry id
//! in it) does not exist. Whoever is named as payer or in a split must be a member now.

use crate::models::AppError;
use crate::models::split::RoomLedger;
use leptos::prelude::*;
use std::collections::HashMap;

#[cfg(feature = "ssr")]
use crate::{
    models::FieldError,
    models::money::{Amount, Currency, money},
    models::split::{self, CurrencyLedger, LedgerPerson, SplitMode},
    models::time::Day,
    server::{access, clock, ctx, db, db::shared::EntryInput, hub},
};

/// A room's shared expenses as its member sees them.
#[server(endpoint = "room_ledger", output = crate::api::codec::Json)]
pub async fn get_ledger(room: i64) -> Result<RoomLedger, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let access = member_of(&state.db, room, s.user_id).await?;
        let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
        ledger(&state.db, access, &user).await
    })
    .await
}

/// Changes one person may make to shared expenses per minute, across rooms.
pub const LEDGER_WRITES_PER_MINUTE: u32 = 30;

/// A member of `room` who may make one more change now.
#[cfg(feature = "ssr")]
async fn writer_of(state: &crate::server::state::AppState, room: i64, user: i64) -> Result<access::RoomAccess, AppError> {
    let access = member_of(&state.db, room, user).await?;
    state.ledger_writes.check(&user).map_err(|wait| AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) })?;
    Ok(access)
}

#[cfg(feature = "ssr")]
async fn member_of(db: &db::Db, room: i64, user: i64) -> Result<access::RoomAccess, AppError> {
    let access = access::require(db, room, user).await?;
    if !access.is_member() {
        return Err(AppError::NotFound);
    }
    Ok(access)
}

#[cfg(feature = "ssr")]
async fn ledger(db: &db::Db, access: access::RoomAccess, user: &db::users::UserRow) -> Result<RoomLedger, AppError> {
    let room = access.room.id;
    let people: Vec<LedgerPerson> = db::shared::people(db, room)
        .await?
        .into_iter()
        .map(|(user_id, name, username, member)| LedgerPerson { user_id, name, username, member: member != 0 })
        .collect();
    let room_name = if access.room.kind() == crate::models::chat::RoomKind::Direct {
        people.iter().find(|p| p.user_id != user.id && p.member).map_or_else(|| "Direct conversation".to_string(), |p| p.name.clone())
    } else {
        access.room.name.clone()
    };
    let mut entries = db::shared::entries(db, room, split::SHOWN_ENTRIES as i64).await?;
    let from = entries.iter().map(|e| e.id).min().unwrap_or(0);
    for id in db::shared::copied_by(db, room, user.id, from).await? {
        if let Some(e) = entries.iter_mut().find(|e| e.id == id) {
            e.copied_by_me = true;
        }
    }
    let mut ledger = RoomLedger {
        room_id: room,
        room_name,
        me: user.id,
        people,
        currencies: currency_ledgers(db, room).await?,
        entries,
        entry_count: db::shared::count(db, room).await?,
        default_currency: user.currency.clone(),
        today: clock::today_in(&user.time_zone).to_string(),
        categories: db::categories::list(db, user.id).await?,
    };
    // Each entry's history, in the viewer's time zone.
    let offset_ms = i64::from(clock::offset_minutes_now(&user.time_zone)) * 60_000;
    for (entry, action, by, at) in db::shared::room_history(db, room, from).await? {
        let when = crate::models::time::format_utc(at + offset_ms);
        let action = match action.as_str() {
            "added" => "Added",
            "edited" => "Edited",
            _ => "Deleted",
        };
        let line = format!("{action} by {}, {}", ledger.name_of(by), when.trim_end_matches(" UTC"));
        if let Some(e) = ledger.entries.iter_mut().find(|e| e.id == entry) {
            e.history.push(line);
        }
    }
    Ok(ledger)
}

/// Balances per currency (non-zero only) and the payments that clear them: the plan members
/// were shown last where it still works (see [`split::settle_keeping`]).
#[cfg(feature = "ssr")]
async fn currency_ledgers(db: &db::Db, room: i64) -> Result<Vec<CurrencyLedger>, AppError> {
    let mut by_currency: std::collections::BTreeMap<String, std::collections::BTreeMap<i64, i64>> = Default::default();
    for (currency, user, balance) in db::shared::balances(db, room).await? {
        by_currency.entry(currency).or_default().insert(user, balance);
    }
    let shown: HashMap<String, Vec<split::Transfer>> =
        db::shared::plans(db, room).await?.into_iter().filter_map(|(c, plan)| Some((c, serde_json::from_str(&plan).ok()?))).collect();
    Ok(by_currency
        .into_iter()
        .filter(|(_, b)| b.values().any(|&v| v != 0))
        .map(|(currency, balances)| CurrencyLedger {
            settle: split::settle_keeping(&balances, shown.get(&currency).map_or(&[][..], |p| p.as_slice())),
            balances: balances.into_iter().filter(|&(_, b)| b != 0).collect(),
            currency,
        })
        .collect())
}

/// After a change to `room`'s entries: shows the entry's card (message `card`, written with
/// it) in every member's timeline, keeps the plans members will be shown next, and tells the
/// members (their open ledger pages) that the shared expenses changed.
/// The change itself is stored by then: a plan that could not be kept is only logged (the next
/// ledger read plans anew).
#[cfg(feature = "ssr")]
async fn changed(state: &crate::server::state::AppState, room: i64, card: Option<crate::models::chat::ChatMessage>) {
    if let Some(message) = card {
        state.hub.fan_out(&message);
    }
    let kept: Result<(), AppError> = async {
        for ledger in currency_ledgers(&state.db, room).await? {
            let plan = serde_json::to_string(&ledger.settle).map_err(|_| AppError::Internal)?;
            db::shared::store_plan(&state.db, room, &ledger.currency, &plan).await?;
        }
        Ok(())
    }
    .await;
    if let Err(error) = kept {
        tracing::warn!(room, %error, "the settle-up plan was not kept");
    }
    state.hub.publish(hub::Topic::Room(room), &crate::models::ws::ServerMsg::LedgerChanged { room });
}

/// The fields of the add and edit forms, checked: an entry to store.
#[cfg(feature = "ssr")]
#[allow(clippy::too_many_arguments)]
async fn parse_entry(
    db: &db::Db,
    room: i64,
    description: &str,
    amount: &str,
    currency: &str,
    spent_on: &str,
    paid_by: i64,
    mode: &str,
    with: Option<HashMap<String, String>>,
    weight: Option<HashMap<String, String>>,
) -> Result<EntryInput, AppError> {
    let description = crate::models::expense::parse_description(description)?;
    let currency = Currency::parse(currency)?;
    let total = Amount::parse(amount, currency.decimals)?.minor();
    let spent_on = Day::parse(spent_on)?;
    let mode = SplitMode::parse(mode)?;
    let names: Vec<(i64, String)> = db::chat::members(db, room).await?.into_iter().map(|m| (m.user_id, m.name)).collect();
    let members: Vec<i64> = names.iter().map(|n| n.0).collect();
    if !members.contains(&paid_by) {
        return Err(FieldError::new("paid_by", "Choose who paid among the members.").into());
    }
    let weights = weight.unwrap_or_default();
    let mut chosen = Vec::new();
    for (key, on) in with.unwrap_or_default() {
        let user: i64 = key.parse().map_err(|_| FieldError::new("split", "Choose the people to split with among the members."))?;
        if on.is_empty() {
            continue;
        }
        if !members.contains(&user) {
            return Err(FieldError::new("split", "Choose the people to split with among the members.").into());
        }
        let raw = weights.get(&key).map(|w| w.trim()).unwrap_or("");
        let weight = match mode {
            SplitMode::Equal => 1,
            SplitMode::Shares if raw.is_empty() => 1,
            SplitMode::Shares => raw.parse::<i64>().map_err(|_| FieldError::new("split", "Shares are whole numbers from 1 to 1000."))?,
            SplitMode::Percent => Amount::parse(raw, 2).map_err(|_| FieldError::new("split", "Give each person a percentage like 33.33."))?.minor(),
            SplitMode::Exact => Amount::parse(raw, currency.decimals).map_err(|_| FieldError::new("split", "Give each person an amount like 12.50."))?.minor(),
        };
        chosen.push((user, weight));
    }
    let parts = split::split(total, mode, &chosen)?;
    let weight_of = |user: i64| chosen.iter().find(|c| c.0 == user).map_or(1, |c| c.1);
    let parts: Vec<(i64, i64, i64)> = parts.into_iter().map(|(user, part)| (user, weight_of(user), part)).collect();
    Ok(EntryInput {
        settlement: false,
        summary: format!("{description}, {}", money(currency.code, total)),
        description,
        amount_minor: total,
        currency: currency.code.to_string(),
        spent_on: spent_on.to_string(),
        paid_by,
        mode,
        parts,
        names,
    })
}

/// Adds a shared expense: `with[<user id>]` names the people it is split with, `weight[<user
/// id>]` their shares, percentage or amount (by `mode`).
#[server(endpoint = "add_shared_expense", output = crate::api::codec::Json)]
#[allow(clippy::too_many_arguments)]
pub async fn add_shared_expense(
    room: i64,
    description: String,
    amount: String,
    currency: String,
    spent_on: String,
    paid_by: i64,
    mode: String,
    #[server(default)] with: Option<HashMap<String, String>>,
    #[server(default)] weight: Option<HashMap<String, String>>,
) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        writer_of(&state, room, s.user_id).await?;
        let entry = parse_entry(&state.db, room, &description, &amount, &currency, &spent_on, paid_by, &mode, with, weight).await?;
        let (id, card) = {
            let _turn = state.hub.write_turn().await;
            db::shared::add(&state.db, room, s.user_id, &entry, crate::server::now_ms()).await?
        };
        changed(&state, room, card).await;
        Ok(id)
    })
    .await
}

/// Changes a shared expense; only whoever added it may.
#[server(endpoint = "edit_shared_expense", output = crate::api::codec::Json)]
#[allow(clippy::too_many_arguments)]
pub async fn edit_shared_expense(
    room: i64,
    id: i64,
    description: String,
    amount: String,
    currency: String,
    spent_on: String,
    paid_by: i64,
    mode: String,
    #[server(default)] with: Option<HashMap<String, String>>,
    #[server(default)] weight: Option<HashMap<String, String>>,
) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        writer_of(&state, room, s.user_id).await?;
        let existing = db::shared::entry(&state.db, room, id).await?.ok_or(AppError::NotFound)?;
        if existing.created_by != s.user_id || existing.settlement {
            return Err(AppError::Forbidden);
        }
        let entry = parse_entry(&state.db, room, &description, &amount, &currency, &spent_on, paid_by, &mode, with, weight).await?;
        let card = {
            let _turn = state.hub.write_turn().await;
            db::shared::edit(&state.db, room, id, s.user_id, &entry, crate::server::now_ms()).await?.ok_or(AppError::NotFound)?
        };
        follow_copies(&state.db, id, Some(&entry)).await;
        changed(&state, room, card).await;
        Ok(())
    })
    .await
}

/// Deletes a shared expense or a recorded payment; only whoever added it may.
#[server(endpoint = "delete_shared_expense", output = crate::api::codec::Json)]
pub async fn delete_shared_expense(room: i64, id: i64) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        writer_of(&state, room, s.user_id).await?;
        let existing = db::shared::entry(&state.db, room, id).await?.ok_or(AppError::NotFound)?;
        if existing.created_by != s.user_id {
            return Err(AppError::Forbidden);
        }
        let card = {
            let _turn = state.hub.write_turn().await;
            db::shared::delete(&state.db, room, id, s.user_id, crate::server::now_ms()).await?.ok_or(AppError::NotFound)?
        };
        follow_copies(&state.db, id, None).await;
        changed(&state, room, card).await;
        Ok(())
    })
    .await
}

/// Records that `from` paid `to` an amount ("Bob paid Ada 25.00"), by one of the two.
#[server(endpoint = "record_payment", output = crate::api::codec::Json)]
pub async fn record_payment(room: i64, from: i64, to: i64, amount: String, currency: String) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        writer_of(&state, room, s.user_id).await?;
        let currency = Currency::parse(&currency)?;
        let total = Amount::parse(&amount, currency.decimals)?.minor();
        let members = db::chat::members(&state.db, room).await?;
        let name = |id: i64| members.iter().find(|m| m.user_id == id).map(|m| m.name.clone());
        let (Some(from_name), Some(to_name)) = (name(from), name(to)) else {
            return Err(FieldError::new("from", "Choose two members of the room.").into());
        };
        if from == to {
            return Err(FieldError::new("to", "Someone cannot pay themselves.").into());
        }
        // Who paid or who was paid says so; nobody records money moving between two others.
        if s.user_id != from && s.user_id != to {
            return Err(AppError::Forbidden);
        }
        let description = format!("{from_name} paid {to_name}");
        let entry = EntryInput {
            settlement: true,
            summary: format!("{description} {}", money(currency.code, total)),
            description,
            amount_minor: total,
            currency: currency.code.to_string(),
            spent_on: {
                let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
                clock::today_in(&user.time_zone).to_string()
            },
            paid_by: from,
            mode: SplitMode::Exact,
            parts: vec![(to, total, total)],
            names: members.into_iter().map(|m| (m.user_id, m.name)).collect(),
        };
        let (id, card) = {
            let _turn = state.hub.write_turn().await;
            db::shared::add(&state.db, room, s.user_id, &entry, crate::server::now_ms()).await?
        };
        changed(&state, room, card).await;
        Ok(id)
    })
    .await
}

/// Copies the viewer's part of entry `id` into their personal expenses, in `category_id`, so
/// their reports count it; later edits of the bill follow it there.
#[server(endpoint = "copy_my_part", output = crate::api::codec::Json)]
pub async fn copy_my_part(room: i64, id: i64, category_id: i64) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let access = writer_of(&state, room, s.user_id).await?;
        let entry = db::shared::entry(&state.db, room, id).await?.ok_or(AppError::NotFound)?;
        let part = entry.parts.iter().find(|p| p.user_id == s.user_id).filter(|_| !entry.settlement).ok_or(AppError::NotFound)?;
        if !db::categories::is_owned(&state.db, s.user_id, category_id).await? {
            return Err(FieldError::new("category_id", "Choose one of your categories.").into());
        }
        let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
        let input = personal_copy(&entry, part.amount_minor, &user.currency, category_id, &access.room.name)?;
        let personal = db::expenses::insert(&state.db, s.user_id, &input, crate::server::now_ms()).await?;
        if !db::shared::link_copy(&state.db, id, s.user_id, personal).await? {
            db::expenses::delete(&state.db, s.user_id, personal).await?;
            return Err(AppError::Refused { message: "Your part of this bill is in your expenses already.".into() });
        }
        Ok(personal)
    })
    .await
}

/// A member's part of `entry` as one of their personal expenses (in their own currency only:
/// Huddle converts no currencies).
#[cfg(feature = "ssr")]
fn personal_copy(
    entry: &crate::models::split::SharedEntry,
    part: i64,
    currency: &str,
    category_id: i64,
    room_name: &str,
) -> Result<crate::models::expense::ExpenseInput, AppError> {
    if entry.currency != currency {
        return Err(AppError::Refused { message: format!("Only bills in your currency ({currency}) can go into your expenses.") });
    }
    let decimals = Currency::find(currency).map_or(2, |c| c.decimals);
    let note = if room_name.is_empty() { "My part of a shared bill".to_string() } else { format!("My part of a bill shared in {room_name}") };
    Ok(crate::models::expense::ExpenseInput {
        amount: Amount::from_minor(part, decimals).ok_or(AppError::Internal)?,
        description: entry.description.clone(),
        category_id,
        spent_on: Day::parse(&entry.spent_on)?,
        note: Some(note),
    })
}

/// After a bill changed (`Some`: its new form) or was deleted (`None`): each member's personal
/// copy of their part follows, or is deleted when they have no part (or it left their
/// currency). The bill is stored by then; a copy that could not follow is logged.
#[cfg(feature = "ssr")]
async fn follow_copies(db: &db::Db, id: i64, entry: Option<&EntryInput>) {
    let result: Result<(), AppError> = async {
        for (user, personal) in db::shared::copies(db, id).await? {
            let part = entry.and_then(|e| e.parts.iter().find(|p| p.0 == user).map(|p| p.2));
            let keep = match (entry, part) {
                (Some(e), Some(part)) => {
                    let Some(current) = db::expenses::get(db, user, personal).await? else { continue };
                    let owner = db::users::by_id(db, user).await?.ok_or(AppError::NotFound)?;
                    (e.currency == owner.currency).then(|| {
                        let decimals = Currency::find(&owner.currency).map_or(2, |c| c.decimals);
                        Amount::from_minor(part, decimals).map(|amount| crate::models::expense::ExpenseInput {
                            amount,
                            description: e.description.clone(),
                            category_id: current.category_id,
                            spent_on: Day::parse(&e.spent_on).unwrap_or_else(|_| Day::from_ms(0)),
                            note: current.note.clone(),
                        })
                    })
                    .flatten()
                }
                _ => None,
            };
            match keep {
                Some(input) => {
                    db::expenses::update(db, user, personal, &input, crate::server::now_ms()).await?;
                }
                None => {
                    db::expenses::delete(db, user, personal).await?;
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(error) = result {
        tracing::warn!(expense = id, %error, "a personal copy of a shared bill did not follow it");
    }
}

/// Why `user` may not leave `room` (or be removed from it) yet: what they owe or are owed,
/// and to or from whom. `None` when every balance of theirs there is zero.
#[cfg(feature = "ssr")]
pub async fn unsettled(db: &db::Db, room: i64, user: i64) -> Result<Option<String>, AppError> {
    let ledgers = currency_ledgers(db, room).await?;
    if !ledgers.iter().any(|l| l.balances.iter().any(|&(u, _)| u == user)) {
        return Ok(None);
    }
    let people = db::shared::people(db, room).await?;
    let name = |id: i64| people.iter().find(|p| p.0 == id).map_or_else(|| "someone".to_string(), |p| p.1.clone());
    let mut owes = Vec::new();
    for l in &ledgers {
        for t in &l.settle {
            if t.from == user {
                owes.push(format!("pay {} {}", name(t.to), money(&l.currency, t.amount_minor)));
            } else if t.to == user {
                owes.push(format!("{} pays you {}", name(t.from), money(&l.currency, t.amount_minor)));
            }
        }
    }
    Ok(Some(format!("Settle up first: {}.", owes.join(", "))))
}
