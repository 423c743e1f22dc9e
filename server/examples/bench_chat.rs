//! Chat load generator: starts the release server on a fresh SQLite database, signs in users,
//! puts R rooms x N clients on real WebSockets, sends messages at a given rate, and prints one
//! JSON line per step: deliveries per second, end-to-end latency, messages missing or
//! duplicated, and the CPU and memory of the server and of this generator.
//!
//! `scripts/bench-chat.sh` runs the scenarios of docs/BENCHMARKS.md; by hand:
//! `cargo run -p server --release --example bench_chat -- load --rooms 10 --clients 50 --rate 2 --secs 20`
//!   (with `--reference`: the same load against `ref_broadcast`, a server that stores nothing,
//!   in the same run, first Huddle then the reference, each in a fresh process; `--rounds 3`
//!   alternates the two three times and ends with the median of each ratio)
//! `cargo run -p server --release --example bench_chat -- ramp --rooms 10 --clients 50`
//! `cargo run -p server --release --example bench_chat -- idle --sockets 10000 --users 100`
//! `cargo run -p server --release --example bench_chat -- big-frames --sockets 100 --bytes 1048576`
//! `cargo run -p server --release --example bench_chat -- signal --meetings 250 --peers 4 --candidates 20`
//! `cargo run -p server --release --example bench_chat -- cluster --rooms 10 --clients 50 --rate 2 --secs 20`
//!   (on PostgreSQL, `HUDDLE_BENCH_PG` or the local server: one node, then two nodes with a
//!   Redis of their own and HAProxy in front; needs psql, redis-server and haproxy)
//! `cargo run -p server --release --example bench_chat -- failover --rooms 10 --clients 20 --rate 5`
//!   (two nodes as above; every client behind HAProxy, one sender per room on the node that
//!   stays; `kill -9` of the other node, then the time until each of its clients is back and
//!   caught up, reconnecting as the browser does)

use app::models::ws::{ClientMsg, ServerMsg};
use futures::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSWORD: &str = "violet-otter-harbour-42";

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Args {
    mode: String,
    rooms: usize,
    clients: usize,
    rate: f64,
    secs: u64,
    sockets: usize,
    users: usize,
    bytes: usize,
    meetings: usize,
    peers: usize,
    candidates: usize,
    bin: String,
    /// Also drive the reference broadcast server (`server/examples/ref_broadcast.rs`).
    reference: bool,
    /// How many times to alternate Huddle and the reference.
    rounds: usize,
}

fn args() -> Args {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| raw.iter().position(|a| a == name).and_then(|i| raw.get(i + 1)).cloned();
    let num = |name: &str, default: f64| get(name).and_then(|v| v.parse::<f64>().ok()).unwrap_or(default);
    Args {
        mode: raw.first().cloned().unwrap_or_else(|| "load".into()),
        rooms: num("--rooms", 10.0) as usize,
        clients: num("--clients", 50.0) as usize,
        rate: num("--rate", 2.0),
        secs: num("--secs", 20.0) as u64,
        sockets: num("--sockets", 10_000.0) as usize,
        users: num("--users", 100.0) as usize,
        bytes: num("--bytes", 1_048_576.0) as usize,
        meetings: num("--meetings", 250.0) as usize,
        peers: num("--peers", 4.0) as usize,
        candidates: num("--candidates", 20.0) as usize,
        bin: get("--bin").unwrap_or_else(|| "target/release/huddle".into()),
        reference: raw.iter().any(|a| a == "--reference"),
        rounds: (num("--rounds", 1.0) as usize).max(1),
    }
}

/// The server under test, stopped (by its PID) on drop.
struct Server {
    child: Child,
    base: String,
    data: std::path::PathBuf,
    /// The reference broadcast server: no accounts, rooms joined by URL.
    reference: bool,
    /// More nodes of the same server (their CPU and memory count with the first's), and the
    /// Redis and HAProxy in front of them.
    others: Vec<Child>,
    redis: Option<Child>,
    proxy: Option<Child>,
    /// PostgreSQL databases made for the run (dropped with it).
    databases: Vec<String>,
    /// Where each node serves its metrics (cluster runs).
    metrics: Vec<String>,
    /// The first node's own address (cluster runs, where `base` is HAProxy's).
    first_node: Option<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    fn start(bin: &str) -> Server {
        let (child, base, data) = Self::node(bin, "", &[]);
        Server { child, base, data, reference: false, others: Vec::new(), redis: None, proxy: None, databases: Vec::new(), metrics: Vec::new(), first_node: None }
    }

    /// One node of the release server, with `env` added; its child, address and data folder.
    fn node(bin: &str, name: &str, env: &[(&str, String)]) -> (Child, String, std::path::PathBuf) {
        let port = free_port();
        let data = std::env::temp_dir().join(format!("huddle-bench-chat-{}{name}", std::process::id()));
        std::fs::create_dir_all(&data).unwrap();
        let child = Command::new(bin)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("HUDDLE_ADDR", format!("127.0.0.1:{port}"))
            .env("HUDDLE_DATA_DIR", &data)
            .env("RUST_LOG", "warn")
            // One machine plays every client: lift the per-address and per-user caps.
            .env("HUDDLE_SIGNUPS_PER_HOUR", "1000000")
            .env("HUDDLE_WS_PER_IP", "1000000")
            .env("HUDDLE_WS_MAX", "1000000")
            .env("HUDDLE_WS_PER_USER", "10000")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (build it: cargo build -p server --release)"));
        (child, format!("127.0.0.1:{port}"), data)
    }

