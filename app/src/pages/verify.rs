//! Email verification: the page a mailed link leads to, and the reminder an unconfirmed
//! account sees.

use crate::api::recovery::ResendVerification;
use crate::components::form::{FormError, Submit, failure};
use crate::models::User;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// `/verify-email?result=…` (after a link was opened) or `?sent=1` (after a link was mailed:
/// signing up when addresses must be confirmed first, or "send the link again"). Every text here is fixed: nothing from the URL is shown.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let (result, sent) = use_query_map().with_untracked(|q| (q.get("result"), q.get("sent").is_some()));
    let (heading, text, ok): (&str, &str, bool) = match (result.as_deref(), sent) {
        (Some("done"), _) => ("Address confirmed", "Your email address is confirmed. Thank you.", true),
        (Some("expired"), _) => (
            "This link does not work",
            "It has expired or was already used. Signed in, you can have a new one sent from your profile.",
            false,
        ),
        (Some("taken"), _) => ("Address not changed", "That address now belongs to another account, so yours stays as it was.", false),
        (None, true) => (
            "Check your inbox",
            "We sent a link to your email address. Open it within 24 hours to confirm the address.",
            true,
        ),
        _ => ("Confirm your address", "Open the link we mailed you to confirm your address.", true),
    };
    view! {
        <Title text=heading/>
        <section class="page narrow">
            <h1>{heading}</h1>
            <p class=if ok { "ok" } else { "form-error" } role="status" data-testid="verify-result">{text}</p>
            <p><A href="/">"Go to Huddle"</A></p>
        </section>
    }
}

/// Reminds a user whose address is not confirmed yet, with a button that mails the link again.
#[component]
pub fn VerifyReminder(user: User) -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    let value = failure(resend.value());
    (!user.email_verified).then(|| view! {
        <aside class="notice" data-testid="verify-reminder">
            <p>"Please confirm your email address " <strong>{user.email.clone()}</strong> ": open the link we mailed you."</p>
            <ActionForm action=resend>
                <FormError value/>
                <Submit pending=resend.pending() label="Send the link again" busy="Sending…"/>
            </ActionForm>
        </aside>
    })
}
