//! Where the user is signed in, with a button to end each login.

use super::SignedIn;
use crate::api::auth::{RevokeSession, list_sessions};
use crate::app::use_session;
use crate::components::form::{FormError, failure};
use crate::models::SessionInfo;
use crate::models::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SessionsPage() -> impl IntoView {
    view! {
        <Title text="Sessions"/>
        <SignedIn page=|_| view! { <Sessions/> }/>
    }
}

#[component]
fn Sessions() -> impl IntoView {
    let everywhere = use_session().logout_everywhere;
    let revoke = ServerAction::<RevokeSession>::new();
    let sessions = Resource::new(move || revoke.version().get(), |_| list_sessions());
    view! {
        <section class="page">
            <h1>"Where you are signed in"</h1>
            <FormError value=failure(revoke.value())/>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => view! {
                            <ul class="sessions" data-testid="sessions">
                                {list.into_iter().map(|s| view! { <SessionRow session=s revoke/> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <ActionForm action=everywhere>
                <button type="submit" class="danger">"Log out everywhere"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionRow(session: SessionInfo, revoke: ServerAction<RevokeSession>) -> impl IntoView {
    let logout = use_session().logout;
    view! {
        <li class="session" data-current=session.current.to_string()>
            <div>
                <strong class="agent">{describe_agent(&session.user_agent)}</strong>
                {session.current.then(|| view! { <span class="badge">"This device"</span> })}
                <p class="muted">
                    "Signed in " {format_utc(session.created_at)} " · last active " {format_utc(session.last_used_at)}
                </p>
            </div>
            {if session.current {
                view! {
                    <ActionForm action=logout>
                        <button type="submit" class="secondary">"Log out"</button>
                    </ActionForm>
                }.into_any()
            } else {
                view! {
                    <ActionForm action=revoke>
                        <input type="hidden" name="id" value=session.id.to_string()/>
                        <button type="submit" class="secondary">"Revoke"</button>
                    </ActionForm>
                }.into_any()
            }}
        </li>
    }
}

/// "Chrome on Linux" from a User-Agent string; the raw string when nothing is recognised.
fn describe_agent(ua: &str) -> String {
    let browser = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| *name);
    let os = [("Android", "Android"), ("iPhone", "iOS"), ("Windows", "Windows"), ("Mac OS", "macOS"), ("Linux", "Linux")]
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_string(),
        _ if ua.is_empty() => "Unknown device".to_string(),
        _ => ua.chars().take(60).collect(),
    }
}
