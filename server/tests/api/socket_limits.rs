//! What one user, one address or one frame can make the server do over sockets is bounded:
//! frame sizes, sockets per user, per address and in all, what one `sync` replays, how fast a
//! user posts by any path, and which logins may open a socket.

use crate::chat::{create_room, join, room_view};
use crate::helpers::{Browser, Socket, new_client_id, spawn_app, spawn_app_with};
use app::models::ws::{CLOSE_TOO_MANY, ClientMsg, ErrorCode, RoomCursor, ServerMsg};
use app::server::hub::limits::SocketCaps;
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The first frame of a socket just opened: `Ok(())` for a welcome, `Err(code)` for a close.
async fn welcomed(tab: &mut Socket) -> Result<(), u16> {
    match tokio::time::timeout(Duration::from_secs(5), tab.ws.next()).await.expect("an answer within 5 s") {
        Some(Ok(WsMessage::Text(t))) if t.as_str().contains(r#""type":"welcome""#) => Ok(()),
        Some(Ok(WsMessage::Close(Some(c)))) => Err(u16::from(c.code)),
        other => panic!("expected welcome or close, got {other:?}"),
    }
}

async fn replay_frame(tab: &mut Socket) -> (i64, usize, bool, Option<i64>) {
    tab.recv_where(|m| match m {
        ServerMsg::Replay { room, messages, complete, next } => Some((room, messages.len(), complete, next)),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_frame_over_the_limit_closes_the_socket_and_one_under_it_is_answered() {
    use app::models::ws::MAX_CLIENT_FRAME;
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let mut tab = ada.socket().await;
    tab.send_text(&format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(MAX_CLIENT_FRAME - 1024))).await;
    tab.recv_where(|m| matches!(m, ServerMsg::Pong).then_some(())).await;
    let _ = tab.ws.send(WsMessage::text("x".repeat(MAX_CLIENT_FRAME + 1))).await;
    let ended = async {
        loop {
            match tab.ws.next().await {
                None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return,
                Some(Ok(_)) => continue,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), ended).await.expect("the socket ends");
    // The user is not locked out: a new socket works.
    ada.socket().await.still_up().await;
}

#[tokio::test]
async fn sockets_are_capped_per_user_per_address_and_in_all_and_readiness_says_so() {
    let app = spawn_app_with(|c| c.ws_caps = SocketCaps { per_user: 2, per_ip: 3, total: 4 }).await;
    let ada = app.signed_up("ada").await;
    let bob = app.signed_up("bob").await;
    let mut held = vec![ada.socket().await, ada.socket().await];
    let mut third = ada.open_socket_from([127, 0, 0, 2]).await;
    assert_eq!(welcomed(&mut third).await, Err(CLOSE_TOO_MANY), "a third tab of one user");

    held.push(bob.socket().await);
    let mut from_same_address = bob.open_socket_from([127, 0, 0, 1]).await;
    assert_eq!(welcomed(&mut from_same_address).await, Err(CLOSE_TOO_MANY), "a fourth from one address");
    let mut from_elsewhere = bob.open_socket_from([127, 0, 0, 3]).await;
    assert_eq!(welcomed(&mut from_elsewhere).await, Ok(()));
    assert_eq!(reqwest::get(app.url("/readyz")).await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    let cy = app.signed_up("cyd").await;
    let mut over_total = cy.open_socket_from([127, 0, 0, 4]).await;
    assert_eq!(welcomed(&mut over_total).await, Err(CLOSE_TOO_MANY), "past the total");

    // A closed socket gives its place back.
    held.pop().unwrap().ws.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reqwest::get(app.url("/readyz")).await.unwrap().status(), StatusCode::OK);
    let mut again = cy.open_socket_from([127, 0, 0, 4]).await;
    assert_eq!(welcomed(&mut again).await, Ok(()));
}

/// Stores `n` messages in `room` from `sender` straight into the database (posting them over
/// the socket would take `n / 10` seconds at the rate limit).
async fn store_messages(app: &crate::helpers::TestApp, room: i64, sender: i64, n: usize) {
    let db = app::server::db::connect_and_migrate(&app.database.url).await.unwrap();
    let batch: Vec<app::server::db::chat::NewMessage> = (0..n)
        .map(|i| app::server::db::chat::NewMessage {
            room,
            sender_id: sender,
            sender_name: "Ada".into(),
            client_id: new_client_id(),
            body: format!("m{i}"),
        })
        .collect();
    app::server::db::chat::post_all(&db, &batch, 1).await.unwrap();
}

#[tokio::test]
async fn a_sync_replays_one_page_at_a_time_one_cursor_per_room_and_no_more_rooms_than_yours() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let room = create_room(&mut ada, "Busy").await;
    let ada_id = ada.me().await["id"].as_i64().unwrap();
    store_messages(&app, room, ada_id, 450).await;
    let mut tab = ada.socket().await;

    // 300 copies of one cursor are one cursor: one page, then the socket is quiet.
    let copies = vec![RoomCursor { room, after: 0 }; 300];
    tab.send(&ClientMsg::Sync { rooms: copies }).await;
    let (r, n, complete, next) = replay_frame(&mut tab).await;
    assert_eq!((r, n, complete), (room, 200, false));
    tab.still_up().await;

    // The client pages on from `next` until complete.
    tab.send(&ClientMsg::Sync { rooms: vec![RoomCursor { room, after: next.unwrap() }] }).await;
    let (_, n, complete, next) = replay_frame(&mut tab).await;
    assert_eq!((n, complete), (200, false));
    tab.send(&ClientMsg::Sync { rooms: vec![RoomCursor { room, after: next.unwrap() }] }).await;
    let (_, n, complete, next) = replay_frame(&mut tab).await;
    assert_eq!((n, complete, next), (50, true, None));

    // More rooms than Ada is in is refused outright.
    let many: Vec<RoomCursor> = (0..5).map(|i| RoomCursor { room: room + 100 + i, after: 0 }).collect();
    tab.send(&ClientMsg::Sync { rooms: many }).await;
    assert_eq!(tab.error().await.0, ErrorCode::Invalid);
    assert_eq!(room_view(&mut ada, room).await["last_seq"], 450);
}

#[tokio::test]
async fn one_posting_rate_holds_for_the_socket_and_the_form_together() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let room = create_room(&mut ada, "Flood").await;
    join(&mut ada, &mut bob, room).await;
    let r = room.to_string();
    let mut tab = bob.socket().await;
    let started = std::time::Instant::now();
    // Bob spends his burst over the socket…
    for i in 0..20 {
        tab.send(&ClientMsg::Send { room, client_id: new_client_id(), body: format!("socket {i}") }).await;
    }
    let mut accepted = 0;
    for _ in 0..20 {
        accepted += tab
            .recv_where(|m| match m {
                ServerMsg::Ack { .. } => Some(1),
                ServerMsg::Error { code: ErrorCode::RateLimited, .. } => Some(0),
                _ => None,
            })
            .await;
    }
    // …then tries the form: the same budget, so it is refused with Retry-After.
    let mut refused = 0;
    for i in 0..20 {
        let res = bob.call("post_message", &[("room", &r), ("body", &format!("form {i}"))]).await;
        match res.status() {
            StatusCode::OK => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(res.headers().contains_key("retry-after"));
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    // A burst of 20 plus 10 a second for the time it took, whichever way the posts came.
    let allowed = 20 + (started.elapsed().as_secs_f64() * 10.0).ceil() as i32 + 1;
    assert!(accepted <= allowed, "{accepted} posts accepted, at most {allowed} allowed");
    assert!(refused > 0, "the form was never refused");
    // Ada's budget is her own.
    let mut ada_tab = ada.socket().await;
    ada_tab.say(room, "mine").await;
}

#[tokio::test]
async fn a_logged_out_login_cannot_open_a_socket_with_its_unexpired_access_token() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let stolen: Browser = {
        let mut copy = app.browser();
        copy.cookies = ada.cookies.clone();
        copy
    };
    assert_eq!(ada.call("logout", &[]).await.status(), StatusCode::OK);
    let refused = tokio_tungstenite::connect_async(stolen.socket_request(&app.url(""))).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), StatusCode::UNAUTHORIZED),
        other => panic!("expected 401, got {:?}", other.map(|(_, r)| r.status())),
    }
}
