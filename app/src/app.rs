//! The HTML shell, the router and the session shared by every page.

use crate::api::auth::{Logout, LogoutEverywhere, current_user};
use crate::components::nav::Nav;
use crate::models::{AppError, Theme, User};
use crate::pages::{
    BudgetsRoute, CategoriesRoute, ChatIndex, ChatShellRoute, RoomRoute, RoomExpensesRoute, EditExpenseRoute, ExpensesRoute, HomeRoute, InviteRoute,
    ForgotPasswordRoute, LeaderboardRoute, LoginRoute, MeetingRoute, ResetPasswordRoute, VerifyEmailRoute, MeetingsRoute, NotFound, PremiumRoute, ProfileRoute, RegisterRoute, ReportsRoute, RoomDirectoryRoute, SessionsRoute,
};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::{Lazy, SsrMode, path};

/// The document around every server-rendered page. Its Content Security Policy, with this
/// response's nonce, is set by the server's `security_headers` middleware (see [`CspNonce`]).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let theme = page_theme();
    // The browser's own bar matches the page: one colour per scheme the page can show.
    let bar_colours = match theme {
        Theme::Light => vec![("#ffffff", None)],
        Theme::Dark => vec![("#1b2029", None)],
        Theme::System => vec![("#ffffff", Some("(prefers-color-scheme: light)")), ("#1b2029", Some("(prefers-color-scheme: dark)"))],
    };
    let stylesheet = format!("/pkg/{}.css", options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme.as_str()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                {bar_colours.into_iter().map(|(c, media)| {
                    use leptos::tachys::html::attribute::custom::CustomAttribute;
                    leptos::html::meta().name("theme-color").content(c).attr("media", media)
                }).collect_view()}
                <link rel="icon" href="/favicon.ico" sizes="32x32"/>
                <link rel="icon" href="/icon.svg" type="image/svg+xml"/>
                <link rel="apple-touch-icon" href="/icon-192.png"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                // The bundle's name carries its content hash (see `build_site`).
                <link rel="stylesheet" href=stylesheet/>
                <script nonce=leptos::nonce::use_nonce()>{crate::components::failures::ERROR_LISTENER}</script>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The theme this browser last chose (see `cookies::THEME`), so the server renders the page in
/// it and the first paint is already right.
fn page_theme() -> Theme {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|p| crate::server::auth::cookies::read(&p.headers, crate::server::auth::cookies::THEME).map(Theme::from_db))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    Theme::System
}

/// The nonce of one response's inline scripts, chosen by the server's middleware before the page
/// renders and put in the request's extensions; the middleware writes the policy header with it.
/// (The policy used to be set from the shell through `ResponseOptions`; now and then it never
/// reached the response, the browser fell back to `default-src 'none'` and the page was never
/// hydrated.)
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// Makes Leptos mark its inline scripts with the middleware's nonce: run as the additional
/// context of every rendered route (after Leptos' own, which it replaces).
#[cfg(feature = "ssr")]
pub fn provide_request_nonce() {
    let nonce = use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<CspNonce>().cloned());
    if let Some(CspNonce(nonce)) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce));
    }
}

/// The policy of a page whose inline scripts carry `nonce`: our own files, those scripts, and
/// the wasm, nothing else.
#[cfg(feature = "ssr")]
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The signed-in user and the actions that end a login, shared through context.
///
/// Forms that can fail (log in, register, profile) create their own actions inside their
/// page: only there does a failed no-JS post find its error in the URL.
#[derive(Clone, Copy)]
pub struct Session {
    pub user: Resource<Result<Option<User>, AppError>>,
    pub logout: ServerAction<Logout>,
    pub logout_everywhere: ServerAction<LogoutEverywhere>,
    revision: RwSignal<u64>,
}

impl Session {
    /// The user is fetched again after every navigation (log in and register end in one) and
    /// whenever a page says the account changed.
    fn new() -> Self {
        let logout = ServerAction::<Logout>::new();
        let logout_everywhere = ServerAction::<LogoutEverywhere>::new();
        let revision = RwSignal::new(0);
        let path = use_location().pathname;
        // Moving between rooms is not a reason to ask again (the chat shell would be rebuilt).
        let place = Memo::new(move |_| {
            path.with(|p| if p.starts_with("/chat/") && !p.starts_with("/chat/join/") { "/chat".to_string() } else { p.clone() })
        });
        let user = Resource::new(
            move || (place.get(), revision.get(), logout.version().get(), logout_everywhere.version().get()),
            |_| current_user(),
        );
        Self { user, logout, logout_everywhere, revision }
    }

