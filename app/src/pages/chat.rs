//! Chat: the home (rooms and conversations by last activity) and the page of one room.
//! Without JavaScript both render on the server and post plain forms; with JavaScript the same
//! pages go live over the tab's socket.

use super::SignedIn;
use crate::app::use_hydrated;
use crate::api::chat::{
    AddMember, CreateRoom, JoinRoom, LeaveRoom, PostMessage, RegenerateInvite, RemoveMember, RenameRoom, RoomAccess, StartDirect,
    chat_home, chat_room, invite_preview, public_rooms,
};
use crate::components::chat::state::Status;
use crate::components::chat::{ChatLive, use_chat_live};
use crate::components::form::{Field, FieldErrorLine, FormError, Submit, failure, kept_input, textarea_text};
use crate::models::chat::{
    ChatMessage, Fragment, Invite, Member, MessageBody, RoomKind, RoomSummary, RoomView, Visibility, linkify, time_of_day,
};
use crate::models::ws::ClientMsg;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ChatPage() -> impl IntoView {
    let create = ServerAction::<CreateRoom>::new();
    let join = ServerAction::<JoinRoom>::new();
    let direct = ServerAction::<StartDirect>::new();
    view! {
        <Title text="Chat"/>
        <SignedIn page=move |_| view! { <ChatHome create join direct/> }/>
    }
}

