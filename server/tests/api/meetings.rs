//! Meetings: starting and finding them over HTTP, and calls over real WebSocket clients: seats,
//! the relay of signals to their addressee only, the limit, the grace of a dropped socket, host
//! controls, attendance, and every refused frame.

use crate::chat::{create_room, join};
use crate::helpers::{Browser, Socket, TestApp, spawn_app};
use app::models::meeting::{CallState, LeftBy, Participant, SeatId, Signal};
use app::models::ws::{ClientMsg, ErrorCode, ServerMsg};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// Starts a meeting by code; returns the code.
pub(crate) async fn start(b: &mut Browser) -> String {
    let res = b.call("start_meeting", &[]).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn page(b: &mut Browser, code: &str) -> Value {
    let res = b.call("meeting_page", &[("code", code)]).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

pub(crate) struct Joined {
    pub meeting: i64,
    pub room: i64,
    pub seat: SeatId,
    pub resume: String,
    pub participants: Vec<Participant>,
}

pub(crate) async fn join_call(tab: &mut Socket, code: &str) -> Joined {
    tab.send(&ClientMsg::CallJoin { code: code.into(), resume: None, fresh: false }).await;
    tab.recv_where(|m| match m {
        ServerMsg::CallJoined { meeting, room, seat, resume, participants, .. } => Some(Joined { meeting, room, seat, resume, participants }),
        ServerMsg::Error { code, message, .. } => panic!("join refused: {code:?} {message}"),
        _ => None,
    })
    .await
}

async fn refused_join(tab: &mut Socket, code: &str) -> (ErrorCode, String) {
    tab.send(&ClientMsg::CallJoin { code: code.into(), resume: None, fresh: false }).await;
    let (code, message, _) = tab.error().await;
    (code, message)
}

pub(crate) async fn peer_joined(tab: &mut Socket) -> Participant {
    tab.recv_where(|m| match m {
        ServerMsg::CallPeerJoined { participant, .. } => Some(participant),
        _ => None,
    })
    .await
}

pub(crate) async fn peer_left(tab: &mut Socket) -> (SeatId, LeftBy) {
    tab.recv_where(|m| match m {
        ServerMsg::CallPeerLeft { seat, left_by, .. } => Some((seat, left_by)),
        _ => None,
    })
    .await
}

pub(crate) async fn signal_from(tab: &mut Socket) -> (SeatId, Signal) {
    tab.recv_where(|m| match m {
        ServerMsg::CallSignal { from, signal, .. } => Some((from, signal)),
        _ => None,
    })
    .await
}

pub(crate) fn offer(sdp: &str) -> Signal {
    Signal::Description { sdp_type: "offer".into(), sdp: sdp.into() }
}

/// Nothing arrives on `tab` for a moment but what `ignore` allows (presence and the like).
async fn hears_nothing_of_the_call(tab: &mut Socket) {
    tab.still_up().await;
    use futures::StreamExt;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_millis(300), tab.ws.next()).await {
        if let tokio_tungstenite::tungstenite::Message::Text(t) = frame {
            let msg: ServerMsg = serde_json::from_str(t.as_str()).unwrap();
            assert!(!msg.is_for_call(), "unexpected call frame {msg:?}");
        }
    }
}

/// Three users, signed in, each with a tab open.
async fn three(app: &TestApp) -> [(Browser, Socket); 3] {
    let mut out = Vec::new();
    for name in ["ada", "bob", "cyd"] {
        let b = app.signed_up(name).await;
        let tab = b.socket().await;
        out.push((b, tab));
    }
    out.try_into().map_err(|_| ()).unwrap()
}

#[tokio::test]
async fn people_join_by_code_see_each_other_and_leave() {
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (_bob, mut bob_tab), _] = three(&app).await;
    let code = start(&mut ada).await;
    assert!(app::models::meeting::MeetingCode::parse(&code).is_ok(), "{code}");

    let a = join_call(&mut ada_tab, &code).await;
    assert!(a.participants.is_empty());
    // Typed any way a person would: upper case, no dashes.
    let b = join_call(&mut bob_tab, &code.replace('-', "").to_uppercase()).await;
    assert_eq!(b.meeting, a.meeting);
    assert_eq!(b.participants.len(), 1);
    assert_eq!(b.participants[0].seat, a.seat);
    assert!(b.participants[0].polite, "the newcomer is the polite side");
    let seen = peer_joined(&mut ada_tab).await;
    assert_eq!((seen.seat, seen.name.as_str(), seen.polite), (b.seat, "Ada Lovelace", false));

    bob_tab.send(&ClientMsg::CallState { state: CallState { mic: true, camera: false, screen: false, hand: true } }).await;
    let state = ada_tab.recv_where(|m| match m {
        ServerMsg::CallPeerState { seat, state, .. } if seat == b.seat => Some(state),
        _ => None,
    }).await;
    assert!(state.hand && !state.camera);

    bob_tab.send(&ClientMsg::CallLeave).await;
    assert_eq!(peer_left(&mut ada_tab).await, (b.seat, LeftBy::Left));
    let view = page(&mut ada, &code).await;
    assert_eq!(view["in_call"].as_array().unwrap().len(), 1);
    assert!(view["record"]["meeting"]["ended_at"].is_null());

    ada_tab.send(&ClientMsg::CallLeave).await;
    ada_tab.still_up().await;
    // The last one out ended it: it cannot be joined again, and the history has both stints.
    let view = page(&mut ada, &code).await;
    assert!(view["record"]["meeting"]["ended_at"].is_i64());
    assert_eq!(view["closed"], "This meeting has ended.");
    let stints = view["record"]["stints"].as_array().unwrap();
    assert_eq!(stints.len(), 2);
    assert!(stints.iter().all(|s| s["left_at"].is_i64()));
    assert_eq!(refused_join(&mut bob_tab, &code).await.0, ErrorCode::NoMeeting);
}

