//! One module per page.

mod account;
mod budgets;
mod categories;
mod chat;
mod expenses;
mod reports;
mod home;
mod sessions;

pub use account::{LoginPage, ProfilePage, RegisterPage};
pub use budgets::BudgetsPage;
pub use categories::CategoriesPage;
pub use chat::{ChatPage, InvitePage, RoomDirectoryPage, RoomPage};
pub use expenses::{EditExpensePage, ExpensesPage};
pub use reports::ReportsPage;
pub use home::{HomePage, NotFound};
pub use sessions::SessionsPage;

use crate::app::use_session;
use crate::models::User;
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Renders `page` for the signed-in user; sends anyone else to the login page.
#[component]
pub fn SignedIn<F, V>(page: F) -> impl IntoView
where
    F: Fn(User) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let session = use_session();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let page = page.clone();
                Suspend::new(async move {
                    match session.user.await {
                        Ok(Some(user)) => page(user).into_any(),
                        Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// Renders `page` for visitors; sends a signed-in user home.
#[component]
pub fn SignedOut<F, V>(page: F) -> impl IntoView
where
    F: Fn() -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let session = use_session();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let page = page.clone();
                Suspend::new(async move {
                    match session.user.await {
                        Ok(Some(_)) => view! { <Redirect path="/"/> }.into_any(),
                        _ => page().into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