#[component]
fn ChatHome(create: ServerAction<CreateRoom>, join: ServerAction<JoinRoom>, direct: ServerAction<StartDirect>) -> impl IntoView {
    let live = use_chat_live();
    Effect::new(move |_| live.start());
    let revision = Memo::new(move |_| live.state.with(|s| s.revision));
    let rooms = Resource::new(move || revision.get(), |_| chat_home());
    let (created, joined, started) = (failure(create.value()), failure(join.value()), failure(direct.value()));
    view! {
        <section class="page chat-home">
            <div class="heading">
                <h1>"Chat"</h1>
                <ConnectionStatus live/>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rooms.await {
                        Ok(home) if home.rooms.is_empty() => view! {
                            <p class="muted" data-testid="no-rooms">"No rooms or conversations yet: start one below."</p>
                        }.into_any(),
                        Ok(home) => {
                            // The socket needs to know which rooms are direct (for notifications); nothing shown changes.
                            live.state.update_untracked(|s| s.kinds.extend(home.rooms.iter().map(|r| (r.id, r.kind))));
                            view! {
                            <ul class="rooms" data-testid="rooms">
                                {home.rooms.into_iter().map(|r| view! { <RoomLine room=r live offset=home.utc_offset_minutes/> }).collect_view()}
                            </ul>
                        }.into_any()
                        }
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <NotificationButton/>
            <div class="chat-forms">
                <ActionForm action=direct attr:class="stack" attr:data-testid="start-direct">
                    <h2>"Message someone"</h2>
                    <Field value=started name="username" label="Their username"/>
                    <FormError value=started/>
                    <Submit pending=direct.pending() label="Open conversation" busy="Opening…"/>
                </ActionForm>
                <ActionForm action=create attr:class="stack" attr:data-testid="create-room">
                    <h2>"New room"</h2>
                    <Field value=created name="name" label="Name"/>
                    <Field value=created name="topic" label="Topic (optional)"/>
                    <div class="field">
                        <label for="f-visibility">"Who can join"</label>
                        <select id="f-visibility" name="visibility">
                            <option value="private" selected>"Private: only people with the invite link"</option>
                            <option value="public">"Public: listed in the room directory"</option>
                        </select>
                    </div>
                    <FormError value=created/>
                    <Submit pending=create.pending() label="Create room" busy="Creating…"/>
                </ActionForm>
                <ActionForm action=join attr:class="stack" attr:data-testid="join-room">
                    <h2>"Join a room"</h2>
                    <Field value=joined name="room" label="Invite link or public room number"/>
                    <FormError value=joined/>
                    <Submit pending=join.pending() label="Join" busy="Joining…"/>
                    <p><A href="/rooms">"Browse public rooms"</A></p>
                </ActionForm>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn RoomLine(room: RoomSummary, live: ChatLive, offset: i32) -> impl IntoView {
    let peer = room.peer_id;
    let server_online = room.peer_online;
    let online = move || peer.is_some_and(|p| live.state.with(|s| s.is_online(p, server_online)));
    let last = room.last_message.map(|m| {
        let text = if m.is_deleted() { "This message was deleted.".to_string() } else { m.body.chars().take(80).collect() };
        (format!("{}: {}", m.sender_name, text), time_of_day(m.created_at, offset))
    });
    let unread = room.unread;
    view! {
        <li data-room=room.id data-kind=room.kind.as_str()>
            <A href=format!("/chat/{}", room.id) attr:class="room-title">{room.title}</A>
            {peer.map(|_| view! { <Presence online/> })}
            {match last {
                Some((text, at)) => view! { <span class="muted">{text}</span><time class="muted">{at}</time> }.into_any(),
                None => view! { <span class="muted">"No messages yet"</span> }.into_any(),
            }}
            {(unread > 0).then(|| view! { <span class="unread" data-testid="unread">{unread}</span> })}
        </li>
    }
}

/// Takes a closure, not a `Signal`: a derived signal lives in its component's arena and is
/// disposed when a refetch replaces the list, while the old view may still render once more.
#[component]
fn Presence(online: impl Fn() -> bool + Copy + Send + Sync + 'static) -> impl IntoView {
    view! {
        <span class="presence" data-testid="presence" data-online=move || online().to_string()>
            {move || if online() { "online" } else { "offline" }}
        </span>
    }
}

#[component]
fn ConnectionStatus(live: ChatLive) -> impl IntoView {
    let label = move || match live.state.with(|s| s.status) {
        Status::Live => "live",
        Status::Connecting => "connecting…",
        Status::Offline => "offline, reconnecting…",
    };
    view! { <span class="connection muted" data-testid="connection">{label}</span> }
}

/// Shown once the page is live: asks for notification permission on a click, never on load.
#[component]
fn NotificationButton() -> impl IntoView {
    let hydrated = use_hydrated();
    let ask = move |_| {
        #[cfg(feature = "hydrate")]
        crate::components::chat::ask_notification_permission();
    };
    view! {
        <Show when=move || hydrated.get()>
            <button type="button" class="secondary" on:click=ask>"Notify me of direct messages"</button>
        </Show>
    }
}

#[component]
pub fn RoomPage() -> impl IntoView {
    let join = ServerAction::<JoinRoom>::new();
    let leave = ServerAction::<LeaveRoom>::new();
    let rename = ServerAction::<RenameRoom>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let post = ServerAction::<PostMessage>::new();
    let (regenerate, add, access) = (ServerAction::<RegenerateInvite>::new(), ServerAction::<AddMember>::new(), ServerAction::<RoomAccess>::new());
    let actions = RoomActions { join, leave, rename, remove, post, regenerate, add, access };
    view! {
        <Title text="Chat"/>
        <SignedIn page=move |user| view! { <Room me=user.id actions/> }/>
    }
}

#[derive(Clone, Copy)]
struct RoomActions {
    join: ServerAction<JoinRoom>,
    leave: ServerAction<LeaveRoom>,
    rename: ServerAction<RenameRoom>,
    remove: ServerAction<RemoveMember>,
    post: ServerAction<PostMessage>,
    regenerate: ServerAction<RegenerateInvite>,
    add: ServerAction<AddMember>,
    access: ServerAction<RoomAccess>,
}

#[component]
fn Room(me: i64, actions: RoomActions) -> impl IntoView {
    let live = use_chat_live();
    Effect::new(move |_| live.start());
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0)));
    let before = Memo::new(move |_| query.with(|q| q.get("before").and_then(|v| v.parse::<i64>().ok())));
    let structure = Memo::new(move |_| live.state.with(|s| s.structure));
    let view_data = Resource::new(
        move || {
            let versions = [
                actions.rename.version().get(),
                actions.remove.version().get(),
                actions.regenerate.version().get(),
                actions.add.version().get(),
                actions.access.version().get(),
            ];
            (id.get(), before.get(), structure.get(), versions)
        },
        |(id, before, ..)| chat_room(id, before),
    );
    view! {
        <section class="page chat-room">
            <p><A href="/chat">"← Chat"</A></p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match view_data.await {
                        Ok(view) => {
                            if before.get_untracked().is_none() {
                                live.seed(&view);
                            }
                            view! { <RoomBody view me live actions older=before.get_untracked().is_some()/> }.into_any()
                        }
                        Err(e) => view! { <p class="form-error" data-testid="room-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn RoomBody(view: RoomView, me: i64, live: ChatLive, actions: RoomActions, older: bool) -> impl IntoView {
    let room = view.id;
    let offset = view.utc_offset_minutes;
    let heading = view! {
        <div class="heading">
            <h1 data-testid="room-title">{view.title.clone()}</h1>
            <ConnectionStatus live/>
        </div>
        {(!view.topic.is_empty()).then(|| view! { <p class="muted topic">{view.topic.clone()}</p> })}
    };
    if !view.is_member {
        let joined = failure(actions.join.value());
        return view! {
            {heading}
            <p>"You are not a member of this room yet."</p>
            <ActionForm action=actions.join>
                <input type="hidden" name="room" value=room.to_string()/>
                <FormError value=joined/>
                <button type="submit">"Join this room"</button>
            </ActionForm>
        }
        .into_any();
    }
    let first_seq = view.messages.first().map(|m| m.seq);
    let older_link = view.has_older.then(|| {
        view! { <A href=format!("/chat/{room}?before={}", first_seq.unwrap_or(0)) attr:class="older">"Older messages"</A> }
    });
    let peer = (view.kind == RoomKind::Direct).then(|| view.members.iter().find(|m| m.user_id != me).map(|m| m.user_id)).flatten();
    let messages = if older {
        view! {
            <p><A href=format!("/chat/{room}")>"Back to the newest"</A></p>
            <ol class="messages" data-testid="messages">
                {view.messages.into_iter().map(|m| view! { <MessageItem message=m me live offset/> }).collect_view()}
            </ol>
        }
        .into_any()
    } else {
        view! { <LiveMessages room me live peer offset/> <Compose room live post=actions.post/> }.into_any()
    };
    view! {
        {heading}
        <div class="chat-layout">
            <div class="chat-main">
                {older_link}
                {messages}
            </div>
            <Members
                view_members=view.members
                kind=view.kind
                created_by=view.created_by
                me
                room
                live
                actions
                name=view.title
                topic=view.topic
                invite=view.invite
                visibility=view.visibility
                members_invite=view.members_invite
            />
        </div>
    }
    .into_any()
}

/// The newest messages, kept current by the socket.
#[component]
fn LiveMessages(room: i64, me: i64, live: ChatLive, peer: Option<i64>, offset: i32) -> impl IntoView {
    let messages = move || live.state.with(|s| s.rooms.get(&room).map(|r| r.messages.values().cloned().collect::<Vec<_>>()).unwrap_or_default());
    let pending = move || live.state.with(|s| s.rooms.get(&room).map(|r| r.pending.clone()).unwrap_or_default());
    let newest = Memo::new(move |_| live.state.with(|s| s.rooms.get(&room).and_then(|r| r.messages.keys().next_back().copied())));
    // Reading the page marks the room read (the server is told once per new message).
    Effect::new(move |_| {
        let Some(seq) = newest.get() else { return };
        let sent = live.state.with_untracked(|s| s.rooms.get(&room).map_or(0, |r| r.read_sent));
        let live_now = live.state.with_untracked(|s| s.status == Status::Live);
        if seq > sent && live_now && live.send(ClientMsg::Read { room, seq }) {
            live.state.update(|s| {
                if let Some(r) = s.rooms.get_mut(&room) {
                    r.read_sent = seq;
                }
            });
        }
    });
    let seen = move || {
        let peer = peer?;
        live.state.with(|s| {
            let r = s.rooms.get(&room)?;
            let (seq, last) = r.messages.iter().next_back()?;
            (last.sender_id == me && r.reads.get(&peer).is_some_and(|read| read >= seq)).then_some(())
        })
    };
    let typing = move || {
        live.state.with(|s| {
            let names: Vec<String> = s.rooms.get(&room)?.typing.iter().map(|(_, n, _)| n.clone()).collect();
            (!names.is_empty()).then(|| format!("{} {} typing…", names.join(", "), if names.len() == 1 { "is" } else { "are" }))
        })
    };
    view! {
        <ol class="messages" data-testid="messages">
            <For each=messages key=|m| (m.seq, m.change) let:message>
                <MessageItem message me live offset/>
            </For>
            <For each=pending key=|p| (p.client_id.clone(), p.error.clone()) let:p>
                <li class="message pending" data-testid="pending">
                    <p class="body">{p.body}</p>
                    <span class="muted">{p.error.unwrap_or_else(|| "sending…".into())}</span>
                </li>
            </For>
        </ol>
        <p class="seen muted" data-testid="seen">{move || seen().map(|_| "Seen")}</p>
        <p class="typing muted" data-testid="typing">{typing}</p>
        {move || live.state.with(|s| s.notice.clone()).map(|notice| view! { <p class="form-error" role="alert">{notice}</p> })}
    }
}

#[component]
fn MessageItem(message: ChatMessage, me: i64, live: ChatLive, offset: i32) -> impl IntoView {
    let mine = message.sender_id == me;
    let editing = RwSignal::new(false);
    let id = message.id;
    let body = if message.is_deleted() {
        view! { <p class="body deleted">"This message was deleted."</p> }.into_any()
    } else {
        view! { <p class="body">{render_body(&message.body)}</p> }.into_any()
    };
    let edited = (message.edited_at.is_some() && !message.is_deleted()).then(|| view! { <span class="muted">" (edited)"</span> });
    let text = message.body.clone();
    // Editing and deleting go over the socket: without JavaScript there is nothing to click.
    let hydrated = use_hydrated();
    let tools = (mine && !message.is_deleted()).then(|| {
        view! {
            <span class="tools" class:hidden=move || !hydrated.get()>
                <button type="button" class="link" on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
                <button type="button" class="link danger" on:click=move |_| { live.send(ClientMsg::Delete { message_id: id }); }>"Delete"</button>
            </span>
            <Show when=move || editing.get()>
                <EditBox id text=text.clone() live editing/>
            </Show>
        }
    });
    view! {
        <li class="message" data-testid="message" data-seq=message.seq data-mine=mine.to_string()>
            <span class="sender">{message.sender_name}</span>
            " "
            <time class="muted">{time_of_day(message.created_at, offset)}</time>
            {edited}
            {body}
            {tools}
        </li>
    }
}

#[component]
fn EditBox(id: i64, text: String, live: ChatLive, editing: RwSignal<bool>) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let problem = RwSignal::new(None::<String>);
    // The box stays open, with what was typed, until the edit could be sent.
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(el) = input.get() else { return };
        let body = match MessageBody::parse(&el.value()) {
            Ok(body) => body,
            Err(e) => return problem.set(Some(e.message)),
        };
        if live.send(ClientMsg::Edit { message_id: id, body: body.as_str().to_string() }) {
            editing.set(false);
        } else {
            problem.set(Some("Not connected: try again in a moment.".into()));
        }
    };
    view! {
        <form class="edit" on:submit=save>
            <input node_ref=input value=text aria-label="Edit message" maxlength="4000"/>
            <button type="submit" class="secondary">"Save"</button>
        </form>
        <p class="field-error" role="alert">{move || problem.get()}</p>
    }
}

/// Text with its links made clickable; nothing else in a body is interpreted.
fn render_body(body: &str) -> impl IntoView + use<> {
    linkify(body)
        .into_iter()
        .map(|f| match f {
            Fragment::Text(t) => t.to_string().into_any(),
            Fragment::Link(url) => {
                view! { <a href=url.to_string() rel="noopener noreferrer nofollow" target="_blank">{url.to_string()}</a> }.into_any()
            }
        })
        .collect_view()
}

/// The message box: a plain form without JavaScript, the socket with it.
#[component]
fn Compose(room: i64, live: ChatLive, post: ServerAction<PostMessage>) -> impl IntoView {
    let failed = failure(post.value());
    let post_url = <PostMessage as leptos::server_fn::ServerFn>::url();
    let area = NodeRef::<leptos::html::Textarea>::new();
    let problem = RwSignal::new(None::<String>);
    let last_typing = StoredValue::new(0.0_f64);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(el) = area.get() else { return };
        match MessageBody::parse(&el.value()) {
            Ok(body) => {
                live.post(room, body.as_str().to_string());
                el.set_value("");
                problem.set(None);
                // Posting ends the typing indicator for the others: the next keystroke says so again.
                last_typing.set_value(0.0);
            }
            Err(e) => problem.set(Some(e.message)),
        }
    };
    let typing = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let now = js_sys::Date::now();
            if now - last_typing.get_value() > 3000.0 {
                last_typing.set_value(now);
                live.send(ClientMsg::Typing { room });
            }
        }
        let _ = last_typing;
    };
    view! {
        <form class="compose" method="post" action=post_url on:submit=submit data-testid="compose">
            <input type="hidden" name="room" value=room.to_string()/>
            <label for="f-body" class="sr-only">"Message"</label>
            <textarea id="f-body" name="body" node_ref=area rows="2" maxlength="4000" placeholder="Write a message" on:input=typing>
                {textarea_text(kept_input("body"))}
            </textarea>
            <button type="submit">"Send"</button>
            <p class="field-error" role="alert">{move || problem.get()}</p>
            <FieldErrorLine value=failed name="body"/>
        </form>
    }
}

