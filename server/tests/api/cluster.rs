//! Several nodes on one PostgreSQL database with a Redis of the test's own between them
//! (`HUDDLE_REDIS_URL`). On SQLite these return at once: several nodes are refused there (the
//! config test proves it), and the PostgreSQL pass runs them.

use crate::chat::{create_room, join};
use crate::helpers::{Browser, Cluster, Socket, quick_bus, spawn_cluster};
use app::models::chat::ChatMessage;
use app::models::ws::{ClientMsg, ServerMsg};
use reqwest::StatusCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

async fn id_of(b: &mut Browser) -> i64 {
    b.me().await["id"].as_i64().unwrap()
}

/// Sends typing frames from `near` until `far`, on another node, shows one (10 s at most).
/// Typing is a hint that is never filled from the database: one sent while the far node is still
/// subscribing to the room on Redis (just after a socket opens, or while a subscription is made
/// again) is lost, as the protocol allows, so the test asks again as a user typing on would.
async fn typing_crosses(near: &mut Socket, far: &mut Socket, room: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        near.send(&ClientMsg::Typing { room }).await;
        let seen = far.recv_where(|m| matches!(m, ServerMsg::Typing { room: r, .. } if r == room).then_some(()));
        if tokio::time::timeout(Duration::from_millis(300), seen).await.is_ok() {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no typing frame crossed to the other node in 10 s");
    }
}

