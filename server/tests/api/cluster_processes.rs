//! Several nodes as real processes (the `huddle` binary) on PostgreSQL with a Redis of the
//! test's own and HAProxy (Debian's) in front: what happens when a node is killed, frozen or
//! restarted. Each tab first connects to its own node directly (so the test knows who is where),
//! and reconnects through HAProxy, as a browser would. The test signals only the processes it
//! started, by their PIDs. On SQLite these return at once (the PostgreSQL pass runs them).

use crate::chat::{create_room, join};
use crate::helpers::{Browser, RedisServer, TestDatabase, new_client_id, on_postgres};
use app::models::chat::ChatMessage;
use app::models::ws::{ClientMsg, RoomCursor, ServerMsg};
use futures::{SinkExt, StreamExt};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const SECRET: &str = "cluster-test-secret-0123456789abcdef";

/// One `huddle` process.
struct Node {
    addr: SocketAddr,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl Node {
    fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.pid().to_string()]).status().unwrap();
        assert!(status.success());
    }
}

struct Processes {
    nodes: Vec<Node>,
    /// HAProxy in front of the nodes: where a reconnecting tab goes.
    proxy: SocketAddr,
    haproxy: Option<Child>,
    database: TestDatabase,
    redis: RedisServer,
    _one_at_a_time: tokio::sync::MutexGuard<'static, ()>,
}

impl Processes {
    async fn start(n: usize) -> Option<Self> {
        if !on_postgres() {
            return None;
        }
        let turn = crate::helpers::one_server_at_a_time().await;
        let database = TestDatabase::create().await;
        let redis = RedisServer::start().await;
        let mut nodes = Vec::new();
        for i in 0..n {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let dir = database.dir.join(format!("node{i}"));
            nodes.push(Node { addr: SocketAddr::from(([127, 0, 0, 1], port)), dir, child: None });
        }
        let proxy = SocketAddr::from(([127, 0, 0, 1], std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()));
        let mut processes = Self { nodes, proxy, haproxy: None, database, redis, _one_at_a_time: turn };
        for i in 0..n {
            processes.launch(i).await;
        }
        processes.start_proxy().await;
        Some(processes)
    }

    /// HAProxy with the deploy guide's essentials, its checks quickened for a test: a node is
    /// out after two failed checks 500 ms apart, and a refused connection is tried elsewhere.
    async fn start_proxy(&mut self) {
        let mut config = format!(
            "defaults\n    mode http\n    timeout connect 1s\n    timeout client 60s\n    timeout server 60s\n    timeout tunnel 1h\n    timeout check 1s\n    retries 3\n    option redispatch\n\
             frontend huddle\n    bind {}\n    default_backend huddle\n\
             backend huddle\n    balance roundrobin\n    option httpchk GET /readyz\n    http-check expect status 200\n    default-server inter 500ms fall 2 rise 1\n",
            self.proxy
        );
        for (i, node) in self.nodes.iter().enumerate() {
            config.push_str(&format!("    server n{i} {} check\n", node.addr));
        }
        let path = self.database.dir.join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new("haproxy").arg("-db").arg("-f").arg(&path).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("haproxy starts (scripts/test.sh installs it)");
        self.haproxy = Some(child);
        until_ready(self.proxy, Duration::from_secs(10), "HAProxy").await;
    }

    /// Starts node `i` (again) and waits until it is ready.
    async fn launch(&mut self, i: usize) {
        let redis_url = self.redis.url();
        let node = &mut self.nodes[i];
        let child = Command::new(env!("CARGO_BIN_EXE_huddle"))
            .env_clear()
            .env("HUDDLE_ADDR", node.addr.to_string())
            .env("DATABASE_URL", &self.database.url)
            .env("HUDDLE_REDIS_URL", redis_url)
            .env("HUDDLE_JWT_SECRET", SECRET)
            .env("HUDDLE_DATA_DIR", &node.dir)
            .env("HUDDLE_SIGNUPS_PER_HOUR", "100000")
            .env("RUST_LOG", "warn")
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .spawn()
            .expect("huddle starts");
        node.child = Some(child);
        until_ready(node.addr, Duration::from_secs(20), &format!("node {i}")).await;
    }

    fn kill(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.signal("-KILL");
        let _ = node.child.take().expect("running").wait();
    }

    /// SIGTERM, and waits for the process to end (10 s at most, as it promises).
    async fn stop(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.signal("-TERM");
        let mut child = node.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(11);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "node {i} did not stop within 10 s of SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(|n| n.addr).collect()
    }

    /// Where a tab of node `i` connects: its node first, then (after losing it) HAProxy.
    fn routes(&self, i: usize) -> Vec<SocketAddr> {
        vec![self.nodes[i].addr, self.proxy]
    }