#[component]
fn Members(
    view_members: Vec<Member>,
    kind: RoomKind,
    created_by: i64,
    me: i64,
    room: i64,
    live: ChatLive,
    actions: RoomActions,
    /// The room's name and topic now, as the rename form starts.
    name: String,
    topic: String,
    invite: Option<Invite>,
    visibility: Visibility,
    members_invite: bool,
) -> impl IntoView {
    let is_creator = created_by == me && kind == RoomKind::Group;
    let renamed = failure(actions.rename.value());
    let items = view_members
        .into_iter()
        .map(|m| {
            let user = m.user_id;
            let server_online = m.online;
            let online = move || live.state.with(|s| s.is_online(user, server_online));
            let remove = (is_creator && user != me).then(|| {
                view! {
                    <ActionForm action=actions.remove attr:class="inline">
                        <input type="hidden" name="room" value=room.to_string()/>
                        <input type="hidden" name="user_id" value=user.to_string()/>
                        <button type="submit" class="link danger">"Remove"</button>
                    </ActionForm>
                }
            });
            view! { <li data-user=user>{m.name}" "<span class="muted">"@"{m.username}</span>" "<Presence online/>{remove}</li> }
        })
        .collect_view();
    view! {
        <aside class="members">
            <h2>"Members"</h2>
            <ul data-testid="members">{items}</ul>
            {invite.map(|invite| view! { <InvitePanel room invite actions/> })}
            {(kind == RoomKind::Group).then(|| view! {
                <p class="muted" data-testid="visibility">
                    {match visibility {
                        Visibility::Private => "Private room: people join with the invite link.",
                        Visibility::Public => "Public room: listed in the room directory.",
                    }}
                </p>
                <ActionForm action=actions.leave attr:class="inline">
                    <input type="hidden" name="room" value=room.to_string()/>
                    <button type="submit" class="secondary">"Leave room"</button>
                </ActionForm>
            })}
            {is_creator.then(|| view! {
                <ActionForm action=actions.rename attr:class="stack">
                    <input type="hidden" name="room" value=room.to_string()/>
                    <Field value=renamed name="name" label="Rename" initial=name.clone()/>
                    <Field value=renamed name="topic" label="Topic" initial=topic.clone()/>
                    <FormError value=renamed/>
                    <Submit pending=actions.rename.pending() label="Save" busy="Saving…"/>
                </ActionForm>
                <AccessForm room visibility members_invite action=actions.access/>
            })}
        </aside>
    }
}

