//! Shared expenses in rooms: splits, balances, settling up, who may see and change what.

use crate::chat::{create_room, join};
use crate::helpers::{Browser, created, spawn_app};
use app::models::split::{self, Transfer};
use app::models::chat::ChatMessage;
use app::models::ws::{ClientMsg, ErrorCode, RoomCursor, ServerMsg};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;

async fn ledger(b: &mut Browser, room: i64) -> Value {
    let res = b.call("room_ledger", &[("room", &room.to_string())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn my_id(b: &mut Browser) -> i64 {
    b.me().await["id"].as_i64().unwrap()
}

/// The balances of one currency as `{user id: balance}`.
fn balances(ledger: &Value, currency: &str) -> BTreeMap<i64, i64> {
    let Some(c) = ledger["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == currency) else { return BTreeMap::new() };
    c["balances"].as_array().unwrap().iter().map(|b| (b[0].as_i64().unwrap(), b[1].as_i64().unwrap())).collect()
}

fn settle(ledger: &Value, currency: &str) -> Vec<Transfer> {
    let c = ledger["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == currency).unwrap();
    serde_json::from_value(c["settle"].clone()).unwrap()
}

/// Adds a shared expense: `split` is `(user, weight text)`, every one of them included.
async fn add(b: &mut Browser, room: i64, what: &str, amount: &str, paid_by: i64, mode: &str, split: &[(i64, &str)]) -> reqwest::Response {
    let room = room.to_string();
    let paid_by = paid_by.to_string();
    let keys: Vec<(String, String)> = split.iter().map(|(u, _)| (format!("with[{u}]"), format!("weight[{u}]"))).collect();
    let mut form = vec![
        ("room", room.as_str()),
        ("description", what),
        ("amount", amount),
        ("currency", "EUR"),
        ("spent_on", "2026-11-20"),
        ("paid_by", paid_by.as_str()),
        ("mode", mode),
    ];
    for ((with, weight), (_, w)) in keys.iter().zip(split) {
        form.push((with.as_str(), "on"));
        form.push((weight.as_str(), w));
    }
    b.call("add_shared_expense", &form).await
}

async fn pay(b: &mut Browser, room: i64, from: i64, to: i64, amount: &str) -> reqwest::Response {
    let (room, from, to) = (room.to_string(), from.to_string(), to.to_string());
    b.call("record_payment", &[("room", &room), ("from", &from), ("to", &to), ("amount", amount), ("currency", "EUR")]).await
}

/// A room of ada (its creator), bob and cy.
async fn three(app: &crate::helpers::TestApp) -> (Browser, Browser, Browser, i64, [i64; 3]) {
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let mut cy = app.signed_up("cyra").await;
    let room = create_room(&mut ada, "Flat").await;
    join(&mut ada, &mut bob, room).await;
    join(&mut ada, &mut cy, room).await;
    let ids = [my_id(&mut ada).await, my_id(&mut bob).await, my_id(&mut cy).await];
    (ada, bob, cy, room, ids)
}

#[tokio::test]
async fn three_people_split_a_dinner_unevenly_and_settle_up() {
    let app = spawn_app().await;
    let (mut ada, mut bob, mut cy, room, [a, b, c]) = three(&app).await;
    let mut bob_tab = bob.socket().await;

    // Ada pays 100.00, split equally: the leftover cent goes to the lowest user id (hers).
    let res = add(&mut ada, room, "Dinner", "100", a, "equal", &[(a, ""), (b, ""), (c, "")]).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    // Bob hears of it live.
    bob_tab.recv_where(|m| matches!(m, ServerMsg::LedgerChanged { room: r } if r == room).then_some(())).await;
    let l = ledger(&mut bob, room).await;
    let dinner = &l["entries"][0];
    let parts: Vec<(i64, i64)> = dinner["parts"].as_array().unwrap().iter().map(|p| (p["user_id"].as_i64().unwrap(), p["amount_minor"].as_i64().unwrap())).collect();
    assert_eq!(parts, [(a, 3334), (b, 3333), (c, 3333)]);
    assert_eq!(balances(&l, "EUR"), BTreeMap::from([(a, 6666), (b, -3333), (c, -3333)]));

    // Bob pays the taxi 30.00, by shares 2:1 for himself and cy; cy the wine 12.00 at 25/75 %.
    assert_eq!(add(&mut bob, room, "Taxi", "30", b, "shares", &[(b, "2"), (c, "1")]).await.status(), StatusCode::OK);
    assert_eq!(add(&mut cy, room, "Wine", "12.00", c, "percent", &[(a, "25"), (c, "75")]).await.status(), StatusCode::OK);
    // And exact amounts that must add up.
    let wrong = add(&mut ada, room, "Cake", "10", a, "exact", &[(b, "4"), (c, "5")]).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.json::<Value>().await.unwrap()["Validation"]["field"], "split");
    assert_eq!(add(&mut ada, room, "Cake", "10", a, "exact", &[(b, "4"), (c, "6")]).await.status(), StatusCode::OK);

    let l = ledger(&mut cy, room).await;
    // ada: +100 -33.34 -3 +10 = 73.66; bob: -33.33 +30 -20 -4 = -27.33; cy: -33.33 -10 +12 -9 -6 = -46.33
    let expected = BTreeMap::from([(a, 7366), (b, -2733), (c, -4633)]);
    assert_eq!(balances(&l, "EUR"), expected);
    let plan = settle(&l, "EUR");
    assert_eq!(plan, [Transfer { from: b, to: a, amount_minor: 2733 }, Transfer { from: c, to: a, amount_minor: 4633 }]);

    // Her dashboard says what she owes, room by room.
    let dash: Value = cy.call("dashboard", &[]).await.json().await.unwrap();
    assert_eq!(dash["shared"], serde_json::json!([{"room_id": room, "room_name": "Flat", "currency": "EUR", "balance_minor": -4633}]));
    // Cy cannot leave while she owes: the message says how much and to whom.
    let refused = cy.call("leave_room", &[("room", &room.to_string())]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let message = refused.json::<Value>().await.unwrap()["Refused"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("pay Ada Lovelace") && message.contains("46,33"), "{message}");
    // Nor can ada remove her.
    assert_eq!(ada.call("remove_member", &[("room", &room.to_string()), ("user_id", &c.to_string())]).await.status(), StatusCode::CONFLICT);

    // Each pays what the plan says; the balances reach zero.
    assert_eq!(pay(&mut bob, room, b, a, "27.33").await.status(), StatusCode::OK);
    assert_eq!(settle(&ledger(&mut ada, room).await, "EUR"), [Transfer { from: c, to: a, amount_minor: 4633 }], "the other suggestion is unchanged");
    assert_eq!(pay(&mut cy, room, c, a, "46.33").await.status(), StatusCode::OK);
    let l = ledger(&mut ada, room).await;
    assert!(l["currencies"].as_array().unwrap().is_empty(), "{l}");
    assert_eq!(l["entries"][0]["settlement"], true);
    let dash: Value = cy.call("dashboard", &[]).await.json().await.unwrap();
    assert_eq!(dash["shared"], serde_json::json!([]));
    // Settled, cy may leave.
    assert_eq!(cy.call("leave_room", &[("room", &room.to_string())]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_members_see_or_touch_a_rooms_shared_expenses() {
    let app = spawn_app().await;
    let (mut ada, mut bob, _cy, room, [a, b, c]) = three(&app).await;
    let mut eve = app.signed_up("eve").await;
    let e = my_id(&mut eve).await;
    let id = created(&mut ada, "add_shared_expense", &[
        ("room", &room.to_string()), ("description", "Groceries"), ("amount", "40"), ("currency", "EUR"),
        ("spent_on", "2026-11-21"), ("paid_by", &a.to_string()), ("mode", "equal"),
        (&format!("with[{a}]"), "on"), (&format!("with[{b}]"), "on"),
    ]).await;
    let (room_s, id_s) = (room.to_string(), id.to_string());

    // To someone outside, the room's ledger and entries answer as missing ones do.
    let missing = (room + 999).to_string();
    let outside = eve.call("room_ledger", &[("room", &room_s)]).await;
    let never = eve.call("room_ledger", &[("room", &missing)]).await;
    assert_eq!((outside.status(), never.status()), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(outside.text().await.unwrap(), never.text().await.unwrap());
    assert_eq!(eve.call("delete_shared_expense", &[("room", &room_s), ("id", &id_s)]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(add(&mut eve, room, "Mine", "5", e, "equal", &[(e, "")]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(pay(&mut eve, room, e, a, "5").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(eve.get(&format!("/chat/{room}/expenses.csv")).await.status(), StatusCode::NOT_FOUND);
    let page = eve.get(&format!("/chat/{room}/expenses")).await.text().await.unwrap();
    assert!(!page.contains("Groceries"));

    // Eve's own room: an entry id of ada's room is not found there.
    let eves = create_room(&mut eve, "Eve's").await;
    assert_eq!(eve.call("delete_shared_expense", &[("room", &eves.to_string()), ("id", &id_s)]).await.status(), StatusCode::NOT_FOUND);

    // Nor record money moving between two others.
    assert_eq!(pay(&mut bob, room, a, c, "5").await.status(), StatusCode::FORBIDDEN);
    // A member may not change what another added.
    assert_eq!(bob.call("delete_shared_expense", &[("room", &room_s), ("id", &id_s)]).await.status(), StatusCode::FORBIDDEN);
    let edit = [("room", room_s.as_str()), ("id", id_s.as_str()), ("description", "Mine now"), ("amount", "1"), ("currency", "EUR"),
        ("spent_on", "2026-11-21"), ("paid_by", &b.to_string()), ("mode", "equal"), (&format!("with[{b}]"), "on")];
    assert_eq!(bob.call("edit_shared_expense", &edit).await.status(), StatusCode::FORBIDDEN);
    // Nobody outside the room can be the payer or in the split.
    let res = add(&mut ada, room, "Gift", "10", e, "equal", &[(a, "")]).await;
    assert_eq!(res.json::<Value>().await.unwrap()["Validation"]["field"], "paid_by");
    let res = add(&mut ada, room, "Gift", "10", a, "equal", &[(a, ""), (e, "")]).await;
    assert_eq!(res.json::<Value>().await.unwrap()["Validation"]["field"], "split");
    assert_eq!(ledger(&mut ada, room).await["entries"].as_array().unwrap().len(), 1, "nothing else was stored");

    // Members get the CSV, formulas defused.
    add(&mut bob, room, "=cmd()", "3", b, "equal", &[(b, "")]).await;
    let csv = bob.get(&format!("/chat/{room}/expenses.csv")).await;
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("date,type,description,amount,currency,paid_by,parts,added_by\r\n"), "{text}");
    assert!(text.contains("2026-11-21,expense,Groceries,40.00,EUR,Ada Lovelace"), "{text}");
    assert!(text.contains("'=cmd()"), "{text}");
}

#[tokio::test]
async fn edits_and_deletes_change_the_balances_and_keep_their_history() {
    let app = spawn_app().await;
    let (mut ada, _bob, _cy, room, [a, b, c]) = three(&app).await;
    let id: i64 = add(&mut ada, room, "Rent", "900", a, "equal", &[(a, ""), (b, ""), (c, "")]).await.json().await.unwrap();
    let edit: Vec<(String, String)> = [("room", room.to_string()), ("id", id.to_string()), ("description", "Rent (November)".into()),
        ("amount", "600".into()), ("currency", "EUR".into()), ("spent_on", "2026-11-01".into()), ("paid_by", a.to_string()),
        ("mode", "equal".into()), (&format!("with[{a}]"), "on".into()), (&format!("with[{b}]"), "on".into())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let edit: Vec<(&str, &str)> = edit.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(ada.call("edit_shared_expense", &edit).await.status(), StatusCode::OK);
    let l = ledger(&mut ada, room).await;
    assert_eq!(balances(&l, "EUR"), BTreeMap::from([(a, 30000), (b, -30000)]));
    assert_eq!(l["entries"][0]["description"], "Rent (November)");
    assert!(l["entries"][0]["updated_at"].is_i64());
    let history: Vec<String> = serde_json::from_value(l["entries"][0]["history"].clone()).unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(history[0].starts_with("Added by Ada Lovelace, 20") && history[1].starts_with("Edited by Ada Lovelace, 20"), "{history:?}");
    assert_eq!(ada.call("delete_shared_expense", &[("room", &room.to_string()), ("id", &id.to_string())]).await.status(), StatusCode::OK);
    assert!(ledger(&mut ada, room).await["entries"].as_array().unwrap().is_empty());
    // Added, edited, deleted: each by ada, each kept.
    assert_eq!(app.number("select count(*) from shared_expense_history where expense_id = $1 and changed_by = $2", &[id, a]).await, 3);
    assert_eq!(ada.call("delete_shared_expense", &[("room", &room.to_string()), ("id", &id.to_string())]).await.status(), StatusCode::NOT_FOUND, "gone");
}

#[tokio::test]
async fn balances_always_equal_a_fresh_computation_from_the_entries() {
    let app = spawn_app().await;
    let (mut ada, mut bob, mut cy, room, ids) = three(&app).await;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut mine: Vec<(usize, i64)> = Vec::new();
    for step in 0..40 {
        let who = next(3) as usize;
        let b = match who {
            0 => &mut ada,
            1 => &mut bob,
            _ => &mut cy,
        };
        match next(10) {
            0..=5 => {
                let amount = format!("{}.{:02}", 1 + next(200), next(100));
                let mode = ["equal", "shares", "percent", "exact"][next(4) as usize];
                let (split, paid_by): (Vec<(i64, String)>, i64) = match mode {
                    "shares" => (ids.iter().map(|&u| (u, (1 + next(5)).to_string())).collect(), ids[next(3) as usize]),
                    "percent" => (vec![(ids[0], "50".into()), (ids[1], "30.5".into()), (ids[2], "19.5".into())], ids[next(3) as usize]),
                    "exact" => {
                        let cents: i64 = amount.replace('.', "").parse().unwrap();
                        let first = cents / 3;
                        let f = |m: i64| format!("{}.{:02}", m / 100, m % 100);
                        (vec![(ids[0], f(first)), (ids[2], f(cents - first))], ids[next(3) as usize])
                    }
                    _ => (ids.iter().take(1 + next(3) as usize).map(|&u| (u, String::new())).collect(), ids[next(3) as usize]),
                };
                let split: Vec<(i64, &str)> = split.iter().map(|(u, w)| (*u, w.as_str())).collect();
                let res = add(b, room, &format!("step {step}"), &amount, paid_by, mode, &split).await;
                if res.status() == StatusCode::OK {
                    mine.push((who, res.json().await.unwrap()));
                }
            }
            6..=7 => {
                // Whoever records a payment made it.
                let (from, to) = (ids[who], ids[next(3) as usize]);
                if from != to {
                    assert_eq!(pay(b, room, from, to, &format!("{}.50", next(50))).await.status(), StatusCode::OK);
                }
            }
            _ => {
                if let Some(k) = mine.iter().position(|(w, _)| *w == who) {
                    let (_, id) = mine.remove(k);
                    assert_eq!(b.call("delete_shared_expense", &[("room", &room.to_string()), ("id", &id.to_string())]).await.status(), StatusCode::OK);
                }
            }
        }
        // What the server sums equals what the entries it lists add up to, and the plan clears it.
        let l = ledger(&mut ada, room).await;
        let entries: Vec<app::models::split::SharedEntry> = serde_json::from_value(l["entries"].clone()).unwrap();
        let parts: Vec<Vec<(i64, i64)>> = entries.iter().map(|e| e.parts.iter().map(|p| (p.user_id, p.amount_minor)).collect()).collect();
        for e in &entries {
            assert_eq!(e.parts.iter().map(|p| p.amount_minor).sum::<i64>(), e.amount_minor, "{e:?}");
        }
        let fresh: BTreeMap<i64, i64> = split::balances(entries.iter().zip(&parts).map(|(e, p)| (e.paid_by, e.amount_minor, p.as_slice())))
            .into_iter()
            .filter(|&(_, b)| b != 0)
            .collect();
        assert_eq!(balances(&l, "EUR"), fresh, "after step {step}");
        if !fresh.is_empty() {
            // The plan shown clears them, with as few payments as a plan made now.
            let plan = settle(&l, "EUR");
            let mut left = fresh.clone();
            for t in &plan {
                *left.get_mut(&t.from).unwrap() += t.amount_minor;
                *left.get_mut(&t.to).unwrap() -= t.amount_minor;
            }
            assert!(left.values().all(|&b| b == 0), "{plan:?} does not clear {fresh:?}");
            assert_eq!(plan.len(), split::settle(&fresh).len());
        }
    }
}

#[tokio::test]
async fn without_javascript_a_bad_form_comes_back_with_its_error_and_a_good_one_is_stored() {
    let app = spawn_app().await;
    let (mut ada, _bob, _cy, room, [a, b, _]) = three(&app).await;
    let page = format!("/chat/{room}/expenses");
    let html = ada.get(&page).await.text().await.unwrap();
    assert!(html.contains("Add a shared expense") && html.contains("Everyone is settled up."), "{html}");
    let (room_s, a_s) = (room.to_string(), a.to_string());
    let mut form = vec![("room", room_s.as_str()), ("description", "Tickets"), ("amount", "abc"), ("currency", "EUR"),
        ("spent_on", "2026-11-22"), ("paid_by", a_s.as_str()), ("mode", "equal")];
    let (wa, wb) = (format!("with[{a}]"), format!("with[{b}]"));
    form.push((wa.as_str(), "on"));
    form.push((wb.as_str(), "on"));
    let res = ada.form_post("add_shared_expense", &page, &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let back = location[location.find(&page).expect("back to the page")..].to_string();
    assert!(back.contains("__err"), "{back}");
    let html = ada.get(&back).await.text().await.unwrap();
    assert!(html.contains("Enter a number like 12.50."), "the error is beside its field");
    form[2] = ("amount", "50");
    let res = ada.form_post("add_shared_expense", &page, &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = ada.get(&page).await.text().await.unwrap();
    assert!(html.contains("Tickets: 50,00"), "{html}");
    assert!(html.contains("pays you 25,00"), "{html}");
}

#[tokio::test]
async fn a_flood_of_changes_is_refused_and_nothing_past_the_limit_is_stored() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let a = my_id(&mut ada).await;
    let room = create_room(&mut ada, "Flood").await;
    let limit = app::api::shared::LEDGER_WRITES_PER_MINUTE as usize;
    for i in 0..limit {
        assert_eq!(add(&mut ada, room, &format!("bill {i}"), "1", a, "equal", &[(a, "")]).await.status(), StatusCode::OK, "bill {i}");
    }
    let refused = add(&mut ada, room, "one too many", "1", a, "equal", &[(a, "")]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.json::<Value>().await.unwrap()["RateLimited"]["retry_after_secs"].as_u64().unwrap() >= 1);
    let l = ledger(&mut ada, room).await;
    assert_eq!(l["entry_count"], limit as i64);
    assert_eq!(l["entries"].as_array().unwrap().len(), limit);
}

async fn category(b: &mut Browser, name: &str) -> String {
    let list: Value = b.call("categories", &[]).await.json().await.unwrap();
    list.as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["id"].to_string()
}

/// The amount of personal expense `id`, or `None` when it is gone.
async fn personal_amount(b: &mut Browser, id: i64) -> Option<i64> {
    let res = b.call("get_expense", &[("id", &id.to_string())]).await;
    (res.status() == StatusCode::OK).then_some(())?;
    res.json::<Value>().await.unwrap()["amount_minor"].as_i64()
}

#[tokio::test]
async fn a_member_copies_their_part_into_their_expenses_and_it_follows_the_bill() {
    let app = spawn_app().await;
    let (mut ada, mut bob, mut cy, room, [a, b, c]) = three(&app).await;
    let id: i64 = add(&mut ada, room, "Groceries", "30", a, "equal", &[(a, ""), (c, "")]).await.json().await.unwrap();
    let (room_s, id_s) = (room.to_string(), id.to_string());
    let other = category(&mut cy, "Other").await;
    let personal = created(&mut cy, "copy_my_part", &[("room", &room_s), ("id", &id_s), ("category_id", &other)]).await;
    assert_eq!(personal_amount(&mut cy, personal).await, Some(1500));
    let l = ledger(&mut cy, room).await;
    assert_eq!(l["entries"][0]["copied_by_me"], true);
    // Once only; not with someone else's category; not for someone without a part, nor outside.
    assert_eq!(cy.call("copy_my_part", &[("room", &room_s), ("id", &id_s), ("category_id", &other)]).await.status(), StatusCode::CONFLICT);
    let bobs = category(&mut bob, "Other").await;
    assert_eq!(bob.call("copy_my_part", &[("room", &room_s), ("id", &id_s), ("category_id", &bobs)]).await.status(), StatusCode::NOT_FOUND);
    let mut eve = app.signed_up("eve").await;
    let eves = category(&mut eve, "Other").await;
    assert_eq!(eve.call("copy_my_part", &[("room", &room_s), ("id", &id_s), ("category_id", &eves)]).await.status(), StatusCode::NOT_FOUND);
    let res = ada.call("copy_my_part", &[("room", &room_s), ("id", &id_s), ("category_id", &other)]).await;
    assert_eq!(res.json::<Value>().await.unwrap()["Validation"]["field"], "category_id");

    // Ada makes it 45.00 between the three: cy's copy becomes 15.00 -> still 15.00; then 60.00.
    let edit = |amount: &'static str, with: Vec<i64>| {
        let mut form: Vec<(String, String)> = vec![("room".into(), room_s.clone()), ("id".into(), id_s.clone()), ("description".into(), "Groceries".into()),
            ("amount".into(), amount.into()), ("currency".into(), "EUR".into()), ("spent_on".into(), "2026-11-23".into()),
            ("paid_by".into(), a.to_string()), ("mode".into(), "equal".into())];
        form.extend(with.into_iter().map(|u| (format!("with[{u}]"), "on".to_string())));
        form
    };
    let form = edit("60", vec![a, b, c]);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(ada.call("edit_shared_expense", &form).await.status(), StatusCode::OK);
    assert_eq!(personal_amount(&mut cy, personal).await, Some(2000));
    // Without cy in the split, her copy goes.
    let form = edit("60", vec![a, b]);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(ada.call("edit_shared_expense", &form).await.status(), StatusCode::OK);
    assert_eq!(personal_amount(&mut cy, personal).await, None);
    // Bob copies his part; deleting the bill deletes the copy.
    let bob_copy = created(&mut bob, "copy_my_part", &[("room", &room_s), ("id", &id_s), ("category_id", &bobs)]).await;
    assert_eq!(personal_amount(&mut bob, bob_copy).await, Some(3000));
    assert_eq!(ada.call("delete_shared_expense", &[("room", &room_s), ("id", &id_s)]).await.status(), StatusCode::OK);
    assert_eq!(personal_amount(&mut bob, bob_copy).await, None);
}

/// The next `message` frame about a card, as `tab` receives it.
async fn card_message(tab: &mut crate::helpers::Socket) -> ChatMessage {
    tab.recv_where(|m| match m {
        ServerMsg::Message { message } if message.card.is_some() => Some(message),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn bills_and_payments_are_cards_in_the_timeline_kept_live_and_after_a_reconnect() {
    let app = spawn_app().await;
    let (mut ada, mut bob, mut cy, room, [a, b, c]) = three(&app).await;
    let mut bob_tab = bob.socket().await;
    let mut ada_tab = ada.socket().await;
    let before = ada_tab.say(room, "Dinner was great").await;

    // Ada splits dinner 1:2:3: every member's timeline gets its card, stored as the next message.
    let id: i64 = add(&mut ada, room, "Dinner", "60", a, "shares", &[(a, "1"), (b, "2"), (c, "3")]).await.json().await.unwrap();
    let posted = card_message(&mut bob_tab).await;
    assert_eq!((posted.room, posted.seq, posted.sender_id), (room, before.seq + 1, a));
    assert_eq!(posted.body, "Ada Lovelace paid 60,00\u{a0}€ for Dinner");
    let card = posted.card.clone().unwrap();
    assert_eq!((card.entry, card.settlement, card.deleted), (id, false, false));
    assert_eq!((card.description.as_str(), card.amount_minor, card.currency.as_str()), ("Dinner", 6000, "EUR"));
    assert_eq!((card.paid_by, card.paid_by_name.as_str()), (a, "Ada Lovelace"));
    // (Every test user is called Ada Lovelace.)
    let parts: Vec<(i64, &str, i64)> = card.parts.iter().map(|p| (p.user_id, p.name.as_str(), p.amount_minor)).collect();
    assert_eq!(parts, [(a, "Ada Lovelace", 1000), (b, "Ada Lovelace", 2000), (c, "Ada Lovelace", 3000)]);

    // Its card follows an edit: the same message, changed.
    let edit: Vec<(String, String)> = [("room", room.to_string()), ("id", id.to_string()), ("description", "Dinner and wine".into()),
        ("amount", "90".into()), ("currency", "EUR".into()), ("spent_on", "2026-11-20".into()), ("paid_by", a.to_string()),
        ("mode", "shares".into()), (&format!("with[{a}]"), "on".into()), (&format!("weight[{a}]"), "1".into()),
        (&format!("with[{b}]"), "on".into()), (&format!("weight[{b}]"), "2".into())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let edit: Vec<(&str, &str)> = edit.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(ada.call("edit_shared_expense", &edit).await.status(), StatusCode::OK);
    let edited = card_message(&mut bob_tab).await;
    assert_eq!((edited.id, edited.seq), (posted.id, posted.seq));
    assert!(edited.change > posted.change && edited.edited_at.is_some());
    let card = edited.card.clone().unwrap();
    assert_eq!((card.description.as_str(), card.amount_minor), ("Dinner and wine", 9000));
    assert_eq!(card.parts.iter().map(|p| (p.user_id, p.amount_minor)).collect::<Vec<_>>(), [(a, 3000), (b, 6000)]);

    // A card changes only through the ledger: the chat's edit and delete refuse it.
    ada_tab.send(&ClientMsg::Edit { message_id: posted.id, body: "I paid nothing".into() }).await;
    assert_eq!(ada_tab.error().await.0, ErrorCode::NotYours);
    ada_tab.send(&ClientMsg::Delete { message_id: posted.id }).await;
    assert_eq!(ada_tab.error().await.0, ErrorCode::NotYours);

    // Bob records paying his part: a payment card, from him.
    assert_eq!(pay(&mut bob, room, b, a, "60").await.status(), StatusCode::OK);
    let payment = card_message(&mut bob_tab).await;
    assert_eq!((payment.seq, payment.sender_id), (posted.seq + 1, b));
    assert_eq!(payment.body, "Ada Lovelace paid Ada Lovelace 60,00\u{a0}€");
    let card = payment.card.clone().unwrap();
    assert!(card.settlement && card.paid_by == b && card.parts[0].user_id == a);

    // Ada deletes the bill: its card stays in its place, marked deleted.
    assert_eq!(ada.call("delete_shared_expense", &[("room", &room.to_string()), ("id", &id.to_string())]).await.status(), StatusCode::OK);
    let deleted = card_message(&mut bob_tab).await;
    assert_eq!(deleted.id, posted.id);
    assert!(deleted.card.as_ref().unwrap().deleted && !deleted.is_deleted());
    assert_eq!(deleted.body, "Deleted: Ada Lovelace paid 90,00\u{a0}€ for Dinner and wine");

    // Cy was away: her sync replays each card once, as last written, in order.
    let mut cy_tab = cy.socket().await;
    cy_tab.send(&ClientMsg::Sync { rooms: vec![RoomCursor { room, after: before.change }] }).await;
    let replayed = cy_tab
        .recv_where(|m| match m {
            ServerMsg::Replay { messages, .. } => Some(messages),
            _ => None,
        })
        .await;
    let shown: Vec<(i64, bool, bool)> = replayed.iter().map(|m| (m.seq, m.card.as_ref().unwrap().settlement, m.card.as_ref().unwrap().deleted)).collect();
    assert_eq!(shown, [(payment.seq, true, false), (posted.seq, false, true)]);
    // The room's page renders them too (with or without JavaScript).
    let page = cy.get(&format!("/chat/{room}")).await.text().await.unwrap();
    assert!(page.contains("data-testid=\"bill-card\"") && page.contains("Ada Lovelace paid Ada Lovelace 60,00"), "{page}");
    assert!(page.contains(&format!("/chat/{room}/expenses#entry-{}", payment.card.as_ref().unwrap().entry)));
}