    /// `nodes` nodes on a new PostgreSQL database of `pg` (the server at `pg`); with more than
    /// one, a Redis of the run's own between them and HAProxy in front (`base` is HAProxy's).
    fn cluster(bin: &str, pg: &str, nodes: usize) -> Server {
        let database = format!("huddle_bench_{}_{nodes}", std::process::id());
        let created = Command::new("psql").args([&format!("{pg}/postgres"), "-qc", &format!("create database {database}")]).status();
        assert!(created.is_ok_and(|s| s.success()), "cannot create database {database} with psql at {pg}");
        let mut env = vec![("DATABASE_URL", format!("{pg}/{database}")), ("HUDDLE_JWT_SECRET", "bench-secret-0123456789abcdef0123456789".to_string())];
        let mut redis = None;
        if nodes > 1 {
            let port = free_port();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server (scripts/bench-chat.sh installs it)");
            redis = Some(child);
            env.push(("HUDDLE_REDIS_URL", format!("redis://127.0.0.1:{port}")));
            std::thread::sleep(Duration::from_millis(300));
        }
        let mut metrics = Vec::new();
        let mut started: Vec<(Child, String, std::path::PathBuf)> = (0..nodes)
            .map(|i| {
                let addr = format!("127.0.0.1:{}", free_port());
                metrics.push(addr.clone());
                let mut env = env.clone();
                env.push(("HUDDLE_METRICS_ADDR", addr));
                Self::node(bin, &format!("-n{i}"), &env)
            })
            .collect();
        let (child, base, data) = started.remove(0);
        let first_node = Some(base.clone());
        let mut server = Server { child, base, data, reference: false, others: Vec::new(), redis, proxy: None, databases: vec![format!("{pg}|{database}")], metrics, first_node };
        if nodes > 1 {
            let port = free_port();
            let mut config = format!(
                "defaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n    timeout tunnel 1h\n\
                 frontend huddle\n    bind 127.0.0.1:{port}\n    default_backend huddle\n\
                 backend huddle\n    balance roundrobin\n    option httpchk GET /readyz\n    option redispatch\n    retries 3\n\
                 default-server check inter 1s fall 2 rise 2\n    server n0 {}\n",
                server.base
            );
            for (i, (child, base, _)) in started.into_iter().enumerate() {
                config.push_str(&format!("    server n{} {base}\n", i + 1));
                server.others.push(child);
            }
            let path = std::env::temp_dir().join(format!("huddle-bench-haproxy-{}.cfg", std::process::id()));
            std::fs::write(&path, config).unwrap();
            let proxy = Command::new("haproxy").args(["-db", "-f"]).arg(&path).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("haproxy (scripts/bench-chat.sh installs it)");
            server.proxy = Some(proxy);
            server.base = format!("127.0.0.1:{port}");
        }
        server
    }

    /// `kill -9` of the second node (by its PID).
    fn kill_other(&mut self) {
        if let Some(node) = self.others.first_mut() {
            let _ = node.kill();
            let _ = node.wait();
        }
    }

    /// The sum over the nodes of a counter they export (gap fills, say).
    async fn counter(&self, name: &str) -> f64 {
        let mut sum = 0.0;
        for addr in &self.metrics {
            let Ok(res) = reqwest::get(format!("http://{addr}/metrics")).await else { continue };
            let text = res.text().await.unwrap_or_default();
            sum += text.lines().filter(|l| l.starts_with(name)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum::<f64>();
        }
        sum
    }

    /// CPU seconds of the Redis between the nodes, if there is one.
    fn redis_cpu(&self) -> Option<f64> {
        self.redis.as_ref().map(|r| proc_usage(&r.id().to_string()).0)
    }

    /// The reference server, built beside this example.
    fn start_reference() -> Server {
        let bin = std::env::current_exe().unwrap().with_file_name("ref_broadcast");
        let port = free_port();
        let child = Command::new(&bin)
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e} (cargo build -p server --release --example ref_broadcast)", bin.display()));
        Server {
            child,
            base: format!("127.0.0.1:{port}"),
            data: std::env::temp_dir().join("ref-broadcast-nothing"),
            reference: true,
            others: Vec::new(),
            redis: None,
            proxy: None,
            databases: Vec::new(),
            metrics: Vec::new(),
            first_node: None,
        }
    }