/// The invite link with its limits, a form to replace it, and one to add someone by username.
#[component]
fn InvitePanel(room: i64, invite: Invite, actions: RoomActions) -> impl IntoView {
    let (regenerated, added) = (failure(actions.regenerate.value()), failure(actions.add.value()));
    let limits = match (invite.expires_at, invite.max_uses) {
        (None, None) => "Works until it is replaced.".to_string(),
        (expires, uses) => {
            let mut parts = Vec::new();
            if let Some(max) = uses {
                parts.push(format!("used {} of {max} times", invite.uses));
            }
            if let Some(at) = expires {
                parts.push(format!("expires {}", crate::models::time::format_utc(at)));
            }
            format!("Limited: {}.", parts.join(", "))
        }
    };
    view! {
        <section class="invite" data-testid="invite">
            <h2>"Invite people"</h2>
            <label for="invite-link">"Invite link"</label>
            <input id="invite-link" readonly value=invite.path data-testid="invite-link"/>
            <p class="muted">{limits}</p>
            <ActionForm action=actions.regenerate attr:class="stack" attr:data-testid="regenerate-invite">
                <input type="hidden" name="room" value=room.to_string()/>
                <div class="field">
                    <label for="f-expires_in_hours">"New link expires after"</label>
                    <select id="f-expires_in_hours" name="expires_in_hours">
                        <option value="" selected>"Never"</option>
                        <option value="1">"1 hour"</option>
                        <option value="24">"1 day"</option>
                        <option value="168">"7 days"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="f-max_uses">"Joins allowed"</label>
                    <select id="f-max_uses" name="max_uses">
                        <option value="" selected>"No limit"</option>
                        <option value="1">"1"</option>
                        <option value="5">"5"</option>
                        <option value="25">"25"</option>
                        <option value="100">"100"</option>
                    </select>
                </div>
                <FieldErrorLine value=regenerated name="expires_in_hours"/>
                <FieldErrorLine value=regenerated name="max_uses"/>
                <FormError value=regenerated/>
                <Submit pending=actions.regenerate.pending() label="New link (the old one stops working)" busy="Replacing…"/>
            </ActionForm>
            <ActionForm action=actions.add attr:class="stack" attr:data-testid="add-member">
                <input type="hidden" name="room" value=room.to_string()/>
                <Field value=added name="username" label="Add someone by username"/>
                <FormError value=added/>
                <Submit pending=actions.add.pending() label="Add" busy="Adding…"/>
            </ActionForm>
        </section>
    }
}

