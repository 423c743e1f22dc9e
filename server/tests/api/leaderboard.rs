//! The premium leaderboard: totals kept with every expense change equal a fresh sum, and only
//! people who chose to appear are on it, shown only to premium accounts.

use crate::helpers::{Browser, TestApp, created, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection;

/// A small deterministic generator: the same history every run, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

async fn other_category(b: &mut Browser) -> String {
    let list: Value = b.call("categories", &[]).await.json().await.unwrap();
    list.as_array().unwrap().iter().find(|c| c["name"] == "Other").unwrap()["id"].to_string()
}

async fn rows(app: &TestApp, sql: &str) -> Vec<(i64, String, i64)> {
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&app.database.url).await.unwrap();
    let mut rows: Vec<(i64, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(&mut db).await.unwrap();
    rows.sort();
    rows
}

async fn make_premium(app: &TestApp, b: &mut Browser) {
    let id = b.me().await["id"].as_i64().unwrap();
    app.execute("update users set premium_since = 1 where id = $1", &[id]).await;
}

async fn board(b: &mut Browser) -> Value {
    let res = b.call("leaderboard", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn names(board: &Value, which: &str) -> Vec<(String, String)> {
    let Some(boards) = board[which].as_array() else { return Vec::new() };
    boards
        .iter()
        .flat_map(|b| b["places"].as_array().unwrap().iter().map(|p| (p["username"].as_str().unwrap().to_string(), p["total"].as_str().unwrap().to_string())))
        .collect()
}

#[tokio::test]
async fn totals_kept_with_every_change_equal_a_fresh_sum_after_a_random_history() {
    let app = spawn_app().await;
    let mut people = vec![app.signed_up("ada").await, app.signed_up("bob").await, app.signed_up("cyd").await];
    let mut categories = Vec::new();
    for b in &mut people {
        categories.push(other_category(b).await);
    }
    let today = app::models::time::Day::from_ms(app::server::now_ms());
    let days: Vec<String> = (0..6).map(|back| today.first_of_month().add_months(-back).to_string()).chain([today.to_string()]).collect();
    let mut rng = Lcg(0x5eed);
    let mut ids: Vec<Vec<i64>> = vec![Vec::new(); 3];
    for step in 0..150 {
        let who = rng.below(3) as usize;
        let amount = format!("{}.{:02}", 1 + rng.below(500), rng.below(100));
        let day = days[rng.below(days.len() as u64) as usize].clone();
        let (b, category) = (&mut people[who], categories[who].as_str());
        match (rng.below(4), ids[who].is_empty()) {
            (0 | 1, _) | (_, true) => {
                let form = [("amount", amount.as_str()), ("description", "thing"), ("category_id", category), ("spent_on", day.as_str())];
                ids[who].push(created(b, "add_expense", &form).await);
            }
            (2, false) => {
                let id = ids[who][rng.below(ids[who].len() as u64) as usize].to_string();
                let form = [("id", id.as_str()), ("amount", amount.as_str()), ("description", "changed"), ("category_id", category), ("spent_on", day.as_str())];
                assert_eq!(b.call("update_expense", &form).await.status(), StatusCode::OK, "step {step}");
            }
            _ => {
                let at = rng.below(ids[who].len() as u64) as usize;
                let id = ids[who].swap_remove(at).to_string();
                assert_eq!(b.call("delete_expense", &[("id", id.as_str())]).await.status(), StatusCode::OK, "step {step}");
            }
        }
    }
    // Someone else's expense cannot be changed or deleted, and moves nobody's totals.
    let (theirs, mine) = (ids[1][0].to_string(), &mut people[0]);
    let form = [("id", theirs.as_str()), ("amount", "999.00"), ("description", "x"), ("category_id", categories[0].as_str()), ("spent_on", days[0].as_str())];
    assert_ne!(mine.call("update_expense", &form).await.status(), StatusCode::OK);
    assert_ne!(mine.call("delete_expense", &[("id", theirs.as_str())]).await.status(), StatusCode::OK);

    let kept = rows(&app, "select user_id, period, total from spend_totals where total <> 0").await;
    let fresh = rows(
        &app,
        "select user_id, substr(spent_on, 1, 7), cast(sum(amount_minor) as bigint) from expenses group by user_id, substr(spent_on, 1, 7)
         union all select user_id, 'all', cast(sum(amount_minor) as bigint) from expenses group by user_id",
    )
    .await;
    assert_eq!(kept, fresh);
    assert!(fresh.len() > 6, "the history touched several months: {fresh:?}");
}

#[tokio::test]
async fn only_people_who_chose_to_appear_are_on_it_and_only_premium_accounts_see_it() {
    let app = spawn_app().await;
    let (mut ada, mut bob, mut cy) = (app.signed_up("ada").await, app.signed_up("bob").await, app.signed_up("cyd").await);
    let today = app::models::time::Day::from_ms(app::server::now_ms()).to_string();
    for (b, amount) in [(&mut ada, "10.00"), (&mut bob, "30.00"), (&mut cy, "50.00")] {
        let category = other_category(b).await;
        created(b, "add_expense", &[("amount", amount), ("description", "x"), ("category_id", &category), ("spent_on", &today)]).await;
    }
    assert_eq!(board(&mut ada).await, Value::Null, "not premium: no leaderboard");
    make_premium(&app, &mut ada).await;
    let empty = board(&mut ada).await;
    assert_eq!(empty["me_on"], false);
    assert!(names(&empty, "all_time").is_empty(), "nobody chose to appear yet");

    for b in [&mut ada, &mut bob] {
        assert_eq!(b.call("set_leaderboard", &[("show", "on")]).await.status(), StatusCode::OK);
    }
    let shown = board(&mut ada).await;
    assert_eq!(shown["me_on"], true);
    let money = |minor| app::models::money::money("EUR", minor);
    let expected = vec![("bob".to_string(), money(3000)), ("ada".to_string(), money(1000))];
    assert_eq!(names(&shown, "this_month"), expected);
    assert_eq!(names(&shown, "all_time"), expected);
    assert_eq!(shown["all_time"][0]["places"][1]["me"], true);

    // Leaving it: gone at once.
    assert_eq!(bob.call("set_leaderboard", &[]).await.status(), StatusCode::OK);
    assert_eq!(names(&board(&mut ada).await, "all_time"), vec![("ada".to_string(), money(1000))]);
    assert_eq!(board(&mut bob).await, Value::Null);
}