#[tokio::test]
async fn a_signal_reaches_its_addressee_only_and_names_its_real_sender() {
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (_bob, mut bob_tab), (_cyd, mut cyd_tab)] = three(&app).await;
    let code = start(&mut ada).await;
    let a = join_call(&mut ada_tab, &code).await;
    let b = join_call(&mut bob_tab, &code).await;
    let c = join_call(&mut cyd_tab, &code).await;
    assert_eq!(c.participants.iter().map(|p| p.seat).collect::<Vec<_>>(), vec![a.seat, b.seat]);

    cyd_tab.send(&ClientMsg::CallSignal { to: a.seat, signal: offer("v=0 for ada") }).await;
    assert_eq!(signal_from(&mut ada_tab).await, (c.seat, offer("v=0 for ada")));
    let candidate = Signal::Candidate { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host".into(), sdp_mid: Some("0".into()), sdp_m_line_index: Some(0) };
    ada_tab.send(&ClientMsg::CallSignal { to: c.seat, signal: candidate.clone() }).await;
    assert_eq!(signal_from(&mut cyd_tab).await, (a.seat, candidate));
    // Bob saw neither.
    bob_tab.send(&ClientMsg::Ping).await;
    let frames = bob_tab.recv_where(|m| match m {
        ServerMsg::CallSignal { .. } => Some(false),
        ServerMsg::Pong => Some(true),
        _ => None,
    }).await;
    assert!(frames, "bob received a signal meant for someone else");

    // To itself, to a seat that does not exist: refused, nobody hears of it.
    cyd_tab.send(&ClientMsg::CallSignal { to: c.seat, signal: offer("self") }).await;
    assert_eq!(cyd_tab.error().await.0, ErrorCode::NotInCall);
    cyd_tab.send(&ClientMsg::CallSignal { to: 999_999, signal: offer("nobody") }).await;
    assert_eq!(cyd_tab.error().await.0, ErrorCode::NotInCall);
    hears_nothing_of_the_call(&mut ada_tab).await;
}

#[tokio::test]
async fn two_meetings_are_isolated() {
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (mut bob, mut bob_tab), (_cyd, mut cyd_tab)] = three(&app).await;
    let first = start(&mut ada).await;
    let second = start(&mut bob).await;
    assert_ne!(first, second);
    let a = join_call(&mut ada_tab, &first).await;
    let b = join_call(&mut bob_tab, &second).await;
    join_call(&mut cyd_tab, &second).await;
    assert!(peer_joined(&mut bob_tab).await.seat != a.seat);
    // A signal across meetings is refused; Ada hears nothing of the second meeting.
    bob_tab.send(&ClientMsg::CallSignal { to: a.seat, signal: offer("across") }).await;
    assert_eq!(bob_tab.error().await.0, ErrorCode::NotInCall);
    hears_nothing_of_the_call(&mut ada_tab).await;
    assert_ne!(a.meeting, b.meeting);
}

