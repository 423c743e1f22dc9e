//! The live chat in the browser: one socket per tab (opened on the first chat page and kept
//! across navigation), the state it feeds, and the pieces the chat pages are built from.

pub mod state;
#[cfg(feature = "hydrate")]
mod socket;
#[cfg(feature = "hydrate")]
pub use socket::ask_notification_permission;

use crate::models::chat::RoomView;
use crate::models::ws::ClientMsg;
use leptos::prelude::*;
use state::LiveState;

/// The tab's live chat, shared through context. On the server (and before hydration) it stays
/// empty and nothing is sent: the pages show what the server rendered.
#[derive(Clone, Copy)]
pub struct ChatLive {
    pub state: RwSignal<LiveState>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    outgoing: StoredValue<Option<Outgoing>, OutgoingStorage>,
    started: StoredValue<bool>,
    /// What was typed and not sent, per room: kept while the user switches rooms.
    drafts: StoredValue<std::collections::HashMap<i64, String>>,
    /// Where frames about a call go: set by the meeting page while it is open.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    call_hook: StoredValue<Option<CallHook>, OutgoingStorage>,
}

/// Takes the frames of the call this tab is in (and `welcome`, to resume after a reconnect).
#[cfg(feature = "hydrate")]
pub type CallHook = std::rc::Rc<dyn Fn(crate::models::ws::ServerMsg)>;
#[cfg(not(feature = "hydrate"))]
pub type CallHook = ();

/// The outgoing queue of the open socket (only the browser has one).
#[cfg(feature = "hydrate")]
type Outgoing = futures::channel::mpsc::UnboundedSender<ClientMsg>;
#[cfg(not(feature = "hydrate"))]
type Outgoing = ();
// The browser's queue is not `Send`; the server's placeholder is, and a server thread may drop it.
#[cfg(feature = "hydrate")]
type OutgoingStorage = LocalStorage;
#[cfg(not(feature = "hydrate"))]
type OutgoingStorage = SyncStorage;

impl ChatLive {
    fn new() -> Self {
        Self { state: RwSignal::new(LiveState::default()), outgoing: StoredValue::new_with_storage(None), started: StoredValue::new(false), drafts: StoredValue::new(Default::default()), call_hook: StoredValue::new_with_storage(None) }
    }

    /// Sends the call's frames to `hook` from now on (`None`: drop them).
    pub fn set_call_hook(&self, hook: Option<CallHook>) {
        self.call_hook.set_value(hook);
    }

    #[cfg(feature = "hydrate")]
    fn to_call(&self, msg: crate::models::ws::ServerMsg) {
        if let Some(hook) = self.call_hook.get_value() {
            hook(msg);
        }
    }

    /// Opens the socket once per tab (in the browser only). Its code is fetched on this first
    /// call (see `socket::start`): call it once the page is interactive.
    pub fn start(&self) {
        if self.started.get_value() {
            return;
        }
        self.started.set_value(true);
        #[cfg(feature = "hydrate")]
        {
            // In a task of its own: whatever marks the page live in this one goes first.
            let live = *self;
            set_timeout(move || leptos::task::spawn_local(socket::start(live)), std::time::Duration::ZERO);
        }
    }

    /// Sends a frame if the socket is open; false when it is not (pending messages are then
    /// sent on reconnect).
    pub fn send(&self, msg: ClientMsg) -> bool {
        #[cfg(feature = "hydrate")]
        {
            let sent = self.outgoing.with_value(|tx| tx.as_ref().map(|tx| tx.unbounded_send(msg).is_ok()));
            return sent.unwrap_or(false);
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = msg;
            false
        }
    }

    /// The unsent text of `room`'s composer.
    pub fn draft(&self, room: i64) -> String {
        self.drafts.with_value(|d| d.get(&room).cloned().unwrap_or_default())
    }

    pub fn set_draft(&self, room: i64, text: String) {
        self.drafts.update_value(|d| {
            if text.is_empty() {
                d.remove(&room);
            } else {
                d.insert(room, text);
            }
        });
    }

    /// Reads the live state where it is live: in the browser. On the server it gives `None` and
    /// the caller shows what the server sent, which is what an empty state shows anyway.
    ///
    /// Everything outside the open room reads through here. On the server the sidebar and the
    /// room render on different threads while the room seeds the state (see [`Self::seed`]), and
    /// a read that meets that write lock fails: the failure is a panic that reads "already been
    /// disposed" and cuts the page off mid-render.
    pub fn watch<R>(&self, f: impl FnOnce(&LiveState) -> R) -> Option<R> {
        #[cfg(feature = "hydrate")]
        return Some(self.state.with(f));
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = f;
            None
        }
    }

    /// Takes in what a server-rendered room page showed. On the server only the open room
    /// writes and reads the state, all in one render (everything else asks [`Self::watch`]).
    pub fn seed(&self, view: &RoomView) {
        self.state.update(|s| s.seed(view));
    }

    /// Posts a message: shown at once as pending, sent now or after reconnecting.
    pub fn post(&self, room: i64, body: String) {
        let client_id = new_client_id();
        self.state.update(|s| s.add_pending(room, client_id.clone(), body.clone()));
        self.send(ClientMsg::Send { room, client_id, body });
    }
}

/// The tab's [`ChatLive`] (see [`provide_chat_live`]).
pub fn use_chat_live() -> ChatLive {
    expect_context::<ChatLive>()
}

/// Provides the tab's [`ChatLive`] to everything below (the layout calls this once).
pub fn provide_chat_live() {
    provide_context(ChatLive::new());
}

/// A random UUID for a message this tab sends.
fn new_client_id() -> String {
    #[cfg(feature = "hydrate")]
    if let Some(id) = web_sys::window().and_then(|w| w.crypto().ok()).map(|c| c.random_uuid()) {
        return id;
    }
    String::new()
}