/// The creator's choice of who can find and join the room, and who may invite.
#[component]
fn AccessForm(room: i64, visibility: Visibility, members_invite: bool, action: ServerAction<RoomAccess>) -> impl IntoView {
    let failed = failure(action.value());
    view! {
        <ActionForm action attr:class="stack" attr:data-testid="room-access">
            <input type="hidden" name="room" value=room.to_string()/>
            <div class="field">
                <label for="f-room-visibility">"Who can join"</label>
                <select id="f-room-visibility" name="visibility">
                    <option value="private" selected=visibility == Visibility::Private>"Private: only with the invite link"</option>
                    <option value="public" selected=visibility == Visibility::Public>"Public: listed in the room directory"</option>
                </select>
            </div>
            <label class="check">
                <input type="checkbox" name="members_invite" value="on" checked=members_invite/>
                " Every member may invite"
            </label>
            <FormError value=failed/>
            <Submit pending=action.pending() label="Save access" busy="Saving…"/>
        </ActionForm>
    }
}

/// `/join/:token`: what an invite link leads to, and a button to join.
#[component]
pub fn InvitePage() -> impl IntoView {
    let join = ServerAction::<JoinRoom>::new();
    view! {
        <Title text="Join a room"/>
        <SignedIn page=move |_| view! { <InviteBody join/> }/>
    }
}

