//! Monthly budgets per category.

use crate::models::AppError;
use crate::models::budget::BudgetMonth;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    models::money::{Amount, Currency},
    models::time::Day,
    server::{clock, ctx, db},
};

/// The budgets of `month` (`YYYY-MM`, default: this month) with what was spent.
#[server(endpoint = "budgets", output = crate::api::codec::Json)]
pub async fn get_budgets(month: Option<String>) -> Result<BudgetMonth, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
        let first = Day::parse_month(month.as_deref(), clock::today_in(&user.time_zone))?;
        let lines = db::budgets::month(&state.db, user.id, first, first.last_of_month()).await?;
        let budgeted = lines.iter().filter(|l| l.budget_minor.is_some());
        let total_budget_minor = budgeted.clone().filter_map(|l| l.budget_minor).sum();
        let total_spent_minor = budgeted.map(|l| l.spent_minor).sum();
        Ok(BudgetMonth { month: first.month_key(), currency: user.currency, lines, total_budget_minor, total_spent_minor })
    })
    .await
}

/// Sets the monthly budget of a category; an empty amount removes it.
#[server(endpoint = "set_budget", output = crate::api::codec::Json)]
pub async fn set_budget(category_id: i64, amount: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        if !db::categories::is_owned(&state.db, s.user_id, category_id).await? {
            return Err(AppError::NotFound);
        }
        if amount.trim().is_empty() {
            db::budgets::remove(&state.db, s.user_id, category_id).await?;
            return Ok(());
        }
        let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
        let decimals = Currency::find(&user.currency).map_or(2, |c| c.decimals);
        let amount = Amount::parse(&amount, decimals)?;
        db::budgets::set(&state.db, s.user_id, category_id, amount.minor()).await?;
        Ok(())
    })
    .await
}
