//! Forgot password: ask for a link, then choose a new password with it.

use crate::api::recovery::{ForgotPassword, ResetPassword, reset_link};
use crate::components::form::{Field, FormError, Submit, failure};
use crate::models::{Email, FieldError, Password};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

fn check_email(s: &str) -> Result<(), FieldError> {
    Email::parse(s).map(drop)
}
fn check_password(s: &str) -> Result<(), FieldError> {
    Password::parse(s).map(drop)
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let value = failure(action.value());
    // Without JavaScript the form's answer is this page with `?sent=1`; with it, the action's value.
    let sent = use_query_map().with_untracked(|q| q.get("sent").is_some());
    let sent = move || sent || matches!(action.value().get(), Some(Ok(())));
    view! {
        <Title text="Forgot password"/>
        <section class="page narrow">
            <h1>"Forgot your password?"</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p>"Enter the email address of your account and we will mail you a link to choose a new password."</p>
                    <ActionForm action=action attr:class="stack">
                        <Field value name="email" label="Email" kind="email" autocomplete="email" check=check_email/>
                        <FormError value/>
                        <Submit pending=action.pending() label="Send the link" busy="Sending…"/>
                    </ActionForm>
                }
            >
                <p class="ok" role="status" data-testid="reset-sent">
                    "If an account uses that address, a link to choose a new password is on its way. "
                    "It works for 30 minutes, once. Nothing there? Look in your spam folder, or ask again."
                </p>
            </Show>
            <p><A href="/login">"Back to log in"</A></p>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let value = failure(action.value());
    let link = Resource::new(|| (), |_| reset_link());
    view! {
        <Title text="Choose a new password"/>
        <section class="page narrow">
            <h1>"Choose a new password"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Checking your link…"</p> }>
                {move || Suspend::new(async move {
                    match link.await {
                        Ok(true) => view! {
                            <ActionForm action=action attr:class="stack">
                                <Field value name="new_password" label="New password" kind="password" autocomplete="new-password" check=check_password/>
                                <Field value name="confirm_password" label="The same password again" kind="password" autocomplete="new-password"/>
                                <p class="hint">"At least 10 characters; a few unrelated words work well. Every device signed in to your account will be signed out."</p>
                                <FormError value/>
                                <Submit pending=action.pending() label="Set the new password" busy="Saving…"/>
                            </ActionForm>
                        }.into_any(),
                        Ok(false) => view! {
                            <p class="form-error" role="alert" data-testid="reset-link-gone">
                                "This link has expired or was already used."
                            </p>
                            <p><A href="/forgot-password">"Ask for a new link"</A></p>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