    async fn wait_ready(&self) {
        for _ in 0..100 {
            let up = if self.reference {
                tokio::net::TcpStream::connect(&self.base).await.is_ok()
            } else {
                reqwest::get(format!("http://{}/readyz", self.base)).await.is_ok_and(|r| r.status().is_success())
            };
            if up {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server at {} did not come up", self.base);
    }

    /// (CPU seconds, resident MiB) from /proc, of every node.
    fn usage(&self) -> (f64, f64) {
        std::iter::once(&self.child).chain(&self.others).map(|c| proc_usage(&c.id().to_string())).fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for child in std::iter::once(&mut self.child).chain(&mut self.others).chain(&mut self.redis).chain(&mut self.proxy) {
            let _ = child.kill();
            let _ = child.wait();
        }
        for pg_and_name in &self.databases {
            if let Some((pg, name)) = pg_and_name.split_once('|') {
                let _ = Command::new("psql").args([&format!("{pg}/postgres"), "-qc", &format!("drop database if exists {name} with (force)")]).status();
            }
        }
        if !self.reference {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}

fn proc_usage(pid: &str) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    (ticks / 100.0, rss_kib / 1024.0)
}

/// A signed-in user: the cookie header its sockets present.
async fn sign_up(http: &reqwest::Client, base: &str, name: &str) -> String {
    let form = [("name", name), ("username", name), ("email", &format!("{name}@example.org")), ("password", PASSWORD)];
    let res = http.post(format!("http://{base}/api/register")).form(&form).send().await.expect("register");
    assert!(res.status().is_success(), "register {name}: {}", res.status());
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn call(http: &reqwest::Client, base: &str, cookie: &str, endpoint: &str, form: &[(&str, &str)]) -> String {
    let res = http
        .post(format!("http://{base}/api/{endpoint}"))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .expect(endpoint);
    assert!(res.status().is_success(), "{endpoint}: {}", res.status());
    res.text().await.unwrap()
}

async fn connect(base: &str, cookie: &str) -> Ws {
    let mut req = format!("ws://{base}/ws").into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    open(req).await
}

/// A client socket's settings. tungstenite zeroes its whole read buffer before every read (128
/// KiB by default): a third of the generator's CPU went to that memset, on the cores the server
/// under test shares.
fn client_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096)
}

async fn open(req: tokio_tungstenite::tungstenite::handshake::client::Request) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(client_config()), true).await.expect("socket");
    // The welcome frame.
    ws.next().await.expect("welcome").expect("welcome");
    ws
}

/// A client's way in: Huddle's sockets present a session cookie; the reference's name their room.
fn join_reference(base: &str, room: i64) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    format!("ws://{base}/ws?room={room}").into_client_request().unwrap()
}

/// R rooms of N clients for the reference server (nobody signs in).
fn reference_rooms(rooms: usize, clients: usize) -> Vec<(i64, Vec<String>)> {
    (1..=rooms as i64).map(|r| (r, vec![String::new(); clients])).collect()
}

/// R rooms of N signed-in members each; returns (room id, cookies of its members).
async fn populate(base: &str, rooms: usize, clients: usize) -> Vec<(i64, Vec<String>)> {
    let http = reqwest::Client::new();
    let run = std::process::id();
    let mut out = Vec::new();
    for r in 0..rooms {
        let mut cookies = Vec::new();
        let names: Vec<String> = (0..clients).map(|c| format!("b{run}r{r}c{c}")).collect();
        // Registration hashes a password: a few at a time keep both cores busy.
        for chunk in names.chunks(8) {
            cookies.extend(futures::future::join_all(chunk.iter().map(|n| sign_up(&http, base, n))).await);
        }
        let room: i64 = call(&http, base, &cookies[0], "create_room", &[("name", &format!("Bench {r}")), ("topic", ""), ("visibility", "public")])
            .await
            .parse()
            .unwrap();
        for c in &cookies[1..] {
            call(&http, base, c, "join_room", &[("room", &room.to_string())]).await;
        }
        eprintln!("room {r}: {} members", cookies.len());
        out.push((room, cookies));
    }
    out
}

/// What every receiver saw, merged.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    deliveries: u64,
    duplicates: u64,
}

fn micros_since(epoch: Instant) -> u64 {
    epoch.elapsed().as_micros() as u64
}

/// The part of a server frame the receivers read.
#[derive(serde::Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    message: Option<FrameMessage<'a>>,
}

#[derive(serde::Deserialize)]
struct FrameMessage<'a> {
    seq: i64,
    body: &'a str,
}

/// How late this generator's own tasks run: every 5 ms a probe yields to the scheduler and
/// measures how long it waited to run again (the queue of ready tasks ahead of it, and the
/// threads' time off the CPU). Large figures here mean the latencies include the generator.
async fn probe_lag(stop: Arc<AtomicU64>) -> Vec<u64> {
    let mut lags = Vec::new();
    while stop.load(Ordering::Acquire) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let t = Instant::now();
        tokio::task::yield_now().await;
        lags.push(t.elapsed().as_micros() as u64);
    }
    lags
}

