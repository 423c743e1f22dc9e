//! `/chat/<room>/expenses`: a room's shared expenses. Who owes whom, the payments that settle
//! up, adding a bill split among the members, and every entry. Plain forms, so all of it works
//! without JavaScript; with it, the page follows changes from the other members live.

use crate::api::shared::{AddSharedExpense, CopyMyPart, DeleteSharedExpense, EditSharedExpense, RecordPayment, get_ledger};
use crate::components::chat::use_chat_live;
use crate::components::form::{FieldErrorLine, FormError, Submit, failure, kept_input};
use crate::models::money::{Currency, money};
use crate::models::split::{RoomLedger, SharedEntry, SplitMode, WHOLE_PERCENT};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[derive(Clone, Copy)]
struct LedgerActions {
    add: ServerAction<AddSharedExpense>,
    edit: ServerAction<EditSharedExpense>,
    delete: ServerAction<DeleteSharedExpense>,
    pay: ServerAction<RecordPayment>,
    copy: ServerAction<CopyMyPart>,
}

#[component]
pub fn RoomExpensesPage() -> impl IntoView {
    let actions = LedgerActions {
        add: ServerAction::new(),
        edit: ServerAction::new(),
        delete: ServerAction::new(),
        pay: ServerAction::new(),
        copy: ServerAction::new(),
    };
    let live = use_chat_live();
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0)));
    // Another member's change to this room's ledger (`ledger_changed`), or a reconnect, fetches
    // it again; only in the browser (see `ChatLive::watch`).
    let changes = Memo::new(move |_| {
        let room = id.get();
        live.watch(|s| (s.ledger_changes.get(&room).copied().unwrap_or(0), s.welcomes)).unwrap_or_default()
    });
    let ledger = Resource::new(
        move || {
            let versions = [
                actions.add.version().get(),
                actions.edit.version().get(),
                actions.delete.version().get(),
                actions.pay.version().get(),
                actions.copy.version().get(),
            ];
            (id.get(), changes.get(), versions)
        },
        |(id, ..)| get_ledger(id),
    );
    view! {
        <section class="room ledger">
            <Transition fallback=|| view! { <p class="muted pad">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match ledger.await {
                        Ok(ledger) => view! { <Ledger ledger actions/> }.into_any(),
                        Err(e) => view! {
                            <Title text="Shared expenses"/>
                            <header class="room-header"><A href="/chat" attr:class="back">"← Conversations"</A></header>
                            <p class="form-error pad" data-testid="ledger-error">{e.to_string()}</p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// `minor` of `currency` as typed into an amount field: `12.50`.
fn plain(currency: &str, minor: i64) -> String {
    Currency::find(currency).map_or_else(|| minor.to_string(), |c| c.plain(minor))
}

#[component]
fn Ledger(ledger: RoomLedger, actions: LedgerActions) -> impl IntoView {
    let room = ledger.room_id;
    let me = ledger.me;
    let name = {
        let ledger = ledger.clone();
        move |user: i64| if user == me { "You".to_string() } else { ledger.name_of(user) }
    };
    let paying = failure(actions.pay.value());
    let copying = failure(actions.copy.value());
    let balances = if ledger.currencies.is_empty() {
        view! { <p class="muted" data-testid="settled">"Everyone is settled up."</p> }.into_any()
    } else {
        ledger
            .currencies
            .clone()
            .into_iter()
            .map(|c| {
                let currency = c.currency.clone();
                let lines = c
                    .balances
                    .iter()
                    .map(|&(user, balance)| {
                        let who = name(user);
                        let text = match (user == me, balance > 0) {
                            (true, true) => format!("You are owed {}", money(&currency, balance)),
                            (true, false) => format!("You owe {}", money(&currency, -balance)),
                            (false, true) => format!("{who} is owed {}", money(&currency, balance)),
                            (false, false) => format!("{who} owes {}", money(&currency, -balance)),
                        };
                        let class = if balance > 0 { "owed" } else { "owes" };
                        view! { <li class=class>{text}</li> }
                    })
                    .collect_view();
                let transfers = c
                    .settle
                    .iter()
                    .map(|t| {
                        let (amount, currency) = (plain(&currency, t.amount_minor), currency.clone());
                        let (from, to) = (t.from, t.to);
                        let sum = money(&currency, t.amount_minor);
                        let text = match (t.from == me, t.to == me) {
                            (true, _) => format!("You pay {} {sum}", name(t.to)),
                            (_, true) => format!("{} pays you {sum}", name(t.from)),
                            _ => format!("{} pays {} {sum}", name(t.from), name(t.to)),
                        };
                        // Only who pays or is paid records it.
                        if from != me && to != me {
                            return view! { <li>{text}</li> }.into_any();
                        }
                        view! {
                            <li>
                                <ActionForm action=actions.pay attr:class="inline-form">
                                    <span>{text}</span>
                                    <input type="hidden" name="room" value=room/>
                                    <input type="hidden" name="from" value=from/>
                                    <input type="hidden" name="to" value=to/>
                                    <input type="hidden" name="amount" value=amount/>
                                    <input type="hidden" name="currency" value=currency/>
                                    <button type="submit" class="secondary">"Record payment"</button>
                                </ActionForm>
                            </li>
                        }
                        .into_any()
                    })
                    .collect_view();
                view! {
                    <div class="currency-ledger" data-testid=format!("balances-{}", c.currency)>
                        <h3>{c.currency.clone()}</h3>
                        <ul class="balances">{lines}</ul>
                        <h4>"Settle up"</h4>
                        <ul class="settle" data-testid=format!("settle-{}", c.currency)>{transfers}</ul>
                    </div>
                }
            })
            .collect_view()
            .into_any()
    };
    let entries = ledger.entries.clone();
    let more = (ledger.entry_count > entries.len() as i64).then(|| {
        view! { <p class="muted">{format!("The latest {} of {} are shown; the CSV export has every one.", entries.len(), ledger.entry_count)}</p> }
    });
    let entry_list = if entries.is_empty() {
        view! { <p class="muted">"No shared expenses yet. Add the first one above: who paid, and who it was for."</p> }.into_any()
    } else {
        let ledger = ledger.clone();
        view! {
            <ul class="entries" data-testid="entries">
                {entries.into_iter().map(|entry| view! { <EntryItem entry ledger=ledger.clone() actions/> }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <Title text=format!("Shared expenses · {}", ledger.room_name)/>
        <header class="room-header">
            <A href=format!("/chat/{room}") attr:class="back" attr:aria-label="Back to the room">"←"</A>
            <div class="room-heading">
                <h1>"Shared expenses"</h1>
                <p class="muted topic">{ledger.room_name.clone()}</p>
            </div>
            <a href=format!("/chat/{room}/expenses.csv") download>"Export CSV"</a>
        </header>
        <div class="ledger-body">
            <section aria-labelledby="balances-title">
                <h2 id="balances-title">"Balances"</h2>
                {balances}
                <FormError value=paying/>
            </section>
            <EntryForm ledger=ledger.clone() actions entry=None/>
            <section aria-labelledby="entries-title">
                <h2 id="entries-title">"Expenses and payments"</h2>
                <FormError value=copying/>
                {entry_list}
                {more}
            </section>
        </div>
    }
}

#[component]
fn EntryItem(entry: SharedEntry, ledger: RoomLedger, actions: LedgerActions) -> impl IntoView {
    let me = ledger.me;
    let room = ledger.room_id;
    let amount = money(&entry.currency, entry.amount_minor);
    let title = if entry.settlement {
        let to = entry.parts.first().map_or_else(String::new, |p| ledger.name_of(p.user_id));
        format!("{} paid {to} {amount}", ledger.name_of(entry.paid_by))
    } else {
        format!("{}: {amount}, paid by {}", entry.description, ledger.name_of(entry.paid_by))
    };
    let parts = (!entry.settlement).then(|| {
        entry.parts.iter().map(|p| format!("{} {}", ledger.name_of(p.user_id), money(&entry.currency, p.amount_minor))).collect::<Vec<_>>().join(" · ")
    });
    let mine = entry.created_by == me;
    let id = entry.id;
    let edited = entry.updated_at.is_some().then_some(" (edited)");
    let my_part = entry.parts.iter().find(|p| p.user_id == me).filter(|_| !entry.settlement).map(|p| p.amount_minor);
    let (copied, entry_currency) = (entry.copied_by_me, entry.currency.clone());
    let copy = my_part.map(|part| {
        if copied {
            view! { <p class="muted"><A href="/expenses">"Your part is in your expenses."</A></p> }.into_any()
        } else if entry_currency == ledger.default_currency {
            let categories = ledger.categories.clone();
            let select_id = format!("copy-{id}-category");
            view! {
                <ActionForm action=actions.copy attr:class="inline-form" attr:data-testid="copy-part">
                    <input type="hidden" name="room" value=room/>
                    <input type="hidden" name="id" value=id/>
                    <label for=select_id.clone()>{format!("Add my part ({}) to my expenses in", money(&entry_currency, part))}</label>
                    <select id=select_id name="category_id">
                        {categories.into_iter().map(|c| {
                            let other = c.name == "Other";
                            view! { <option value=c.id selected=other>{c.name}</option> }
                        }).collect_view()}
                    </select>
                    <button type="submit" class="secondary">"Add"</button>
                </ActionForm>
            }
            .into_any()
        } else {
            ().into_any()
        }
    });
    let history = (!entry.history.is_empty()).then(|| {
        let lines = entry.history.iter().map(|h| view! { <li>{h.clone()}</li> }).collect_view();
        view! { <details class="history"><summary>"History"</summary><ul>{lines}</ul></details> }
    });
    let editable = (mine && !entry.settlement).then(|| view! {
        <details class="edit-entry">
            <summary>"Edit"</summary>
            <EntryForm ledger=ledger.clone() actions entry=Some(entry.clone())/>
        </details>
    });
    view! {
        <li class="entry" class:settlement=entry.settlement data-testid="entry" id=format!("entry-{id}")>
            <p><strong>{title}</strong><span class="muted">{format!(" · {}", entry.spent_on)}{edited}</span></p>
            {parts.map(|p| view! { <p class="muted parts">{p}</p> })}
            {mine.then(|| view! {
                <ActionForm action=actions.delete attr:class="inline-form">
                    <input type="hidden" name="room" value=room/>
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="link danger">"Delete"</button>
                </ActionForm>
            })}
            {copy}
            {editable}
            {history}
        </li>
    }
}

/// The add form, or with `entry` the edit form of that entry.
#[component]
fn EntryForm(ledger: RoomLedger, actions: LedgerActions, entry: Option<SharedEntry>) -> impl IntoView {
    let room = ledger.room_id;
    let editing = entry.is_some();
    let value = if editing { failure(actions.edit.value()) } else { failure(actions.add.value()) };
    let prefix = entry.as_ref().map_or_else(|| "add".to_string(), |e| format!("e{}", e.id));
    let currency = entry.as_ref().map_or_else(|| kept_input("currency").unwrap_or_else(|| ledger.default_currency.clone()), |e| e.currency.clone());
    let mode = entry.as_ref().map_or(SplitMode::Equal, |e| e.mode);
    let paid_by = entry.as_ref().map_or(ledger.me, |e| e.paid_by);
    let weight_text = |user: i64| -> String {
        let Some(e) = &entry else { return String::new() };
        let Some(part) = e.parts.iter().find(|p| p.user_id == user) else { return String::new() };
        match e.mode {
            SplitMode::Equal => String::new(),
            SplitMode::Shares => part.weight.to_string(),
            SplitMode::Percent => format!("{}.{:02}", part.weight / 100, part.weight % 100),
            SplitMode::Exact => plain(&e.currency, part.weight),
        }
    };
    let included = |user: i64| entry.as_ref().is_none_or(|e| e.parts.iter().any(|p| p.user_id == user));
    let members: Vec<(i64, String)> = ledger.members().map(|p| (p.user_id, if p.user_id == ledger.me { format!("{} (you)", p.name) } else { p.name.clone() })).collect();
    let id_of = |field: &str| format!("{prefix}-{field}");
    let fields = view! {
        <input type="hidden" name="room" value=room/>
        {entry.as_ref().map(|e| view! { <input type="hidden" name="id" value=e.id/> })}
        <div class="field">
            <label for=id_of("description")>"Description"</label>
            <input id=id_of("description") name="description" required maxlength="200"
                value=entry.as_ref().map(|e| e.description.clone()).or_else(|| (!editing).then(|| kept_input("description")).flatten())/>
            <FieldErrorLine value name="description"/>
        </div>
        <div class="field">
            <label for=id_of("amount")>"Amount"</label>
            <input id=id_of("amount") name="amount" inputmode="decimal" required
                value=entry.as_ref().map(|e| plain(&e.currency, e.amount_minor)).or_else(|| (!editing).then(|| kept_input("amount")).flatten())/>
            <FieldErrorLine value name="amount"/>
        </div>
        <div class="field">
            <label for=id_of("currency")>"Currency"</label>
            <input id=id_of("currency") name="currency" required maxlength="3" size="4" value=currency/>
            <FieldErrorLine value name="currency"/>
        </div>
        <div class="field">
            <label for=id_of("spent_on")>"Date"</label>
            <input id=id_of("spent_on") name="spent_on" type="date" required value=entry.as_ref().map_or_else(|| ledger.today.clone(), |e| e.spent_on.clone())/>
            <FieldErrorLine value name="spent_on"/>
        </div>
        <div class="field">
            <label for=id_of("paid_by")>"Paid by"</label>
            <select id=id_of("paid_by") name="paid_by">
                {members.iter().map(|(user, name)| view! { <option value=*user selected=*user == paid_by>{name.clone()}</option> }).collect_view()}
            </select>
            <FieldErrorLine value name="paid_by"/>
        </div>
        <div class="field">
            <label for=id_of("mode")>"Split"</label>
            <select id=id_of("mode") name="mode">
                {[(SplitMode::Equal, "Equally"), (SplitMode::Shares, "By shares"), (SplitMode::Percent, "By percentage"), (SplitMode::Exact, "By exact amounts")]
                    .into_iter()
                    .map(|(m, label)| view! { <option value=m.as_str() selected=m == mode>{label}</option> })
                    .collect_view()}
            </select>
        </div>
        <fieldset class="split-members">
            <legend>"Split between"</legend>
            <p class="muted hint">{format!("For shares, a whole number; for a percentage, up to two decimals (all adding up to {}); for exact amounts, each person's amount.", WHOLE_PERCENT / 100)}</p>
            {members.iter().map(|(user, name)| {
                let (check, weight) = (format!("{prefix}-with-{user}"), format!("{prefix}-weight-{user}"));
                view! {
                    <div class="split-member">
                        <input type="checkbox" id=check.clone() name=format!("with[{user}]") value="on" checked=included(*user)/>
                        <label for=check>{name.clone()}</label>
                        <input id=weight.clone() name=format!("weight[{user}]") inputmode="decimal" size="8"
                            aria-label=format!("Share, percentage or amount of {name}") value=weight_text(*user)/>
                    </div>
                }
            }).collect_view()}
            <FieldErrorLine value name="split"/>
        </fieldset>
        <FormError value/>
    };
    if editing {
        view! {
            <ActionForm action=actions.edit attr:class="grid-form" attr:data-testid="edit-shared">
                {fields}
                <Submit pending=actions.edit.pending() label="Save changes" busy="Saving…"/>
            </ActionForm>
        }
        .into_any()
    } else {
        view! {
            <details class="add" open>
                <summary>"Add a shared expense"</summary>
                <ActionForm action=actions.add attr:class="grid-form" attr:data-testid="add-shared">
                    {fields}
                    <Submit pending=actions.add.pending() label="Add" busy="Adding…"/>
                </ActionForm>
            </details>
        }
        .into_any()
    }
}
