//! Expenses and categories: record, list, filter; the numbers on the dashboard.

use crate::models::AppError;
use crate::models::expense::{Category, Expense, ExpensePage};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::{
    models::expense::{Cursor, ExpenseInput, PAGE_SIZES, parse_category_name},
    models::money::Currency,
    models::time::{Day, Period},
    server::db::expenses::{Direction, ExpenseFilter},
    server::{AppState, clock, ctx, db, now_ms},
};

/// What the add and edit forms need: the categories to choose from and today's date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormChoices {
    pub categories: Vec<Category>,
    pub currency: String,
    /// `YYYY-MM-DD`, the default date of a new expense.
    pub today: String,
    /// The category a new expense starts on: the one used last, else `Other`.
    pub default_category: Option<i64>,
}

/// The signed-in home's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub month_total_minor: i64,
    pub month_count: i64,
    pub recent: Vec<Expense>,
    pub choices: FormChoices,
    /// What the user owes or is owed in each room's shared expenses.
    pub shared: Vec<crate::models::split::RoomBalance>,
}

/// The signed-in user's id, currency and today (in their time zone).
#[cfg(feature = "ssr")]
async fn owner(state: &AppState) -> Result<(i64, &'static Currency, Day), AppError> {
    let s = ctx::require_session()?;
    let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
    let currency = Currency::find(&user.currency).unwrap_or(state.default_currency);
    Ok((user.id, currency, clock::today_in(&user.time_zone)))
}

#[cfg(feature = "ssr")]
async fn choices(state: &AppState, user_id: i64, currency: &Currency, today: Day) -> Result<FormChoices, AppError> {
    let categories = db::categories::list(&state.db, user_id).await?;
    let last = db::expenses::last_used_category(&state.db, user_id).await?;
    let other = categories.iter().find(|c| c.builtin && c.name == "Other").map(|c| c.id);
    Ok(FormChoices {
        default_category: last.filter(|id| categories.iter().any(|c| c.id == *id)).or(other),
        categories,
        currency: currency.code.to_string(),
        today: today.to_string(),
    })
}

/// Parses an expense form and checks its category is the user's own.
#[cfg(feature = "ssr")]
async fn parse_input(
    state: &AppState,
    user_id: i64,
    currency: &Currency,
    fields: [&str; 5],
) -> Result<ExpenseInput, AppError> {
    let [amount, description, category_id, spent_on, note] = fields;
    let input = ExpenseInput::parse(amount, description, category_id, spent_on, note, currency.decimals)?;
    if !db::categories::is_owned(&state.db, user_id, input.category_id).await? {
        return Err(AppError::Validation { field: "category_id".into(), message: "Choose a category.".into() });
    }
    Ok(input)
}

#[server(endpoint = "form_choices", output = crate::api::codec::Json)]
pub async fn get_form_choices() -> Result<FormChoices, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let (user_id, currency, today) = owner(&state).await?;
        choices(&state, user_id, currency, today).await
    })
    .await
}

/// Records an expense; returns its id.
#[server(endpoint = "add_expense", output = crate::api::codec::Json)]
pub async fn add_expense(
    amount: String,
    description: String,
    category_id: String,
    spent_on: String,
    note: Option<String>,
) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let (user_id, currency, _) = owner(&state).await?;
        let fields = [amount.as_str(), &description, &category_id, &spent_on, note.as_deref().unwrap_or("")];
        let input = parse_input(&state, user_id, currency, fields).await?;
        Ok(db::expenses::insert(&state.db, user_id, &input, now_ms()).await?)
    })
    .await
}

/// One of the user's expenses; another user's id is "not found", like a missing one.
#[server(endpoint = "get_expense", output = crate::api::codec::Json)]
pub async fn get_expense(id: i64) -> Result<Expense, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        db::expenses::get(&state.db, s.user_id, id).await?.ok_or(AppError::NotFound)
    })
    .await
}

