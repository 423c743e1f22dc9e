//! Monthly budgets: set one per category, see this month against them.

use super::SignedIn;
use crate::api::budgets::{SetBudget, get_budgets};
use crate::components::budget::BudgetBars;
use crate::components::form::{FormError, failure};
use crate::models::budget::BudgetLine;
use crate::models::money::Currency;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn BudgetsPage() -> impl IntoView {
    let set = ServerAction::<SetBudget>::new();
    view! {
        <Title text="Budgets"/>
        <SignedIn page=move |_| view! { <Budgets set/> }/>
    }
}

#[component]
fn Budgets(set: ServerAction<SetBudget>) -> impl IntoView {
    let data = Resource::new(move || set.version().get(), |_| get_budgets(None));
    view! {
        <section class="page narrow">
            <p><A href="/expenses">"← Expenses"</A></p>
            <h1>"Budgets"</h1>
            <p class="hint">"A monthly amount per category. Leave it empty for no budget."</p>
            <FormError value=failure(set.value())/>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let b = match data.await {
                        Ok(b) => b,
                        Err(e) => return view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    };
                    let currency = b.currency.clone();
                    view! {
                        <h2>{format!("This month ({})", b.month)}</h2>
                        <BudgetBars lines=b.lines.clone() total_budget=b.total_budget_minor total_spent=b.total_spent_minor currency=b.currency.clone()/>
                        <h2>"Set budgets"</h2>
                        <ul class="categories" data-testid="budget-forms">
                            {b.lines.into_iter().map(|line| view! { <BudgetForm line set currency=currency.clone()/> }).collect_view()}
                        </ul>
                    }.into_any()
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn BudgetForm(line: BudgetLine, set: ServerAction<SetBudget>, currency: String) -> impl IntoView {
    let plain = line.budget_minor.map(|b| Currency::find(&currency).map_or(b.to_string(), |c| c.plain(b)));
    view! {
        <li>
            <ActionForm action=set>
                <input type="hidden" name="category_id" value=line.category_id.to_string()/>
                <label>
                    <span class="budget-name">{line.category.clone()}</span>
                    <input name="amount" inputmode="decimal" value=plain placeholder="no budget"
                        aria-label=format!("Monthly budget for {} ({currency})", line.category)/>
                </label>
                <button type="submit" class="secondary">"Save"</button>
            </ActionForm>
        </li>
    }
}
