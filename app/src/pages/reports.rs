//! The reports page: this month by day and by category, the year by month, CSV export.

use super::SignedIn;
use crate::models::money::money;
use crate::api::budgets::get_budgets;
use crate::api::reports::get_report;
use crate::components::budget::BudgetBars;
use crate::components::chart::{BreakdownChart, ColumnChart, LineChart};
use crate::models::time::Day;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

#[component]
pub fn ReportsPage() -> impl IntoView {
    view! {
        <Title text="Reports"/>
        <SignedIn page=|_| view! { <Reports/> }/>
    }
}

fn day_of_month(label: &str) -> String {
    label.rsplit('-').next().unwrap_or(label).trim_start_matches('0').to_string()
}

fn month_name(label: &str) -> String {
    const NAMES: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let m: usize = label.rsplit('-').next().and_then(|m| m.parse().ok()).unwrap_or(1);
    NAMES[(m.clamp(1, 12)) - 1].to_string()
}

#[component]
fn Reports() -> impl IntoView {
    let params = use_query_map();
    let report = Resource::new(
        move || params.with(|p| (p.get("month"), p.get("from"), p.get("to"))),
        |(month, from, to)| get_report(month, from, to),
    );
    let budgets = Resource::new(move || params.with(|p| p.get("month")), get_budgets);
    view! {
        <section class="page">
            <h1>"Reports"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let r = match report.await {
                        Ok(r) => r,
                        Err(e) => return view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    };
                    let c = r.currency.clone();
                    let month_hidden = r.month.clone();
                    let first = Day::parse(&format!("{}-01", r.month)).ok();
                    let (prev, next) = first.map(|d| (d.add_months(-1).month_key(), d.add_months(1).month_key())).unwrap_or_default();
                    let change = r.month_total_minor - r.previous_month_total_minor;
                    let change_text = match change {
                        0 => "the same as the month before".to_string(),
                        n if n > 0 => format!("{} more than the month before", money(&c, n)),
                        n => format!("{} less than the month before", money(&c, -n)),
                    };
                    let busiest = r.by_category.first().map(|b| format!("Most went to {} ({}).", b.label, money(&c, b.total_minor)));
                    let (from, to) = first.map(|d| (d.to_string(), d.last_of_month().to_string())).unwrap_or_default();
                    view! {
                        <nav class="pager month-nav">
                            <a href=format!("/reports?month={prev}")>"← Previous month"</a>
                            <strong data-testid="report-month">{r.month.clone()}</strong>
                            <a href=format!("/reports?month={next}")>"Next month →"</a>
                        </nav>
                        <p class="stat" data-testid="report-total">{money(&c, r.month_total_minor)}</p>
                        <p class="muted">{change_text}". "{busiest}</p>
                        <p>
                            <a href=format!("/reports/expenses.csv?from={from}&to={to}") download="" data-testid="csv-link">"Download this month as CSV"</a>
                            " · "
                            <A href=format!("/expenses?from={from}&to={to}")>"See these expenses"</A>
                        </p>
                        <div class="charts">
                            <LineChart title=format!("Spending per day, {}", r.month) bars=r.by_day currency=c.clone() label_every=5 short=day_of_month/>
                            <div>
                                <BreakdownChart title=format!("By category, {} to {}", r.category_from, r.category_to) bars=r.by_category currency=c.clone()/>
                                <Form method="get" action="/reports" attr:class="filters" attr:data-testid="category-range">
                                    <input type="hidden" name="month" value=month_hidden/>
                                    <label>"From" <input type="date" name="from" value=r.category_from.clone()/></label>
                                    <label>"To" <input type="date" name="to" value=r.category_to.clone()/></label>
                                    <button type="submit" class="secondary">"Break down"</button>
                                </Form>
                            </div>
                            <ColumnChart title=format!("Spending per month, {}", r.year) bars=r.by_month currency=c.clone() short=month_name/>
                        </div>
                        <h2>"Budgets"</h2>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                budgets.await.ok().map(|b| view! {
                                    <BudgetBars lines=b.lines total_budget=b.total_budget_minor total_spent=b.total_spent_minor currency=b.currency/>
                                })
                            })}
                        </Suspense>
                        <Form method="get" action="/reports" attr:class="filters">
                            <label>"Month" <input type="month" name="month" value=r.month/></label>
                            <button type="submit" class="secondary">"Show"</button>
                        </Form>
                    }.into_any()
                })}
            </Suspense>
        </section>
    }
}