#[server(endpoint = "update_expense", output = crate::api::codec::Json)]
pub async fn update_expense(
    id: i64,
    amount: String,
    description: String,
    category_id: String,
    spent_on: String,
    note: Option<String>,
) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let (user_id, currency, _) = owner(&state).await?;
        let fields = [amount.as_str(), &description, &category_id, &spent_on, note.as_deref().unwrap_or("")];
        let input = parse_input(&state, user_id, currency, fields).await?;
        if !db::expenses::update(&state.db, user_id, id, &input, now_ms()).await? {
            return Err(AppError::NotFound);
        }
        leptos_axum::redirect("/expenses");
        Ok(())
    })
    .await
}

#[server(endpoint = "delete_expense", output = crate::api::codec::Json)]
pub async fn delete_expense(id: i64) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        if !db::expenses::delete(&state.db, s.user_id, id).await? {
            return Err(AppError::NotFound);
        }
        leptos_axum::redirect("/expenses");
        Ok(())
    })
    .await
}

/// The list's URL parameters, as typed into links and the filter form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// `this-month`, `last-month`, `this-year`, or empty for `from`/`to`.
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub category: Option<String>,
    pub q: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
    pub per: Option<String>,
}

impl ListQuery {
    /// This query as URL parameters, without the page position (for filter-keeping links).
    pub fn filter_params(&self) -> Vec<(&'static str, String)> {
        let fields = [
            ("period", &self.period),
            ("from", &self.from),
            ("to", &self.to),
            ("category", &self.category),
            ("q", &self.q),
            ("per", &self.per),
        ];
        fields
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().filter(|v| !v.trim().is_empty()).map(|v| (k, v.clone())))
            .collect()
    }
}

#[cfg(feature = "ssr")]
fn bad(field: &str, message: &str) -> AppError {
    AppError::Validation { field: field.into(), message: message.into() }
}

#[cfg(feature = "ssr")]
fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The filter a list query asks for, relative to today.
#[cfg(feature = "ssr")]
pub(crate) fn parse_filter(q: &ListQuery, today: Day) -> Result<ExpenseFilter, AppError> {
    let period = match nonempty(&q.period) {
        None | Some("custom") => None,
        Some("this-month") => Some(Period::ThisMonth),
        Some("last-month") => Some(Period::LastMonth),
        Some("this-year") => Some(Period::ThisYear),
        Some(_) => return Err(bad("period", "Choose a period from the list.")),
    };
    let day = |field: &str, v: Option<&str>| {
        v.map(|v| Day::parse(v).map_err(|_| bad(field, "Enter a date like 2026-01-31."))).transpose()
    };
    let (from, to) = match period {
        Some(p) => {
            let (a, b) = p.range(today);
            (Some(a), Some(b))
        }
        None => (day("from", nonempty(&q.from))?, day("to", nonempty(&q.to))?),
    };
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        return Err(bad("to", "The end date comes before the start date."));
    }
    let category_id = match nonempty(&q.category) {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| bad("category", "Choose a category from the list."))?),
    };
    let text = nonempty(&q.q).map(|t| t.chars().take(100).collect());
    Ok(ExpenseFilter { from, to, category_id, text })
}

/// A page of the user's expenses, newest first, with the filtered total.
#[server(endpoint = "list_expenses", output = crate::api::codec::Json)]
pub async fn list_expenses(#[server(default)] query: ListQuery) -> Result<ExpensePage, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
        let filter = parse_filter(&query, clock::today_in(&user.time_zone))?;
        // `per` in the URL shows this page so; the remembered size changes only by a post.
        let page_size = match nonempty(&query.per) {
            None => user.page_size,
            Some(v) => page_size_of(v)?,
        };
        let cursor = |v: &Option<String>| nonempty(v).map(|c| Cursor::decode(c).ok_or_else(|| bad("page", "That page link is broken.")));
        let (cursor, direction) = match (cursor(&query.after).transpose()?, cursor(&query.before).transpose()?) {
            (Some(c), _) => (Some(c), Direction::Older),
            (None, Some(c)) => (Some(c), Direction::Newer),
            (None, None) => (None, Direction::Older),
        };
        let mut items = db::expenses::page(&state.db, user.id, &filter, cursor, direction, page_size + 1).await?;
        let more = items.len() as i64 > page_size;
        if more {
            match direction {
                Direction::Older => items.truncate(page_size as usize),
                Direction::Newer => {
                    items.remove(0);
                }
            }
        }
        let key = |e: &Expense| format!("{}.{}", e.spent_on, e.id);
        let (newer, older) = match direction {
            Direction::Older => (cursor.and(items.first().map(key)), items.last().filter(|_| more).map(key)),
            Direction::Newer => (items.first().filter(|_| more).map(key), items.last().map(key)),
        };
        let (total_minor, count) = db::expenses::totals(&state.db, user.id, &filter).await?;
        Ok(ExpensePage { items, total_minor, count, newer, older, page_size, currency: user.currency })
    })
    .await
}

