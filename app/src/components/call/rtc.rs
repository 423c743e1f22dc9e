//! The WebRTC mesh: local media, one `RTCPeerConnection` per other seat, and perfect
//! negotiation (MDN, W3C webrtc-pc) over the chat socket's `call_signal` frames.
//!
//! Every frame about the call goes through one queue and is handled in order, each to its end
//! (a description applied before the candidates that follow it). The server says which side
//! of each pair is polite. A connection that fails restarts ICE, so a network change heals
//! without a reload. Listeners live as long as their connection, in [`Peer`].

use super::{CallUi, Phase, Tile};
use crate::components::chat::ChatLive;
use crate::models::meeting::{CallState, IceServer, LeftBy, SeatId, Signal, polite};
use crate::models::ws::{ClientMsg, ServerMsg};
use futures::StreamExt;
use futures::channel::mpsc;
use js_sys::{Array, Object, Reflect};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, MediaStreamConstraints, MediaStreamTrack, RtcConfiguration, RtcIceCandidateInit, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcRtpTransceiverDirection, RtcRtpTransceiverInit, RtcSdpType, RtcSessionDescriptionInit,
    RtcSignalingState, RtcTrackEvent,
};

/// `setLocalDescription()` without arguments (web-sys only binds the form that takes one): the
/// browser creates the offer or answer the signaling state calls for, with no race between
/// creating it and applying it.
fn set_local_implicit(pc: &RtcPeerConnection) -> JsFuture {
    let promise = Reflect::get(pc, &"setLocalDescription".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call0(pc).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
        .unwrap_or_else(|| js_sys::Promise::reject(&"setLocalDescription is unavailable".into()));
    JsFuture::from(promise)
}

/// One other seat: its connection, which side we are, and the listeners kept alive with it.
struct Peer {
    pc: RtcPeerConnection,
    polite: bool,
    making_offer: Rc<Cell<bool>>,
    ignore_offer: Cell<bool>,
    /// Our media is on the connection (the answering side adds it once the offer created the
    /// transceivers it can reuse, so the first answer already carries it).
    media_added: Cell<bool>,
    stream: MediaStream,
    _listeners: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.pc.close();
    }
}

/// The call of one page.
pub struct Rtc {
    live: ChatLive,
    ui: CallUi,
    code: String,
    local: RefCell<Option<MediaStream>>,
    /// The screen being shared, if any: it replaces the camera on every connection.
    screen: RefCell<Option<MediaStreamTrack>>,
    /// The listener for the browser's own "stop sharing".
    screen_ended: RefCell<Option<Closure<dyn FnMut(JsValue)>>>,
    peers: RefCell<HashMap<SeatId, Peer>>,
    /// Per seat, the inbound packet counters (received, lost) at the last stats reading.
    counters: RefCell<HashMap<SeatId, (f64, f64)>>,
    /// Which stream the level meter follows (bumped for each new one; the old loop ends).
    meter: Rc<Cell<u32>>,
    ice: RefCell<Vec<IceServer>>,
    meeting: Cell<i64>,
    resume: RefCell<Option<String>>,
    frames: mpsc::UnboundedSender<ServerMsg>,
}

/// Where the resume token of this tab's seat is kept: a reload takes the seat back.
fn resume_key(code: &str) -> String {
    format!("huddle.call.{code}")
}

fn session_storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