#[tokio::test]
async fn the_person_past_the_limit_is_told_why() {
    // The tests' limit is 3 (helpers::test_config).
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (_bob, mut bob_tab), (_cyd, mut cyd_tab)] = three(&app).await;
    let dan = app.signed_up("dan").await;
    let mut dan_tab = dan.socket().await;
    let code = start(&mut ada).await;
    join_call(&mut ada_tab, &code).await;
    join_call(&mut bob_tab, &code).await;
    join_call(&mut cyd_tab, &code).await;
    let (code_err, message) = refused_join(&mut dan_tab, &code).await;
    assert_eq!(code_err, ErrorCode::CallFull);
    assert!(message.contains("at most 3"), "{message}");
    // A seat frees up: now Dan gets in.
    cyd_tab.send(&ClientMsg::CallLeave).await;
    peer_left(&mut ada_tab).await;
    join_call(&mut dan_tab, &code).await;
}

#[tokio::test]
async fn a_dropped_socket_keeps_its_seat_for_the_grace_period_then_leaves() {
    // The tests' grace is 2 s (helpers::test_config; 30 s in production).
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (bob, mut bob_tab), _] = three(&app).await;
    let code = start(&mut ada).await;
    join_call(&mut ada_tab, &code).await;
    let b = join_call(&mut bob_tab, &code).await;

    // Bob's network drops and comes back within the grace: same seat, nobody told.
    drop(bob_tab);
    let mut bob_tab = bob.socket().await;
    bob_tab.send(&ClientMsg::CallJoin { code: code.clone(), resume: Some(b.resume.clone()), fresh: false }).await;
    let again = bob_tab.recv_where(|m| match m {
        ServerMsg::CallJoined { seat, participants, .. } => Some((seat, participants.len())),
        _ => None,
    }).await;
    assert_eq!(again, (b.seat, 1));
    hears_nothing_of_the_call(&mut ada_tab).await;

    // Someone else's token takes nothing: a new seat.
    let mut ada2 = ada.socket().await;
    ada2.send(&ClientMsg::CallJoin { code: code.clone(), resume: Some(b.resume.clone()), fresh: false }).await;
    let other = ada2.recv_where(|m| match m {
        ServerMsg::CallJoined { seat, .. } => Some(seat),
        _ => None,
    }).await;
    assert_ne!(other, b.seat);
    ada2.send(&ClientMsg::CallLeave).await;
    peer_left(&mut ada_tab).await;

    // Gone for good: after the grace, the others are told it dropped.
    drop(bob_tab);
    let started = std::time::Instant::now();
    assert_eq!(peer_left(&mut ada_tab).await, (b.seat, LeftBy::Dropped));
    assert!(started.elapsed() >= Duration::from_millis(1500), "left after {:?}", started.elapsed());
    let view = page(&mut ada, &code).await;
    let bobs: Vec<&Value> = view["record"]["stints"].as_array().unwrap().iter().filter(|s| s["user_id"] == b_user(&view)).collect();
    assert_eq!(bobs.len(), 1, "a resumed seat is one stint");
    assert_eq!(bobs[0]["left_by"], "dropped");
}

#[tokio::test]
async fn a_reloaded_page_takes_its_seat_back_under_a_new_number_in_the_same_stint() {
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (bob, mut bob_tab), _] = three(&app).await;
    let code = start(&mut ada).await;
    join_call(&mut ada_tab, &code).await;
    let b = join_call(&mut bob_tab, &code).await;
    peer_joined(&mut ada_tab).await;
    // Bob reloads: a new socket, no peer connections left.
    drop(bob_tab);
    let mut bob_tab = bob.socket().await;
    bob_tab.send(&ClientMsg::CallJoin { code: code.clone(), resume: Some(b.resume.clone()), fresh: true }).await;
    let (seat, participants) = bob_tab.recv_where(|m| match m {
        ServerMsg::CallJoined { seat, participants, .. } => Some((seat, participants)),
        _ => None,
    }).await;
    assert_ne!(seat, b.seat, "a new number: the others connect afresh");
    assert_eq!(participants.len(), 1);
    assert_eq!(peer_left(&mut ada_tab).await, (b.seat, LeftBy::Left));
    assert_eq!(peer_joined(&mut ada_tab).await.seat, seat);
    // Still one stint each: a reload is not leaving.
    bob_tab.send(&ClientMsg::CallLeave).await;
    peer_left(&mut ada_tab).await;
    let view = page(&mut ada, &code).await;
    assert_eq!(view["record"]["stints"].as_array().unwrap().len(), 2);
}