/// Reads one socket until told to stop: latency of each message from its timestamp, and
/// duplicates by position.
async fn receive(mut stream: futures::stream::SplitStream<Ws>, epoch: Instant, tally: Arc<Mutex<Tally>>, stop: Arc<AtomicU64>) {
    let mut seen: HashMap<i64, ()> = HashMap::new();
    let (mut latencies, mut deliveries, mut duplicates) = (Vec::new(), 0u64, 0u64);
    loop {
        let next = tokio::time::timeout(Duration::from_millis(200), stream.next()).await;
        match next {
            Ok(Some(Ok(Message::Text(t)))) => {
                // Read the clock first, and parse only what is measured: the generator's own
                // work should neither add to the latency nor take CPU from the server.
                let now = micros_since(epoch);
                if let Ok(Frame { kind: "message", message: Some(message) }) = serde_json::from_str::<Frame>(t.as_str()) {
                    let sent: u64 = message.body.rsplit(':').next().and_then(|v| v.parse().ok()).unwrap_or(0);
                    latencies.push(now.saturating_sub(sent));
                    deliveries += 1;
                    if seen.insert(message.seq, ()).is_some() {
                        duplicates += 1;
                    }
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => break,
            Err(_) if stop.load(Ordering::Acquire) == 1 => break,
            Err(_) => {}
        }
    }
    let mut t = tally.lock().unwrap();
    t.latencies_us.extend(latencies);
    t.deliveries += deliveries;
    t.duplicates += duplicates;
}

/// Sends at `rate` messages a second for `secs`; counts the acks.
async fn send(mut sink: futures::stream::SplitSink<Ws, Message>, room: i64, rate: f64, secs: u64, epoch: Instant, sent: Arc<AtomicU64>) {
    let period = Duration::from_secs_f64(1.0 / rate);
    // Spread the clients over the first period so they do not all send at once.
    tokio::time::sleep(period.mul_f64(rand_unit())).await;
    let mut tick = tokio::time::interval(period);
    let end = Instant::now() + Duration::from_secs(secs);
    let mut n = 0u64;
    while Instant::now() < end {
        tick.tick().await;
        n += 1;
        let client_id = format!("{:08x}-0000-4000-8000-{:012x}", rand_u32(), n);
        let body = format!("bench:{n}:{}", micros_since(epoch));
        let frame = serde_json::to_string(&ClientMsg::Send { room, client_id, body }).unwrap();
        if sink.send(Message::text(frame)).await.is_err() {
            break;
        }
        sent.fetch_add(1, Ordering::Relaxed);
    }
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(micros_since(*START.get_or_init(Instant::now)));
    h.finish() as u32
}

fn rand_unit() -> f64 {
    rand_u32() as f64 / u32::MAX as f64
}

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// One run of `rate` messages a second per client; returns the JSON line and the p99 in ms.
async fn load(server: &Server, rooms: &[(i64, Vec<String>)], rate: f64, secs: u64, label: &str) -> (String, f64) {
    let epoch = Instant::now();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    let mut readers = Vec::new();
    for (room, cookies) in rooms {
        for cookie in cookies {
            let ws = if server.reference { open(join_reference(&server.base, *room)).await } else { connect(&server.base, cookie).await };
            let (sink, stream) = ws.split();
            readers.push(tokio::spawn(receive(stream, epoch, tally.clone(), stop.clone())));
            senders.push((sink, *room));
        }
    }
    eprintln!("{} sockets open, sending", readers.len());
    let (cpu0, _) = server.usage();
    let redis0 = server.redis_cpu();
    let (own0, _) = proc_usage("self");
    let started = Instant::now();
    let lag_stop = Arc::new(AtomicU64::new(0));
    let lag = tokio::spawn(probe_lag(lag_stop.clone()));
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|(sink, room)| tokio::spawn(send(sink, room, rate, secs, epoch, sent.clone())))
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    // Let the last messages arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = started.elapsed().as_secs_f64() - 2.0;
    let (cpu1, rss) = server.usage();
    let redis_cpu = server.redis_cpu().zip(redis0).map(|(after, before)| after - before);
    let (own1, _) = proc_usage("self");
    lag_stop.store(1, Ordering::Release);
    let mut lag = lag.await.unwrap_or_default();
    lag.sort_unstable();
    stop.store(1, Ordering::Release);
    for r in readers {
        let _ = r.await;
    }
    let mut t = std::mem::take(&mut *tally.lock().unwrap());
    t.latencies_us.sort_unstable();
    let sent = sent.load(Ordering::Relaxed);
    let members = rooms.first().map_or(0, |r| r.1.len()) as u64;
    let expected = sent * members;
    let missing = expected.saturating_sub(t.deliveries - t.duplicates);
    let server_cpu = cpu1 - cpu0;
    let p99 = percentile(&t.latencies_us, 0.99);
    let line = format!(
        concat!(
            r#"{{"scenario":"{}","rooms":{},"clients_per_room":{},"rate_per_client":{},"secs":{:.1},"sent":{},"#,
            r#""deliveries":{},"deliveries_per_s":{:.0},"latency_ms":{{"p50":{:.2},"p95":{:.2},"p99":{:.2},"max":{:.2}}},"#,
            r#""missing":{},"duplicated":{},"server_cpu_s":{:.2},"server_cpu_us_per_delivery":{:.2},"server_rss_mib":{:.1},"loadgen_cpu_s":{:.2},"#,
            r#""loadgen_lag_ms":{{"p50":{:.3},"p99":{:.3},"max":{:.3}}},"redis_cpu_s":{}}}"#
        ),
        if server.reference { format!("{label}/reference") } else { label.to_string() },
        rooms.len(),
        members,
        rate,
        elapsed,
        sent,
        t.deliveries,
        t.deliveries as f64 / elapsed,
        percentile(&t.latencies_us, 0.50),
        percentile(&t.latencies_us, 0.95),
        p99,
        t.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
        missing,
        t.duplicates,
        server_cpu,
        server_cpu * 1e6 / t.deliveries.max(1) as f64,
        rss,
        own1 - own0,
        percentile(&lag, 0.50),
        percentile(&lag, 0.99),
        percentile(&lag, 1.0),
        redis_cpu.map_or("null".to_string(), |cpu| format!("{cpu:.2}")),
    );
    (line, p99)
}

/// Opens `n` authenticated sockets of `users` users (all in one room) that stay idle; prints
/// the server's memory per socket.
async fn idle(server: &Server, n: usize, users: usize) -> String {
    let users = populate(&server.base, 1, users).await;
    let cookies = &users[0].1;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, before) = server.usage();
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        sockets.push(connect(&server.base, &cookies[i % cookies.len()]).await);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, after) = server.usage();
    let per_socket_kib = (after - before) * 1024.0 / n as f64;
    format!(
        r#"{{"scenario":"idle","sockets":{n},"server_rss_before_mib":{before:.1},"server_rss_after_mib":{after:.1},"kib_per_socket":{per_socket_kib:.2}}}"#
    )
}

