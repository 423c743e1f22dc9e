//! The home page: a dashboard when signed in, the landing page otherwise.

use crate::app::use_session;
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
    view! {
        <section class="page">
            <h1>{format!("Welcome back, {}", user.name)}</h1>
            <div class="cards">
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