/// Bob's user id, from the stints: the one whose stint ended as dropped.
fn b_user(view: &Value) -> Value {
    view["record"]["stints"].as_array().unwrap().iter().find(|s| s["left_by"] == "dropped").map(|s| s["user_id"].clone()).unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_host_mutes_removes_locks_and_ends_and_nobody_else_can() {
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (_bob, mut bob_tab), (_cyd, mut cyd_tab)] = three(&app).await;
    let code = start(&mut ada).await;
    let a = join_call(&mut ada_tab, &code).await;
    let b = join_call(&mut bob_tab, &code).await;
    let c = join_call(&mut cyd_tab, &code).await;

    // Not the host: refused.
    bob_tab.send(&ClientMsg::CallMute { seat: c.seat }).await;
    assert_eq!(bob_tab.error().await.0, ErrorCode::NotInCall);
    bob_tab.send(&ClientMsg::CallEnd).await;
    assert_eq!(bob_tab.error().await.0, ErrorCode::NotInCall);

    bob_tab.send(&ClientMsg::CallState { state: CallState { mic: true, ..Default::default() } }).await;
    cyd_tab.recv_where(|m| matches!(m, ServerMsg::CallPeerState { state, .. } if state.mic).then_some(())).await;
    ada_tab.send(&ClientMsg::CallMute { seat: b.seat }).await;
    bob_tab.recv_where(|m| matches!(m, ServerMsg::CallMuted { .. }).then_some(())).await;
    cyd_tab.recv_where(|m| matches!(m, ServerMsg::CallPeerState { seat, state, .. } if seat == b.seat && !state.mic).then_some(())).await;

    ada_tab.send(&ClientMsg::CallRemove { seat: c.seat }).await;
    let out = cyd_tab.recv_where(|m| match m {
        ServerMsg::CallEnded { left_by, .. } => Some(left_by),
        _ => None,
    }).await;
    assert_eq!(out, LeftBy::Removed);
    assert_eq!(peer_left(&mut bob_tab).await, (c.seat, LeftBy::Removed));
    // Removed means out of the relay too.
    cyd_tab.send(&ClientMsg::CallSignal { to: a.seat, signal: offer("still here?") }).await;
    assert_eq!(cyd_tab.error().await.0, ErrorCode::NotInCall);

    ada_tab.send(&ClientMsg::CallLock { locked: true }).await;
    bob_tab.recv_where(|m| matches!(m, ServerMsg::CallLocked { locked: true, .. }).then_some(())).await;
    assert_eq!(refused_join(&mut cyd_tab, &code).await.0, ErrorCode::CallLocked);
    assert!(page(&mut ada, &code).await["record"]["meeting"]["locked"].as_bool().unwrap());

    ada_tab.send(&ClientMsg::CallEnd).await;
    let ended = bob_tab.recv_where(|m| match m {
        ServerMsg::CallEnded { left_by, .. } => Some(left_by),
        _ => None,
    }).await;
    assert_eq!(ended, LeftBy::Ended);
    ada_tab.still_up().await;
    let view = page(&mut ada, &code).await;
    assert!(view["record"]["meeting"]["ended_at"].is_i64());
    let by: Vec<&str> = view["record"]["stints"].as_array().unwrap().iter().map(|s| s["left_by"].as_str().unwrap()).collect();
    assert_eq!(by, vec!["ended", "ended", "removed"]);
}

