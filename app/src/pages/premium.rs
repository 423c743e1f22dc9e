//! `/premium`: status, "Go premium", what the last payment did, the order history and the
//! leaderboard switch; and `/leaderboard`. Pages of their own (lazy routes), so the profile's
//! first load does not grow with them.

use crate::api::premium::{GoPremium, SetLeaderboard, get_leaderboard, premium_status, saved_reports};
use crate::components::form::{FormError, Submit, failure};
use crate::models::premium::{Board, OrderStatus, PremiumView, SavedReport};
use crate::models::time::format_date;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// What `?result=` (set by the checkout's way back) says happened. Fixed texts only.
fn result_text(result: &str) -> Option<(&'static str, bool)> {
    Some(match result {
        "done" => ("Payment received: premium is yours.", true),
        "pending" => ("Your payment is being confirmed. Premium starts as soon as it is: reload this page in a moment.", true),
        "declined" => ("The payment was declined. Nothing was charged.", false),
        "failed" => ("The payment could not be verified, so premium was not granted.", false),
        "error" => ("Something went wrong on our side. Please try again.", false),
        "already" => ("This account is already premium: nothing to pay.", true),
        _ => return None,
    })
}

#[component]
pub fn PremiumPage() -> impl IntoView {
    view! {
        <Title text="Premium"/>
        <super::SignedIn page=|_user| view! { <PremiumSection/> }/>
    }
}

#[component]
fn PremiumSection() -> impl IntoView {
    let status = Resource::new(|| (), |_| premium_status());
    // Only for its error (a no-JS failure comes back in the URL): the form below is a plain post,
    // because its answer is a redirect to the checkout, a page outside this app.
    let go = ServerAction::<GoPremium>::new();
    let go_error = failure(go.value());
    let show = ServerAction::<SetLeaderboard>::new();
    let saved = Resource::new(|| (), |_| saved_reports());
    let result = use_query_map().with_untracked(|q| q.get("result")).and_then(|r| result_text(&r));
    view! {
        <section class="page narrow" id="premium">
            <h1>"Premium"</h1>
            {result.map(|(text, ok)| view! {
                <p class=if ok { "ok" } else { "form-error" } role="status" data-testid="premium-result">{text}</p>
            })}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(view) => premium_view(view, go_error, show).into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move { saved.await.ok().flatten().map(saved_view) })}
            </Suspense>
        </section>
    }
}

