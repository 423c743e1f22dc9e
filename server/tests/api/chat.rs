//! Chat: rooms and direct messages over HTTP and live over real WebSocket clients.

use crate::helpers::{Browser, TestApp, new_client_id, spawn_app, spawn_app_with};
use app::models::chat::ChatMessage;
use app::models::ws::{ClientMsg, ErrorCode, RoomCursor, ServerMsg};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

pub async fn create_room(b: &mut Browser, name: &str) -> i64 {
    let res = b.call("create_room", &[("name", name), ("topic", "")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// The room's current invite link, as its creator sees it.
pub async fn invite_link(owner: &mut Browser, room: i64) -> String {
    let view = room_view(owner, room).await;
    view["invite"]["path"].as_str().expect("the creator sees the invite link").to_string()
}

/// Joins the room through the invite link its owner copied.
pub async fn join(owner: &mut Browser, b: &mut Browser, room: i64) {
    let link = invite_link(owner, room).await;
    let res = b.call("join_room", &[("room", &link)]).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
}

async fn start_direct(b: &mut Browser, username: &str) -> i64 {
    let res = b.call("start_direct", &[("username", username)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

pub async fn room_view(b: &mut Browser, room: i64) -> Value {
    let res = b.call("chat_room", &[("room", &room.to_string())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn bodies(view: &Value) -> Vec<String> {
    view["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_string()).collect()
}

/// Ada and Bob, signed in, both members of a new room.
async fn two_in_a_room(app: &TestApp) -> (Browser, Browser, i64) {
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let room = create_room(&mut ada, "Team").await;
    join(&mut ada, &mut bob, room).await;
    (ada, bob, room)
}

#[tokio::test]
async fn two_users_talk_live_in_a_room_and_the_history_keeps_it() {
    let app = spawn_app().await;
    let (mut ada, mut bob, room) = two_in_a_room(&app).await;
    let (mut ada_tab, mut bob_tab) = (ada.socket().await, bob.socket().await);

    let sent = ada_tab.say(room, "  hello https://example.org  ").await;
    assert_eq!((sent.body.as_str(), sent.seq), ("hello https://example.org", 1));
    let seen = bob_tab.message().await;
    assert_eq!(seen, sent);
    let reply = bob_tab.say(room, "hi Ada").await;
    assert_eq!(ada_tab.message().await.id, sent.id, "the sender's tab sees its own message too");
    assert_eq!(ada_tab.message().await, reply);

    assert_eq!(bodies(&room_view(&mut ada, room).await), ["hello https://example.org", "hi Ada"]);
    // A new member sees what was said before they came.
    let mut cy = app.signed_up("cyd").await;
    join(&mut ada, &mut cy, room).await;
    assert_eq!(bodies(&room_view(&mut cy, room).await).len(), 2);
    // The chat home lists the room with its latest message.
    let home: Value = bob.call("chat_home", &[]).await.json().await.unwrap();
    assert_eq!(home["rooms"][0]["title"], "Team");
    assert_eq!(home["rooms"][0]["last_message"]["body"], "hi Ada");
}

#[tokio::test]
async fn a_direct_conversation_exists_once_for_its_two_users() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let dm = start_direct(&mut ada, "BOB").await;
    assert_eq!(start_direct(&mut bob, "ada").await, dm);
    let mut bob_tab = bob.socket().await;
    let mut ada_tab = ada.socket().await;
    let sent = ada_tab.say(dm, "psst").await;
    assert_eq!(bob_tab.message().await, sent);

    let home: Value = bob.call("chat_home", &[]).await.json().await.unwrap();
    assert_eq!((home["rooms"][0]["kind"].as_str(), home["rooms"][0]["title"].as_str()), (Some("direct"), Some("Ada Lovelace")));
    assert_eq!(home["rooms"][0]["unread"], 1);
    // Someone else cannot read it, and cannot start one with themself or nobody.
    let mut cy = app.signed_up("cyd").await;
    assert_eq!(cy.call("chat_room", &[("room", &dm.to_string())]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(cy.call("start_direct", &[("username", "cyd")]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(cy.call("start_direct", &[("username", "nobody")]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(cy.call("join_room", &[("room", &dm.to_string())]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn every_tab_of_a_user_gets_every_event() {
    let app = spawn_app().await;
    let (ada, bob, room) = two_in_a_room(&app).await;
    let mut tabs = vec![bob.socket().await, bob.socket().await, bob.socket().await];
    let mut ada_tab = ada.socket().await;
    let sent = ada_tab.say(room, "to all of you").await;
    for tab in &mut tabs {
        assert_eq!(tab.message().await, sent);
    }
    // One of Bob's tabs writes: his other tabs see it too.
    let mine = tabs[0].say(room, "from tab one").await;
    assert_eq!(tabs[1].message().await, mine);
    assert_eq!(tabs[2].message().await, mine);
}

#[tokio::test]
async fn messages_arrive_in_the_order_they_were_stored() {
    let app = spawn_app().await;
    let (ada, bob, room) = two_in_a_room(&app).await;
    let (mut ada_tab, mut bob_tab) = (ada.socket().await, bob.socket().await);
    for i in 1..=15 {
        ada_tab.send(&ClientMsg::Send { room, client_id: new_client_id(), body: format!("n{i}") }).await;
    }
    let mut seqs = Vec::new();
    for _ in 1..=15 {
        let m = bob_tab.message().await;
        assert_eq!(m.body, format!("n{}", m.seq));
        seqs.push(m.seq);
    }
    assert_eq!(seqs, (1..=15).collect::<Vec<_>>());
}

#[tokio::test]
async fn edits_and_deletes_reach_the_room_and_only_the_author_may_make_them() {
    let app = spawn_app().await;
    let (mut ada, bob, room) = two_in_a_room(&app).await;
    let (mut ada_tab, mut bob_tab) = (ada.socket().await, bob.socket().await);
    let sent = ada_tab.say(room, "teh plan").await;
    bob_tab.message().await;

    ada_tab.send(&ClientMsg::Edit { message_id: sent.id, body: "the plan".into() }).await;
    let edited = bob_tab.message().await;
    assert_eq!((edited.id, edited.body.as_str(), edited.seq), (sent.id, "the plan", sent.seq));
    assert!(edited.edited_at.is_some() && edited.change > sent.change);

    bob_tab.send(&ClientMsg::Delete { message_id: sent.id }).await;
    assert_eq!(bob_tab.error().await.0, ErrorCode::NotYours);
    bob_tab.send(&ClientMsg::Edit { message_id: sent.id, body: "mine now".into() }).await;
    assert_eq!(bob_tab.error().await.0, ErrorCode::NotYours);

    ada_tab.send(&ClientMsg::Delete { message_id: sent.id }).await;
    let deleted = bob_tab.message().await;
    assert!(deleted.is_deleted() && deleted.body.is_empty());
    let view = room_view(&mut ada, room).await;
    assert_eq!(view["messages"][0]["body"], "");
    assert!(view["messages"][0]["deleted_at"].is_i64());
    // A deleted message cannot be edited back to life.
    ada_tab.send(&ClientMsg::Edit { message_id: sent.id, body: "undead".into() }).await;
    assert_eq!(ada_tab.error().await.0, ErrorCode::NotYours);
}

#[tokio::test]
async fn presence_typing_and_read_marks_reach_the_other_member() {
    let app = spawn_app().await;
    let (mut ada, mut bob, room) = two_in_a_room(&app).await;
    // They share a second room, and a direct conversation.
    let second = create_room(&mut ada, "Second").await;
    join(&mut ada, &mut bob, second).await;
    start_direct(&mut bob, "ada").await;
    let mut bob_tab = bob.socket().await;
    let ada_id = ada.me().await["id"].as_i64().unwrap();
    let bob_id = bob.me().await["id"].as_i64().unwrap();

    let mut ada_tab = ada.socket().await;
    let online = bob_tab.recv_where(|m| match m {
        ServerMsg::Presence { user_id, online } if user_id == ada_id => Some(online),
        _ => None,
    });
    assert!(online.await);
    // Once, not once per shared room: nothing else about Ada comes before the answer to a ping.
    bob_tab.send(&ClientMsg::Ping).await;
    loop {
        match bob_tab.recv().await {
            ServerMsg::Pong => break,
            ServerMsg::Presence { user_id, .. } if user_id == ada_id => panic!("Ada's presence came twice"),
            _ => {}
        }
    }
    // Ada's new tab is told Bob is already online.
    let online_now = ada_tab.recv_where(|m| match m {
        ServerMsg::Online { user_ids } => Some(user_ids),
        _ => None,
    });
    assert_eq!(online_now.await, vec![bob_id]);
    let view = room_view(&mut bob, room).await;
    let members = view["members"].as_array().unwrap();
    assert!(members.iter().all(|m| m["online"] == true), "{members:?}");

    ada_tab.send(&ClientMsg::Typing { room }).await;
    let typing = bob_tab.recv_where(|m| match m {
        ServerMsg::Typing { room: r, user_id, name } if r == room => Some((user_id, name)),
        _ => None,
    });
    assert_eq!(typing.await, (ada_id, "Ada Lovelace".to_string()));

    let sent = ada_tab.say(room, "did you see this?").await;
    bob_tab.message().await;
    bob_tab.send(&ClientMsg::Read { room, seq: sent.seq }).await;
    let read = ada_tab.recv_where(|m| match m {
        ServerMsg::Read { user_id, seq, .. } if user_id == bob_id => Some(seq),
        _ => None,
    });
    assert_eq!(read.await, sent.seq);
    let home: Value = bob.call("chat_home", &[]).await.json().await.unwrap();
    assert_eq!(home["rooms"][0]["unread"], 0);

    ada_tab.ws.close(None).await.unwrap();
    let offline = bob_tab.recv_where(|m| match m {
        ServerMsg::Presence { user_id, online } if user_id == ada_id => Some(online),
        _ => None,
    });
    assert!(!offline.await);
}

/// The message an ack carries, for `recv_where`.
fn ack(frame: ServerMsg) -> Option<ChatMessage> {
    match frame {
        ServerMsg::Ack { message, .. } => Some(message),
        _ => None,
    }
}

#[tokio::test]
async fn the_same_client_id_twice_stores_one_message_and_gets_the_same_ack() {
    let app = spawn_app().await;
    let (mut ada, bob, room) = two_in_a_room(&app).await;
    let mut ada_tab = ada.socket().await;
    let mut bob_tab = bob.socket().await;
    let client_id = new_client_id();
    let send = ClientMsg::Send { room, client_id: client_id.clone(), body: "once".into() };
    ada_tab.send(&send).await;
    let first = ada_tab.recv_where(ack).await;
    // Resent after a reconnect, from another connection.
    let mut again_tab = ada.socket().await;
    again_tab.send(&send).await;
    let second = again_tab.recv_where(ack).await;
    assert_eq!(first, second);
    assert_eq!(bob_tab.message().await, first);
    assert_eq!(bodies(&room_view(&mut ada, room).await), ["once"]);
}

/// On SQLite the committer stores posts on a connection of its own that never waits for a lock
/// (db::direct); a post made while another writer holds the database must still be stored, once,
/// as soon as that writer is done, and reach the room. On PostgreSQL the other writer holds the
/// room's row, which every post locks first.
#[tokio::test]
async fn a_post_made_while_another_writer_holds_the_database_is_stored_once_it_is_done() {
    use crate::observability::{grew, scrape};
    use sqlx::Connection;
    let app = spawn_app_with(|c| c.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let metrics = app.metrics.expect("a metrics address");
    let (mut ada, bob, room) = two_in_a_room(&app).await;
    let mut ada_tab = ada.socket().await;
    let mut bob_tab = bob.socket().await;
    let mut writer = sqlx::AnyConnection::connect(&app.database.url).await.unwrap();
    let sqlite = writer.backend_name() == "SQLite";
    let before = scrape(metrics).await;
    if sqlite {
        sqlx::raw_sql("begin immediate").execute(&mut writer).await.unwrap();
    } else {
        sqlx::raw_sql("begin").execute(&mut writer).await.unwrap();
        sqlx::query("select id from rooms where id = $1 for update").bind(room).execute(&mut writer).await.unwrap();
    }
    let client_id = new_client_id();
    ada_tab.send(&ClientMsg::Send { room, client_id: client_id.clone(), body: "after the lock".into() }).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(400), ada_tab.recv_where(ack)).await.is_err(),
        "acked while another writer held the database"
    );
    sqlx::raw_sql("commit").execute(&mut writer).await.unwrap();
    let stored = ada_tab.recv_where(ack).await;
    assert_eq!((stored.body.as_str(), stored.client_id.as_str()), ("after the lock", client_id.as_str()));
    assert_eq!(bob_tab.message().await, stored);
    assert_eq!(bodies(&room_view(&mut ada, room).await), ["after the lock"]);
    // On SQLite the committer's own connection found the database taken and left the batch to
    // the pool, which waited; an operator sees it. PostgreSQL has no such connection.
    let busy = r#"huddle_commit_fallbacks_total{reason="busy"}"#;
    let after = scrape(metrics).await;
    if sqlite {
        assert!(grew(&before, &after, busy) >= 1.0);
    } else {
        assert!(!after.contains_key(busy));
    }
}

#[tokio::test]
async fn a_reconnecting_client_gets_everything_it_missed_in_order() {
    let app = spawn_app().await;
    let (mut ada, bob, room) = two_in_a_room(&app).await;
    let mut bob_tab = bob.socket().await;
    let mut ada_tab = ada.socket().await;
    let seen = ada_tab.say(room, "before").await;
    assert_eq!(bob_tab.message().await, seen);
    let cursor = seen.change;
    bob_tab.ws.close(None).await.unwrap();

    let mut missed = Vec::new();
    for i in 0..25 {
        missed.push(ada_tab.say(room, &format!("while away {i}")).await);
        if i % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(1100)).await; // stay under the rate limit
        }
    }
    ada_tab.send(&ClientMsg::Edit { message_id: seen.id, body: "before (edited)".into() }).await;
    let _ = room_view(&mut ada, room).await;

    let mut bob_tab = bob.socket().await;
    bob_tab.send(&ClientMsg::Sync { rooms: vec![RoomCursor { room, after: cursor }] }).await;
    let mut replayed: Vec<ChatMessage> = Vec::new();
    loop {
        let (messages, complete) = bob_tab
            .recv_where(|m| match m {
                ServerMsg::Replay { messages, complete, .. } => Some((messages, complete)),
                _ => None,
            })
            .await;
        replayed.extend(messages);
        if complete {
            break;
        }
    }
    let bodies: Vec<&str> = replayed.iter().map(|m| m.body.as_str()).collect();
    let mut expected: Vec<String> = (0..25).map(|i| format!("while away {i}")).collect();
    expected.push("before (edited)".into());
    assert_eq!(bodies, expected);
    assert!(replayed.windows(2).all(|w| w[0].change < w[1].change));
}

#[tokio::test]
async fn a_reader_too_slow_for_the_live_stream_is_told_to_resync_and_kept() {
    let app = spawn_app_with(|c| c.ws_queue = 4).await;
    let (mut ada, bob, room) = two_in_a_room(&app).await;
    // Bob's tab reads nothing, through a small receive buffer so the kernel does not absorb it all.
    let mut slow = bob.socket_with_receive_buffer(4096).await;
    // Eight people write at once, each as fast as their rate limit allows, until far more than
    // the kernel's socket buffers (4 MiB here) is waiting for Bob.
    let big = "😀".repeat(3900);
    let mut writers = Vec::new();
    for w in 0..8 {
        let mut writer = app.signed_up(&format!("writer{w}")).await;
        join(&mut ada, &mut writer, room).await;
        let tab = writer.socket().await;
        let big = big.clone();
        // Like a browser, each writing tab reads while it writes.
        let (mut sink, mut stream) = tab.ws.split();
        writers.push(tokio::spawn(async move {
            // Every post is answered: an ack, or (when this tab's frames were read in a burst
            // after its own queue had filled) a rate-limit error.
            let mut answers = 0;
            while answers < 50 {
                let frame = tokio::time::timeout(Duration::from_secs(20), stream.next()).await;
                let text = frame.expect("answers keep coming").unwrap().unwrap().into_text().unwrap();
                answers += usize::from(text.contains(r#""type":"ack""#) || text.contains(r#""type":"error""#));
            }
        }));
        writers.push(tokio::spawn(async move {
            use futures::SinkExt;
            for i in 0..50 {
                let frame = serde_json::to_string(&ClientMsg::Send { room, client_id: new_client_id(), body: big.clone() }).unwrap();
                sink.send(tokio_tungstenite::tungstenite::Message::text(frame)).await.unwrap();
                if i >= 19 {
                    tokio::time::sleep(Duration::from_millis(105)).await;
                }
            }
            // Keep the writing half open until the acks are read.
            tokio::time::sleep(Duration::from_secs(30)).await;
        }));
    }
    // The reading halves finish once every post is answered; the writing halves are not waited for.
    for w in writers.into_iter().step_by(2) {
        w.await.unwrap();
    }
    let told = slow.recv_where(|m| matches!(m, ServerMsg::Resync).then_some(()));
    tokio::time::timeout(Duration::from_secs(20), told).await.expect("told to resync");
    slow.still_up().await;
}

#[tokio::test]
async fn a_non_member_cannot_post_type_read_or_replay_and_nothing_is_stored() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let room = create_room(&mut ada, "Private").await;
    let eve = app.signed_up("eve").await;
    let mut eve_tab = eve.socket().await;
    let client_id = new_client_id();
    eve_tab.send(&ClientMsg::Send { room, client_id: client_id.clone(), body: "let me in".into() }).await;
    assert_eq!(eve_tab.error().await, (ErrorCode::NotMember, "That room does not exist or you are not a member.".into(), Some(client_id)));
    for msg in [
        ClientMsg::Typing { room },
        ClientMsg::Read { room, seq: 1 },
        ClientMsg::Sync { rooms: vec![RoomCursor { room, after: 0 }] },
        ClientMsg::Send { room: 999_999, client_id: new_client_id(), body: "x".into() },
    ] {
        eve_tab.send(&msg).await;
        assert_eq!(eve_tab.error().await.0, ErrorCode::NotMember, "{msg:?}");
    }
    assert!(bodies(&room_view(&mut ada, room).await).is_empty());
}

#[tokio::test]
async fn an_upgrade_from_another_site_or_without_a_login_is_refused() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let err = tokio_tungstenite::connect_async(ada.socket_request("http://evil.example")).await.unwrap_err();
    assert!(matches!(&err, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 403), "{err:?}");
    let stranger = app.browser();
    let err = tokio_tungstenite::connect_async(stranger.socket_request(&app.url(""))).await.unwrap_err();
    assert!(matches!(&err, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 401), "{err:?}");
}

#[tokio::test]
async fn a_client_with_a_bearer_token_and_no_origin_may_connect() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = app.url("/ws").replacen("http://", "ws://", 1).into_client_request().unwrap();
    let bearer = format!("Bearer {}", ada.cookies["huddle_access"]);
    req.headers_mut().insert("authorization", bearer.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("bearer accepted");
    let first = ws.next().await.unwrap().unwrap();
    assert!(first.to_text().unwrap().contains(r#""type":"welcome""#));
}

#[tokio::test]
async fn every_bad_frame_gets_an_error_frame_and_the_connection_stays_up() {
    let app = spawn_app().await;
    let (ada, bob, room) = two_in_a_room(&app).await;
    let mut tab = ada.socket().await;
    let mut bob_tab = bob.socket().await;
    let bobs = bob_tab.say(room, "bob's").await;
    let cases: Vec<(String, ErrorCode)> = vec![
        ("{not json".into(), ErrorCode::BadFrame),
        (r#"{"type":"launch_missiles"}"#.into(), ErrorCode::UnknownType),
        (r#"{"type":"send","room":"one"}"#.into(), ErrorCode::BadFrame),
        (send(room, &new_client_id(), &"x".repeat(4001)), ErrorCode::Invalid),
        (send(room, &new_client_id(), "   "), ErrorCode::Invalid),
        (send(room, "not-a-uuid", "hi"), ErrorCode::Invalid),
        (format!(r#"{{"type":"edit","message_id":{},"body":"mine"}}"#, bobs.id), ErrorCode::NotYours),
        (r#"{"type":"delete","message_id":123456789}"#.into(), ErrorCode::NotYours),
    ];
    for (frame, code) in cases {
        tab.send_text(&frame).await;
        let (got, message, _) = tab.error().await;
        assert_eq!(got, code, "{}", &frame[..frame.len().min(80)]);
        assert!(!message.is_empty() && !message.contains("sqlx") && !message.contains("SQL"), "{message}");
    }
    use futures::SinkExt;
    tab.ws.send(tokio_tungstenite::tungstenite::Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(tab.error().await.0, ErrorCode::BadFrame);
    tab.still_up().await;
    // Nothing was stored or changed.
    let mut ada = ada;
    assert_eq!(bodies(&room_view(&mut ada, room).await), ["bob's"]);
}

fn send(room: i64, client_id: &str, body: &str) -> String {
    serde_json::to_string(&ClientMsg::Send { room, client_id: client_id.into(), body: body.into() }).unwrap()
}

#[tokio::test]
async fn a_flood_is_rate_limited_with_an_error_frame_not_a_disconnect() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let mut tab = ada.socket().await;
    for _ in 0..30 {
        tab.send(&ClientMsg::Ping).await;
    }
    let (mut pongs, mut limited) = (0, 0);
    while pongs + limited < 30 {
        match tab.recv().await {
            ServerMsg::Pong => pongs += 1,
            ServerMsg::Error { code: ErrorCode::RateLimited, .. } => limited += 1,
            ServerMsg::Online { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // The burst of 20 is honoured; a few more pass if the server reads the frames slowly.
    assert!((20..=25).contains(&pongs) && limited >= 5, "{pongs} pongs, {limited} refused");
    tokio::time::sleep(Duration::from_millis(300)).await;
    tab.still_up().await;
}

#[tokio::test]
async fn without_javascript_a_form_posts_a_message_and_the_page_shows_it() {
    let app = spawn_app().await;
    let (mut ada, mut bob, room) = two_in_a_room(&app).await;
    let mut bob_tab = bob.socket().await;
    let page = format!("/chat/{room}");
    let res = ada.form_post("post_message", &page, &[("room", &room.to_string()), ("body", "no script needed")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], page.as_str());
    // Persisted first, then live to those who have a socket open.
    assert_eq!(bob_tab.message().await.body, "no script needed");
    let html = bob.get(&page).await.text().await.unwrap();
    assert!(html.contains("no script needed"), "{html}");

    let long = "x".repeat(4001);
    let res = ada.form_post("post_message", &page, &[("room", &room.to_string()), ("body", &long)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Back to the page with the error and what was typed, so nothing is lost.
    let back = res.headers()["location"].to_str().unwrap().to_string();
    assert!(back.contains("__err=") && back.contains(&format!("f.body={long}")), "{back}");
    let html = ada.get(back.trim_start_matches(&app.url(""))).await.text().await.unwrap();
    assert!(html.contains("at most 4,000 characters") && html.contains(&long), "the error and the text are shown");
}

#[tokio::test]
async fn history_pages_back_fifty_at_a_time() {
    let app = spawn_app().await;
    let (mut ada, _bob, room) = two_in_a_room(&app).await;
    let mut tab = ada.socket().await;
    for i in 1..=60 {
        tab.say(room, &format!("m{i}")).await;
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
    }
    let newest = room_view(&mut ada, room).await;
    assert_eq!(newest["messages"].as_array().unwrap().len(), 50);
    assert_eq!((newest["messages"][0]["body"].as_str(), newest["has_older"].as_bool()), (Some("m11"), Some(true)));
    let res = ada.call("chat_room", &[("room", &room.to_string()), ("before", "11")]).await;
    let older: Value = res.json().await.unwrap();
    assert_eq!(bodies(&older), (1..=10).map(|i| format!("m{i}")).collect::<Vec<_>>());
    assert_eq!(older["has_older"], false);
}

#[tokio::test]
async fn the_creator_renames_and_removes_others_may_only_leave() {
    let app = spawn_app().await;
    let (mut ada, mut bob, room) = two_in_a_room(&app).await;
    let r = room.to_string();
    let mut bob_tab = bob.socket().await;
    assert_eq!(bob.call("rename_room", &[("room", &r), ("name", "Mine"), ("topic", "")]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(ada.call("rename_room", &[("room", &r), ("name", "Core team"), ("topic", "weekly")]).await.status(), StatusCode::OK);
    bob_tab.recv_where(|m| matches!(m, ServerMsg::RoomChanged { room: x } if x == room).then_some(())).await;
    assert_eq!(room_view(&mut bob, room).await["title"], "Core team");

    let bob_id = bob.me().await["id"].to_string();
    let ada_id = ada.me().await["id"].to_string();
    assert_eq!(bob.call("remove_member", &[("room", &r), ("user_id", &ada_id)]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(ada.call("remove_member", &[("room", &r), ("user_id", &bob_id)]).await.status(), StatusCode::OK);
    bob_tab.recv_where(|m| matches!(m, ServerMsg::RoomLeft { room: x } if x == room).then_some(())).await;
    // Removed: Bob's open tab no longer receives the room, and cannot post to it.
    bob_tab.send(&ClientMsg::Send { room, client_id: new_client_id(), body: "still here?".into() }).await;
    assert_eq!(bob_tab.error().await.0, ErrorCode::NotMember);
    // To him the private room no longer exists.
    assert_eq!(bob.call("chat_room", &[("room", &r)]).await.status(), StatusCode::NOT_FOUND);

    // Added again by name, he can leave of his own accord.
    assert_eq!(ada.call("add_member", &[("room", &r), ("username", "bob")]).await.status(), StatusCode::OK);
    assert_eq!(bob.call("leave_room", &[("room", &r)]).await.status(), StatusCode::OK);
    let home: Value = bob.call("chat_home", &[]).await.json().await.unwrap();
    assert!(home["rooms"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn joining_by_invite_link_subscribes_open_tabs() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let room = create_room(&mut ada, "Open").await;
    let mut bob_tab = bob.socket().await;
    let link = app.url(&invite_link(&mut ada, room).await);
    let res = bob.call("join_room", &[("room", &link)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    bob_tab.recv_where(|m| matches!(m, ServerMsg::RoomChanged { room: x } if x == room).then_some(())).await;
    let mut ada_tab = ada.socket().await;
    let sent = ada_tab.say(room, "welcome").await;
    assert_eq!(bob_tab.message().await, sent);
    assert_eq!(bob.call("join_room", &[("room", "nonsense")]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_socket_closes_with_4001_when_its_access_token_expires_and_renewal_works_over_http() {
    use app::server::auth::tokens;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let secret = crate::helpers::test_config(std::env::temp_dir(), String::new()).jwt_secret;
    let (user, session) = tokens::verify_access(&secret, &ada.cookies["huddle_access"]).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let short = tokens::issue_access(&secret, user, session, now, 2);

    let mut req = app.url("/ws").replacen("http://", "ws://", 1).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {short}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let closed = async {
        while let Some(Ok(frame)) = ws.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(Some(c)) = frame {
                return u16::from(c.code);
            }
        }
        0
    };
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), closed).await.unwrap(), 4001);

    // The browser then renews: with only the refresh cookie it gets fresh cookies.
    ada.expire_access();
    let res = ada.post("/auth/renew").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(ada.cookies.contains_key("huddle_access"));
    ada.socket().await.still_up().await;
    let res = app.browser().post("/auth/renew").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_user_with_more_contacts_online_than_the_queue_holds_is_still_welcomed() {
    let app = spawn_app_with(|c| c.ws_queue = 16).await;
    let mut ada = app.signed_up("ada").await;
    let room = create_room(&mut ada, "Everyone").await;
    // 70 members online: the presence snapshot alone is more than the connection's queue.
    let mut tabs = Vec::new();
    for i in 0..70 {
        let mut member = app.signed_up(&format!("member{i}")).await;
        join(&mut ada, &mut member, room).await;
        tabs.push(member.socket().await);
    }
    let mut ada_tab = ada.socket().await;
    let online = ada_tab.recv_where(|m| match m {
        ServerMsg::Online { user_ids } => Some(user_ids),
        _ => None,
    });
    assert_eq!(online.await.len(), 70);
    ada_tab.still_up().await;
}

/// The close code of a socket that the server closes next.
pub async fn close_code(tab: &mut crate::helpers::Socket) -> u16 {
    let closed = async {
        while let Some(Ok(frame)) = tab.ws.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(Some(c)) = frame {
                return u16::from(c.code);
            }
        }
        0
    };
    tokio::time::timeout(Duration::from_secs(5), closed).await.expect("closed within 5 s")
}

#[tokio::test]
async fn ending_a_login_closes_its_sockets_and_only_its_sockets() {
    let app = spawn_app().await;
    let mut laptop = app.signed_up("ada").await;
    let mut phone = app.browser();
    assert_eq!(phone.login("ada", crate::helpers::STRONG_PASSWORD).await.status(), StatusCode::OK);
    let (mut laptop_tab, mut phone_tab) = (laptop.socket().await, phone.socket().await);

    let secret = crate::helpers::test_config(std::env::temp_dir(), String::new()).jwt_secret;
    let (_, phone_session) = app::server::auth::tokens::verify_access(&secret, &phone.cookies["huddle_access"]).unwrap();
    let res = laptop.call("revoke_session", &[("id", &phone_session.to_string())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(close_code(&mut phone_tab).await, 4003);
    laptop_tab.still_up().await;

    assert_eq!(laptop.call("logout_everywhere", &[]).await.status(), StatusCode::OK);
    assert_eq!(close_code(&mut laptop_tab).await, 4003);
}

#[tokio::test]
async fn a_stopping_server_closes_sockets_with_1012_after_committing_what_it_took() {
    let (app, stop, running) = crate::helpers::spawn_stoppable_app().await;
    let (mut ada, bob, room) = two_in_a_room(&app).await;
    let mut ada_tab = ada.socket().await;
    let mut bob_tab = bob.socket().await;
    let sent = ada_tab.say(room, "before the restart").await;
    let ready = ada.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);

    // SIGTERM: every socket is told "service restart", so its client reconnects elsewhere.
    stop.send(()).unwrap();
    assert_eq!(ada_tab.expect_closed().await, 1012);
    assert_eq!(bob_tab.expect_closed().await, 1012);
    let stopped = tokio::time::timeout(Duration::from_secs(10), running).await.expect("the server stops within 10 s");
    stopped.unwrap().unwrap();
    // The listener is closed, and what was acked is stored.
    assert!(reqwest::get(app.url("/healthz")).await.is_err(), "the listener is closed");
    assert_eq!(app.number("select count(*) from messages where id = $1", &[sent.id]).await, 1);
}