/// Reads `tab`'s messages of `room` until it has `count` distinct ones (10 s at most), checking
/// that each arrives once and in the order the room stored them.
async fn collect(tab: &mut Socket, room: i64, count: usize) -> Vec<ChatMessage> {
    let mut got: Vec<ChatMessage> = Vec::new();
    let reading = async {
        while got.len() < count {
            if let ServerMsg::Message { message } = tab.recv().await
                && message.room == room
            {
                if let Some(last) = got.last() {
                    assert!(message.change > last.change, "change {} came after {}: out of order or twice", message.change, last.change);
                }
                got.push(message);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), reading).await.unwrap_or_else(|_| panic!("only {} of {count} messages came", got.len()));
    got
}

/// `count` members of one room, each signed up on node i % nodes, the first one its creator.
async fn members(cluster: &Cluster, prefix: &str, count: usize) -> (Vec<Browser>, i64) {
    let mut people = Vec::new();
    for i in 0..count {
        people.push(cluster.signed_up(i % cluster.nodes.len(), &format!("{prefix}{i}")).await);
    }
    let room = create_room(&mut people[0], &format!("{prefix} room")).await;
    let (owner, rest) = people.split_at_mut(1);
    for b in rest {
        join(&mut owner[0], b, room).await;
    }
    (people, room)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_on_every_node_gets_every_message_once_in_order() {
    let Some(cluster) = spawn_cluster(3, quick_bus()).await else { return };
    // Three rooms of five; each person has four tabs spread over the nodes (60 sockets, 20 on
    // each node).
    let mut rooms = Vec::new();
    for name in ["amber", "birch", "cedar"] {
        rooms.push(members(&cluster, name, 5).await);
    }
    let mut tabs: Vec<(i64, Socket)> = Vec::new();
    let mut per_node = [0; 3];
    for (r, (people, room)) in rooms.iter().enumerate() {
        for (i, person) in people.iter().enumerate() {
            for k in 0..4 {
                let node = (r + i + k) % 3;
                per_node[node] += 1;
                tabs.push((*room, person.on(cluster.nodes[node]).socket().await));
            }
        }
    }
    assert!(per_node.iter().all(|&n| n == 20), "tabs per node: {per_node:?}");

    // 1,005 messages: each person says 67 things from one tab or the other.
    let per_person = 67;
    let mut senders = Vec::new();
    for (r, (people, room)) in rooms.iter().enumerate() {
        for (i, person) in people.iter().enumerate() {
            let (room, mut tab) = (*room, person.on(cluster.nodes[(r + i + 2) % 3]).socket().await);
            senders.push(tokio::spawn(async move {
                for n in 0..per_person {
                    tab.say(room, &format!("{n}")).await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }));
        }
    }
    let readers: Vec<_> = tabs.into_iter().map(|(room, mut tab)| tokio::spawn(async move { collect(&mut tab, room, 5 * per_person).await })).collect();
    for sender in senders {
        sender.await.unwrap();
    }
    for reader in readers {
        let got = reader.await.unwrap();
        let seqs: Vec<i64> = got.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "every message once, in seq order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_that_loses_events_and_always_the_last_one_loses_nothing() {
    let last = Arc::new(AtomicI64::new(i64::MAX));
    let mut bus = quick_bus();
    bus.lose = Some(Arc::new({
        let last = last.clone();
        // One change in ten, and the last one, never reach the other nodes.
        move |_room, change| change % 10 == 7 || change >= last.load(Ordering::Relaxed)
    }));
    let Some(cluster) = spawn_cluster(2, bus).await else { return };
    let (people, room) = members(&cluster, "lossy", 2).await;
    let mut far = people[1].on(cluster.nodes[1]).socket().await;
    let mut near = people[0].on(cluster.nodes[0]).socket().await;
    for n in 0..39 {
        near.say(room, &format!("{n}")).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let stored = cluster_number(&cluster, "select last_change from rooms where id = $1", room).await;
    last.store(stored + 1, Ordering::Relaxed);
    let final_message = near.say(room, "the last word").await;
    assert_eq!(final_message.change, stored + 1);

    // The far node lost five changes on the way and the last one: gap fills and the check
    // bring them, in order, each once.
    let got = collect(&mut far, room, 40).await;
    assert_eq!(got.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=40).collect::<Vec<_>>());
    assert_eq!(got.last().unwrap().body, "the last word");
    // Nothing more comes: no change twice.
    far.send(&ClientMsg::Ping).await;
    loop {
        match far.recv().await {
            ServerMsg::Pong => break,
            ServerMsg::Message { message } => panic!("delivered again: {message:?}"),
            _ => {}
        }
    }
}

async fn cluster_number(cluster: &Cluster, sql: &'static str, bind: i64) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&cluster.database.url).await.unwrap();
    sqlx::query_as::<_, (i64,)>(sql).bind(bind).fetch_one(&mut conn).await.unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_node_closes_that_logins_sockets_and_tokens_on_the_others() {
    let Some(cluster) = spawn_cluster(2, quick_bus()).await else { return };
    let mut ada = cluster.signed_up(0, "ada").await;
    let mut far_tab = ada.on(cluster.nodes[1]).socket().await;
    // Only the access token: the refresh token is checked in the database, which every node
    // shares; the access token is checked against what the node was told.
    let mut far = ada.on(cluster.nodes[1]);
    far.cookies.remove("huddle_refresh");
    assert_eq!(far.me().await["username"], "ada");

    assert_eq!(ada.call("logout", &[]).await.status(), StatusCode::OK);
    assert_eq!(crate::chat::close_code(&mut far_tab).await, 4003);
    // The other node refuses the login's access token too (the logout was not made there).
    assert_eq!(far.me().await, serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_crosses_nodes_and_a_dead_incarnations_users_go_offline() {
    let Some(cluster) = spawn_cluster(2, quick_bus()).await else { return };
    let (mut people, room) = members(&cluster, "pres", 2).await;
    let bob_id = id_of(&mut people[1]).await;
    let mut ada_tab = people[0].on(cluster.nodes[0]).socket().await;
    let bob_tab = people[1].on(cluster.nodes[1]).socket().await;
    let presence_of = |who: i64| {
        move |m: ServerMsg| match m {
            ServerMsg::Presence { user_id, online } if user_id == who => Some(online),
            _ => None,
        }
    };
    assert!(ada_tab.recv_where(presence_of(bob_id)).await, "Bob came online on the other node");

    // Bob's tab moves to Ada's node within the grace period: nobody sees him go offline.
    drop(bob_tab);
    let bob_again = people[1].on(cluster.nodes[0]).socket().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    ada_tab.send(&ClientMsg::Ping).await;
    loop {
        match ada_tab.recv().await {
            ServerMsg::Pong => break,
            ServerMsg::Presence { user_id, online: false } if user_id == bob_id => panic!("Bob flapped offline"),
            _ => {}
        }
    }
    // A new tab of Ada's on the other node is told Bob is online.
    let mut ada_far = people[0].on(cluster.nodes[1]).socket().await;
    let online = ada_far.recv_where(|m| match m {
        ServerMsg::Online { user_ids } => Some(user_ids),
        _ => None,
    });
    assert!(online.await.contains(&bob_id));
    drop(ada_far);

    // An incarnation that stopped refreshing its alive key (as after kill -9) still counts
    // a tab of Carol's; once the key expires, some node reaps it and she goes offline.
    let mut carol = cluster.signed_up(1, "carol").await;
    join(&mut people[0], &mut carol, room).await;
    let carol_id = id_of(&mut carol).await;
    let mut redis = cluster.redis.connection().await;
    let () = redis::pipe()
        .cmd("SET").arg("huddle:alive:deadbeef").arg(1).arg("PX").arg(2500).ignore()
        .cmd("SADD").arg("huddle:nodes").arg("deadbeef").ignore()
        .cmd("HSET").arg("huddle:presence:deadbeef").arg(carol_id).arg(1).ignore()
        .query_async(&mut redis)
        .await
        .unwrap();
    // Two checks later every node counts her tab there.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut ada_new = people[0].on(cluster.nodes[0]).socket().await;
    let online = ada_new.recv_where(|m| match m {
        ServerMsg::Online { user_ids } => Some(user_ids),
        _ => None,
    });
    assert!(online.await.contains(&carol_id), "Carol's tab on the other incarnation counts");
    let offline = tokio::time::timeout(Duration::from_secs(5), ada_tab.recv_where(presence_of(carol_id))).await;
    assert_eq!(offline.ok(), Some(false), "Carol went offline when her incarnation was reaped");
    let nodes: Vec<String> = redis::cmd("SMEMBERS").arg("huddle:nodes").query_async(&mut redis).await.unwrap();
    assert!(!nodes.contains(&"deadbeef".to_string()), "{nodes:?}");
    drop(bob_again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_for_three_seconds_loses_nothing_and_presence_rebuilds() {
    let Some(mut cluster) = spawn_cluster(2, quick_bus()).await else { return };
    let (mut people, room) = members(&cluster, "outage", 2).await;
    let ada_id = id_of(&mut people[0]).await;
    let mut near = people[0].on(cluster.nodes[0]).socket().await;
    let mut far = people[1].on(cluster.nodes[1]).socket().await;
    near.say(room, "before").await;
    assert_eq!(collect(&mut far, room, 1).await[0].body, "before");

    cluster.redis.kill();
    // Posts are still stored and acked while Redis is away; the nodes say they are not ready.
    for n in 0..5 {
        near.say(room, &format!("during {n}")).await;
    }
    let readiness = || async { reqwest::get(format!("http://{}/readyz", cluster.nodes[0])).await.unwrap().status() };
    let mut not_ready = false;
    for _ in 0..15 {
        if readiness().await == StatusCode::SERVICE_UNAVAILABLE {
            not_ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(not_ready, "readiness reports the lost bus");
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.redis.restart().await;
    near.say(room, "after").await;

    // The far tab catches up: everything, in order, once.
    let got = collect(&mut far, room, 6).await;
    let bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["during 0", "during 1", "during 2", "during 3", "during 4", "after"]);

    // Presence is written again into the new, empty Redis: a new tab on the far node sees Ada.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut tab = people[1].on(cluster.nodes[1]).socket().await;
        let online = tab.recv_where(|m| match m {
            ServerMsg::Online { user_ids } => Some(user_ids),
            _ => None,
        });
        if online.await.contains(&ada_id) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "Ada's presence was not rebuilt");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(readiness().await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_subscription_connection_is_renewed_and_nothing_is_lost() {
    let Some(cluster) = spawn_cluster(2, quick_bus()).await else { return };
    let (people, room) = members(&cluster, "cut", 2).await;
    let mut near = people[0].on(cluster.nodes[0]).socket().await;
    let mut far = people[1].on(cluster.nodes[1]).socket().await;
    near.say(room, "one").await;
    assert_eq!(collect(&mut far, room, 1).await[0].body, "one");

    // Redis drops every subscriber's connection (as a failover or a network cut would).
    let mut redis = cluster.redis.connection().await;
    let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub").query_async(&mut redis).await.unwrap();
    assert!(killed >= 2, "each node had a subscription connection: {killed}");
    for n in 0..5 {
        near.say(room, &format!("after the cut {n}")).await;
    }
    let got = collect(&mut far, room, 5).await;
    assert_eq!(got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), (0..5).map(|n| format!("after the cut {n}")).collect::<Vec<_>>());
    // The subscriptions came back: a typing frame (never filled from the database) crosses.
    typing_crosses(&mut near, &mut far, room).await;
}

/// A tab is followed from the moment it reads its rooms, but its node subscribes to the room on
/// Redis a moment later: a post in between went to no one there, and reached that tab only with
/// the next check (2 s by default). The node now reads what it missed once the subscription is
/// made. Here subscriptions are held for a second and the check is a minute away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_made_before_the_far_node_subscribed_to_the_room_arrives_at_once() {
    let bus = crate::helpers::BusConfig {
        check_every: Duration::from_secs(60),
        alive_ttl: Duration::from_secs(120),
        hold_subscriptions: Some(Duration::from_secs(1)),
        ..quick_bus()
    };
    let Some(cluster) = spawn_cluster(2, bus).await else { return };
    let (people, room) = members(&cluster, "early", 2).await;
    let mut near = people[0].on(cluster.nodes[0]).socket().await;
    let mut far = people[1].on(cluster.nodes[1]).socket().await;
    // The far node follows the room (the welcome came after it read the room's position), but
    // its subscription on Redis is still held.
    let began = std::time::Instant::now();
    near.say(room, "before the subscription").await;
    let got = collect(&mut far, room, 1).await;
    assert_eq!(got[0].body, "before the subscription");
    assert!(began.elapsed() < Duration::from_secs(5), "arrived only after {:?}", began.elapsed());
    // And live from then on.
    near.say(room, "after it").await;
    assert_eq!(collect(&mut far, room, 1).await[0].body, "after it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_gone_silent_is_noticed_by_its_probe_and_made_again() {
    let mute = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let Some(cluster) = spawn_cluster(2, crate::helpers::BusConfig { mute: Some(mute.clone()), ..quick_bus() }).await else { return };
    let (people, room) = members(&cluster, "silent", 2).await;
    let mut near = people[0].on(cluster.nodes[0]).socket().await;
    let mut far = people[1].on(cluster.nodes[1]).socket().await;
    typing_crosses(&mut near, &mut far, room).await;

    // The subscriptions stop delivering while the connection and every command still work:
    // nothing says so but the probe each node sends itself.
    mute.store(true, Ordering::Relaxed);
    for n in 0..3 {
        near.say(room, &format!("in the silence {n}")).await;
    }
    // The posts reach the far tab anyway (the check reads them from the database)...
    let got = collect(&mut far, room, 3).await;
    assert_eq!(got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["in the silence 0", "in the silence 1", "in the silence 2"]);
    // ...and within a few checks a node notices its probe missing and subscribes anew.
    let renewed = async {
        while mute.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(6), renewed).await.expect("the silent subscription was made again");
    // A typing frame (never read from the database) crosses again.
    typing_crosses(&mut near, &mut far, room).await;
}

/// The names `meeting_page` lists in the call, asked of one node.
async fn in_call(b: &mut Browser, code: &str) -> Vec<String> {
    let res = b.call("meeting_page", &[("code", code)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: serde_json::Value = res.json().await.unwrap();
    serde_json::from_value(page["in_call"].clone()).unwrap()
}

/// How the stints of `meeting` ended, in join order (`None` while open).
async fn stints(cluster: &Cluster, meeting: i64) -> Vec<Option<String>> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&cluster.database.url).await.unwrap();
    let rows: Vec<(Option<String>,)> =
        sqlx::query_as("select ended_by from meeting_attendance where meeting_id = $1 order by id").bind(meeting).fetch_all(&mut conn).await.unwrap();
    rows.into_iter().map(|(by,)| by).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_between_people_on_two_nodes_connects() {
    use crate::meetings::{join_call, offer, peer_joined, peer_left, signal_from, start};
    use app::models::meeting::{CallState, LeftBy, Signal};
    let Some(cluster) = spawn_cluster(2, quick_bus()).await else { return };
    let mut ada = cluster.signed_up(0, "ada").await;
    let mut bob = cluster.signed_up(1, "bob").await;
    let code = start(&mut ada).await;
    let mut ada_tab = ada.on(cluster.nodes[0]).socket().await;
    let mut bob_tab = bob.on(cluster.nodes[1]).socket().await;

    // Ada's node runs the call; Bob's carries his frames there and back.
    let a = join_call(&mut ada_tab, &code).await;
    let b = join_call(&mut bob_tab, &code).await;
    assert_eq!(b.meeting, a.meeting);
    assert_eq!(b.participants.iter().map(|p| p.seat).collect::<Vec<_>>(), vec![a.seat]);
    assert_eq!(peer_joined(&mut ada_tab).await.seat, b.seat);
    let mut redis = cluster.redis.connection().await;
    let home: Option<String> = redis::cmd("GET").arg(format!("huddle:call:{}", a.meeting)).query_async(&mut redis).await.unwrap();
    assert!(home.is_some(), "the call is claimed by a node");

    // Signals cross both ways, to their addressee.
    bob_tab.send(&ClientMsg::CallSignal { to: a.seat, signal: offer("bob's offer") }).await;
    assert_eq!(signal_from(&mut ada_tab).await, (b.seat, offer("bob's offer")));
    let answer = Signal::Description { sdp_type: "answer".into(), sdp: "ada's answer".into() };
    ada_tab.send(&ClientMsg::CallSignal { to: b.seat, signal: answer.clone() }).await;
    assert_eq!(signal_from(&mut bob_tab).await, (a.seat, answer));
    // What Bob shares shows on Ada's node; the host's controls reach Bob's.
    bob_tab.send(&ClientMsg::CallState { state: CallState { mic: true, camera: true, screen: false, hand: false } }).await;
    let seen = ada_tab.recv_where(|m| match m {
        ServerMsg::CallPeerState { seat, state, .. } if seat == b.seat => Some(state),
        _ => None,
    });
    assert!(seen.await.camera);
    ada_tab.send(&ClientMsg::CallMute { seat: b.seat }).await;
    bob_tab.recv_where(|m| matches!(m, ServerMsg::CallMuted { .. }).then_some(())).await;
    // A refusal made on the call's node comes back to the far tab.
    bob_tab.send(&ClientMsg::CallLock { locked: true }).await;
    let (code_refused, message, _) = bob_tab.error().await;
    assert_eq!((code_refused, message.as_str()), (app::models::ws::ErrorCode::NotInCall, "Only the host may do that."));
    // Either node's page lists both (every test user is named Ada Lovelace).
    assert_eq!(in_call(&mut bob, &code).await, vec!["Ada Lovelace"; 2]);
    assert_eq!(in_call(&mut ada, &code).await, vec!["Ada Lovelace"; 2]);

    // Bob's tab closes: his seat waits on Ada's node, and his next tab takes it back.
    drop(bob_tab);
    let mut bob_tab = bob.on(cluster.nodes[1]).socket().await;
    bob_tab.send(&ClientMsg::CallJoin { code: code.clone(), resume: Some(b.resume.clone()), fresh: false }).await;
    let back = bob_tab.recv_where(|m| match m {
        ServerMsg::CallJoined { seat, .. } => Some(seat),
        _ => None,
    });
    assert_eq!(back.await, b.seat, "the same seat, kept on the call's node");
    bob_tab.send(&ClientMsg::CallLeave).await;
    assert_eq!(peer_left(&mut ada_tab).await, (b.seat, LeftBy::Left));
    assert_eq!(stints(&cluster, a.meeting).await, vec![None, Some("left".to_string())]);
    ada_tab.send(&ClientMsg::CallLeave).await;
    // The last one out ends the meeting and frees the claim.
    for _ in 0..50 {
        let home: Option<String> = redis::cmd("GET").arg(format!("huddle:call:{}", a.meeting)).query_async(&mut redis).await.unwrap();
        if home.is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the claim outlived the call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_node_stops_starts_again_on_another() {
    use crate::meetings::{join_call, peer_joined, start};
    let Some(mut cluster) = spawn_cluster(2, quick_bus()).await else { return };
    let mut ada = cluster.signed_up(0, "ada").await;
    let bob = cluster.signed_up(1, "bob").await;
    let code = start(&mut ada).await;
    let mut ada_tab = ada.on(cluster.nodes[0]).socket().await;
    let mut bob_tab = bob.on(cluster.nodes[1]).socket().await;
    let a = join_call(&mut ada_tab, &code).await;
    let b = join_call(&mut bob_tab, &code).await;
    assert_eq!(b.participants.len(), 1);

    // Ada's node, which runs the call, stops: Bob's tab on the other node is told to reconnect
    // (1012) like Ada's, and both rejoin there as the browser does, with their resume tokens.
    cluster.stop(0);
    assert_eq!(crate::chat::close_code(&mut ada_tab).await, 1012);
    assert_eq!(crate::chat::close_code(&mut bob_tab).await, 1012);
    let mut bob_tab = bob.on(cluster.nodes[1]).socket().await;
    bob_tab.send(&ClientMsg::CallJoin { code: code.clone(), resume: Some(b.resume.clone()), fresh: false }).await;
    let bob_again = bob_tab.recv_where(|m| match m {
        ServerMsg::CallJoined { seat, participants, .. } => Some((seat, participants.len())),
        _ => None,
    });
    let (bob_seat, others) = bob_again.await;
    assert_ne!(bob_seat, b.seat, "a new seat: the old node's seats are gone");
    assert_eq!(others, 0);
    let mut ada_tab = ada.on(cluster.nodes[1]).socket().await;
    ada_tab.send(&ClientMsg::CallJoin { code: code.clone(), resume: Some(a.resume.clone()), fresh: false }).await;
    let ada_again = ada_tab.recv_where(|m| match m {
        ServerMsg::CallJoined { participants, .. } => Some(participants),
        _ => None,
    });
    assert_eq!(ada_again.await.iter().map(|p| p.seat).collect::<Vec<_>>(), vec![bob_seat]);
    assert_eq!(peer_joined(&mut bob_tab).await.name, "Ada Lovelace");
    // The stopped node's stints ended as dropped; the new ones are open.
    assert_eq!(stints(&cluster, a.meeting).await, vec![Some("dropped".to_string()), Some("dropped".to_string()), None, None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_node_died_is_taken_over_once_that_node_is_reaped() {
    use crate::meetings::start;
    use sqlx::Connection;
    let Some(cluster) = spawn_cluster(2, quick_bus()).await else { return };
    let mut ada = cluster.signed_up(0, "ada").await;
    let bob = cluster.signed_up(1, "bob").await;
    let code = start(&mut ada).await;
    let mut bob_tab = bob.on(cluster.nodes[1]).socket().await;
    // An incarnation that runs the call with Ada in it, then stops refreshing its alive key
    // (as after kill -9).
    let mut db = sqlx::AnyConnection::connect(&cluster.database.url).await.unwrap();
    let (meeting, ada_id): (i64, i64) =
        sqlx::query_as("select id, host_id from meetings where code = $1").bind(&code).fetch_one(&mut db).await.unwrap();
    sqlx::query("insert into meeting_attendance (meeting_id, user_id, joined_at) values ($1, $2, 1)").bind(meeting).bind(ada_id).execute(&mut db).await.unwrap();
    let mut redis = cluster.redis.connection().await;
    let () = redis::pipe()
        .cmd("SET").arg("huddle:alive:deadbeef").arg(1).arg("PX").arg(1500).ignore()
        .cmd("SADD").arg("huddle:nodes").arg("deadbeef").ignore()
        .cmd("SET").arg(format!("huddle:call:{meeting}")).arg("deadbeef").ignore()
        .cmd("SADD").arg("huddle:calls:deadbeef").arg(meeting).ignore()
        .query_async(&mut redis)
        .await
        .unwrap();

    // Once the key has expired but before the node is reaped, a join is refused, not lost.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let mut refusals = 0;
    let joined = loop {
        bob_tab.send(&ClientMsg::CallJoin { code: code.clone(), resume: None, fresh: false }).await;
        let answer = bob_tab.recv_where(|m| match m {
            ServerMsg::CallJoined { participants, .. } => Some(Ok(participants)),
            ServerMsg::Error { message, .. } => Some(Err(message)),
            _ => None,
        });
        match answer.await {
            Ok(participants) => break participants,
            Err(message) => {
                assert!(message.contains("stopped answering"), "{message}");
                refusals += 1;
                assert!(refusals < 50, "never taken over");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // Ada's seat went with the dead node: her stint ended as dropped, Bob's call is new.
    assert!(joined.is_empty());
    assert_eq!(stints(&cluster, meeting).await, vec![Some("dropped".to_string()), None]);
    let home: Option<String> = redis::cmd("GET").arg(format!("huddle:call:{meeting}")).query_async(&mut redis).await.unwrap();
    assert!(home.is_some_and(|h| h != "deadbeef"));
}

#[tokio::test]
async fn a_node_whose_redis_does_not_answer_refuses_to_start_with_the_reason() {
    if !crate::helpers::on_postgres() {
        return;
    }
    let database = crate::helpers::TestDatabase::create().await;
    let mut config = crate::helpers::test_config(database.dir.clone(), database.url.clone());
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    config.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    let started = tokio::time::timeout(Duration::from_secs(15), server::startup::Application::build(config)).await.expect("gives up within 15 s");
    let refusal = started.err().expect("refuses to start").to_string();
    assert!(refusal.starts_with("HUDDLE_REDIS_URL: cannot reach Redis"), "{refusal}");
}
