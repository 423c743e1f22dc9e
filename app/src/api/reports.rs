//! Reports: totals by day, month and category, with the period before for comparison.

use crate::models::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::{
    models::time::Day,
    server::db::expenses::{ExpenseFilter, Grouping},
    server::{clock, ctx, db},
};

/// One bar of a chart: a label and a total in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    pub label: String,
    pub total_minor: i64,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub currency: String,
    /// `YYYY-MM` of the month shown.
    pub month: String,
    pub year: i32,
    /// Every day of the month, zero where nothing was spent.
    pub by_day: Vec<Bar>,
    /// Every month of the year, zero where nothing was spent.
    pub by_month: Vec<Bar>,
    /// Categories of the month (or of the range asked for), biggest first.
    pub by_category: Vec<Bar>,
    /// The days the category breakdown covers, both included.
    pub category_from: String,
    pub category_to: String,
    pub month_total_minor: i64,
    pub previous_month_total_minor: i64,
}

/// The report for `month` (`YYYY-MM`, default: this month) and its year; the category
/// breakdown covers `from..=to` when both are given, else the month.
#[server(endpoint = "report", output = crate::api::codec::Json)]
pub async fn get_report(month: Option<String>, from: Option<String>, to: Option<String>) -> Result<Report, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
        let first = Day::parse_month(month.as_deref(), clock::today_in(&user.time_zone))?;
        let range = |from: Day, to: Day| ExpenseFilter { from: Some(from), to: Some(to), ..Default::default() };
        let month_range = range(first, first.last_of_month());
        let year_start = Day { month: 1, day: 1, ..first };
        let year_range = range(year_start, Day { month: 12, day: 31, ..first });
        let previous = first.add_months(-1);
        let (category_from, category_to) = category_range(from.as_deref(), to.as_deref(), first)?;
        let total = |v: &[Bar]| v.iter().map(|b| b.total_minor).sum::<i64>();

        let days = db::expenses::totals_by(&state.db, user.id, &month_range, Grouping::Day).await?;
        let months = db::expenses::totals_by(&state.db, user.id, &year_range, Grouping::Month).await?;
        let categories =
            db::expenses::totals_by(&state.db, user.id, &range(category_from, category_to), Grouping::Category).await?;
        let (previous_month_total_minor, _) =
            db::expenses::totals(&state.db, user.id, &range(previous, previous.last_of_month())).await?;

        let labels_days = (1..=first.last_of_month().day).map(|d| Day { day: d, ..first }.to_string());
        let labels_months = (0..12).map(|m| year_start.add_months(m).month_key());
        let by_day = fill(labels_days, days);
        let by_month = fill(labels_months, months);
        let by_category: Vec<Bar> =
            categories.into_iter().map(|g| Bar { label: g.label, total_minor: g.total_minor, count: g.count }).collect();
        Ok(Report {
            currency: user.currency,
            month: first.month_key(),
            year: first.year,
            month_total_minor: total(&by_day),
            by_day,
            by_month,
            by_category,
            category_from: category_from.to_string(),
            category_to: category_to.to_string(),
            previous_month_total_minor,
        })
    })
    .await
}

/// The category breakdown's days: `from..=to` when both are given, else the month of `first`.
#[cfg(feature = "ssr")]
fn category_range(from: Option<&str>, to: Option<&str>, first: Day) -> Result<(Day, Day), AppError> {
    fn given(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    let day = |field: &str, v: &str| {
        Day::parse(v).map_err(|_| AppError::Validation { field: field.into(), message: "Enter a date like 2026-01-31.".into() })
    };
    match (given(from), given(to)) {
        (Some(a), Some(b)) => {
            let (a, b) = (day("from", a)?, day("to", b)?);
            if a > b {
                let message = "The end date comes before the start date.".into();
                return Err(AppError::Validation { field: "to".into(), message });
            }
            Ok((a, b))
        }
        _ => Ok((first, first.last_of_month())),
    }
}

/// One bar per label, in label order, zero where the database had no group.
#[cfg(feature = "ssr")]
fn fill(labels: impl Iterator<Item = String>, groups: Vec<db::expenses::GroupTotal>) -> Vec<Bar> {
    let mut found: std::collections::HashMap<String, (i64, i64)> =
        groups.into_iter().map(|g| (g.label, (g.total_minor, g.count))).collect();
    labels
        .map(|label| {
            let (total_minor, count) = found.remove(&label).unwrap_or((0, 0));
            Bar { label, total_minor, count }
        })
        .collect()
}
