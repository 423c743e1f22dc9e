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
    tokio::time::sleep(Duration::from_millis(700)).await;
    near.send(&ClientMsg::Typing { room }).await;
    far.recv_where(|m| matches!(m, ServerMsg::Typing { room: r, .. } if r == room).then_some(())).await;
}