#[server(endpoint = "dashboard", output = crate::api::codec::Json)]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let (user_id, currency, today) = owner(&state).await?;
        let (from, to) = Period::ThisMonth.range(today);
        let month = ExpenseFilter { from: Some(from), to: Some(to), ..Default::default() };
        let (month_total_minor, month_count) = db::expenses::totals(&state.db, user_id, &month).await?;
        let recent = db::expenses::page(&state.db, user_id, &ExpenseFilter::default(), None, Direction::Older, 5).await?;
        let shared = db::shared::balances_of(&state.db, user_id).await?;
        Ok(Dashboard { month_total_minor, month_count, recent, choices: choices(&state, user_id, currency, today).await?, shared })
    })
    .await
}

#[server(endpoint = "categories", output = crate::api::codec::Json)]
pub async fn list_categories() -> Result<Vec<Category>, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        Ok(db::categories::list(&state.db, s.user_id).await?)
    })
    .await
}

#[server(endpoint = "create_category", output = crate::api::codec::Json)]
pub async fn create_category(name: String) -> Result<i64, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let name = parse_category_name(&name)?;
        db::categories::create(&state.db, s.user_id, &name, now_ms()).await.map_err(|e| match db::violated_unique(&e) {
            Some(_) => bad("name", "You already have a category with that name."),
            None => e.into(),
        })
    })
    .await
}

#[server(endpoint = "rename_category", output = crate::api::codec::Json)]
pub async fn rename_category(id: i64, name: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let name = parse_category_name(&name)?;
        let renamed = db::categories::rename(&state.db, s.user_id, id, &name).await.map_err(|e| match db::violated_unique(&e) {
            Some(_) => bad("name", "You already have a category with that name."),
            None => e.into(),
        })?;
        renamed.then_some(()).ok_or(AppError::NotFound)
    })
    .await
}

/// Deletes one of the user's own categories; its expenses move to Other.
#[server(endpoint = "delete_category", output = crate::api::codec::Json)]
pub async fn delete_category(id: i64) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        db::categories::delete(&state.db, s.user_id, id).await?.then_some(()).ok_or(AppError::NotFound)
    })
    .await
}

/// Every time zone the profile offers.
#[server(endpoint = "time_zones", output = crate::api::codec::Json)]
pub async fn list_time_zones() -> Result<Vec<String>, AppError> {
    Ok(clock::zones())
}

/// Changes the time zone whose calendar "today" and "this month" follow.
#[server(endpoint = "set_time_zone", output = crate::api::codec::Json)]
pub async fn set_time_zone(time_zone: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let zone = clock::parse_zone(&time_zone)?;
        db::users::set_time_zone(&state.db, s.user_id, &zone).await?;
        Ok(())
    })
    .await
}

#[cfg(feature = "ssr")]
fn page_size_of(v: &str) -> Result<i64, AppError> {
    v.trim().parse().ok().filter(|n| PAGE_SIZES.contains(n)).ok_or_else(|| bad("per", "Choose 10, 25, 50 or 100."))
}

/// Remembers how many rows a page of the expense list shows.
#[server(endpoint = "set_page_size", output = crate::api::codec::Json)]
pub async fn set_page_size(per: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        db::users::set_page_size(&state.db, s.user_id, page_size_of(&per)?).await?;
        leptos_axum::redirect("/expenses");
        Ok(())
    })
    .await
}

/// Changes the currency the user's amounts are shown in.
#[server(endpoint = "set_currency", output = crate::api::codec::Json)]
pub async fn set_currency(currency: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let currency = Currency::parse(&currency)?;
        db::users::set_currency(&state.db, s.user_id, currency.code).await?;
        Ok(())
    })
    .await
}