    /// Fetches the user again (after a change to the account).
    pub fn changed(&self) {
        self.revision.update(|n| *n += 1);
    }
}

/// Set to true by [`hydrate`] when hydration has finished.
#[derive(Clone, Copy)]
struct HydrationDone(RwSignal<bool>);

/// Hydrates the server-rendered page, then marks it live.
///
/// An effect in the layout used to set the mark, but with lazy routes the layout is hydrated
/// before a lazy page's module has arrived: controls shown "once live" then rendered during
/// the page's own hydration and no longer matched the server's HTML.
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    let done = RwSignal::new(false);
    wasm_bindgen_futures::spawn_local(async move {
        let body = document().body().expect("the page has a body");
        let owner = leptos::mount::hydrate_from_async(body, move || {
            provide_context(HydrationDone(done));
            App()
        })
        .await;
        owner.forget();
        done.set(true);
    });
}

/// Whether this part of the page is live: false on the server and while the page is being
/// hydrated, true once both this component has run its first effect and the whole page is
/// hydrated. Controls that need JavaScript show only then.
///
/// Both, because neither is enough alone. The page's flag alone: a component created after
/// the first load (a client-side navigation) would wait for nothing. The component's own
/// effect alone: a page's parts are hydrated asynchronously (lazy modules, `Suspense`), so
/// an effect may run before its own component's view is hydrated; a control switched on then
/// would be built where the server rendered nothing, and hydration would stop.
pub fn use_hydrated() -> Signal<bool> {
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    let page = use_context::<HydrationDone>().map(|done| done.0);
    Signal::derive(move || mounted.get() && page.is_none_or(|done| done.get()))
}

/// The session of the page being shown.
pub fn use_session() -> Session {
    expect_context::<Session>()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| crate::components::form::raw_text(if page.is_empty() { "Huddle".to_string() } else { format!("{page} · Huddle") })/>
        <Router>
            <Layout/>
        </Router>
    }
}

/// Everything inside the router. The session's actions are created here, not above the
/// router: a failed no-JS form post comes back as an error in the URL, which the router
/// provides and a new action picks up.
#[component]
fn Layout() -> impl IntoView {
    provide_context(Session::new());
    crate::components::chat::provide_chat_live();
    // Set by [`hydrate`] once hydration is done, lazy routes' modules loaded (tests wait on
    // `data-hydrated`); on the server, and so in the HTML, always false. Parts under a
    // `Suspense` may come alive a tick later: they ask `use_hydrated` for their own state.
    let hydrated = use_context::<HydrationDone>().map_or_else(|| RwSignal::new(false), |done| done.0);
    #[cfg(feature = "hydrate")]
    crate::components::failures::watch_hydration(hydrated.read_only(), std::time::Duration::from_secs(10));
    view! {
        <Nav/>
        <main data-hydrated=move || hydrated.get().to_string()>
            <Routes fallback=NotFound>
                <Route path=path!("/") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/register") view={Lazy::<RegisterRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/reset-password") view={Lazy::<ResetPasswordRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/verify-email") view={Lazy::<VerifyEmailRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/profile") view={Lazy::<ProfileRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/sessions") view={Lazy::<SessionsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/expenses") view={Lazy::<ExpensesRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/expenses/:id") view={Lazy::<EditExpenseRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/categories") view={Lazy::<CategoriesRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/reports") view={Lazy::<ReportsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/budgets") view={Lazy::<BudgetsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/chat/join/:token") view={Lazy::<InviteRoute>::new()} ssr=SsrMode::Async/>
                <ParentRoute path=path!("/chat") view={Lazy::<ChatShellRoute>::new()} ssr=SsrMode::Async>
                    // Not lazy: a few lines of text, so `/chat` is the shell's pack and nothing after it.
                    <Route path=path!("") view=ChatIndex ssr=SsrMode::Async/>
                    <Route path=path!(":id") view={Lazy::<RoomRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!(":id/expenses") view={Lazy::<RoomExpensesRoute>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
                <Route path=path!("/rooms") view={Lazy::<RoomDirectoryRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/meetings") view={Lazy::<MeetingsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/meetings/:code") view={Lazy::<MeetingRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/premium") view={Lazy::<PremiumRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/leaderboard") view={Lazy::<LeaderboardRoute>::new()} ssr=SsrMode::Async/>
            </Routes>
        </main>
    }
}