/// Opens `n` sockets that each send one frame of `bytes` and then stay; prints how many the
/// server closed and what the survivors cost it in memory. A refused frame must leave nothing
/// behind: a closed socket costs nothing, a kept one no more than an idle one.
async fn big_frames(server: &Server, n: usize, bytes: usize, users: usize) -> String {
    let users = populate(&server.base, 1, users).await;
    let cookies = &users[0].1;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, before) = server.usage();
    let frame = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(bytes.saturating_sub(24)));
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        let mut ws = connect(&server.base, &cookies[i % cookies.len()]).await;
        let _ = ws.send(Message::text(frame.clone())).await;
        sockets.push(ws);
    }
    // Read whatever each socket is told until it closes or a second of quiet passes.
    let mut closed = 0;
    for ws in &mut sockets {
        loop {
            match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => {
                    closed += 1;
                    break;
                }
                Ok(Some(Ok(_))) => continue,
                Err(_) => break,
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, after) = server.usage();
    let per_socket_kib = (after - before) * 1024.0 / n as f64;
    format!(
        r#"{{"scenario":"big_frames","sockets":{n},"frame_bytes":{bytes},"closed_by_server":{closed},"server_rss_before_mib":{before:.1},"server_rss_after_mib":{after:.1},"kib_per_socket":{per_socket_kib:.2}}}"#
    )
}