#[tokio::test]
async fn bad_call_frames_get_an_error_and_change_nothing() {
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (_bob, mut bob_tab), _] = three(&app).await;
    let code = start(&mut ada).await;
    // Not in a call yet.
    ada_tab.send(&ClientMsg::CallSignal { to: 1, signal: offer("x") }).await;
    assert_eq!(ada_tab.error().await.0, ErrorCode::NotInCall);
    ada_tab.send(&ClientMsg::CallLeave).await;
    assert_eq!(ada_tab.error().await.0, ErrorCode::NotInCall);
    // Unknown and malformed codes.
    assert_eq!(refused_join(&mut ada_tab, "zzz-zzzz-zzz").await.0, ErrorCode::NoMeeting);
    assert_eq!(refused_join(&mut ada_tab, "<script>").await.0, ErrorCode::NoMeeting);

    let a = join_call(&mut ada_tab, &code).await;
    join_call(&mut bob_tab, &code).await;
    // A second join from the same tab.
    assert_eq!(refused_join(&mut ada_tab, &code).await.0, ErrorCode::Invalid);
    // An oversized SDP and an unknown description type: refused, the socket stays up.
    let big = Signal::Description { sdp_type: "offer".into(), sdp: "x".repeat(65 * 1024) };
    bob_tab.send(&ClientMsg::CallSignal { to: a.seat, signal: big }).await;
    let (code_err, message, _) = bob_tab.error().await;
    assert_eq!(code_err, ErrorCode::Invalid, "{message}");
    bob_tab.still_up().await;
    ada_tab.send_text(r#"{"type":"call_signal","to":1,"signal":{"kind":"description","sdp_type":"launch","sdp":""}}"#).await;
    assert_eq!(ada_tab.error().await.0, ErrorCode::Invalid);
    ada_tab.send_text(r#"{"type":"call_signal","to":"one","signal":{}}"#).await;
    assert_eq!(ada_tab.error().await.0, ErrorCode::BadFrame);
    ada_tab.still_up().await;
}

#[tokio::test]
async fn a_burst_of_candidates_passes_while_a_flood_is_refused() {
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (_bob, mut bob_tab), _] = three(&app).await;
    let code = start(&mut ada).await;
    let a = join_call(&mut ada_tab, &code).await;
    join_call(&mut bob_tab, &code).await;
    let candidate = |i: usize| Signal::Candidate { candidate: format!("candidate:{i} 1 udp 1 127.0.0.1 {i} typ host"), sdp_mid: Some("0".into()), sdp_m_line_index: Some(0) };
    // 60 candidates at once: far past the chat's 20-frame burst, within the signals' budget.
    for i in 0..60 {
        bob_tab.send(&ClientMsg::CallSignal { to: a.seat, signal: candidate(i) }).await;
    }
    for _ in 0..60 {
        signal_from(&mut ada_tab).await;
    }
    // And chat still has its own budget.
    bob_tab.still_up().await;
    // A flood: 400 at once, past the burst of 200.
    for i in 0..400 {
        bob_tab.send(&ClientMsg::CallSignal { to: a.seat, signal: candidate(i) }).await;
    }
    assert_eq!(bob_tab.error().await.0, ErrorCode::RateLimited);
}

