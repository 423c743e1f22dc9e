//! Monthly budgets: set, replace, remove, and the month's spending against them.

use crate::helpers::{Browser, error_of, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

async fn category(b: &mut Browser, name: &str) -> String {
    let list: Value = b.call("categories", &[]).await.json().await.unwrap();
    list.as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["id"].to_string()
}

#[tokio::test]
async fn budgets_track_this_months_spending_per_category() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let (food, travel) = (category(&mut ada, "Food").await, category(&mut ada, "Travel").await);
    assert_eq!(ada.call("set_budget", &[("category_id", &food), ("amount", "100")]).await.status(), StatusCode::OK);
    assert_eq!(ada.call("set_budget", &[("category_id", &travel), ("amount", "50")]).await.status(), StatusCode::OK);
    // Replacing a budget keeps one row.
    assert_eq!(ada.call("set_budget", &[("category_id", &travel), ("amount", "40")]).await.status(), StatusCode::OK);

    // The user's today, as the add form offers it.
    let choices: Value = ada.call("form_choices", &[]).await.json().await.unwrap();
    let day = choices["today"].as_str().unwrap().to_string();
    for (amount, cat) in [("85", &food), ("45", &travel)] {
        let form = [("amount", amount), ("description", "x"), ("category_id", cat.as_str()), ("spent_on", day.as_str())];
        assert_eq!(ada.call("add_expense", &form).await.status(), StatusCode::OK);
    }
    let month: Value = ada.call("budgets", &[]).await.json().await.unwrap();
    let lines = month["lines"].as_array().unwrap();
    let line = |name: &str| lines.iter().find(|l| l["category"] == name).unwrap().clone();
    assert_eq!((line("Food")["budget_minor"].as_i64(), line("Food")["spent_minor"].as_i64()), (Some(10000), Some(8500)));
    assert_eq!((line("Travel")["budget_minor"].as_i64(), line("Travel")["spent_minor"].as_i64()), (Some(4000), Some(4500)));
    assert!(line("Housing")["budget_minor"].is_null());
    assert_eq!((month["total_budget_minor"].as_i64(), month["total_spent_minor"].as_i64()), (Some(14000), Some(13000)));

    // The dashboard shows the states: Food close (85 %), Travel over.
    let page = ada.get("/").await.text().await.unwrap();
    assert!(page.contains(r#"data-state="close""#) && page.contains(r#"data-state="over""#), "{page}");

    assert_eq!(ada.call("set_budget", &[("category_id", &travel), ("amount", "")]).await.status(), StatusCode::OK);
    let month: Value = ada.call("budgets", &[]).await.json().await.unwrap();
    assert_eq!(month["total_budget_minor"], 10000);
}

#[tokio::test]
async fn a_budget_needs_a_positive_amount_and_ones_own_category() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let food = category(&mut ada, "Food").await;
    let res = ada.call("set_budget", &[("category_id", &food), ("amount", "-5")]).await;
    assert_eq!(error_of(res).await["Validation"]["field"], "amount");
    let res = bob.call("set_budget", &[("category_id", &food), ("amount", "5")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
