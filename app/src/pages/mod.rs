//! One module per page.

mod account;
mod budgets;
mod categories;
mod chat;
mod expenses;
mod reports;
mod home;
mod meetings;
mod premium;
mod recovery;
mod verify;
mod sessions;
mod shared;

pub use account::{LoginPage, ProfilePage, RegisterPage};
pub use budgets::BudgetsPage;
pub use categories::CategoriesPage;
pub use chat::{ChatIndex, ChatPage, InvitePage, RoomDirectoryPage, RoomPage};
pub use expenses::{EditExpensePage, ExpensesPage};
pub use reports::ReportsPage;
pub use home::{HomePage, NotFound};
pub use meetings::{MeetingPage, MeetingsPage};
pub use premium::{LeaderboardPage, PremiumPage};
pub use recovery::{ForgotPasswordPage, ResetPasswordPage};
pub use verify::{VerifyEmailPage, VerifyReminder};
pub use sessions::SessionsPage;
pub use shared::RoomExpensesPage;

use crate::app::use_session;
use crate::models::User;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::{LazyRoute, lazy_route};

/// Declares, for each page, a route whose code the browser fetches only when that page is
/// shown: `#[lazy_route]` marks a split point, and the build (`scripts/wasm-split`) cuts the
/// wasm there, so a first visit downloads the shell and its own page, not every page.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        #[doc = concat!("[`", stringify!($page), "`], loaded when first shown.")]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_route: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    HomeRoute => HomePage,
    RegisterRoute => RegisterPage,
    LoginRoute => LoginPage,
    ForgotPasswordRoute => ForgotPasswordPage,
    ResetPasswordRoute => ResetPasswordPage,
    VerifyEmailRoute => VerifyEmailPage,
    ProfileRoute => ProfilePage,
    SessionsRoute => SessionsPage,
    ExpensesRoute => ExpensesPage,
    EditExpenseRoute => EditExpensePage,
    CategoriesRoute => CategoriesPage,
    ReportsRoute => ReportsPage,
    BudgetsRoute => BudgetsPage,
    InviteRoute => InvitePage,
    RoomDirectoryRoute => RoomDirectoryPage,
    ChatShellRoute => ChatPage,
    RoomRoute => RoomPage,
    RoomExpensesRoute => RoomExpensesPage,
    MeetingsRoute => MeetingsPage,
    MeetingRoute => MeetingPage,
    LeaderboardRoute => LeaderboardPage,
    PremiumRoute => PremiumPage,
}

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
                        // Back here after signing in: an invite link survives the login.
                        Ok(None) => view! { <Redirect path=login_then_back()/> }.into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// `/login?next=<this page>`.
fn login_then_back() -> String {
    let here = leptos_router::hooks::use_location();
    let (path, search) = (here.pathname.get_untracked(), here.search.get_untracked());
    let target = if search.is_empty() { path } else { format!("{path}?{search}") };
    format!("/login?next={}", crate::models::url_encode(&target))
}

/// The `next` of this page's URL, if it is a path on this site.
pub fn next_page() -> Option<String> {
    let next = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("next"))?;
    crate::models::local_path(&next).map(str::to_string)
}

/// Renders `page` for visitors; sends a signed-in user on to the page's `next`, else home.
///
/// The same place the sign-in itself leads: the session is fetched again as soon as the URL
/// changes, which can be before the next page (a lazily loaded one) has replaced this one.
#[component]
pub fn SignedOut<F, V>(page: F) -> impl IntoView
where
    F: Fn() -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let session = use_session();
    let onward = next_page().unwrap_or_else(|| "/".to_string());
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (page, onward) = (page.clone(), onward.clone());
                Suspend::new(async move {
                    match session.user.await {
                        Ok(Some(_)) => view! { <Redirect path=onward/> }.into_any(),
                        _ => page().into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
