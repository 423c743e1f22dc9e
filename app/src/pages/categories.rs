//! The user's categories: the built-in set and their own (create, rename, delete).

use super::SignedIn;
use crate::api::expenses::{CreateCategory, DeleteCategory, RenameCategory, list_categories};
use crate::components::form::{Field, FormError, Submit, failure};
use crate::models::expense::Category;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn CategoriesPage() -> impl IntoView {
    let create = ServerAction::<CreateCategory>::new();
    let rename = ServerAction::<RenameCategory>::new();
    let delete = ServerAction::<DeleteCategory>::new();
    view! {
        <Title text="Categories"/>
        <SignedIn page=move |_| view! { <Categories create rename delete/> }/>
    }
}

#[component]
fn Categories(
    create: ServerAction<CreateCategory>,
    rename: ServerAction<RenameCategory>,
    delete: ServerAction<DeleteCategory>,
) -> impl IntoView {
    let list = Resource::new(
        move || (create.version().get(), rename.version().get(), delete.version().get()),
        |_| list_categories(),
    );
    let created = failure(create.value());
    view! {
        <section class="page narrow">
            <p><A href="/expenses">"← Expenses"</A></p>
            <h1>"Categories"</h1>
            <ActionForm action=create attr:class="stack">
                <Field value=created name="name" label="New category"/>
                <FormError value=created/>
                <Submit pending=create.pending() label="Add category" busy="Adding…"/>
            </ActionForm>
            <FormError value=failure(rename.value())/>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) => view! {
                            <ul class="categories" data-testid="categories">
                                {list.into_iter().map(|c| view! { <CategoryRow category=c rename delete/> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p class="hint">"Deleting a category moves its expenses to Other."</p>
        </section>
    }
}

#[component]
fn CategoryRow(category: Category, rename: ServerAction<RenameCategory>, delete: ServerAction<DeleteCategory>) -> impl IntoView {
    let (id, id_for_delete) = (category.id.to_string(), category.id.to_string());
    let count = format!("{} expense{}", category.expenses, if category.expenses == 1 { "" } else { "s" });
    if category.builtin {
        return view! { <li><strong>{category.name}</strong><span class="muted">{count}</span></li> }.into_any();
    }
    view! {
        <li>
            <ActionForm action=rename>
                <input type="hidden" name="id" value=id/>
                <input name="name" value=category.name.clone() aria-label=format!("Name of {}", category.name) maxlength="40"/>
                <button type="submit" class="secondary">"Rename"</button>
            </ActionForm>
            <span class="muted">{count}</span>
            <ActionForm action=delete>
                <input type="hidden" name="id" value=id_for_delete/>
                <button type="submit" class="danger">"Delete"</button>
            </ActionForm>
        </li>
    }
    .into_any()
}