#[component]
fn InviteBody(join: ServerAction<JoinRoom>) -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token").unwrap_or_default());
    let preview = Resource::new(token, invite_preview);
    let joined = failure(join.value());
    view! {
        <section class="page invite-page">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Ok(p) if p.is_member => view! {
                            <h1 data-testid="room-title">{p.name}</h1>
                            <p>"You are already in this room. "<A href=format!("/chat/{}", p.room)>"Open it"</A></p>
                        }.into_any(),
                        Ok(p) => view! {
                            <h1 data-testid="room-title">{p.name}</h1>
                            {(!p.topic.is_empty()).then(|| view! { <p class="muted topic">{p.topic}</p> })}
                            <p class="muted">{format!("{} {}", p.members, if p.members == 1 { "member" } else { "members" })}</p>
                            <ActionForm action=join>
                                <input type="hidden" name="room" value=token()/>
                                <FieldErrorLine value=joined name="room"/>
                                <FormError value=joined/>
                                <button type="submit">"Join this room"</button>
                            </ActionForm>
                        }.into_any(),
                        Err(e) => view! {
                            <h1>"Invite link"</h1>
                            <p class="form-error" data-testid="invite-error">{e.to_string()}</p>
                            <p><A href="/chat">"Back to chat"</A></p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// `/rooms`: the public rooms, searchable by name, each with a Join button.
#[component]
pub fn RoomDirectoryPage() -> impl IntoView {
    let join = ServerAction::<JoinRoom>::new();
    view! {
        <Title text="Public rooms"/>
        <SignedIn page=move |_| view! { <RoomDirectory join/> }/>
    }
}

#[component]
fn RoomDirectory(join: ServerAction<JoinRoom>) -> impl IntoView {
    let query = use_query_map();
    let q = Memo::new(move |_| query.with(|q| q.get("q").unwrap_or_default()));
    let rooms = Resource::new(move || q.get(), |q| public_rooms(Some(q)));
    let joined = failure(join.value());
    view! {
        <section class="page directory">
            <p><A href="/chat">"← Chat"</A></p>
            <h1>"Public rooms"</h1>
            <form method="get" action="/rooms" class="inline" role="search">
                <label for="q">"Search by name"</label>
                <input id="q" name="q" type="search" value=move || q.get()/>
                <button type="submit">"Search"</button>
            </form>
            <FieldErrorLine value=joined name="room"/>
            <FormError value=joined/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rooms.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-public-rooms">"No public rooms found."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="rooms" data-testid="public-rooms">
                                {list.into_iter().map(|r| view! {
                                    <li data-room=r.id>
                                        <span class="room-title">{r.name}</span>
                                        " "<span class="muted">{r.topic}</span>
                                        " "<span class="muted">{format!("{} members", r.members)}</span>
                                        {if r.joined > 0 {
                                            view! { <A href=format!("/chat/{}", r.id)>"Open"</A> }.into_any()
                                        } else {
                                            view! {
                                                <ActionForm action=join attr:class="inline">
                                                    <input type="hidden" name="room" value=r.id.to_string()/>
                                                    <button type="submit">"Join"</button>
                                                </ActionForm>
                                            }.into_any()
                                        }}
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