fn premium_view(p: PremiumView, go_error: Signal<Option<crate::models::AppError>>, show: ServerAction<SetLeaderboard>) -> impl IntoView {
    let offer = match (p.since, p.price) {
        (Some(since), _) => view! {
            <p data-testid="premium-status">"Premium since " {format_date(since)} ". Thank you."</p>
        }
        .into_any(),
        (None, Some(price)) => view! {
            <p data-testid="premium-status">"Premium adds the spending leaderboard and saved reports, for " {price.clone()} " once."</p>
            {p.demo.then(|| view! { <p class="hint">"This server takes payments in demo mode: no money moves."</p> })}
            <form method="post" action=GoPremium::url() class="stack">
                <FormError value=go_error/>
                <button type="submit" class="primary">{format!("Go premium for {price}")}</button>
            </form>
        }
        .into_any(),
        (None, None) => view! {
            <p data-testid="premium-status">"Premium is not sold on this server; its administrator can grant it."</p>
        }
        .into_any(),
    };
    let orders = (!p.orders.is_empty()).then(|| view! {
        <h2>"Your orders"</h2>
        <table class="orders" data-testid="orders">
            <thead><tr><th scope="col">"Date"</th><th scope="col">"Amount"</th><th scope="col">"Status"</th><th scope="col">"Order"</th></tr></thead>
            <tbody>
                {p.orders.into_iter().map(|o| {
                    let status = match (o.status, o.failure) {
                        (OrderStatus::Failed, Some(why)) => format!("{}: {why}", o.status.label()),
                        (s, _) => s.label().to_string(),
                    };
                    view! {
                        <tr>
                            <td>{format_date(o.created_at)}</td>
                            <td>{o.amount}</td>
                            <td data-status=format!("{:?}", o.status).to_lowercase()>{status}</td>
                            <td><code>{o.id}</code></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    });
    let show_value = failure(show.value());
    let saved = move || show.value().with(|v| matches!(v, Some(Ok(()))));
    let leaderboard = view! {
        <h2>"Leaderboard"</h2>
        <p class="hint">"Premium members see who spends most, this month and in all time. You appear on it only if you choose to."</p>
        <ActionForm action=show attr:class="stack">
            <label class="check"><input type="checkbox" name="show" value="on" checked=p.on_leaderboard/>" Show me on the leaderboard"</label>
            <FormError value=show_value/>
            <Show when=saved><p class="ok" role="status">"Saved."</p></Show>
            <Submit pending=show.pending() label="Save" busy="Saving…"/>
        </ActionForm>
        {p.since.is_some().then(|| view! { <p><A href="/leaderboard">"See the leaderboard"</A></p> })}
    };
    view! { {offer} {orders} {leaderboard} }
}

/// `/leaderboard`: total spend this month and in all time, per currency, among people who chose
/// to appear on it. Premium shows it.
#[component]
pub fn LeaderboardPage() -> impl IntoView {
    view! {
        <Title text="Leaderboard"/>
        <super::SignedIn page=|_user| view! { <LeaderboardView/> }/>
    }
}

#[component]
fn LeaderboardView() -> impl IntoView {
    let board = Resource::new(|| (), |_| get_leaderboard());
    view! {
        <section class="page" data-testid="leaderboard">
            <h1>"Leaderboard"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match board.await {
                        Ok(Some(lb)) => view! {
                            {(!lb.me_on).then(|| view! {
                                <p class="notice">"You are not on it. " <A href="/premium">"Choose to appear"</A> " on the premium page."</p>
                            })}
                            <h2>{format!("This month: {}", lb.month)}</h2>
                            {boards(lb.this_month, "this-month")}
                            <h2>"All time"</h2>
                            {boards(lb.all_time, "all-time")}
                        }.into_any(),
                        Ok(None) => view! {
                            <p data-testid="leaderboard-locked">"The leaderboard comes with premium."</p>
                            <p><A href="/premium">"Go premium"</A></p>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn boards(boards: Vec<Board>, id: &'static str) -> impl IntoView {
    if boards.is_empty() {
        return view! { <p class="muted" data-testid=id>"Nobody yet."</p> }.into_any();
    }
    view! {
        <div data-testid=id class="boards">
            {boards.into_iter().map(|b| view! {
                <h3>{b.currency}</h3>
                <ol class="board">
                    {b.places.into_iter().map(|p| view! {
                        <li class:me=p.me>
                            <span class="rank">{p.rank}</span>
                            <span class="who">{p.name}<span class="muted">{format!(" @{}", p.username)}</span></span>
                            <span class="total">{p.total}</span>
                        </li>
                    }).collect_view()}
                </ol>
            }).collect_view()}
        </div>
    }
    .into_any()
}

/// The kept CSV exports of a premium account, with a download link each.
fn saved_view(reports: Vec<SavedReport>) -> impl IntoView {
    let list = if reports.is_empty() {
        view! { <p class="muted" data-testid="saved-reports">"Nothing yet: every CSV export you make from Expenses or Reports is kept here."</p> }.into_any()
    } else {
        view! {
            <table class="orders" data-testid="saved-reports">
                <thead><tr><th scope="col">"Exported"</th><th scope="col">"What"</th><th scope="col">"Rows"</th><th scope="col">"Size"</th><th scope="col">"Until"</th><th scope="col"><span class="visually-hidden">"Download"</span></th></tr></thead>
                <tbody>
                    {reports.into_iter().map(|r| {
                        let label = format!("Download {} ({})", r.description, format_date(r.created_at));
                        view! {
                        <tr>
                            <td>{format_date(r.created_at)}</td>
                            <td>{r.description}</td>
                            <td>{r.rows}</td>
                            <td>{size(r.size)}</td>
                            <td>{format_date(r.expires_at)}</td>
                            <td><a href=format!("/reports/saved/{}", r.id) download=r.file_name aria-label=label>"Download"</a></td>
                        </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        }.into_any()
    };
    view! {
        <h2>"Saved reports"</h2>
        <p class="hint">"Premium keeps each CSV export so you can download it again, until the date shown."</p>
        {list}
    }
}

fn size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}
