//! Report totals against sums computed here, and the CSV export.

use crate::helpers::{Browser, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

async fn add(b: &mut Browser, amount: &str, description: &str, category: &str, day: &str) {
    let list: Value = b.call("categories", &[]).await.json().await.unwrap();
    let id = list.as_array().unwrap().iter().find(|c| c["name"] == category).unwrap()["id"].to_string();
    let form = [("amount", amount), ("description", description), ("category_id", &id), ("spent_on", day)];
    assert_eq!(b.call("add_expense", &form).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn report_totals_match_the_expenses_they_sum() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    // Seeded data: (minor units, category, day).
    let seed = [
        (1250, "Food", "2026-03-01"),
        (800, "Food", "2026-03-14"),
        (5000, "Housing", "2026-03-14"),
        (199, "Transport", "2026-03-31"),
        (700, "Food", "2026-02-28"),
        (10000, "Travel", "2026-07-04"),
        (300, "Food", "2025-12-31"),
    ];
    for (i, (minor, category, day)) in seed.iter().enumerate() {
        let amount = format!("{}.{:02}", minor / 100, minor % 100);
        add(&mut ada, &amount, &format!("item {i}"), category, day).await;
    }

    let r: Value = ada.call("report", &[("month", "2026-03")]).await.json().await.unwrap();
    let in_march: i64 = seed.iter().filter(|s| s.2.starts_with("2026-03")).map(|s| s.0).sum();
    assert_eq!(r["month_total_minor"], in_march);
    assert_eq!(r["previous_month_total_minor"], 700);
    let days = r["by_day"].as_array().unwrap();
    assert_eq!(days.len(), 31);
    assert_eq!(days[13]["label"], "2026-03-14");
    assert_eq!(days[13]["total_minor"], 5800);
    assert_eq!(days[1]["total_minor"], 0);
    let months = r["by_month"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    let year_total: i64 = seed.iter().filter(|s| s.2.starts_with("2026")).map(|s| s.0).sum();
    assert_eq!(months.iter().map(|m| m["total_minor"].as_i64().unwrap()).sum::<i64>(), year_total);
    assert_eq!(months[6]["total_minor"], 10000);
    let categories = r["by_category"].as_array().unwrap();
    assert_eq!(categories[0]["label"], "Housing");
    assert_eq!(categories[1]["label"], "Food");
    assert_eq!(categories[1]["total_minor"], 2050);

    let res = ada.call("report", &[("month", "2026-13")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The category breakdown over any range: here February to July.
    let r: Value = ada.call("report", &[("month", "2026-03"), ("from", "2026-02-01"), ("to", "2026-07-31")]).await.json().await.unwrap();
    let categories = r["by_category"].as_array().unwrap();
    assert_eq!((categories[0]["label"].as_str(), categories[0]["total_minor"].as_i64()), (Some("Travel"), Some(10000)));
    let food: i64 = seed.iter().filter(|s| s.1 == "Food" && ("2026-02-01".."2026-08-01").contains(&s.2)).map(|s| s.0).sum();
    assert_eq!(categories.iter().find(|c| c["label"] == "Food").unwrap()["total_minor"], food);
    assert_eq!((r["category_from"].as_str(), r["category_to"].as_str()), (Some("2026-02-01"), Some("2026-07-31")));
    let res = ada.call("report", &[("from", "2026-05-01"), ("to", "2026-04-01")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_csv_export_holds_the_filtered_rows_quoted_per_rfc_4180() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    add(&mut ada, "12.50", "Lunch, with \"Bob\"", "Food", "2026-03-02").await;
    add(&mut ada, "3", "=cmd()", "Transport", "2026-03-03").await;
    add(&mut ada, "99", "Outside the range", "Travel", "2026-04-01").await;

    let res = ada.get("/reports/expenses.csv?from=2026-03-01&to=2026-03-31").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("huddle-expenses-2026-03-01-2026-03-31.csv"));
    let body = res.text().await.unwrap();
    assert_eq!(
        body,
        "date,description,category,amount,currency,note\r\n\
         2026-03-03,'=cmd(),Transport,3.00,EUR,\r\n\
         2026-03-02,\"Lunch, with \"\"Bob\"\"\",Food,12.50,EUR,\r\n"
    );

    // Formulas hidden behind a byte-order mark, spaces or full-width signs are defused too;
    // control characters never get in at all.
    add(&mut ada, "1", "\u{feff}=1+1", "Food", "2026-03-04").await;
    add(&mut ada, "1", "  ＝1+1", "Food", "2026-03-05").await;
    let form = [("amount", "1"), ("description", "\u{1}=1+1"), ("category_id", "1"), ("spent_on", "2026-03-06")];
    assert_eq!(ada.call("add_expense", &form).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = ada.get("/reports/expenses.csv?from=2026-03-04&to=2026-03-05").await.text().await.unwrap();
    let descriptions: Vec<&str> = body.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(descriptions, ["'＝1+1", "'\u{feff}=1+1"]);

    let visitor = reqwest::get(app.url("/reports/expenses.csv")).await.unwrap();
    assert_eq!(visitor.status(), StatusCode::UNAUTHORIZED);
    let bad = ada.get("/reports/expenses.csv?from=nope").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_export_longer_than_one_database_batch_streams_every_row_once() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let list: Value = ada.call("categories", &[]).await.json().await.unwrap();
    let food = list.as_array().unwrap()[0]["id"].to_string();
    // 520 rows over 4 days: the export reads 500 at a time, and dates tie within a day.
    for i in 0..520 {
        let (description, day) = (format!("row {i:03}"), format!("2026-05-0{}", 1 + i % 4));
        let form = [("amount", "1"), ("description", description.as_str()), ("category_id", &food), ("spent_on", &day)];
        assert_eq!(ada.call("add_expense", &form).await.status(), StatusCode::OK);
    }
    let body = ada.get("/reports/expenses.csv").await.text().await.unwrap();
    assert_eq!(body.lines().count(), 521);
    let mut rows: Vec<&str> = body.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    rows.sort();
    rows.dedup();
    assert_eq!(rows.len(), 520);
}
