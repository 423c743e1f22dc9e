//! The top bar: brand, the pages of the signed-in user, and the log-out button.

use crate::app::use_session;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Nav() -> impl IntoView {
    let session = use_session();
    view! {
        <header class="topbar">
            <A href="/" attr:class="brand">"Huddle"</A>
            <nav>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match session.user.await {
                            Ok(Some(user)) => view! {
                                <A href="/chat">"Chat"</A>
                                <A href="/expenses">"Expenses"</A>
                                <A href="/reports">"Reports"</A>
                                <A href="/profile">"Profile"</A>
                                <A href="/sessions">"Sessions"</A>
                                <span class="who" data-testid="nav-user">{user.name}</span>
                                <ActionForm action=session.logout attr:class="inline">
                                    <button type="submit" class="link">"Log out"</button>
                                </ActionForm>
                            }.into_any(),
                            _ => view! {
                                <A href="/login">"Log in"</A>
                                <A href="/register" attr:class="button">"Register"</A>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </nav>
        </header>
    }
}
