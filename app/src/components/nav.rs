//! The top bar: brand, the main sections with icons, and the user menu (profile, sessions,
//! theme, log out). Every part works without JavaScript: the menu is a `<details>`.

use crate::api::auth::SetTheme;
use crate::app::use_session;
use crate::components::form::failure;
use crate::models::{Theme, User};
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Nav() -> impl IntoView {
    let session = use_session();
    let set_theme = ServerAction::<SetTheme>::new();
    view! {
        <header class="topbar">
            <A href="/" attr:class="brand" attr:aria-label="Huddle, home">
                <svg class="logo" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 5h16v10H9l-5 4z"/></svg>
                "Huddle"
            </A>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.user.await {
                        Ok(Some(user)) => view! {
                            <nav class="main-nav" aria-label="Main">
                                <A href="/chat">{icon(CHAT)}<span>"Chat"</span></A>
                                <A href="/meetings">{icon(VIDEO)}<span>"Meetings"</span></A>
                                <A href="/expenses">{icon(WALLET)}<span>"Expenses"</span></A>
                                <A href="/reports">{icon(CHART)}<span>"Reports"</span></A>
                            </nav>
                            <UserMenu user set_theme/>
                        }.into_any(),
                        _ => view! {
                            <nav class="main-nav" aria-label="Main">
                                <A href="/login">"Log in"</A>
                                <A href="/register" attr:class="button">"Register"</A>
                            </nav>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </header>
    }
}

const CHAT: &str = "M4 5h16v10H9l-5 4z";
const VIDEO: &str = "M3 7h12v10H3zM15 11l6-4v10l-6-4";
const WALLET: &str = "M3 7h16v12H3zM3 7l12-3v3M15 13h2";
const CHART: &str = "M4 20V10M10 20V4M16 20v-7M21 20H3";

fn icon(path: &'static str) -> impl IntoView {
    view! { <svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d=path/></svg> }
}

#[component]
fn UserMenu(user: User, set_theme: ServerAction<SetTheme>) -> impl IntoView {
    let session = use_session();
    let failed = failure(set_theme.value());
    // The choice applies at once; the server has stored it for the next page load.
    let chosen = RwSignal::new(user.theme);
    Effect::new(move |_| {
        if let Some(Ok(())) = set_theme.value().get() {
            #[cfg(feature = "hydrate")]
            if let Some(root) = document().document_element() {
                let _ = root.set_attribute("data-theme", chosen.get_untracked().as_str());
            }
        }
    });
    let initials = crate::models::timeline::initials(&user.name);
    let colour = crate::models::timeline::avatar_colour(user.id);
    view! {
        <details class="user-menu">
            <summary>
                <span class=format!("avatar c{colour}") aria-hidden="true">{initials}</span>
                <span class="who" data-testid="nav-user">{user.name.clone()}</span>
                <span class="sr-only">", account menu"</span>
            </summary>
            <div class="menu">
                <p class="muted menu-who">"Signed in as @"{user.username}</p>
                <A href="/profile">"Profile"</A>
                <A href="/sessions">"Sessions"</A>
                <ActionForm action=set_theme attr:class="theme-choice" attr:data-testid="theme">
                    <fieldset>
                        <legend>"Theme"</legend>
                        {Theme::ALL.into_iter().map(|t| view! {
                            <button type="submit" name="theme" value=t.as_str() class="link"
                                aria-pressed=move || (chosen.get() == t).to_string()
                                on:click=move |_| chosen.set(t)>
                                {t.label()}
                            </button>
                        }).collect_view()}
                    </fieldset>
                    {move || failed.get().map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
                </ActionForm>
                <ActionForm action=session.logout attr:class="inline">
                    <button type="submit" class="link">"Log out"</button>
                </ActionForm>
            </div>
        </details>
    }
}
