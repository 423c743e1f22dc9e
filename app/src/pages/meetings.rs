//! Meetings: `/meetings` (start one, join by code, the user's history) and
//! `/meetings/:code` (the call, and who came for how long). Everything but the call itself works
//! without JavaScript.

use super::SignedIn;
use super::chat::{CopyButton, JoinedRoomChat, RoomChat};
use crate::api::meetings::{FindMeeting, MeetingView, StartMeeting, meeting_history, meeting_page};
use crate::app::use_hydrated;
use crate::components::call::{CallUi, Phase, Tile, grid_columns, raised_hands};
use crate::components::chat::use_chat_live;
use crate::components::form::{Field, FormError, Submit, failure};
use crate::models::meeting::{CallState, MeetingRecord, format_duration};
use crate::models::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn MeetingsPage() -> impl IntoView {
    view! {
        <Title text="Meetings"/>
        <SignedIn page=|_| view! { <Meetings/> }/>
    }
}

#[component]
fn Meetings() -> impl IntoView {
    let start = ServerAction::<StartMeeting>::new();
    let find = ServerAction::<FindMeeting>::new();
    let (started, found) = (failure(start.value()), failure(find.value()));
    let history = Resource::new(|| (), |_| meeting_history());
    view! {
        <section class="page meetings">
            <h1>"Meetings"</h1>
            <div class="meeting-start">
                <ActionForm action=start attr:data-testid="start-meeting">
                    <FormError value=started/>
                    <Submit pending=start.pending() label="Start a meeting" busy="Starting…"/>
                </ActionForm>
                <ActionForm action=find attr:class="stack" attr:data-testid="join-meeting">
                    <Field value=found name="code" label="Join with a code or link" id_prefix="join-"/>
                    <FormError value=found/>
                    <Submit pending=find.pending() label="Join" busy="Opening…"/>
                </ActionForm>
            </div>
            <h2>"Your meetings"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match history.await {
                        Ok((list, _)) if list.is_empty() => view! { <p class="muted">"Meetings you join are listed here, with who came and for how long."</p> }.into_any(),
                        Ok((list, now)) => view! {
                            <ul class="meeting-history" data-testid="meeting-history">
                                {list.into_iter().map(|r| view! { <li><MeetingSummary record=r now/></li> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// When, how long, and everyone's time in one meeting.
#[component]
fn MeetingSummary(record: MeetingRecord, now: i64) -> impl IntoView {
    let m = &record.meeting;
    let title = m.room_name.clone().map_or_else(|| format!("Meeting {}", m.code), |room| format!("Call in {room}"));
    let when = m.started_at.map_or_else(|| "Not started".to_string(), format_utc);
    let status = if m.ended_at.is_some() { format!("lasted {}", format_duration(record.duration(now))) } else { "on now".to_string() };
    let attendees = record.attendees(now);
    view! {
        <article class="meeting-record">
            <h3><A href=format!("/meetings/{}", m.code)>{title}</A></h3>
            <p class="muted">{when} " · " {status}</p>
            <ul class="attendees">
                {attendees.into_iter().map(|(_, name, ms)| view! { <li>{name} " · " {format_duration(ms)}</li> }).collect_view()}
            </ul>
        </article>
    }
}

#[component]
pub fn MeetingPage() -> impl IntoView {
    view! {
        <Title text="Meeting"/>
        <SignedIn page=|user| view! { <Meeting me=user.id/> }/>
    }
}

#[component]
fn Meeting(me: i64) -> impl IntoView {
    let params = use_params_map();
    let code = move || params.with(|p| p.get("code").unwrap_or_default());
    let page = Resource::new(code, meeting_page);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(view) => view! { <MeetingBody view me/> }.into_any(),
                    Err(e) => view! {
                        <section class="page">
                            <h1>"Meeting not found"</h1>
                            <p class="form-error">{e.to_string()}</p>
                            <A href="/meetings">"Back to meetings"</A>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn MeetingBody(view: MeetingView, me: i64) -> impl IntoView {
    let hydrated = use_hydrated();
    let ui = CallUi::new();
    // The chat shows at once when the viewer is in its room, else once they join the call
    // (joining a meeting by code makes them a member).
    let back = format!("/meetings/{}", view.record.meeting.code);
    let chat = match view.chat.clone() {
        Some(chat) => view! { <RoomChat view=chat me back/> }.into_any(),
        None => (move || ui.room.get().map(|room| view! { <JoinedRoomChat room me back=back.clone()/> })).into_any(),
    };
    let m = view.record.meeting.clone();
    let title = m.room_name.clone().map_or_else(|| format!("Meeting {}", m.code), |room| format!("Call in {room}"));
    let closed = view.closed.clone();
    // Without JavaScript, someone not in the meeting's chat yet may join it (a plain form).
    let join_chat = (view.chat.is_none() && m.room_name.is_none()).then(|| {
        let url = <crate::api::meetings::JoinMeetingChat as leptos::server_fn::ServerFn>::url();
        view! {
            <form method="post" action=url data-testid="join-meeting-chat">
                <input type="hidden" name="code" value=m.code.clone()/>
                <button type="submit">"Join the meeting's chat"</button>
            </form>
        }
    });
    let code = m.code.clone();
    view! {
        <section class="page meeting" data-testid="meeting">
            <h1>{title}</h1>
            <div class="share-link">
                <label for="meeting-link">"Link to share"</label>
                <input id="meeting-link" readonly value=m.url.clone()/>
                <CopyButton text=m.url.clone()/>
            </div>
            {match closed {
                Some(why) => view! { <p class="notice" data-testid="meeting-closed">{why}</p> }.into_any(),
                None => view! {
                    <noscript>
                        <p class="notice" data-testid="needs-js">"A call needs JavaScript: turn it on to see, hear and speak. The meeting's chat works without it."</p>
                        {join_chat}
                    </noscript>
                    <Show when=move || hydrated.get()>
                        <Call code=code.clone() ui me/>
                    </Show>
                }.into_any(),
            }}
            {(!view.in_call.is_empty()).then(|| view! { <p class="muted" data-testid="in-call-now">"In the call now: " {view.in_call.join(", ")}</p> })}
            {chat}
            {if view.record.stints.is_empty() {
                view! { <p class="muted">"Who came is shown to the host and to those who took part."</p> }.into_any()
            } else {
                view! {
                    <h2>"Who came"</h2>
                    <MeetingSummary record=view.record.clone() now=view.now/>
                    <p><a href=format!("/meetings/{}/attendance.csv", view.record.meeting.code) download data-testid="attendance-csv">"Download attendance (CSV)"</a></p>
                }.into_any()
            }}
        </section>
    }
}

/// The call itself (only once the page is live).
#[component]
fn Call(code: String, ui: CallUi, me: i64) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let rtc = {
        let rtc = crate::components::call::rtc::Rtc::new(use_chat_live(), ui, code.clone());
        let opener = rtc.clone();
        // Reloaded while in the call: back in at once (decided now, before the user can join by
        // hand while the camera is still opening).
        let rejoin = opener.was_in_call();
        leptos::task::spawn_local(async move {
            opener.open_media().await;
            ui.streams.update(|n| *n += 1);
            if rejoin && ui.phase.get_untracked() == Phase::Preview {
                opener.join();
            }
        });
        let rtc = StoredValue::new_local(rtc);
        provide_context(CallEngine(rtc));
        on_cleanup(move || {
            rtc.try_with_value(|rtc| {
                if matches!(ui.phase.get_untracked(), Phase::InCall | Phase::Joining) {
                    rtc.leave();
                }
                rtc.stop_media();
            });
        });
        rtc
    };
    #[cfg(not(feature = "hydrate"))]
    let _ = (&code, use_chat_live());
    let act = move |what: Action| {
        #[cfg(feature = "hydrate")]
        rtc.with_value(|rtc| match what {
            Action::Join => rtc.join(),
            Action::Devices { microphone, camera } => {
                let rtc = rtc.clone();
                leptos::task::spawn_local(async move {
                    rtc.open_devices(microphone.as_deref(), camera.as_deref()).await;
                });
            }
            Action::Leave => rtc.leave(),
            Action::Screen => {
                if ui.mine.get_untracked().screen {
                    rtc.stop_screen();
                } else {
                    let rtc = rtc.clone();
                    leptos::task::spawn_local(async move { rtc.share_screen().await });
                }
            }
            Action::Set(state) => rtc.set_state(state),
            Action::Host(msg) => {
                use_chat_live().send(msg);
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = what;
    };
    let (chosen_microphone, chosen_camera) = (RwSignal::new(None::<String>), RwSignal::new(None::<String>));
    let toggle = move |change: fn(&mut CallState)| {
        let mut state = ui.mine.get_untracked();
        change(&mut state);
        act(Action::Set(state));
    };
    let in_call = move || matches!(ui.phase.get(), Phase::InCall);
    let is_host = move || ui.my_seat.get().is_some() && ui.host_id.get() == me;
    view! {
        <div class="call" data-testid="call" data-phase=move || match ui.phase.get() { Phase::Preview => "preview", Phase::Joining => "joining", Phase::InCall => "in-call", Phase::Out(_) => "out" }>
            <p class="form-error" role="alert" data-testid="call-error">{move || ui.error.get()}</p>
            <p class="notice" role="status">{move || ui.media_note.get()}</p>
            {move || match ui.phase.get() {
                Phase::Out(why) => Some(view! { <p class="notice" data-testid="call-out">{why}</p> }),
                _ => None,
            }}
            <div class="call-grid" style:--columns=move || grid_columns(ui.tiles.with(|t| t.len()) + 1).to_string()>
                <figure class="tile mine">
                    <LocalVideo ui/>
                    <figcaption>"You" {move || (!ui.mine.get().mic).then_some(" · muted")}</figcaption>
                </figure>
                <For each=move || ui.tiles.get() key=|t| (t.seat, t.state, t.connection.clone()) let:tile>
                    <RemoteTile tile ui host=is_host()/>
                </For>
            </div>
            {move || {
                let hands = ui.tiles.with(|t| raised_hands(t));
                (!hands.is_empty()).then(|| view! { <p class="hands" data-testid="hands">"Raised hands: " {hands.join(", ")}</p> })
            }}
            <div class="devices">
                <label for="call-microphone">"Microphone"</label>
                <select id="call-microphone" data-testid="pick-microphone" on:change=move |ev| {
                    let microphone = Some(event_target_value(&ev));
                    let camera = chosen_camera.get_untracked();
                    chosen_microphone.set(microphone.clone());
                    act(Action::Devices { microphone, camera });
                }>
                    {move || ui.microphones.get().into_iter().enumerate().map(|(i, (id, label))| {
                        let label = if label.is_empty() { format!("Microphone {}", i + 1) } else { label };
                        view! { <option value=id>{label}</option> }
                    }).collect_view()}
                </select>
                <meter class="mic-level" data-testid="mic-level" min="0" max="1" low="0.05" high="0.9" optimum="0.3"
                    aria-label="Microphone level" value=move || format!("{:.2}", ui.mic_level.get())></meter>
                <label for="call-camera">"Camera"</label>
                <select id="call-camera" data-testid="pick-camera" on:change=move |ev| {
                    let camera = Some(event_target_value(&ev));
                    let microphone = chosen_microphone.get_untracked();
                    chosen_camera.set(camera.clone());
                    act(Action::Devices { microphone, camera });
                }>
                    {move || ui.cameras.get().into_iter().enumerate().map(|(i, (id, label))| {
                        let label = if label.is_empty() { format!("Camera {}", i + 1) } else { label };
                        view! { <option value=id>{label}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="call-controls" role="toolbar" aria-label="Call controls">
                <button type="button" aria-pressed=move || (!ui.mine.get().mic).to_string() data-testid="toggle-mic" on:click=move |_| toggle(|s| s.mic = !s.mic)>
                    {move || if ui.mine.get().mic { "Mute" } else { "Unmute" }}
                </button>
                <button type="button" aria-pressed=move || (!ui.mine.get().camera).to_string() data-testid="toggle-camera" on:click=move |_| toggle(|s| s.camera = !s.camera)>
                    {move || if ui.mine.get().camera { "Camera off" } else { "Camera on" }}
                </button>
                <Show when=in_call fallback=move || view! {
                    <button type="button" class="primary" data-testid="join-call" disabled=move || matches!(ui.phase.get(), Phase::Joining) on:click=move |_| act(Action::Join)>
                        {move || if matches!(ui.phase.get(), Phase::Out(_)) { "Join again" } else { "Join" }}
                    </button>
                }>
                    <button type="button" aria-pressed=move || ui.mine.get().hand.to_string() data-testid="toggle-hand" on:click=move |_| toggle(|s| s.hand = !s.hand)>
                        {move || if ui.mine.get().hand { "Lower hand" } else { "Raise hand" }}
                    </button>
                    <button type="button" aria-pressed=move || ui.mine.get().screen.to_string() data-testid="toggle-screen" on:click=move |_| act(Action::Screen)>
                        {move || if ui.mine.get().screen { "Stop sharing" } else { "Share screen" }}
                    </button>
                    <button type="button" class="danger" data-testid="leave-call" on:click=move |_| act(Action::Leave)>"Leave"</button>
                    <Show when=is_host>
                        <button type="button" data-testid="lock-call" on:click=move |_| act(Action::Host(crate::models::ws::ClientMsg::CallLock { locked: !ui.locked.get_untracked() }))>
                            {move || if ui.locked.get() { "Unlock meeting" } else { "Lock meeting" }}
                        </button>
                        <button type="button" class="danger" data-testid="end-call" on:click=move |_| act(Action::Host(crate::models::ws::ClientMsg::CallEnd))>"End for all"</button>
                    </Show>
                </Show>
            </div>
        </div>
    }
}

/// What a control asks of the call.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Action {
    Join,
    Leave,
    Screen,
    Devices { microphone: Option<String>, camera: Option<String> },
    Set(CallState),
    Host(crate::models::ws::ClientMsg),
}

/// This tab's own camera, mirrored, never played aloud.
#[component]
fn LocalVideo(ui: CallUi) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    #[cfg(feature = "hydrate")]
    {
        let rtc = use_context::<CallEngine>();
        Effect::new(move |_| {
            ui.streams.track();
            if let (Some(el), Some(CallEngine(rtc))) = (video.get(), rtc.as_ref()) {
                el.set_src_object(rtc.with_value(|r| r.own_video()).as_ref());
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ui;
    view! { <video node_ref=video autoplay=true playsinline=true muted=true class="mirrored" data-testid="local-video"></video> }
}

/// The engine, for the tiles that show its streams.
#[cfg(feature = "hydrate")]
#[derive(Clone, Copy)]
struct CallEngine(StoredValue<std::rc::Rc<crate::components::call::rtc::Rtc>, LocalStorage>);

#[component]
fn RemoteTile(tile: Tile, ui: CallUi, host: bool) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    let seat = tile.seat;
    #[cfg(feature = "hydrate")]
    {
        let rtc = use_context::<CallEngine>();
        Effect::new(move |_| {
            ui.streams.track();
            if let (Some(el), Some(CallEngine(rtc))) = (video.get(), rtc.as_ref()) {
                el.set_src_object(rtc.with_value(|r| r.stream_of(seat)).as_ref());
            }
        });
    }
    let live = use_chat_live();
    let marks = [(!tile.state.mic).then_some("muted"), (!tile.state.camera).then_some("camera off"), tile.state.screen.then_some("sharing"), tile.state.hand.then_some("✋")];
    let marks: Vec<&str> = marks.into_iter().flatten().collect();
    let quality = move || ui.quality.with(|q| q.get(&seat).map(|q| q.label()));
    view! {
        <figure class="tile" class:large=tile.state.screen class:speaking=move || ui.speaker.get() == Some(seat)
            data-testid="remote-tile" data-seat=seat.to_string() data-connection=tile.connection.clone()
            data-mic=tile.state.mic.to_string() data-camera=tile.state.camera.to_string() data-screen=tile.state.screen.to_string()>
            <video node_ref=video autoplay=true playsinline=true></video>
            {move || quality().map(|label| view! { <span class="quality" data-testid="quality" data-quality=label>{format!("Connection: {label}")}</span> })}
            <figcaption>
                {tile.name.clone()}
                {(!marks.is_empty()).then(|| format!(" · {}", marks.join(" · ")))}
            </figcaption>
            {host.then(|| view! {
                <div class="host-actions">
                    <button type="button" class="secondary" data-testid="host-mute" on:click=move |_| { live.send(crate::models::ws::ClientMsg::CallMute { seat }); }>"Mute"</button>
                    <button type="button" class="danger" data-testid="host-remove" on:click=move |_| { live.send(crate::models::ws::ClientMsg::CallRemove { seat }); }>"Remove"</button>
                </div>
            })}
        </figure>
    }
}
