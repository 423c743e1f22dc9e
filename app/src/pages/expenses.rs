//! The expense list (add, filter, page) and the edit page.

use super::SignedIn;
use crate::api::expenses::{
    AddExpense, DeleteExpense, FormChoices, ListQuery, SetPageSize, UpdateExpense, get_expense, get_form_choices, list_expenses,
};
use crate::components::form::{FieldErrorLine, FormError, Submit, failure, kept_input, textarea_text};
use crate::models::expense::{Category, Expense, ExpensePage as Page, PAGE_SIZES};
use crate::models::money::{Amount, Currency, money};
use crate::models::{AppError, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ExpensesPage() -> impl IntoView {
    view! {
        <Title text="Expenses"/>
        <SignedIn page=|_| view! { <Expenses/> }/>
    }
}

#[component]
fn Expenses() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| ListQuery {
            period: p.get("period"),
            from: p.get("from"),
            to: p.get("to"),
            category: p.get("category"),
            q: p.get("q"),
            after: p.get("after"),
            before: p.get("before"),
            per: p.get("per"),
        })
    });
    let add = ServerAction::<AddExpense>::new();
    let page = Resource::new(move || (query.get(), add.version().get()), |(q, _)| list_expenses(q));
    let choices = Resource::new(|| (), |_| get_form_choices());
    view! {
        <section class="page">
            <div class="heading">
                <h1>"Expenses"</h1>
                <span class="links">
                    <A href="/budgets">"Budgets"</A>
                    " · "
                    <A href="/categories">"Categories"</A>
                </span>
            </div>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match choices.await {
                        Ok(choices) => view! {
                            <AddExpenseForm add choices=choices.clone()/>
                            <Filters query=query.get_untracked() categories=choices.categories/>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! { <ExpenseList page query=query.get_untracked() add/> }.into_any(),
                        Err(e) => view! { <p class="form-error" data-testid="list-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The fields shared by the add and edit forms.
#[component]
fn ExpenseFields(
    value: Signal<Option<AppError>>,
    categories: Vec<Category>,
    currency: String,
    #[prop(optional)] expense: Option<Expense>,
    today: String,
    /// The category a new expense starts on.
    #[prop(default = None)]
    default_category: Option<i64>,
) -> impl IntoView {
    let decimals = Currency::find(&currency).map_or(2, |c| c.decimals);
    // After a refused post without JavaScript, what was typed; else the stored expense.
    let typed = |name: &str| kept_input(name);
    let amount = typed("amount").or_else(|| {
        expense.as_ref().map(|e| Currency::find(&currency).map_or(e.amount_minor.to_string(), |c| c.plain(e.amount_minor)))
    });
    let description = typed("description").or_else(|| expense.as_ref().map(|e| e.description.clone()));
    let spent_on = typed("spent_on").or_else(|| expense.as_ref().map(|e| e.spent_on.clone())).unwrap_or(today);
    let note = typed("note").or_else(|| expense.as_ref().and_then(|e| e.note.clone()));
    let selected = typed("category_id").and_then(|c| c.parse().ok()).or(expense.as_ref().map(|e| e.category_id)).or(default_category);
    let error = move |field: &'static str| crate::components::form::server_message(value, field);
    view! {
        <div class="field amount">
            <label for="f-amount">{format!("Amount ({currency})")}</label>
            <input id="f-amount" name="amount" inputmode="decimal" autocomplete="off" required
                placeholder=if decimals == 0 { "1200" } else { "12.50" } value=amount
                aria-invalid=move || error("amount").get().is_some().to_string() aria-describedby="f-amount-error"/>
            <FieldErrorLine value name="amount"/>
        </div>
        <div class="field">
            <label for="f-description">"Description"</label>
            <input id="f-description" name="description" maxlength="200" required
                value=description
                aria-invalid=move || error("description").get().is_some().to_string() aria-describedby="f-description-error"/>
            <FieldErrorLine value name="description"/>
        </div>
        <div class="field">
            <label for="f-category_id">"Category"</label>
            <select id="f-category_id" name="category_id" aria-describedby="f-category_id-error">
                {categories.into_iter().map(|c| view! {
                    <option value=c.id.to_string() selected=selected == Some(c.id)>{c.name}</option>
                }).collect_view()}
            </select>
            <FieldErrorLine value name="category_id"/>
        </div>
        <div class="field">
            <label for="f-spent_on">"Date"</label>
            <input id="f-spent_on" name="spent_on" type="date" required
                value=spent_on aria-describedby="f-spent_on-error"/>
            <FieldErrorLine value name="spent_on"/>
        </div>
        <div class="field wide">
            <label for="f-note">"Note (optional)"</label>
            <textarea id="f-note" name="note" rows="2" maxlength="2000">{textarea_text(note)}</textarea>
            <FieldErrorLine value name="note"/>
        </div>
    }
}

#[component]
fn AddExpenseForm(add: ServerAction<AddExpense>, choices: FormChoices) -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    // With JavaScript the page stays: clear the form once the server has taken the expense.
    Effect::new(move |_| {
        if matches!(add.value().get(), Some(Ok(_)))
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
    let value = failure(add.value());
    view! {
        <details class="add" open>
            <summary>"Add an expense"</summary>
            <ActionForm action=add node_ref=form attr:class="grid-form" attr:data-testid="add-expense">
                <ExpenseFields value categories=choices.categories currency=choices.currency today=choices.today default_category=choices.default_category/>
                <FormError value/>
                <Submit pending=add.pending() label="Add expense" busy="Adding…"/>
            </ActionForm>
        </details>
    }
}

#[component]
fn Filters(query: ListQuery, categories: Vec<Category>) -> impl IntoView {
    let period = query.period.clone().unwrap_or_default();
    let category = query.category.clone().unwrap_or_default();
    let per = query.per.clone().unwrap_or_default();
    let periods = [("", "All time"), ("this-month", "This month"), ("last-month", "Last month"), ("this-year", "This year"), ("custom", "Custom range")];
    view! {
        <Form method="get" action="/expenses" attr:class="filters" attr:role="search">
            <label>"Period"
                <select name="period">
                    {periods.into_iter().map(|(v, label)| view! { <option value=v selected=period == v>{label}</option> }).collect_view()}
                </select>
            </label>
            <label>"From" <input type="date" name="from" value=query.from.clone()/></label>
            <label>"To" <input type="date" name="to" value=query.to.clone()/></label>
            <label>"Category"
                <select name="category">
                    <option value="">"All"</option>
                    {categories.into_iter().map(|c| {
                        let id = c.id.to_string();
                        view! { <option value=id.clone() selected=category == id>{c.name}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>"Search" <input type="search" name="q" value=query.q.clone() placeholder="description or note"/></label>
            <label>"Rows"
                <select name="per">
                    <option value="">"—"</option>
                    {PAGE_SIZES.into_iter().map(|n| view! { <option value=n.to_string() selected=per == n.to_string()>{n}</option> }).collect_view()}
                </select>
            </label>
            <button type="submit" class="secondary">"Filter"</button>
            <A href="/expenses">"Clear"</A>
        </Form>
    }
}

#[component]
fn ExpenseList(page: Page, query: ListQuery, add: ServerAction<AddExpense>) -> impl IntoView {
    let currency = page.currency.clone();
    let link = |key: &'static str, cursor: Option<String>| {
        cursor.map(|c| {
            let mut params = query.filter_params();
            params.push((key, c));
            format!("/expenses?{}", query_string(&params))
        })
    };
    let (newer, older) = (link("before", page.newer.clone()), link("after", page.older.clone()));
    let csv = format!("/reports/expenses.csv?{}", query_string(&query.filter_params()));
    let pending_currency = Currency::find(&currency);
    let noun = if page.count == 1 { "expense" } else { "expenses" };
    view! {
        <p class="summary">
            <span data-testid="summary">{format!("{} {noun} · total {}", page.count, money(&currency, page.total_minor))}</span>
            " · "
            <a href=csv download="" data-testid="list-csv">"Download as CSV"</a>
        </p>
        <ul class="expenses" data-testid="expenses">
            // Shown at once while the server stores it; gone again if the server refuses it.
            {move || add.input().get().map(|e| view! {
                <li class="expense pending" data-testid="pending-expense">
                    <span class="day">{e.spent_on}</span>
                    <span class="what">{e.description}</span>
                    <span class="amount">{
                        pending_currency
                            .and_then(|c| Amount::parse(&e.amount, c.decimals).ok().map(|a| c.format(a.minor())))
                            .unwrap_or(e.amount)
                    }</span>
                    <span class="muted">"saving…"</span>
                </li>
            })}
            {page.items.into_iter().map(|e| view! { <ExpenseRow expense=e currency=currency.clone()/> }).collect_view()}
        </ul>
        {(page.count == 0).then(|| view! { <p class="muted">"No expenses here yet."</p> })}
        <nav class="pager" aria-label="Pages">
            {newer.map(|href| view! { <a href=href rel="prev">"← Newer"</a> })}
            {older.map(|href| view! { <a href=href rel="next">"Older →"</a> })}
        </nav>
        <PageSizeForm current=page.page_size/>
    }
}

/// Remembers the rows per page (a post: a link never changes a setting).
#[component]
fn PageSizeForm(current: i64) -> impl IntoView {
    let action = ServerAction::<SetPageSize>::new();
    view! {
        <ActionForm action attr:class="inline" attr:data-testid="page-size">
            <label for="f-per">"Rows per page by default"</label>
            <select id="f-per" name="per">
                {PAGE_SIZES.into_iter().map(|n| view! { <option value=n.to_string() selected=current == n>{n}</option> }).collect_view()}
            </select>
            <button type="submit" class="secondary">"Remember"</button>
        </ActionForm>
    }
}

#[component]
fn ExpenseRow(expense: Expense, currency: String) -> impl IntoView {
    view! {
        <li class="expense">
            <span class="day">{expense.spent_on.clone()}</span>
            <span class="what">
                <A href=format!("/expenses/{}", expense.id)>{expense.description.clone()}</A>
                {expense.note.clone().map(|n| view! { <small class="muted note">{n}</small> })}
            </span>
            <span class="category">{expense.category.clone()}</span>
            <span class="amount">{money(&currency, expense.amount_minor)}</span>
        </li>
    }
}

#[component]
pub fn EditExpensePage() -> impl IntoView {
    view! {
        <Title text="Edit expense"/>
        <SignedIn page=|_| view! { <EditExpense/> }/>
    }
}

#[component]
fn EditExpense() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0));
    let update = ServerAction::<UpdateExpense>::new();
    let delete = ServerAction::<DeleteExpense>::new();
    // Both requests start at once: the second must not wait on the first (see `ctx::run` for
    // why a page's data should not depend on what was read before its first `.await`).
    let data = Resource::new(id, |id| async move { futures::try_join!(get_expense(id), get_form_choices()) });
    view! {
        <section class="page narrow">
            <p><A href="/expenses">"← All expenses"</A></p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok((expense, choices)) => {
                            let (id, id_for_delete) = (expense.id.to_string(), expense.id.to_string());
                            let value = failure(update.value());
                            view! {
                                <h1>"Edit expense"</h1>
                                <ActionForm action=update attr:class="grid-form">
                                    <input type="hidden" name="id" value=id/>
                                    <ExpenseFields value categories=choices.categories currency=choices.currency today=choices.today expense default_category=choices.default_category/>
                                    <FormError value/>
                                    <Submit pending=update.pending() label="Save" busy="Saving…"/>
                                </ActionForm>
                                <ActionForm action=delete attr:class="danger-zone">
                                    <input type="hidden" name="id" value=id_for_delete/>
                                    <FormError value=failure(delete.value())/>
                                    <button type="submit" class="danger">"Delete this expense"</button>
                                </ActionForm>
                            }.into_any()
                        }
                        Err(e) => view! { <h1>"Expense not found"</h1><p class="muted">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
