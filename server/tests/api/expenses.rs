//! Recording, owner-only access, filters, pages, totals and categories.

use crate::helpers::{Browser, error_of, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

async fn category_id(b: &mut Browser, name: &str) -> String {
    let list: Value = b.call("categories", &[]).await.json().await.unwrap();
    let found = list.as_array().unwrap().iter().find(|c| c["name"] == name).expect("category exists");
    found["id"].to_string()
}

async fn add(b: &mut Browser, amount: &str, description: &str, category: &str, day: &str) -> Value {
    let category = category_id(b, category).await;
    let form = [("amount", amount), ("description", description), ("category_id", &category), ("spent_on", day)];
    let res = b.call("add_expense", &form).await;
    assert_eq!(res.status(), StatusCode::OK, "adding {description}");
    res.json().await.unwrap()
}

async fn list(b: &mut Browser, params: &[(&str, &str)]) -> Value {
    let form: Vec<(String, &str)> = params.iter().map(|(k, v)| (format!("query[{k}]"), *v)).collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let res = b.call("list_expenses", &form).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn descriptions(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|e| e["description"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn an_expense_is_added_read_edited_and_deleted() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;

    let id = add(&mut ada, "12,50", "Lunch", "Food", "2026-03-14").await.to_string();
    let got: Value = ada.call("get_expense", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!((got["amount_minor"].as_i64(), got["category"].as_str()), (Some(1250), Some("Food")));
    assert_eq!(got["spent_on"], "2026-03-14");

    let travel = category_id(&mut ada, "Travel").await;
    let form = [
        ("id", id.as_str()),
        ("amount", "99.99"),
        ("description", "Train"),
        ("category_id", &travel),
        ("spent_on", "2026-03-15"),
        ("note", "return ticket"),
    ];
    assert_eq!(ada.call("update_expense", &form).await.status(), StatusCode::OK);
    let got: Value = ada.call("get_expense", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!((got["amount_minor"].as_i64(), got["note"].as_str()), (Some(9999), Some("return ticket")));

    assert_eq!(ada.call("delete_expense", &[("id", &id)]).await.status(), StatusCode::OK);
    assert_eq!(ada.call("get_expense", &[("id", &id)]).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_input_is_named_and_nothing_is_stored() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let food = category_id(&mut ada, "Food").await;
    let cases = [
        ("0", "Lunch", food.as_str(), "2026-01-01", "amount"),
        ("-3", "Lunch", &food, "2026-01-01", "amount"),
        ("1.234", "Lunch", &food, "2026-01-01", "amount"),
        ("1000000000.01", "Lunch", &food, "2026-01-01", "amount"),
        ("5", "   ", &food, "2026-01-01", "description"),
        ("5", "Lunch", "999999", "2026-01-01", "category_id"),
        ("5", "Lunch", &food, "2026-02-30", "spent_on"),
    ];
    for (amount, description, category, day, field) in cases {
        let form = [("amount", amount), ("description", description), ("category_id", category), ("spent_on", day)];
        let res = ada.call("add_expense", &form).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(error_of(res).await["Validation"]["field"], field);
    }
    assert_eq!(list(&mut ada, &[]).await["count"], 0);
}

#[tokio::test]
async fn another_users_expense_is_not_found_exactly_like_a_missing_one() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let id = add(&mut ada, "10", "Ada's", "Food", "2026-01-01").await.to_string();
    let bobs_food = category_id(&mut bob, "Food").await;

    let theirs = bob.call("get_expense", &[("id", &id)]).await;
    let missing = bob.call("get_expense", &[("id", "987654")]).await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_of(theirs).await, error_of(missing).await);
    let form = [("id", id.as_str()), ("amount", "1"), ("description", "x"), ("category_id", &bobs_food), ("spent_on", "2026-01-01")];
    assert_eq!(bob.call("update_expense", &form).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.call("delete_expense", &[("id", &id)]).await.status(), StatusCode::NOT_FOUND);

    // Nor can Ada file an expense under Bob's category.
    let form = [("amount", "1"), ("description", "x"), ("category_id", bobs_food.as_str()), ("spent_on", "2026-01-01")];
    let res = ada.call("add_expense", &form).await;
    assert_eq!(error_of(res).await["Validation"]["field"], "category_id");

    let got: Value = ada.call("get_expense", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(got["description"], "Ada's");
    assert_eq!(list(&mut bob, &[]).await["count"], 0);
}

#[tokio::test]
async fn filters_narrow_the_list_and_its_total() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    add(&mut ada, "10.00", "Groceries", "Food", "2026-01-05").await;
    add(&mut ada, "2.50", "Bus ticket", "Transport", "2026-01-20").await;
    add(&mut ada, "7.25", "Coffee beans", "Food", "2026-02-01").await;
    add(&mut ada, "100", "Rent share 50%_off", "Housing", "2026-02-28").await;

    let all = list(&mut ada, &[]).await;
    assert_eq!((all["count"].as_i64(), all["total_minor"].as_i64()), (Some(4), Some(11975)));
    assert_eq!(descriptions(&all), ["Rent share 50%_off", "Coffee beans", "Bus ticket", "Groceries"]);

    let january = list(&mut ada, &[("from", "2026-01-01"), ("to", "2026-01-31")]).await;
    assert_eq!((january["count"].as_i64(), january["total_minor"].as_i64()), (Some(2), Some(1250)));

    let food = category_id(&mut ada, "Food").await;
    let food_only = list(&mut ada, &[("category", &food)]).await;
    assert_eq!(descriptions(&food_only), ["Coffee beans", "Groceries"]);

    let text = list(&mut ada, &[("q", "COFFEE")]).await;
    assert_eq!(descriptions(&text), ["Coffee beans"]);
    // LIKE wildcards typed by the user are taken literally.
    assert_eq!(descriptions(&list(&mut ada, &[("q", "50%_")]).await), ["Rent share 50%_off"]);
    assert_eq!(list(&mut ada, &[("q", "%")]).await["count"], 1);

    let res = ada.call("list_expenses", &[("query[from]", "2026-02-01"), ("query[to]", "2026-01-01")]).await;
    assert_eq!(error_of(res).await["Validation"]["field"], "to");
    let res = ada.call("list_expenses", &[("query[period]", "fortnight")]).await;
    assert_eq!(error_of(res).await["Validation"]["field"], "period");
}

#[tokio::test]
async fn pages_walk_older_and_back_newer_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    // 23 expenses, several on the same day, so the id breaks ties.
    for i in 0..23 {
        add(&mut ada, "1", &format!("e{i:02}"), "Food", &format!("2026-05-{:02}", 1 + i / 3)).await;
    }

    let first = list(&mut ada, &[("per", "10")]).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 10);
    assert!(first["newer"].is_null());
    assert_eq!(first["count"], 23);
    let second = list(&mut ada, &[("per", "10"), ("after", first["older"].as_str().unwrap())]).await;
    let third = list(&mut ada, &[("per", "10"), ("after", second["older"].as_str().unwrap())]).await;
    assert_eq!(third["items"].as_array().unwrap().len(), 3);
    assert!(third["older"].is_null());

    let mut seen: Vec<String> = [&first, &second, &third].iter().flat_map(|p| descriptions(p)).collect();
    let expected: Vec<String> = (0..23).rev().map(|i| format!("e{i:02}")).collect();
    assert_eq!(seen, expected);

    let back = list(&mut ada, &[("per", "10"), ("before", third["newer"].as_str().unwrap())]).await;
    assert_eq!(descriptions(&back), descriptions(&second));
    let back = list(&mut ada, &[("per", "10"), ("before", back["newer"].as_str().unwrap())]).await;
    assert_eq!(descriptions(&back), descriptions(&first));
    assert!(back["newer"].is_null());

    // `per` in a link shows that page so and changes no setting; a post remembers it.
    assert_eq!(list(&mut ada, &[]).await["page_size"], 25);
    assert_eq!(ada.call("set_page_size", &[("per", "10")]).await.status(), StatusCode::OK);
    assert_eq!(list(&mut ada, &[]).await["page_size"], 10);
    assert_eq!(ada.call("set_page_size", &[("per", "7")]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    seen.clear();
    let res = ada.call("list_expenses", &[("query[per]", "7")]).await;
    assert_eq!(error_of(res).await["Validation"]["field"], "per");
    let res = ada.call("list_expenses", &[("query[after]", "garbage")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn own_categories_are_created_renamed_and_deleted_into_other() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let res = ada.call("create_category", &[("name", "Pets")]).await;
    let pets = res.json::<Value>().await.unwrap().to_string();
    let res = ada.call("create_category", &[("name", "pets")]).await;
    assert_eq!(error_of(res).await["Validation"]["field"], "name");

    assert_eq!(ada.call("rename_category", &[("id", &pets), ("name", "Animals")]).await.status(), StatusCode::OK);
    let id = add(&mut ada, "30", "Vet", "Animals", "2026-01-01").await.to_string();

    let food = category_id(&mut ada, "Food").await;
    assert_eq!(ada.call("rename_category", &[("id", &food), ("name", "Eats")]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(ada.call("delete_category", &[("id", &food)]).await.status(), StatusCode::NOT_FOUND);

    assert_eq!(ada.call("delete_category", &[("id", &pets)]).await.status(), StatusCode::OK);
    let got: Value = ada.call("get_expense", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(got["category"], "Other");
    let names: Value = ada.call("categories", &[]).await.json().await.unwrap();
    assert_eq!(names.as_array().unwrap().len(), 10);
    assert_eq!(names.as_array().unwrap().last().unwrap()["name"], "Other");
}

#[tokio::test]
async fn the_currency_decides_decimals() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let res = ada.call("set_currency", &[("currency", "XYZ")]).await;
    assert_eq!(error_of(res).await["Validation"]["field"], "currency");
    assert_eq!(ada.call("set_currency", &[("currency", "JPY")]).await.status(), StatusCode::OK);
    assert_eq!(ada.me().await["currency"], "JPY");

    let food = category_id(&mut ada, "Food").await;
    let form = [("amount", "1500.5"), ("description", "Ramen"), ("category_id", food.as_str()), ("spent_on", "2026-01-01")];
    assert_eq!(error_of(ada.call("add_expense", &form).await).await["Validation"]["field"], "amount");
    add(&mut ada, "1500", "Ramen", "Food", "2026-01-01").await;
    assert_eq!(list(&mut ada, &[]).await["total_minor"], 1500);
}

#[tokio::test]
async fn today_follows_the_users_time_zone() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let today = |v: Value| v["today"].as_str().unwrap().to_string();

    assert_eq!(ada.call("set_time_zone", &[("time_zone", "Pacific/Kiritimati")]).await.status(), StatusCode::OK);
    let ahead = today(ada.call("form_choices", &[]).await.json().await.unwrap());
    assert_eq!(ada.call("set_time_zone", &[("time_zone", "Pacific/Pago_Pago")]).await.status(), StatusCode::OK);
    let behind = today(ada.call("form_choices", &[]).await.json().await.unwrap());
    // UTC+14 and UTC-11 are 25 hours apart: never the same calendar day.
    assert!(ahead > behind, "{ahead} vs {behind}");
    assert_eq!(ada.me().await["time_zone"], "Pacific/Pago_Pago");

    let res = ada.call("set_time_zone", &[("time_zone", "Mars/Olympus_Mons")]).await;
    assert_eq!(error_of(res).await["Validation"]["field"], "time_zone");
}
