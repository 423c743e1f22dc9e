//! Form pieces that show errors next to their field, in both rendering modes.
//!
//! The server's answer comes from the action's value (with JavaScript off, Leptos restores it
//! from the redirect URL). With JavaScript on, a field also runs its newtype's `parse()` as the
//! person types: an invalid field blocks submission and shows the message without a request.

use crate::models::{AppError, FieldError};
use leptos::prelude::*;

/// The error of an action's latest run, if it failed. The form pieces below take this rather
/// than the action's value, so each is compiled once, not once per server function (that
/// doubled the wasm).
pub fn failure<T: Send + Sync + 'static>(value: MappedSignal<Option<Result<T, AppError>>>) -> Signal<Option<AppError>> {
    Signal::derive(move || value.with(|v| v.as_ref().and_then(|r| r.as_ref().err().cloned())))
}

/// The server's error for `field` from the latest run of an action.
pub fn server_message(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || error.with(|e| e.as_ref()?.field_message(field)))
}

/// What was typed into field `name` before a failed form post without JavaScript: the server
/// puts it beside the error in the URL (`f.<name>=…`, never passwords).
pub fn kept_input(name: &str) -> Option<String> {
    leptos_router::hooks::use_query_map().with_untracked(|q| q.get(&format!("f.{name}")))
}

/// Text to put inside a `<textarea>`. The renderer writes a textarea's children unescaped
/// (it is a raw-text element to it), so on the server the text is escaped here: the browser
/// decodes it back into the same text, and `</textarea>` in a value stays text. In the browser
/// the text becomes a text node, never markup, and needs nothing.
pub fn textarea_text(text: Option<String>) -> Option<String> {
    text.map(raw_text)
}

/// Text for an element the server renderer writes unescaped: a `<textarea>`'s children and
/// the page `<title>` (leptos_meta writes it as is, so `</title><meta…>` in a room's name
/// would become markup). Escaped on the server only; the browser sets it as text.
pub fn raw_text(text: String) -> String {
    #[cfg(feature = "ssr")]
    let text = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    text
}

/// A labelled input with its error line.
#[component]
pub fn Field(
    /// The latest error of the action this field belongs to (see [`failure`]).
    value: Signal<Option<AppError>>,
    /// The form field name (the server function's argument).
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    /// The same check the server runs, run in the browser first.
    #[prop(optional)]
    check: Option<fn(&str) -> Result<(), FieldError>>,
    #[prop(optional, into)] initial: Option<String>,
    /// Sets this field's id apart when two forms on one page share a field name.
    #[prop(default = "")]
    id_prefix: &'static str,
) -> impl IntoView {
    let from_server = server_message(value, name);
    let from_browser = RwSignal::new(None::<String>);
    let shown = RwSignal::new(false);
    let message = move || if shown.get() { from_browser.get() } else { None }.or_else(|| from_server.get());
    // A password is never put back into a page, whatever a URL says.
    let initial = if kind == "password" { None } else { initial.or_else(|| kept_input(name)) };
    let id = format!("{id_prefix}f-{name}");
    let error_id = format!("{id}-error");
    let on_input = move |ev: leptos::ev::Event| {
        let Some(check) = check else { return };
        let input: leptos::web_sys::HtmlInputElement = event_target(&ev);
        let problem = check(&input.value()).err().map(|e| e.message);
        input.set_custom_validity(problem.as_deref().unwrap_or(""));
        from_browser.set(problem);
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                value=initial
                aria-invalid=move || message().is_some().to_string()
                aria-describedby=error_id.clone()
                on:input=on_input
                on:change=move |_| shown.set(true)
                on:invalid=move |ev| {
                    ev.prevent_default();
                    shown.set(true);
                }
            />
            <p class="field-error" id=error_id role="alert">{message}</p>
        </div>
    }
}

/// The error of the latest run that belongs to no single field (wrong password, throttled…).
#[component]
pub fn FormError(value: Signal<Option<AppError>>) -> impl IntoView {
    let message = move || value.with(|e| e.as_ref()?.form_message());
    view! {
        <Show when=move || message().is_some()>
            <p class="form-error" role="alert" data-testid="form-error">{message}</p>
        </Show>
    }
}

/// A submit button that says so while its action runs.
#[component]
pub fn Submit(pending: Memo<bool>, label: &'static str, busy: &'static str) -> impl IntoView {
    view! {
        <button type="submit" disabled=move || pending.get() aria-busy=move || pending.get().to_string()>
            {move || if pending.get() { busy } else { label }}
        </button>
    }
}

/// The error line under a field that is not a plain input (select, textarea).
#[component]
pub fn FieldErrorLine(value: Signal<Option<AppError>>, name: &'static str) -> impl IntoView {
    let message = server_message(value, name);
    view! { <p class="field-error" id=format!("f-{name}-error") role="alert">{message}</p> }
}
