//! The home page: a dashboard when signed in, the landing page otherwise.

use crate::api::budgets::get_budgets;
use crate::api::expenses::{AddExpense, get_dashboard};
use crate::components::budget::BudgetBars;
use crate::app::use_session;
use crate::components::form::{FieldErrorLine, FormError, Submit, failure};
use crate::models::money::money;
use crate::models::User;
use crate::models::time::format_date;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = use_session();
    view! {
        <Title text=""/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match session.user.await {
                    Ok(Some(user)) => view! { <Dashboard user/> }.into_any(),
                    _ => view! { <Landing/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Dashboard(user: User) -> impl IntoView {
    let add = ServerAction::<AddExpense>::new();
    let numbers = Resource::new(move || add.version().get(), |_| get_dashboard());
    let budgets = Resource::new(move || add.version().get(), |_| get_budgets(None));
    let value = failure(add.value());
    let currency = user.currency.clone();
    view! {
        <section class="page">
            <h1>{format!("Welcome back, {}", user.name)}</h1>
            <crate::pages::VerifyReminder user=user.clone()/>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    let currency = currency.clone();
                    Suspend::new(async move {
                        let Ok(d) = numbers.await else {
                            return view! { <p class="form-error">"Your numbers could not be loaded."</p> }.into_any();
                        };
                        let nothing_yet = d.recent.is_empty();
                        let shared_balances = d.shared.clone();
                        let shared = (!shared_balances.is_empty()).then(move || {
                            let lines = shared_balances.into_iter().map(|b| {
                                let amount = money(&b.currency, b.balance_minor.abs());
                                let text = if b.balance_minor > 0 { format!("you are owed {amount}") } else { format!("you owe {amount}") };
                                view! {
                                    <li><A href=format!("/chat/{}/expenses", b.room_id)>{b.room_name}</A>": " {text}</li>
                                }
                            }).collect_view();
                            view! {
                                <article class="card">
                                    <h2>"Shared expenses"</h2>
                                    <ul class="recent" data-testid="shared-balances">{lines}</ul>
                                </article>
                            }
                        });
                        let recent: Vec<_> = d.recent.into_iter().map(|e| {
                            let amount = money(&currency, e.amount_minor);
                            view! {
                                <li>
                                    <A href=format!("/expenses/{}", e.id)>{e.description}</A>
                                    " · " {amount}
                                </li>
                            }
                        }).collect();
                        view! {
                            <div class="cards">
                                <article class="card">
                                    <h2>"This month"</h2>
                                    <p class="stat" data-testid="month-total">{money(&currency, d.month_total_minor)}</p>
                                    <p class="muted">{format!("{} expense{}", d.month_count, if d.month_count == 1 { "" } else { "s" })}</p>
                                    <A href="/expenses?period=this-month">"See this month"</A>
                                </article>
                                <article class="card">
                                    <h2>"Latest"</h2>
                                    <ul class="recent" data-testid="recent">
                                        {recent}
                                    </ul>
                                    {nothing_yet.then(|| view! { <p class="muted">"Nothing recorded yet."</p> })}
                                    <A href="/expenses">"All expenses"</A>
                                </article>
                                {shared}
                            </div>
                            <h2>"Quick add"</h2>
                            <ActionForm action=add attr:class="grid-form" attr:data-testid="quick-add">
                                <div class="field">
                                    <label for="q-amount">{format!("Amount ({})", d.choices.currency)}</label>
                                    <input id="q-amount" name="amount" inputmode="decimal" required/>
                                    <FieldErrorLine value name="amount"/>
                                </div>
                                <div class="field">
                                    <label for="q-description">"Description"</label>
                                    <input id="q-description" name="description" required maxlength="200"/>
                                    <FieldErrorLine value name="description"/>
                                </div>
                                <div class="field">
                                    <label for="q-category">"Category"</label>
                                    <select id="q-category" name="category_id">
                                        {d.choices.categories.into_iter().map(|c| view! { <option value=c.id.to_string()>{c.name}</option> }).collect_view()}
                                    </select>
                                </div>
                                <input type="hidden" name="spent_on" value=d.choices.today/>
                                <FormError value/>
                                <Submit pending=add.pending() label="Add for today" busy="Adding…"/>
                            </ActionForm>
                        }.into_any()
                    })
                }}
            </Suspense>
            <h2>"Budgets this month"</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match budgets.await {
                        Ok(b) => view! {
                            <BudgetBars lines=b.lines total_budget=b.total_budget_minor total_spent=b.total_spent_minor currency=b.currency/>
                            <A href="/budgets">"Set budgets"</A>
                        }.into_any(),
                        Err(_) => view! { <p class="form-error">"Your budgets could not be loaded."</p> }.into_any(),
                    }
                })}
            </Suspense>
            <div class="cards account-cards">
                <article class="card">
                    <h2>"Your account"</h2>
                    <p>{format!("@{} · member since {}", user.username, format_date(user.created_at))}</p>
                    <A href="/profile">"Edit profile"</A>
                </article>
                <article class="card">
                    <h2>"Where you are signed in"</h2>
                    <p>"See every device with access to your account, and sign any of them out."</p>
                    <A href="/sessions">"Manage sessions"</A>
                </article>
            </div>
        </section>
    }
}

#[component]
fn Landing() -> impl IntoView {
    view! {
        <section class="page landing">
            <h1>"Your group's place to talk, meet and keep its money straight."</h1>
            <p class="lead">
                "Huddle is chat, video meetings and shared expenses in one app that you run yourself."
            </p>
            <p class="actions">
                <A href="/register" attr:class="button">"Create an account"</A>
                <A href="/login">"I already have one"</A>
            </p>
        </section>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <section class="page">
            <h1>"Page not found"</h1>
            <p><A href="/">"Back to the start"</A></p>
        </section>
    }
}