impl Rtc {
    /// The call of meeting `code`, fed by the socket's call frames from now on.
    pub fn new(live: ChatLive, ui: CallUi, code: String) -> Rc<Self> {
        let (frames, mut queue) = mpsc::unbounded::<ServerMsg>();
        let resume = session_storage().and_then(|s| s.get_item(&resume_key(&code)).ok().flatten());
        let rtc = Rc::new(Self {
            live,
            ui,
            code,
            local: RefCell::new(None),
            screen: RefCell::new(None),
            screen_ended: RefCell::new(None),
            peers: RefCell::new(HashMap::new()),
            counters: RefCell::new(HashMap::new()),
            meter: Rc::new(Cell::new(0)),
            ice: RefCell::new(Vec::new()),
            meeting: Cell::new(0),
            resume: RefCell::new(resume),
            frames,
        });
        let weak = Rc::downgrade(&rtc);
        leptos::task::spawn_local(async move {
            while let Some(msg) = queue.next().await {
                let Some(rtc) = weak.upgrade() else { return };
                rtc.handle(msg).await;
            }
        });
        let weak = Rc::downgrade(&rtc);
        leptos::task::spawn_local(async move {
            loop {
                sleep_ms(1000).await;
                let Some(rtc) = weak.upgrade() else { return };
                rtc.read_stats().await;
            }
        });
        let hook_to = rtc.frames.clone();
        live.set_call_hook(Some(Rc::new(move |msg| {
            let _ = hook_to.unbounded_send(msg);
        })));
        live.start();
        rtc
    }

    /// Asks for the camera and microphone and shows the preview; without them the user can
    /// still join to listen and watch.
    pub async fn open_media(&self) -> Option<MediaStream> {
        self.open_devices(None, None).await
    }

