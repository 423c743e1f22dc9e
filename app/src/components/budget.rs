//! Spending against budgets as `<meter>` bars: plain HTML, so they show without JavaScript.

use crate::models::budget::{BudgetLine, BudgetState, percent};
use crate::models::money::money;
use leptos::prelude::*;

/// One bar: spent against budget, with a warning from 80 % and past 100 %.
#[component]
pub fn BudgetBar(label: String, spent: i64, budget: i64, currency: String) -> impl IntoView {
    let state = BudgetState::of(spent, budget);
    let pct = percent(spent, budget);
    let note = match state {
        BudgetState::Fine => String::new(),
        BudgetState::Close => " · close to the budget".into(),
        BudgetState::Over => format!(" · {} over", money(&currency, spent - budget)),
    };
    view! {
        <div class=format!("budget {}", state.class()) data-state=state.class()>
            <div class="budget-label">
                <strong>{label}</strong>
                <span>{format!("{} of {} ({pct} %){note}", money(&currency, spent), money(&currency, budget))}</span>
            </div>
            // A native meter: coloured by the browser (no inline style, which the CSP forbids).
            <meter min="0" max=spent.max(budget) low=budget * 4 / 5 high=budget optimum="0" value=spent>
                {format!("{pct} %")}
            </meter>
        </div>
    }
}

/// The total bar and one bar per budgeted category.
#[component]
pub fn BudgetBars(lines: Vec<BudgetLine>, total_budget: i64, total_spent: i64, currency: String) -> impl IntoView {
    let bars: Vec<_> = lines
        .into_iter()
        .filter_map(|l| l.budget_minor.map(|b| (l.category, l.spent_minor, b)))
        .map(|(label, spent, budget)| view! { <BudgetBar label spent budget currency=currency.clone()/> })
        .collect();
    if bars.is_empty() {
        return view! { <p class="muted">"No budgets set."</p> }.into_any();
    }
    view! {
        <div class="budgets" data-testid="budgets">
            <BudgetBar label="All budgets".to_string() spent=total_spent budget=total_budget currency=currency.clone()/>
            {bars}
        </div>
    }
    .into_any()
}