#[tokio::test]
async fn a_room_call_is_for_its_members_shows_in_the_room_and_uses_its_chat() {
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (mut bob, mut bob_tab), (mut cyd, mut cyd_tab)] = three(&app).await;
    let room = create_room(&mut ada, "Team").await;
    join(&mut ada, &mut bob, room).await;
    bob_tab.still_up().await;
    let res = ada.call("start_meeting", &[("room", &room.to_string())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let code: String = res.json().await.unwrap();
    // A second "Call" in the same room joins the same meeting.
    let again: String = bob.call("start_meeting", &[("room", &room.to_string())]).await.json().await.unwrap();
    assert_eq!(again, code);
    // Not a member: the meeting does not exist for Cyd, over HTTP or the socket.
    assert_eq!(cyd.call("meeting_page", &[("code", &code)]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(cyd.call("start_meeting", &[("room", &room.to_string())]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(refused_join(&mut cyd_tab, &code).await.0, ErrorCode::NoMeeting);

    let a = join_call(&mut ada_tab, &code).await;
    assert_eq!(a.room, room, "the call's chat is the room's");
    // Bob, in the room but not in the call, sees it is on and who is in it.
    let people = bob_tab.recv_where(|m| match m {
        ServerMsg::RoomCall { room: r, people, .. } if r == room => Some(people),
        _ => None,
    }).await;
    assert_eq!(people, vec!["Ada Lovelace".to_string()]);
    // The room's page says so too, and a second "Call" leads into the same meeting.
    let view = crate::chat::room_view(&mut bob, room).await;
    assert_eq!(view["call"][0], code.as_str());
    assert_eq!(view["call"][1][0], "Ada Lovelace");
    assert!(view["last_call"].is_null());
    ada_tab.send(&ClientMsg::CallLeave).await;
    let people = bob_tab.recv_where(|m| match m {
        ServerMsg::RoomCall { room: r, people, .. } if r == room => Some(people),
        _ => None,
    }).await;
    assert!(people.is_empty(), "the call ended");
    let view = crate::chat::room_view(&mut bob, room).await;
    assert!(view["call"].is_null());
    assert_eq!(view["last_call"]["code"], code.as_str());
    assert_eq!(view["last_call"]["people"][0], "Ada Lovelace");
    // The list of rooms marks a call only while it is on.
    let home: Value = bob.call("chat_home", &[]).await.json().await.unwrap();
    assert!(home["rooms"].as_array().unwrap().iter().all(|r| r["call_on"] == false));
}

#[tokio::test]
async fn a_meeting_by_code_keeps_its_chat_for_those_who_joined_and_lists_in_history() {
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (mut bob, mut bob_tab), (mut cyd, _)] = three(&app).await;
    let code = start(&mut ada).await;
    let a = join_call(&mut ada_tab, &code).await;
    ada_tab.say(a.room, "notes: ship on friday").await;
    // Bob joins late and reads what was said before.
    let b = join_call(&mut bob_tab, &code).await;
    assert_eq!(b.room, a.room);
    let view = crate::chat::room_view(&mut bob, a.room).await;
    assert_eq!(view["messages"][0]["body"], "notes: ship on friday");
    // Cyd never joined: the chat does not exist for them, and it is not in anyone's room list.
    assert_eq!(cyd.call("chat_room", &[("room", &a.room.to_string())]).await.status(), StatusCode::NOT_FOUND);
    let home: Value = bob.call("chat_home", &[]).await.json().await.unwrap();
    assert!(home["rooms"].as_array().unwrap().iter().all(|r| r["id"] != a.room));

    bob_tab.send(&ClientMsg::CallLeave).await;
    peer_left(&mut ada_tab).await;
    ada_tab.send(&ClientMsg::CallLeave).await;
    ada_tab.still_up().await;
    let (history, _now): (Vec<Value>, i64) = bob.call("meeting_history", &[]).await.json().await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["meeting"]["code"], code.as_str());
    let names: Vec<&str> = history[0]["stints"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    let (cyd_history, _): (Vec<Value>, i64) = cyd.call("meeting_history", &[]).await.json().await.unwrap();
    assert!(cyd_history.is_empty());

    // The attendance as CSV: one line per stint, for those who may see the meeting.
    let res = bob.get(&format!("/meetings/{code}/attendance.csv")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines[0], "name,joined,left,how,minutes");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1..].iter().all(|l| l.starts_with("Ada Lovelace,") && l.contains(",left,")), "{csv}");
    assert_eq!(app.browser().get(&format!("/meetings/{code}/attendance.csv")).await.status(), StatusCode::UNAUTHORIZED);
    // Cyd has the code but took no part: the meeting, yes; who came, no.
    let view = page(&mut cyd, &code).await;
    assert!(view["record"]["stints"].as_array().unwrap().is_empty());
    assert_eq!(cyd.get(&format!("/meetings/{code}/attendance.csv")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.get("/meetings/not-a-code/attendance.csv").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn someone_without_javascript_joins_a_meetings_chat_without_the_call() {
    let app = spawn_app().await;
    let [(mut ada, mut ada_tab), (mut bob, _), (mut cyd, _)] = three(&app).await;
    let code = start(&mut ada).await;
    let a = join_call(&mut ada_tab, &code).await;
    assert_eq!(bob.call("chat_room", &[("room", &a.room.to_string())]).await.status(), StatusCode::NOT_FOUND);
    let res = bob.call("join_meeting_chat", &[("code", &code)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let view = crate::chat::room_view(&mut bob, a.room).await;
    assert_eq!(view["is_member"], true);
    // A room's call has nothing to join this way; an unknown code is not found.
    let room = create_room(&mut ada, "Team").await;
    let room_code: String = ada.call("start_meeting", &[("room", &room.to_string())]).await.json().await.unwrap();
    assert_eq!(ada.call("join_meeting_chat", &[("code", &room_code)]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.call("join_meeting_chat", &[("code", "zzz-zzzz-zzz")]).await.status(), StatusCode::NOT_FOUND);
    // Once it ended, its chat is for those who took part.
    let cyd_code = start(&mut ada).await;
    ada_tab.send(&ClientMsg::CallLeave).await;
    ada_tab.still_up().await;
    let mut tab2 = ada.socket().await;
    join_call(&mut tab2, &cyd_code).await;
    tab2.send(&ClientMsg::CallLeave).await;
    tab2.still_up().await;
    assert_eq!(cyd.call("join_meeting_chat", &[("code", &cyd_code)]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn finding_a_meeting_reads_a_pasted_link_and_refuses_unknown_codes() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let code = start(&mut ada).await;
    let link = format!("{}/meetings/{code}", app.url(""));
    let res = bob.call("find_meeting", &[("code", &link)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<String>().await.unwrap(), code);
    let res = bob.call("find_meeting", &[("code", "abc-defg-hij")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = bob.call("find_meeting", &[("code", "12345")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app.browser().call("start_meeting", &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
