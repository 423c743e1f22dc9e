//! Register, log in, and the profile.

use super::{SignedIn, SignedOut, next_page};
use crate::api::auth::{ChangeEmail, ChangePassword, Login, Register, UpdateProfile};
use crate::api::expenses::{SetCurrency, SetTimeZone, list_time_zones};
use crate::models::money::CURRENCIES;
use crate::app::use_session;
use crate::components::form::{Field, FieldErrorLine, FormError, Submit, failure};
use crate::models::time::format_date;
use crate::models::{DisplayName, Email, FieldError, LoginName, Password, User, Username};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

fn check_name(s: &str) -> Result<(), FieldError> {
    DisplayName::parse(s).map(drop)
}
fn check_username(s: &str) -> Result<(), FieldError> {
    Username::parse(s).map(drop)
}
fn check_email(s: &str) -> Result<(), FieldError> {
    Email::parse(s).map(drop)
}
fn check_password(s: &str) -> Result<(), FieldError> {
    Password::parse(s).map(drop)
}
fn check_login(s: &str) -> Result<(), FieldError> {
    LoginName::parse(s).map(drop)
}

/// Carries the page to return to after signing in through the form.
#[component]
fn NextPage() -> impl IntoView {
    next_page().map(|next| view! { <input type="hidden" name="next" value=next/> })
}