    async fn signed_up(&self, node: usize, username: &str) -> Browser {
        let mut b = Browser::new(self.nodes[node].addr, [127, 0, 0, 1]);
        let res = b.register(username).await;
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        b
    }

    /// The bodies of the room's stored messages, in seq order.
    async fn stored(&self, room: i64) -> Vec<(i64, String)> {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.database.url).await.unwrap();
        sqlx::query_as("select seq, client_id from messages where room_id = $1 order by seq").bind(room).fetch_all(&mut conn).await.unwrap()
    }
}

/// Waits until `/readyz` at `addr` answers 200, failing the test after `within`.
async fn until_ready(addr: SocketAddr, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(res) = reqwest::get(format!("http://{addr}/readyz")).await
            && res.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{what} did not become ready within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in self.nodes.iter_mut().map(|n| &mut n.child).chain(std::iter::once(&mut self.haproxy)) {
            if let Some(mut child) = child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// What a member's tab does: `messages` messages to `room`, one every `every`.
#[derive(Clone, Copy)]
struct Plan {
    room: i64,
    messages: usize,
    every: Duration,
}

/// What a member's tab saw.
#[derive(Default)]
struct Seen {
    /// The room's messages by seq, live or replayed (the newest version of each).
    history: BTreeMap<i64, ChatMessage>,
    /// The client ids the server acknowledged.
    acked: HashSet<String>,
    /// Presence changes seen, in order: (user, online).
    presence: Vec<(i64, bool)>,
    /// The nodes it was connected to, in order.
    nodes: Vec<SocketAddr>,
}

/// A browser tab as the real client behaves: one socket at a time, to the first of `routes`;
/// on a close, an error or 3 s of silence it reconnects (to the next route), syncs the room
/// from the newest change it has, and sends again what was not acknowledged (the same client
/// ids, so nothing is stored twice). Sends `messages` messages, one every `every`, then keeps
/// reading until `until` says stop.
async fn member(browser: Browser, nodes: Vec<SocketAddr>, plan: Plan, until: tokio::sync::watch::Receiver<bool>, seen: Arc<Mutex<Seen>>) {
    let Plan { room, messages, every } = plan;
    let mut node = 0;
    let mut unacked: Vec<(String, String)> = Vec::new();
    let mut sent = 0;
    let mut until = until;
    loop {
        if *until.borrow() {
            return;
        }
        let connected = tokio::time::timeout(Duration::from_secs(2), tokio_tungstenite::connect_async(browser.on(nodes[node]).socket_request(&format!("http://{}", nodes[node])))).await;
        let mut ws = match connected {
            Ok(Ok((ws, _))) => ws,
            _ => {
                node = (node + 1) % nodes.len();
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        seen.lock().unwrap().nodes.push(nodes[node]);
        let cursor = seen.lock().unwrap().history.values().map(|m| m.change).max().unwrap_or(0);
        let frame = |msg: &ClientMsg| WsMessage::text(serde_json::to_string(msg).unwrap());
        if ws.send(frame(&ClientMsg::Sync { rooms: vec![RoomCursor { room, after: cursor }] })).await.is_err() {
            continue;
        }
        for (client_id, body) in &unacked {
            let _ = ws.send(frame(&ClientMsg::Send { room, client_id: client_id.clone(), body: body.clone() })).await;
        }
        let mut next_send = Instant::now() + every;
        let mut last_heard = Instant::now();
        let mut next_ping = Instant::now() + Duration::from_secs(1);
        // Reads until the socket ends (then reconnects) or the test says stop.
        let lost = loop {
            let wake = next_send.min(next_ping).min(last_heard + Duration::from_secs(3));
            tokio::select! {
                incoming = ws.next() => {
                    let text = match incoming {
                        Some(Ok(WsMessage::Text(t))) => t,
                        Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break true,
                        Some(Ok(_)) => continue,
                    };
                    last_heard = Instant::now();
                    let more = {
                        let mut seen = seen.lock().unwrap();
                        match serde_json::from_str::<ServerMsg>(text.as_str()) {
                            Ok(ServerMsg::Message { message }) => keep(&mut seen.history, message),
                            Ok(ServerMsg::Replay { messages, complete, next, .. }) => {
                                for m in messages {
                                    keep(&mut seen.history, m);
                                }
                                if !complete {
                                    next
                                } else {
                                    None
                                }
                            }
                            Ok(ServerMsg::Ack { client_id, message }) => {
                                unacked.retain(|(c, _)| *c != client_id);
                                seen.acked.insert(client_id);
                                keep(&mut seen.history, message)
                            }
                            Ok(ServerMsg::Presence { user_id, online }) => {
                                seen.presence.push((user_id, online));
                                None
                            }
                            _ => None,
                        }
                    };
                    if let Some(after) = more {
                        let _ = ws.send(frame(&ClientMsg::Sync { rooms: vec![RoomCursor { room, after }] })).await;
                    }
                }
                _ = tokio::time::sleep_until(wake) => {
                    let now = Instant::now();
                    if now >= last_heard + Duration::from_secs(3) {
                        // Silent: the node is gone or frozen. Another one is tried.
                        break true;
                    }
                    if now >= next_ping {
                        next_ping = now + Duration::from_secs(1);
                        if ws.send(frame(&ClientMsg::Ping)).await.is_err() {
                            break true;
                        }
                    }
                    if now >= next_send && sent < messages {
                        let (client_id, body) = (new_client_id(), format!("{sent}"));
                        sent += 1;
                        unacked.push((client_id.clone(), body.clone()));
                        if ws.send(frame(&ClientMsg::Send { room, client_id, body })).await.is_err() {
                            break true;
                        }
                    }
                    if now >= next_send {
                        next_send = now + every;
                    }
                }
                _ = until.changed() => break false,
            }
        };
        if !lost {
            return;
        }
        node = (node + 1) % nodes.len();
    }
}

/// Keeps the newer version of a message (as the real client does); never asks for more.
fn keep(history: &mut BTreeMap<i64, ChatMessage>, message: ChatMessage) -> Option<i64> {
    match history.get(&message.seq) {
        Some(held) if held.change >= message.change => {}
        _ => {
            history.insert(message.seq, message);
        }
    }
    None
}

/// Everyone's history is the room's stored history, whole; every acknowledged message is
/// stored; nothing is stored twice.
async fn assert_nothing_lost(processes: &Processes, room: i64, seen: &[Arc<Mutex<Seen>>]) {
    let stored = processes.stored(room).await;
    let seqs: Vec<i64> = stored.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=stored.len() as i64).collect::<Vec<_>>(), "the room's history is contiguous");
    let ids: HashSet<&String> = stored.iter().map(|(_, c)| c).collect();
    assert_eq!(ids.len(), stored.len(), "nothing stored twice");
    for (i, seen) in seen.iter().enumerate() {
        let seen = seen.lock().unwrap();
        for acked in &seen.acked {
            assert!(ids.contains(acked), "member {i}: acknowledged {acked} is not stored");
        }
        let got: Vec<i64> = seen.history.keys().copied().collect();
        assert_eq!(got, seqs, "member {i} (on {:?}) has the whole history", seen.nodes);
    }
}

/// Waits until every member's history has `count` messages (20 s at most).
async fn settle(seen: &[Arc<Mutex<Seen>>], count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.iter().any(|s| s.lock().unwrap().history.len() < count) {
        if Instant::now() > deadline {
            let counts: Vec<usize> = seen.iter().map(|s| s.lock().unwrap().history.len()).collect();
            panic!("histories did not reach {count}: {counts:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_stream_loses_nothing_and_only_its_own_users_go_offline() {
    let Some(mut processes) = Processes::start(3).await else { return };
    let nodes = processes.addrs();
    // Ann on node 0, Ben on node 1, Cat on node 2 (she moves when it dies), Dan only ever on
    // node 2, and Obi watching presence from node 0.
    let mut people = Vec::new();
    for (i, name) in ["ann", "ben", "cat", "dan", "obi"].iter().enumerate() {
        people.push(processes.signed_up(i % 3, name).await);
    }
    let room = create_room(&mut people[0], "Stream").await;
    let (owner, rest) = people.split_at_mut(1);
    for b in rest {
        join(&mut owner[0], b, room).await;
    }
    let mut ids = Vec::new();
    for b in &mut people {
        ids.push(b.me().await["id"].as_i64().unwrap());
    }
    let (stop, until) = tokio::sync::watch::channel(false);
    let seen: Vec<Arc<Mutex<Seen>>> = (0..5).map(|_| Arc::default()).collect();
    let plans = [(0, 40), (1, 40), (2, 40), (2, 0), (0, 0)];
    let mut tasks = Vec::new();
    for (i, &(first, messages)) in plans.iter().enumerate() {
        let (browser, until, seen) = (people[i].on(nodes[first]), until.clone(), seen[i].clone());
        // Dan's tab knows only node 2: when it dies he is gone.
        let routes = if i == 3 { vec![nodes[2]] } else { processes.routes(first) };
        tasks.push(tokio::spawn(member(browser, routes, Plan { room, messages, every: Duration::from_millis(150) }, until, seen)));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let killed_at = Instant::now();
    processes.kill(2);
    // Dan goes offline within 15 s; nobody else ever does.
    let (dan, watcher) = (ids[3], seen[4].clone());
    loop {
        if watcher.lock().unwrap().presence.contains(&(dan, false)) {
            break;
        }
        assert!(killed_at.elapsed() < Duration::from_secs(15), "Dan still online 15 s after his node was killed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Everyone who sends has sent and been acknowledged everything.
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen[..3].iter().any(|s| s.lock().unwrap().acked.len() < 40) {
        assert!(Instant::now() < deadline, "not everything was acknowledged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let live: Vec<Arc<Mutex<Seen>>> = [0, 1, 2, 4].iter().map(|&i| seen[i].clone()).collect();
    settle(&live, 120).await;
    stop.send(true).unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    assert_nothing_lost(&processes, room, &live).await;
    let offline: Vec<i64> = seen[4].lock().unwrap().presence.iter().filter(|(_, online)| !online).map(|&(u, _)| u).collect();
    assert!(offline.iter().all(|&u| u == dan), "only Dan went offline: {offline:?} (ids {ids:?})");
    assert!(seen[2].lock().unwrap().nodes.contains(&processes.proxy), "Cat came back through HAProxy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_frozen_for_15_s_loses_nothing_and_rejoins() {
    let Some(processes) = Processes::start(2).await else { return };
    let nodes = processes.addrs();
    let mut people = [processes.signed_up(0, "ann").await, processes.signed_up(1, "ben").await];
    let room = create_room(&mut people[0], "Frozen").await;
    let (owner, rest) = people.split_at_mut(1);
    join(&mut owner[0], &mut rest[0], room).await;
    let (stop, until) = tokio::sync::watch::channel(false);
    let seen: Vec<Arc<Mutex<Seen>>> = (0..2).map(|_| Arc::default()).collect();
    let mut tasks = Vec::new();
    for i in 0..2 {
        let (browser, routes, until, seen) = (people[i].on(nodes[i]), processes.routes(i), until.clone(), seen[i].clone());
        tasks.push(tokio::spawn(member(browser, routes, Plan { room, messages: 30, every: Duration::from_millis(300) }, until, seen)));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    processes.nodes[1].signal("-STOP");
    tokio::time::sleep(Duration::from_secs(15)).await;
    processes.nodes[1].signal("-CONT");
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.iter().any(|s| s.lock().unwrap().acked.len() < 30) {
        assert!(Instant::now() < deadline, "not everything was acknowledged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    settle(&seen, 60).await;
    assert!(seen[1].lock().unwrap().nodes.contains(&processes.proxy), "Ben's tab moved off the frozen node, through HAProxy");

    // The node rejoined: a tab on it gets what is posted on the other node, live.
    let mut ben_back = people[1].on(nodes[1]).socket().await;
    let mut ann = people[0].on(nodes[0]).socket().await;
    let said = ann.say(room, "welcome back").await;
    assert_eq!(ben_back.message().await.id, said.id);
    settle(&seen, 61).await;
    stop.send(true).unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    assert_nothing_lost(&processes, room, &seen[..]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_loses_nothing_and_shows_nobody_offline() {
    let Some(mut processes) = Processes::start(3).await else { return };
    let nodes = processes.addrs();
    let mut people = Vec::new();
    for (i, name) in ["ann", "ben", "cat"].iter().enumerate() {
        people.push(processes.signed_up(i, name).await);
    }
    let room = create_room(&mut people[0], "Rolling").await;
    let (owner, rest) = people.split_at_mut(1);
    for b in rest {
        join(&mut owner[0], b, room).await;
    }
    let (stop, until) = tokio::sync::watch::channel(false);
    let seen: Vec<Arc<Mutex<Seen>>> = (0..3).map(|_| Arc::default()).collect();
    let mut tasks = Vec::new();
    for i in 0..3 {
        let (browser, routes, until, seen) = (people[i].on(nodes[i]), processes.routes(i), until.clone(), seen[i].clone());
        tasks.push(tokio::spawn(member(browser, routes, Plan { room, messages: 60, every: Duration::from_millis(200) }, until, seen)));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for i in 0..3 {
        processes.stop(i).await;
        processes.launch(i).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.iter().any(|s| s.lock().unwrap().acked.len() < 60) {
        assert!(Instant::now() < deadline, "not everything was acknowledged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    settle(&seen, 180).await;
    stop.send(true).unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    assert_nothing_lost(&processes, room, &seen).await;
    for (i, s) in seen.iter().enumerate() {
        let s = s.lock().unwrap();
        let offline: Vec<&(i64, bool)> = s.presence.iter().filter(|(_, online)| !online).collect();
        assert!(offline.is_empty(), "member {i} saw someone go offline: {offline:?}");
        assert!(s.nodes.contains(&processes.proxy), "member {i} reconnected through HAProxy after its node restarted: {:?}", s.nodes);
    }
}