/// `meetings` calls of `peers` seats each over real sockets: every pair exchanges an offer, an
/// answer and `candidates` ICE candidates each way, as a browser's setup does. Prints the relay
/// latency (sender's write to addressee's read), the server's CPU per relayed signal, and its
/// memory per seat.
async fn signal(server: &Server, meetings: usize, peers: usize, candidates: usize) -> String {
    use app::models::meeting::Signal;
    // One user per 20 seats: a user may hold seats from several tabs.
    let users = populate(&server.base, 1, (meetings * peers).div_ceil(20).max(1)).await;
    let cookies = users[0].1.clone();
    let http = reqwest::Client::new();
    let mut codes = Vec::with_capacity(meetings);
    for m in 0..meetings {
        let code: String = serde_json::from_str(&call(&http, &server.base, &cookies[m % cookies.len()], "start_meeting", &[]).await).unwrap();
        codes.push(code);
    }
    let mut tabs = Vec::with_capacity(meetings * peers);
    for i in 0..meetings * peers {
        tabs.push(connect(&server.base, &cookies[i % cookies.len()]).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, rss_before) = server.usage();
    // Take the seats: meeting m gets tabs m*peers .. (m+1)*peers.
    let mut seats = vec![0u64; tabs.len()];
    for (i, ws) in tabs.iter_mut().enumerate() {
        let join = ClientMsg::CallJoin { code: codes[i / peers].clone(), resume: None, fresh: false };
        ws.send(Message::text(serde_json::to_string(&join).unwrap())).await.unwrap();
        loop {
            let Some(Ok(Message::Text(t))) = ws.next().await else { panic!("socket closed while joining") };
            match serde_json::from_str::<ServerMsg>(t.as_str()) {
                Ok(ServerMsg::CallJoined { seat, .. }) => {
                    seats[i] = seat;
                    break;
                }
                Ok(ServerMsg::Error { message, .. }) => panic!("join refused: {message}"),
                _ => {}
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (cpu_before, rss_joined) = server.usage();
    // A realistic offer is 4-6 KB of SDP.
    let sdp_body = "a=candidate-free line of a realistic offer\r\n".repeat(110);
    let epoch = Instant::now();
    let per_tab = (peers - 1) * (1 + candidates);
    let expected = (tabs.len() * per_tab) as u64;
    let tally = Arc::new(Mutex::new(Vec::<u64>::with_capacity(expected as usize)));
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for (i, ws) in tabs.into_iter().enumerate() {
        let (mut sink, mut stream) = ws.split();
        let tally = tally.clone();
        readers.push(tokio::spawn(async move {
            let mut got = Vec::with_capacity(per_tab);
            while got.len() < per_tab {
                match tokio::time::timeout(Duration::from_secs(20), stream.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => {
                        if let Ok(ServerMsg::CallSignal { signal, .. }) = serde_json::from_str::<ServerMsg>(t.as_str()) {
                            let text = match &signal {
                                Signal::Description { sdp, .. } => sdp.as_str(),
                                Signal::Candidate { candidate, .. } => candidate.as_str(),
                            };
                            let sent: u64 = text.rsplit("t=").next().and_then(|v| v.trim().parse().ok()).unwrap_or(0);
                            got.push(micros_since(epoch).saturating_sub(sent));
                        }
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            tally.lock().unwrap().extend(got);
        }));
        let meeting = i / peers;
        let others: Vec<u64> = (meeting * peers..(meeting + 1) * peers).filter(|j| *j != i).map(|j| seats[j]).collect();
        let sdp_body = sdp_body.clone();
        writers.push(tokio::spawn(async move {
            // Joins spread over a second; a browser trickles a candidate every few milliseconds.
            tokio::time::sleep(Duration::from_millis((rand_unit() * 1000.0) as u64)).await;
            for to in others {
                let kind = if rand_unit() < 0.5 { "offer" } else { "answer" };
                let frames = std::iter::once(Signal::Description { sdp_type: kind.into(), sdp: format!("v=0\r\n{sdp_body}t={}", micros_since(epoch)) })
                    .chain((0..candidates).map(|c| Signal::Candidate {
                        candidate: format!("candidate:{c} 1 udp 2122260223 127.0.0.1 {} typ host t={}", 40000 + c, micros_since(epoch)),
                        sdp_mid: Some("0".into()),
                        sdp_m_line_index: Some(0),
                    }));
                for signal in frames {
                    let frame = serde_json::to_string(&ClientMsg::CallSignal { to, signal }).unwrap();
                    if sink.send(Message::text(frame)).await.is_err() {
                        return sink;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            sink
        }));
    }
    let sinks = futures::future::join_all(writers).await;
    futures::future::join_all(readers).await;
    let elapsed = epoch.elapsed().as_secs_f64();
    let (cpu_after, _) = server.usage();
    drop(sinks);
    let mut lat = std::mem::take(&mut *tally.lock().unwrap());
    lat.sort_unstable();
    let relayed = lat.len() as u64;
    let cpu_us = (cpu_after - cpu_before) * 1e6 / relayed.max(1) as f64;
    let seat_kib = (rss_joined - rss_before) * 1024.0 / (meetings * peers) as f64;
    format!(
        r#"{{"scenario":"signal","meetings":{meetings},"peers":{peers},"candidates_per_pair_way":{candidates},"expected":{expected},"relayed":{relayed},"secs":{elapsed:.2},"p50_ms":{:.2},"p99_ms":{:.2},"max_ms":{:.2},"server_cpu_us_per_signal":{cpu_us:.1},"server_kib_per_seat":{seat_kib:.2}}}"#,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
    )
}

#[tokio::main]
async fn main() {
    START.get_or_init(Instant::now);
    let a = args();
    if a.mode == "load" && a.reference {
        // The same load against Huddle, then against the reference, each in a fresh process,
        // alternated: this machine's figures move 10-20 % from run to run, so one pair proves
        // little and the medians of several are what docs/BENCHMARKS.md reports.
        let mut rounds = Vec::with_capacity(a.rounds);
        for _ in 0..a.rounds {
            let huddle = run_load(Server::start(&a.bin), &a).await;
            println!("{huddle}");
            let reference = run_load(Server::start_reference(), &a).await;
            println!("{reference}");
            let ratio = ratios(&huddle, &reference);
            println!("{}", ratios_line("load/huddle-over-reference", &ratio, 1));
            rounds.push(ratio);
        }
        if rounds.len() > 1 {
            let median = std::array::from_fn(|i| median(rounds.iter().map(|r| r[i]).collect()));
            println!("{}", ratios_line("load/huddle-over-reference/median", &median, rounds.len()));
        }
        return;
    }
    if a.mode == "failover" {
        let pg = std::env::var("HUDDLE_BENCH_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let server = Server::cluster(&a.bin, &pg, 2);
        server.wait_ready().await;
        let rooms = populate(&server.base, a.rooms, a.clients).await;
        println!("{}", failover(server, &rooms, a.rate).await);
        return;
    }
    if a.mode == "cluster" {
        // The same load on one node, then spread over two through HAProxy, both on PostgreSQL.
        let pg = std::env::var("HUDDLE_BENCH_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        for nodes in [1, 2] {
            let server = Server::cluster(&a.bin, &pg, nodes);
            server.wait_ready().await;
            let rooms = populate(&server.base, a.rooms, a.clients).await;
            let line = load(&server, &rooms, a.rate, a.secs, "load").await.0;
            let (fills, filled) = (server.counter("huddle_gap_fills_total").await, server.counter("huddle_gap_filled_changes_total").await);
            let line = line.replacen(r#""scenario":"load""#, &format!(r#""scenario":"load/postgres-{nodes}-node""#), 1);
            println!("{},\"gap_fills\":{fills},\"gap_filled_changes\":{filled}}}", line.trim_end_matches('}'));
        }
        return;
    }
    let server = Server::start(&a.bin);
    server.wait_ready().await;
    match a.mode.as_str() {
        "idle" => println!("{}", idle(&server, a.sockets, a.users).await),
        "big-frames" => println!("{}", big_frames(&server, a.sockets, a.bytes, a.users).await),
        "signal" => println!("{}", signal(&server, a.meetings, a.peers, a.candidates).await),
        "ramp" => {
            let rooms = populate(&server.base, a.rooms, a.clients).await;
            for rate in [1.0, 2.0, 4.0, 6.0, 8.0, 10.0] {
                let (line, p99) = load(&server, &rooms, rate, a.secs.min(10), "ramp").await;
                println!("{line}");
                if p99 > 100.0 {
                    break;
                }
            }
        }
        _ => println!("{}", run_load(server, &a).await),
    }
}

/// One client's view of its room, across reconnects.
#[derive(Default)]
struct Seen {
    /// Every seq received (live or replayed), and how often live.
    seqs: HashMap<i64, u32>,
    /// Seqs received both live and in a replay (the client merges them by id).
    overlaps: u64,
    /// The highest change received: the cursor to sync from after a reconnect.
    cursor: i64,
    /// When its socket closed, and when it was open again.
    dropped: Option<Instant>,
    back: Option<Instant>,
    /// The first seq it received live after being back.
    live_after_back: Option<i64>,
}

impl Seen {
    fn take(&mut self, message: &app::models::chat::ChatMessage, live: bool) {
        let times = self.seqs.entry(message.seq).or_default();
        match (live, *times) {
            (true, _) => *times += 1,
            (false, 0) => {}
            (false, _) => self.overlaps += 1,
        }
        self.cursor = self.cursor.max(message.change);
    }
}

/// A receiving client that reconnects as the browser does (a random 250-500 ms, doubling up to
/// 10 s) and syncs from its cursor; runs until `stop`.
async fn follow(base: String, cookie: String, room: i64, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicU64>) {
    let mut backoff_ms = 500u64;
    while stop.load(Ordering::Relaxed) == 0 {
        let mut req = format!("ws://{base}/ws").into_client_request().unwrap();
        req.headers_mut().insert("cookie", cookie.parse().unwrap());
        let Ok((mut ws, _)) = tokio_tungstenite::connect_async_with_config(req, Some(client_config()), true).await else {
            tokio::time::sleep(Duration::from_millis(backoff_ms / 2 + rand_u32() as u64 % (backoff_ms / 2))).await;
            backoff_ms = (backoff_ms * 2).min(10_000);
            continue;
        };
        let (reconnected, cursor) = {
            let s = seen.lock().unwrap();
            (s.dropped.is_some(), s.cursor)
        };
        if reconnected {
            let sync = ClientMsg::Sync { rooms: vec![app::models::ws::RoomCursor { room, after: cursor }] };
            if ws.send(Message::text(serde_json::to_string(&sync).unwrap())).await.is_err() {
                continue;
            }
        }
        while let Some(Ok(frame)) = tokio::select! { f = ws.next() => f, _ = tokio::time::sleep(Duration::from_millis(200)) => Some(Ok(Message::Pong(Default::default()))) } {
            if stop.load(Ordering::Relaxed) != 0 {
                return;
            }
            let Message::Text(text) = frame else { continue };
            let Ok(msg) = serde_json::from_str::<ServerMsg>(text.as_str()) else { continue };
            let again = {
                let mut s = seen.lock().unwrap();
                match msg {
                    ServerMsg::Welcome { .. } => {
                        backoff_ms = 500;
                        if reconnected && s.back.is_none() {
                            s.back = Some(Instant::now());
                        }
                        None
                    }
                    ServerMsg::Message { message } => {
                        s.take(&message, true);
                        if s.back.is_some() && s.live_after_back.is_none() {
                            s.live_after_back = Some(message.seq);
                        }
                        None
                    }
                    ServerMsg::Replay { messages, complete, next, .. } => {
                        for message in &messages {
                            s.take(message, false);
                        }
                        next.filter(|_| !complete)
                    }
                    _ => None,
                }
            };
            if let Some(next) = again {
                let sync = ClientMsg::Sync { rooms: vec![app::models::ws::RoomCursor { room, after: next }] };
                let _ = ws.send(Message::text(serde_json::to_string(&sync).unwrap())).await;
            }
        }
        if stop.load(Ordering::Relaxed) != 0 {
            return;
        }
        seen.lock().unwrap().dropped.get_or_insert_with(Instant::now);
        tokio::time::sleep(Duration::from_millis(backoff_ms / 2 + rand_u32() as u64 % (backoff_ms / 2))).await;
        backoff_ms = (backoff_ms * 2).min(10_000);
    }
}

/// Two nodes behind HAProxy, every client connected through it; one sender per room on node 0
/// at `rate` a second; after 5 s node 1 is killed (`kill -9`). Reports, for the clients that
/// were on it, how long until each was back and had every message acked before the kill plus
/// a live one after, and whether anyone missed a message or got one live twice (a message
/// both replayed and delivered live around a reconnect is merged by id, as the browser does,
/// and counted apart).
async fn failover(mut server: Server, rooms: &[(i64, Vec<String>)], rate: f64) -> String {
    let stop = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for (room, cookies) in rooms {
        for cookie in &cookies[1..] {
            let seen = Arc::new(Mutex::new(Seen::default()));
            tokio::spawn(follow(server.base.clone(), cookie.clone(), *room, seen.clone(), stop.clone()));
            clients.push((*room, seen));
        }
    }
    // The senders post on the node that stays (node 0, not through HAProxy).
    let node0 = server.first_node.clone().expect("a cluster run");
    let acked: Arc<Mutex<HashMap<i64, i64>>> = Arc::default();
    let mut senders = Vec::new();
    for (room, cookies) in rooms {
        let (mut sink, mut stream) = connect(&node0, &cookies[0]).await.split();
        let (room, acked, stop) = (*room, acked.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            let mut n = 0u64;
            let every = Duration::from_secs_f64(1.0 / rate);
            loop {
                if stop.load(Ordering::Relaxed) != 0 {
                    return;
                }
                n += 1;
                let client_id = format!("{:08x}-0000-4000-8000-{:012x}", rand_u32(), n);
                let frame = ClientMsg::Send { room, client_id, body: format!("{n}") };
                if sink.send(Message::text(serde_json::to_string(&frame).unwrap())).await.is_err() {
                    return;
                }
                let deadline = tokio::time::Instant::now() + every;
                while let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout_at(deadline, stream.next()).await {
                    if let Ok(ServerMsg::Ack { message, .. }) = serde_json::from_str::<ServerMsg>(text.as_str()) {
                        let mut acked = acked.lock().unwrap();
                        let seq = acked.entry(room).or_default();
                        *seq = (*seq).max(message.seq);
                    }
                }
                tokio::time::sleep_until(deadline).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Every client's first seq: where its history in this run starts.
    let first: Vec<i64> = clients.iter().map(|(_, s)| s.lock().unwrap().seqs.keys().copied().min().unwrap_or(1)).collect();
    let killed_at = Instant::now();
    let acked_at_kill: HashMap<i64, i64> = acked.lock().unwrap().clone();
    server.kill_other();
    // Up to 30 s for everyone to be back and caught up.
    let done = |i: usize, room: i64, s: &Seen| {
        let last = acked_at_kill.get(&room).copied().unwrap_or(0);
        s.live_after_back.is_some() && (first[i]..=last).all(|seq| s.seqs.contains_key(&seq))
    };
    let mut recovered: HashMap<usize, u64> = HashMap::new();
    for _ in 0..3000 {
        for (i, (room, seen)) in clients.iter().enumerate() {
            let s = seen.lock().unwrap();
            if s.dropped.is_some() && !recovered.contains_key(&i) && done(i, *room, &s) {
                recovered.insert(i, killed_at.elapsed().as_micros() as u64);
            }
        }
        let dropped = clients.iter().filter(|(_, s)| s.lock().unwrap().dropped.is_some()).count();
        if dropped > 0 && recovered.len() == dropped && killed_at.elapsed() > Duration::from_secs(3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Two more seconds of traffic, then every client must hold every acked message once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(1, Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acked_final = acked.lock().unwrap().clone();
    let (mut missing, mut duplicated, mut overlaps) = (0u64, 0u64, 0u64);
    for (i, (room, seen)) in clients.iter().enumerate() {
        let s = seen.lock().unwrap();
        let last = acked_final.get(room).copied().unwrap_or(0);
        missing += (first[i]..=last).filter(|seq| !s.seqs.contains_key(seq)).count() as u64;
        duplicated += s.seqs.values().filter(|&&n| n > 1).count() as u64;
        overlaps += s.overlaps;
    }
    let dropped = clients.iter().filter(|(_, s)| s.lock().unwrap().dropped.is_some()).count();
    let mut times: Vec<u64> = recovered.values().copied().collect();
    times.sort_unstable();
    let back: Vec<u64> = {
        let mut b: Vec<u64> = clients.iter().filter_map(|(_, s)| {
            let s = s.lock().unwrap();
            Some(s.back?.duration_since(killed_at).as_micros() as u64)
        }).collect();
        b.sort_unstable();
        b
    };
    format!(
        r#"{{"scenario":"failover/postgres-2-node","clients":{},"clients_of_killed_node":{dropped},"recovered":{},"reconnected_ms":{{"p50":{:.0},"max":{:.0}}},"caught_up_ms":{{"p50":{:.0},"p99":{:.0},"max":{:.0}}},"missing":{missing},"delivered_live_twice":{duplicated},"live_and_replayed":{overlaps}}}"#,
        clients.len(),
        times.len(),
        percentile(&back, 0.5),
        percentile(&back, 1.0),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
    )
}

async fn run_load(server: Server, a: &Args) -> String {
    server.wait_ready().await;
    let rooms = if server.reference { reference_rooms(a.rooms, a.clients) } else { populate(&server.base, a.rooms, a.clients).await };
    load(&server, &rooms, a.rate, a.secs, "load").await.0
}

/// Huddle's p50, p95, p99 and CPU per delivery as multiples of the reference's, from their
/// load lines (below 1: Huddle does better).
fn ratios(huddle: &str, reference: &str) -> [f64; 4] {
    let h: serde_json::Value = serde_json::from_str(huddle).unwrap();
    let r: serde_json::Value = serde_json::from_str(reference).unwrap();
    let ratio = |path: &[&str]| {
        let get = |v: &serde_json::Value| path.iter().fold(v, |v, k| &v[k]).as_f64().unwrap_or(0.0);
        get(&h) / get(&r).max(1e-9)
    };
    [ratio(&["latency_ms", "p50"]), ratio(&["latency_ms", "p95"]), ratio(&["latency_ms", "p99"]), ratio(&["server_cpu_us_per_delivery"])]
}

fn ratios_line(scenario: &str, [p50, p95, p99, cpu]: &[f64; 4], rounds: usize) -> String {
    format!(r#"{{"scenario":"{scenario}","rounds":{rounds},"p50":{p50:.2},"p95":{p95:.2},"p99":{p99:.2},"server_cpu_us_per_delivery":{cpu:.2}}}"#)
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 }
}