/// `path` keeping this page's `next`.
fn with_next(path: &'static str) -> String {
    match next_page() {
        Some(next) => format!("{path}?next={}", crate::models::url_encode(&next)),
        None => path.to_string(),
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let action = ServerAction::<Register>::new();
    let value = failure(action.value());
    view! {
        <Title text="Register"/>
        <SignedOut page=move || view! {
            <section class="page narrow">
                <h1>"Create your account"</h1>
                <ActionForm action=action attr:class="stack" attr:novalidate=false>
                    <Field value name="name" label="Name" autocomplete="name" check=check_name/>
                    <Field value name="username" label="Username" autocomplete="username" check=check_username/>
                    <Field value name="email" label="Email" kind="email" autocomplete="email" check=check_email/>
                    <Field value name="password" label="Password" kind="password" autocomplete="new-password" check=check_password/>
                    <NextPage/>
                    <p class="hint">"At least 10 characters; a few unrelated words work well."</p>
                    <FormError value/>
                    <Submit pending=action.pending() label="Create account" busy="Creating…"/>
                </ActionForm>
                <p>"Already have an account? " <A href=with_next("/login")>"Log in"</A></p>
            </section>
        }/>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let value = failure(action.value());
    let reset = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("reset").is_some_and(|v| v == "done"));
    let password_was_reset = move || reset;
    view! {
        <Title text="Log in"/>
        <SignedOut page=move || view! {
            <section class="page narrow">
                <h1>"Log in"</h1>
                <Show when=password_was_reset>
                    <p class="ok" role="status">"Your password was changed and every device signed out. Log in with the new one."</p>
                </Show>
                <ActionForm action=action attr:class="stack">
                    <Field value name="login" label="Username or email" autocomplete="username" check=check_login/>
                    <Field value name="password" label="Password" kind="password" autocomplete="current-password"/>
                    <p class="hint"><A href="/forgot-password">"Forgot your password?"</A></p>
                    <NextPage/>
                    <FormError value/>
                    <Submit pending=action.pending() label="Log in" busy="Logging in…"/>
                </ActionForm>
                <p>"New here? " <A href=with_next("/register")>"Create an account"</A></p>
            </section>
        }/>
    }
}

#[component]
pub fn ProfilePage() -> impl IntoView {
    let session = use_session();
    // Created here, not in `Profile`: that is rebuilt when the user is fetched again.
    let (rename, change) = (ServerAction::<UpdateProfile>::new(), ServerAction::<ChangePassword>::new());
    let currency = ServerAction::<SetCurrency>::new();
    let zone = ServerAction::<SetTimeZone>::new();
    // A new name shows in the navigation bar and above, which read the session's user.
    Effect::new(move |_| {
        let renamed = matches!(rename.value().get(), Some(Ok(())));
        let currency_changed = matches!(currency.value().get(), Some(Ok(())));
        let zone_changed = matches!(zone.value().get(), Some(Ok(())));
        if renamed || currency_changed || zone_changed {
            session.changed();
        }
    });
    view! {
        <Title text="Profile"/>
        <SignedIn page=move |user: User| view! { <Profile user rename change currency zone/> }/>
    }
}

#[component]
fn Profile(
    user: User,
    rename: ServerAction<UpdateProfile>,
    change: ServerAction<ChangePassword>,
    currency: ServerAction<SetCurrency>,
    zone: ServerAction<SetTimeZone>,
) -> impl IntoView {
    let zones = Resource::new(|| (), |_| list_time_zones());
    let change_email = ServerAction::<ChangeEmail>::new();
    let email_value = failure(change_email.value());
    let current_zone = user.time_zone.clone();
    let (rename_value, change_value, currency_value) = (failure(rename.value()), failure(change.value()), failure(currency.value()));
    let current = user.currency.clone();
    let saved = |v: MappedSignal<Option<Result<(), crate::models::AppError>>>| move || v.with(|v| matches!(v, Some(Ok(()))));
    view! {
        <section class="page narrow">
            <h1>"Profile"</h1>
            <dl class="facts">
                <dt>"Name"</dt><dd data-testid="profile-name">{user.name.clone()}</dd>
                <dt>"Username"</dt><dd>{user.username.clone()}</dd>
                <dt>"Email"</dt><dd>{user.email.clone()}</dd>
                <dt>"Member since"</dt><dd>{format_date(user.created_at)}</dd>
                <dt>"Premium"</dt>
                <dd data-testid="profile-premium">{if user.premium { "Yes" } else { "No" }} " · " <A href="/premium">"Premium and your orders"</A></dd>
            </dl>
            <super::VerifyReminder user=user.clone()/>
            <h2>"Change your email address"</h2>
            <p class="hint">"We mail a link to the new address; it replaces the old one when you open it."</p>
            <ActionForm action=change_email attr:class="stack">
                <Field value=email_value name="email" label="New email address" kind="email" autocomplete="email" check=check_email/>
                <Field value=email_value name="password" label="Your password" kind="password" autocomplete="current-password"/>
                <FormError value=email_value/>
                <Submit pending=change_email.pending() label="Send the link" busy="Sending…"/>
            </ActionForm>
            <h2>"Change your name"</h2>
            <ActionForm action=rename attr:class="stack">
                <Field value=rename_value name="name" label="Name" autocomplete="name" check=check_name initial=user.name.clone()/>
                <FormError value=rename_value/>
                <Show when=saved(rename.value())><p class="ok" role="status">"Name saved."</p></Show>
                <Submit pending=rename.pending() label="Save name" busy="Saving…"/>
            </ActionForm>
            <h2>"Currency"</h2>
            <ActionForm action=currency attr:class="stack">
                <div class="field">
                    <label for="f-currency">"Amounts are in"</label>
                    <select id="f-currency" name="currency">
                        {CURRENCIES.iter().map(|c| view! {
                            <option value=c.code selected=c.code == current>{format!("{} — {}", c.code, c.name)}</option>
                        }).collect_view()}
                    </select>
                </div>
                <FormError value=currency_value/>
                <Show when=saved(currency.value())><p class="ok" role="status">"Currency saved."</p></Show>
                <Submit pending=currency.pending() label="Save currency" busy="Saving…"/>
            </ActionForm>
            <h2>"Time zone"</h2>
            <ActionForm action=zone attr:class="stack">
                <div class="field">
                    <label for="f-time_zone">"Your days follow"</label>
                    <select id="f-time_zone" name="time_zone">
                        <Suspense fallback=|| ()>
                            {move || {
                                let current = current_zone.clone();
                                Suspend::new(async move {
                                    zones.await.unwrap_or_default().into_iter().map(|z| {
                                        let (selected, label) = (z == current, z.clone());
                                        view! { <option value=z selected=selected>{label}</option> }
                                    }).collect_view()
                                })
                            }}
                        </Suspense>
                    </select>
                    <FieldErrorLine value=failure(zone.value()) name="time_zone"/>
                </div>
                <Show when=saved(zone.value())><p class="ok" role="status">"Time zone saved."</p></Show>
                <Submit pending=zone.pending() label="Save time zone" busy="Saving…"/>
            </ActionForm>
            <h2>"Change your password"</h2>
            <p class="hint">"Every other device is signed out when you change it."</p>
            <ActionForm action=change attr:class="stack">
                <Field value=change_value name="current_password" label="Current password" kind="password" autocomplete="current-password"/>
                <Field value=change_value name="new_password" label="New password" kind="password" autocomplete="new-password" check=check_password/>
                <FormError value=change_value/>
                <Show when=saved(change.value())><p class="ok" role="status">"Password changed."</p></Show>
                <Submit pending=change.pending() label="Change password" busy="Changing…"/>
            </ActionForm>
        </section>
    }
}