    /// Opens the microphone and camera named (or the default ones), replacing those in use: in
    /// a call, on every connection without renegotiating.
    pub async fn open_devices(&self, microphone: Option<&str>, camera: Option<&str>) -> Option<MediaStream> {
        let devices = window().navigator().media_devices().ok()?;
        let constraints = MediaStreamConstraints::new();
        let device = |id: Option<&str>| {
            let o = Object::new();
            if let Some(id) = id {
                let exact = Object::new();
                let _ = Reflect::set(&exact, &"exact".into(), &id.into());
                let _ = Reflect::set(&o, &"deviceId".into(), &exact);
            }
            o
        };
        constraints.set_audio(&device(microphone));
        let video = device(camera);
        let _ = Reflect::set(&video, &"width".into(), &640.into());
        let _ = Reflect::set(&video, &"height".into(), &480.into());
        constraints.set_video(&video);
        let asked = devices.get_user_media_with_constraints(&constraints).ok()?;
        match JsFuture::from(asked).await {
            Ok(stream) => {
                let stream: MediaStream = stream.unchecked_into();
                self.ui.media_note.set(None);
                let old = self.local.borrow_mut().replace(stream.clone());
                if let Some(old) = old {
                    self.swap_tracks(&old, &stream).await;
                }
                // Keep what the user had turned off, off.
                self.set_state(self.ui.mine.get_untracked());
                self.watch_level(&stream);
                self.list_devices().await;
                Some(stream)
            }
            Err(e) => {
                let name = Reflect::get(&e, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default();
                let why = match name.as_str() {
                    "NotAllowedError" => "Camera and microphone are blocked for this site.",
                    "NotFoundError" => "No camera or microphone was found.",
                    "NotReadableError" => "The camera or microphone is in use by another program.",
                    _ => "The camera and microphone could not be opened.",
                };
                self.ui.media_note.set(Some(format!("{why} You can still join to listen and watch.")));
                self.ui.mine.update(|m| {
                    m.mic = false;
                    m.camera = false;
                });
                None
            }
        }
    }

    /// The devices there are, with their names (readable once the user allowed one).
    async fn list_devices(&self) {
        let Some(listed) = window().navigator().media_devices().ok().and_then(|d| d.enumerate_devices().ok()) else { return };
        let Ok(list) = JsFuture::from(listed).await else { return };
        let (mut microphones, mut cameras) = (Vec::new(), Vec::new());
        for info in js_sys::Array::from(&list).iter() {
            let info: web_sys::MediaDeviceInfo = info.unchecked_into();
            let entry = (info.device_id(), info.label());
            match info.kind() {
                web_sys::MediaDeviceKind::Audioinput => microphones.push(entry),
                web_sys::MediaDeviceKind::Videoinput => cameras.push(entry),
                _ => {}
            }
        }
        self.ui.microphones.set(microphones);
        self.ui.cameras.set(cameras);
    }

    /// Puts the new stream's tracks where the old one's were sent, and stops the old ones.
    async fn swap_tracks(&self, old: &MediaStream, new: &MediaStream) {
        let screen = self.screen.borrow().is_some();
        let senders: Vec<web_sys::RtcRtpSender> =
            self.peers.borrow().values().flat_map(|p| p.pc.get_senders().iter().map(|s| s.unchecked_into::<web_sys::RtcRtpSender>()).collect::<Vec<_>>()).collect();
        for sender in senders {
            let Some(kind) = sender.track().map(|t| t.kind()) else { continue };
            if kind == "video" && screen {
                continue;
            }
            let track = new.get_tracks().iter().map(|t| t.unchecked_into::<MediaStreamTrack>()).find(|t| t.kind() == kind);
            let _ = JsFuture::from(sender.replace_track(track.as_ref())).await;
        }
        for track in old.get_tracks().iter() {
            track.unchecked_into::<MediaStreamTrack>().stop();
        }
        self.ui.streams.update(|n| *n += 1);
    }

    /// Feeds the level meter from `stream`'s microphone, ten times a second, while the stream
    /// is the one in use.
    fn watch_level(&self, stream: &MediaStream) {
        const WINDOW: usize = 8192;
        let Ok(context) = web_sys::AudioContext::new() else { return };
        let (Ok(source), Ok(analyser)) = (context.create_media_stream_source(stream), context.create_analyser()) else { return };
        // 8,192 samples (170 ms at 48 kHz) is longer than the 100 ms between readings, so no
        // sound falls between two readings: a short sound (a click, a word's first consonant,
        // Chromium's fake microphone beeps for 20 ms every 500 ms) is never missed.
        analyser.set_fft_size(WINDOW as u32);
        if source.connect_with_audio_node(&analyser).is_err() {
            return;
        }
        let ui = self.ui;
        let generation = self.meter.get() + 1;
        self.meter.set(generation);
        let meter = self.meter.clone();
        leptos::task::spawn_local(async move {
            let mut samples = vec![0.0_f32; WINDOW];
            // Until another stream replaces this one, or the page goes.
            while meter.get() == generation && ui.phase.try_get_untracked().is_some() {
                // A context made before the page had a click or key press (the page was loaded
                // rather than reached by a click in the app) starts suspended and reads
                // silence: it starts once the person has interacted with the page.
                if context.state() == web_sys::AudioContextState::Suspended
                    && let Ok(resumed) = context.resume()
                {
                    let _ = JsFuture::from(resumed).await;
                }
                analyser.get_float_time_domain_data(&mut samples);
                let level = if ui.mine.get_untracked().mic { super::level_of(&samples) } else { 0.0 };
                ui.mic_level.set(super::held_level(ui.mic_level.get_untracked(), level));
                sleep_ms(100).await;
            }
            let _ = context.close();
        });
    }

    pub fn local_stream(&self) -> Option<MediaStream> {
        self.local.borrow().clone()
    }

    /// Asks for a seat.
    pub fn join(&self) {
        self.ui.error.set(None);
        self.ui.phase.set(Phase::Joining);
        // Not connected yet: `welcome` sends it.
        self.live.send(self.join_frame());
        // A refusal the call does not hear of (a rate limit, a lost connection) must not leave
        // the button stuck on "joining".
        let ui = self.ui;
        leptos::task::spawn_local(async move {
            sleep_ms(10_000).await;
            if ui.phase.try_get_untracked() == Some(Phase::Joining) {
                ui.phase.set(Phase::Preview);
                ui.error.set(Some("Could not join the call. Check your connection and try again.".into()));
            }
        });
    }

    /// The `call_join` of this tab: with the seat it held, if any, and whether its peer
    /// connections are gone (a reloaded page).
    fn join_frame(&self) -> ClientMsg {
        let resume = self.resume.borrow().clone();
        ClientMsg::CallJoin { code: self.code.clone(), resume, fresh: self.peers.borrow().is_empty() }
    }

    /// Whether this tab held a seat in the call before its page was reloaded.
    pub fn was_in_call(&self) -> bool {
        self.resume.borrow().is_some()
    }

    /// Leaves the call and closes every connection.
    pub fn leave(&self) {
        self.live.send(ClientMsg::CallLeave);
        self.out("You left the call.".into());
    }

    fn out(&self, why: String) {
        if let Some(track) = self.screen.borrow_mut().take() {
            track.stop();
        }
        self.ui.mine.update(|m| m.screen = false);
        self.peers.borrow_mut().clear();
        self.ui.tiles.set(Vec::new());
        self.ui.my_seat.set(None);
        if let Some(s) = session_storage() {
            let _ = s.remove_item(&resume_key(&self.code));
        }
        *self.resume.borrow_mut() = None;
        self.ui.phase.set(Phase::Out(why));
    }

    /// Stops the camera and microphone (leaving the page).
    pub fn stop_media(&self) {
        self.meter.set(self.meter.get() + 1);
        if let Some(stream) = self.local.borrow_mut().take() {
            for track in stream.get_tracks().iter() {
                track.unchecked_into::<MediaStreamTrack>().stop();
            }
        }
        self.live.set_call_hook(None);
    }

    /// Turns the microphone or camera on or off, raises or lowers the hand, and tells the others.
    pub fn set_state(&self, state: CallState) {
        if let Some(stream) = self.local.borrow().as_ref() {
            for track in stream.get_audio_tracks().iter() {
                track.unchecked_into::<MediaStreamTrack>().set_enabled(state.mic);
            }
            for track in stream.get_video_tracks().iter() {
                track.unchecked_into::<MediaStreamTrack>().set_enabled(state.camera);
            }
        }
        self.ui.mine.set(state);
        if matches!(self.ui.phase.get_untracked(), Phase::InCall) {
            self.live.send(ClientMsg::CallState { state });
        }
    }

    /// Shares a screen (the browser asks which), in place of the camera on every connection.
    pub async fn share_screen(self: &Rc<Self>) {
        let Ok(devices) = window().navigator().media_devices() else { return };
        let Ok(asked) = devices.get_display_media() else { return };
        let stream: MediaStream = match JsFuture::from(asked).await {
            Ok(stream) => stream.unchecked_into(),
            Err(_) => {
                self.ui.error.set(Some("The screen could not be shared.".into()));
                return;
            }
        };
        let Some(track) = stream.get_video_tracks().iter().next().map(|t| t.unchecked_into::<MediaStreamTrack>()) else { return };
        let weak = Rc::downgrade(self);
        // Stopped from the browser's own "Stop sharing" bar.
        let on_ended = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if let Some(rtc) = weak.upgrade() {
                rtc.stop_screen();
            }
        });
        track.set_onended(Some(on_ended.as_ref().unchecked_ref()));
        // Kept with the share: replaced (and the old one dropped) by the next.
        *self.screen_ended.borrow_mut() = Some(on_ended);
        *self.screen.borrow_mut() = Some(track.clone());
        self.replace_video(Some(&track)).await;
        self.set_state(CallState { screen: true, ..self.ui.mine.get_untracked() });
        self.ui.streams.update(|n| *n += 1);
    }

    /// Back from the screen to the camera.
    pub fn stop_screen(self: &Rc<Self>) {
        let Some(track) = self.screen.borrow_mut().take() else { return };
        track.stop();
        let camera = self.local.borrow().as_ref().and_then(|s| s.get_video_tracks().iter().next()).map(|t| t.unchecked_into::<MediaStreamTrack>());
        let rtc = self.clone();
        leptos::task::spawn_local(async move {
            rtc.replace_video(camera.as_ref()).await;
            rtc.set_state(CallState { screen: false, ..rtc.ui.mine.get_untracked() });
            rtc.ui.streams.update(|n| *n += 1);
        });
    }

    /// The video this tab shows of itself: the shared screen, else the camera.
    pub fn own_video(&self) -> Option<MediaStream> {
        match self.screen.borrow().as_ref() {
            Some(track) => {
                let stream = MediaStream::new().ok()?;
                stream.add_track(track);
                Some(stream)
            }
            None => self.local_stream(),
        }
    }

    /// Puts `track` on every connection's video sender (no renegotiation: the same slot).
    async fn replace_video(&self, track: Option<&MediaStreamTrack>) {
        let senders: Vec<web_sys::RtcRtpSender> = self
            .peers
            .borrow()
            .values()
            .flat_map(|p| p.pc.get_senders().iter().map(|s| s.unchecked_into::<web_sys::RtcRtpSender>()).collect::<Vec<_>>())
            .filter(|s| s.track().is_some_and(|t| t.kind() == "video"))
            .collect();
        for sender in senders {
            let _ = JsFuture::from(sender.replace_track(track)).await;
        }
    }

    /// Reads every leg's stats: loss and round trip for its quality mark, audio level for the
    /// active speaker.
    async fn read_stats(&self) {
        let pcs = self.connections();
        if pcs.is_empty() {
            return;
        }
        let mut qualities = HashMap::new();
        let mut levels = Vec::new();
        for (seat, pc) in pcs {
            let Ok(report) = JsFuture::from(pc.get_stats()).await else { continue };
            let (mut received, mut lost, mut level, mut rtt) = (0.0, 0.0, 0.0_f64, None);
            let values = Reflect::get(&report, &"values".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok()).and_then(|f| f.call0(&report).ok());
            let Some(values) = values else { continue };
            let Ok(iter) = js_sys::try_iter(&values) else { continue };
            for stat in iter.into_iter().flatten().flatten() {
                let field = |name: &str| Reflect::get(&stat, &name.into()).ok().and_then(|v| v.as_f64());
                let text = |name: &str| Reflect::get(&stat, &name.into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
                match text("type").as_str() {
                    "inbound-rtp" => {
                        received += field("packetsReceived").unwrap_or(0.0);
                        lost += field("packetsLost").unwrap_or(0.0).max(0.0);
                        if text("kind") == "audio" {
                            level = level.max(field("audioLevel").unwrap_or(0.0));
                        }
                    }
                    "candidate-pair" if text("state") == "succeeded" => {
                        if let Some(r) = field("currentRoundTripTime") {
                            rtt = Some(r * 1000.0);
                        }
                    }
                    _ => {}
                }
            }
            let before = self.counters.borrow_mut().insert(seat, (received, lost)).unwrap_or((0.0, 0.0));
            let loss = super::loss_between(before, (received, lost));
            qualities.insert(seat, super::LegQuality { loss, rtt_ms: rtt, audio_level: level });
            levels.push((seat, level));
        }
        self.ui.quality.set(qualities);
        let speaker = super::active_speaker(&levels);
        if self.ui.speaker.get_untracked() != speaker {
            self.ui.speaker.set(speaker);
        }
    }

    /// A remote seat's stream, for its tile.
    pub fn stream_of(&self, seat: SeatId) -> Option<MediaStream> {
        self.peers.borrow().get(&seat).map(|p| p.stream.clone())
    }

    /// Every peer connection (for the page's diagnostics).
    pub fn connections(&self) -> Vec<(SeatId, RtcPeerConnection)> {
        self.peers.borrow().iter().map(|(s, p)| (*s, p.pc.clone())).collect()
    }

    fn send_signal(&self, to: SeatId, signal: Signal) {
        self.live.send(ClientMsg::CallSignal { to, signal });
    }

    async fn handle(self: &Rc<Self>, msg: ServerMsg) {
        match msg {
            ServerMsg::Welcome { .. } => {
                // Reconnected: take the seat back (peer connections kept running meanwhile).
                if matches!(self.ui.phase.get_untracked(), Phase::InCall | Phase::Joining) {
                    self.live.send(self.join_frame());
                }
            }
            ServerMsg::CallJoined { meeting, room, seat, resume, host_id, locked, participants, ice_servers, .. } => {
                let resumed = self.ui.my_seat.get_untracked() == Some(seat);
                self.meeting.set(meeting);
                *self.ice.borrow_mut() = ice_servers;
                if let Some(s) = session_storage() {
                    let _ = s.set_item(&resume_key(&self.code), &resume);
                }
                *self.resume.borrow_mut() = Some(resume);
                self.ui.my_seat.set(Some(seat));
                self.ui.host_id.set(host_id);
                self.ui.locked.set(locked);
                self.ui.room.set(Some(room));
                self.ui.phase.set(Phase::InCall);
                self.live.send(ClientMsg::CallState { state: self.ui.mine.get_untracked() });
                // Seats that left while this tab was away are gone; new ones get a connection.
                let present: Vec<SeatId> = participants.iter().map(|p| p.seat).collect();
                self.peers.borrow_mut().retain(|s, _| present.contains(s));
                self.ui.tiles.set(
                    participants
                        .iter()
                        .map(|p| Tile { seat: p.seat, user_id: p.user_id, name: p.name.clone(), state: p.state, joined_at: p.joined_at, connection: self.connection_of(p.seat) })
                        .collect(),
                );
                for p in participants {
                    if !resumed || !self.peers.borrow().contains_key(&p.seat) {
                        // The newcomer makes the offers; the others answer.
                        self.peer(p.seat, p.polite, true);
                    }
                }
            }
            ServerMsg::CallPeerJoined { participant: p, .. } => {
                self.ui.tiles.update(|t| {
                    t.retain(|x| x.seat != p.seat);
                    t.push(Tile { seat: p.seat, user_id: p.user_id, name: p.name.clone(), state: p.state, joined_at: p.joined_at, connection: "new".into() });
                });
            }
            ServerMsg::CallPeerLeft { seat, .. } => {
                self.peers.borrow_mut().remove(&seat);
                self.counters.borrow_mut().remove(&seat);
                self.ui.tiles.update(|t| t.retain(|x| x.seat != seat));
            }
            ServerMsg::CallPeerState { seat, state, .. } => {
                if Some(seat) == self.ui.my_seat.get_untracked() {
                    return;
                }
                self.ui.tiles.update(|t| {
                    if let Some(x) = t.iter_mut().find(|x| x.seat == seat) {
                        x.state = state;
                    }
                });
            }
            ServerMsg::CallSignal { from, signal, .. } => {
                if let Err(e) = self.signal(from, signal).await {
                    leptos::logging::warn!("call signal from {from} failed: {e:?}");
                }
            }
            ServerMsg::CallLocked { locked, .. } => self.ui.locked.set(locked),
            ServerMsg::CallMuted { .. } => {
                let state = CallState { mic: false, ..self.ui.mine.get_untracked() };
                self.set_state(state);
            }
            ServerMsg::CallEnded { left_by, .. } => {
                let why = match left_by {
                    LeftBy::Removed => "The host removed you from the call.",
                    _ => "The host ended the call.",
                };
                self.out(why.into());
            }
            ServerMsg::Error { message, .. } => {
                if matches!(self.ui.phase.get_untracked(), Phase::Joining) {
                    self.ui.phase.set(Phase::Preview);
                    // A stale resume token (the seat is gone) is no reason to stay out.
                    if self.resume.borrow_mut().take().is_some() {
                        if let Some(s) = session_storage() {
                            let _ = s.remove_item(&resume_key(&self.code));
                        }
                    }
                }
                self.ui.error.set(Some(message));
            }
            _ => {}
        }
    }

    fn connection_of(&self, seat: SeatId) -> String {
        self.peers.borrow().get(&seat).map_or_else(|| "new".into(), |p| connection_state(&p.pc))
    }

    /// The connection to `seat`, created (with our media on it) if there is none.
    fn peer(self: &Rc<Self>, seat: SeatId, polite: bool, offer: bool) -> RtcPeerConnection {
        if let Some(p) = self.peers.borrow().get(&seat) {
            return p.pc.clone();
        }
        let config = RtcConfiguration::new();
        config.set_ice_servers(&ice_servers(&self.ice.borrow()));
        let pc = RtcPeerConnection::new_with_configuration(&config).expect("RTCPeerConnection is available");
        let making_offer = Rc::new(Cell::new(false));
        let stream = MediaStream::new().expect("MediaStream is available");
        let mut listeners: Vec<Closure<dyn FnMut(JsValue)>> = Vec::new();

        let weak = Rc::downgrade(self);
        let on_candidate = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let (Some(rtc), Some(c)) = (weak.upgrade(), e.unchecked_into::<RtcPeerConnectionIceEvent>().candidate()) else { return };
            rtc.send_signal(seat, Signal::Candidate { candidate: c.candidate(), sdp_mid: c.sdp_mid(), sdp_m_line_index: c.sdp_m_line_index() });
        });
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        listeners.push(on_candidate);

        let (weak, making, pc2) = (Rc::downgrade(self), making_offer.clone(), pc.clone());
        let on_negotiation = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            let (weak, making, pc) = (weak.clone(), making.clone(), pc2.clone());
            leptos::task::spawn_local(async move {
                making.set(true);
                let done = set_local_implicit(&pc).await;
                making.set(false);
                if let (Ok(_), Some(rtc), Some(desc)) = (done, weak.upgrade(), pc.local_description()) {
                    rtc.send_signal(seat, Signal::Description { sdp_type: sdp_type_name(desc.type_()).into(), sdp: desc.sdp() });
                }
            });
        });
        pc.set_onnegotiationneeded(Some(on_negotiation.as_ref().unchecked_ref()));
        listeners.push(on_negotiation);

        let (weak, remote) = (Rc::downgrade(self), stream.clone());
        let on_track = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let track = e.unchecked_into::<RtcTrackEvent>().track();
            remote.add_track(&track);
            if let Some(rtc) = weak.upgrade() {
                rtc.ui.streams.update(|n| *n += 1);
            }
        });
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        listeners.push(on_track);

        let (weak, pc2) = (Rc::downgrade(self), pc.clone());
        let on_state = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            let state = connection_state(&pc2);
            if state == "failed" {
                // A network change: new candidates on the same connection, no reload.
                restart_ice(&pc2);
            }
            if let Some(rtc) = weak.upgrade() {
                rtc.ui.tiles.update(|t| {
                    if let Some(x) = t.iter_mut().find(|x| x.seat == seat) {
                        x.connection = state.clone();
                    }
                });
            }
        });
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        listeners.push(on_state);

        if offer {
            self.add_media(&pc, true);
        }
        self.peers.borrow_mut().insert(seat, Peer { pc: pc.clone(), polite, making_offer, ignore_offer: Cell::new(false), media_added: Cell::new(offer), stream, _listeners: listeners });
        pc
    }

    /// Puts our tracks on `pc`; with `receive_all`, a kind we do not send is still received.
    fn add_media(&self, pc: &RtcPeerConnection, receive_all: bool) {
        let local = self.local.borrow().clone();
        let mut sending = (false, false);
        if let Some(local) = &local {
            let screen = self.screen.borrow().clone();
            for track in local.get_tracks().iter() {
                let mut track: MediaStreamTrack = track.unchecked_into();
                match track.kind().as_str() {
                    "audio" => sending.0 = true,
                    _ => {
                        sending.1 = true;
                        if let Some(screen) = &screen {
                            track = screen.clone();
                        }
                    }
                }
                pc.add_track(&track, local, &Array::new());
            }
        }
        if receive_all {
            for (kind, sent) in [("audio", sending.0), ("video", sending.1)] {
                if !sent {
                    let init = RtcRtpTransceiverInit::new();
                    init.set_direction(RtcRtpTransceiverDirection::Recvonly);
                    pc.add_transceiver_with_str_and_init(kind, &init);
                }
            }
        }
    }

    /// Perfect negotiation: the impolite side ignores an offer that collides with its own;
    /// the polite side rolls back (the browser does it within `setRemoteDescription`).
    async fn signal(self: &Rc<Self>, from: SeatId, signal: Signal) -> Result<(), JsValue> {
        let me = self.ui.my_seat.get_untracked().unwrap_or_default();
        let known = self.peers.borrow().get(&from).map(|p| p.polite);
        let pc = self.peer(from, known.unwrap_or_else(|| polite(me, from)), false);
        match signal {
            Signal::Description { sdp_type, sdp } => {
                let Some(kind) = sdp_type_of(&sdp_type) else { return Ok(()) };
                let is_offer = kind == RtcSdpType::Offer;
                let (polite, making) = match self.peers.borrow().get(&from) {
                    Some(p) => (p.polite, p.making_offer.get()),
                    None => return Ok(()),
                };
                let decision = super::incoming(polite, is_offer, making, pc.signaling_state() == RtcSignalingState::Stable);
                let ignore = decision == super::Incoming::Ignore;
                if let Some(p) = self.peers.borrow().get(&from) {
                    p.ignore_offer.set(ignore);
                }
                if ignore {
                    return Ok(());
                }
                let init = RtcSessionDescriptionInit::new(kind);
                init.set_sdp(&sdp);
                JsFuture::from(pc.set_remote_description(&init)).await?;
                let add = self.peers.borrow().get(&from).is_some_and(|p| !p.media_added.replace(true));
                if add {
                    self.add_media(&pc, false);
                }
                if is_offer {
                    set_local_implicit(&pc).await?;
                    if let Some(desc) = pc.local_description() {
                        self.send_signal(from, Signal::Description { sdp_type: sdp_type_name(desc.type_()).into(), sdp: desc.sdp() });
                    }
                }
            }
            Signal::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
                let init = RtcIceCandidateInit::new(&candidate);
                init.set_sdp_mid(sdp_mid.as_deref());
                init.set_sdp_m_line_index(sdp_m_line_index);
                let added = JsFuture::from(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init))).await;
                let ignoring = self.peers.borrow().get(&from).is_some_and(|p| p.ignore_offer.get());
                if let Err(e) = added
                    && !ignoring
                {
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

fn ice_servers(servers: &[IceServer]) -> Array {
    let list = Array::new();
    for s in servers {
        let o = Object::new();
        let urls: Array = s.urls.iter().map(|u| JsValue::from_str(u)).collect();
        let _ = Reflect::set(&o, &"urls".into(), &urls);
        if let Some(u) = &s.username {
            let _ = Reflect::set(&o, &"username".into(), &u.into());
        }
        if let Some(c) = &s.credential {
            let _ = Reflect::set(&o, &"credential".into(), &c.into());
        }
        list.push(&o);
    }
    list
}

fn restart_ice(pc: &RtcPeerConnection) {
    if let Ok(f) = Reflect::get(pc, &"restartIce".into())
        && let Some(f) = f.dyn_ref::<js_sys::Function>()
    {
        let _ = f.call0(pc);
    }
}

fn connection_state(pc: &RtcPeerConnection) -> String {
    Reflect::get(pc, &"connectionState".into()).ok().and_then(|s| s.as_string()).unwrap_or_default()
}

fn sdp_type_of(name: &str) -> Option<RtcSdpType> {
    Some(match name {
        "offer" => RtcSdpType::Offer,
        "answer" => RtcSdpType::Answer,
        "pranswer" => RtcSdpType::Pranswer,
        "rollback" => RtcSdpType::Rollback,
        _ => return None,
    })
}

fn sdp_type_name(t: RtcSdpType) -> &'static str {
    match t {
        RtcSdpType::Offer => "offer",
        RtcSdpType::Pranswer => "pranswer",
        RtcSdpType::Rollback => "rollback",
        _ => "answer",
    }
}
