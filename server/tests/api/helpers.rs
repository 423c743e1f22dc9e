//! `spawn_app()` and a small cookie-keeping client that behaves like one browser.

use reqwest::header::{ACCEPT, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Response, StatusCode};
use server::config::{Config, Environment};
use server::startup::Application;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use app::models::chat::ChatMessage;
use app::models::ws::{ClientMsg, ErrorCode, ServerMsg};
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const STRONG_PASSWORD: &str = "violet-otter-harbour-42";

/// A running server and the database behind it; the database goes away on drop.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Where the metrics are served, when the test asked for them.
    pub metrics: Option<SocketAddr>,
    pub database: TestDatabase,
    _one_at_a_time: tokio::sync::MutexGuard<'static, ()>,
}

/// Servers in this process take turns. Several Leptos servers rendering pages at once, each on
/// its own test runtime, now and then lose a wake-up and a page never finishes (seen about one
/// run in five; a single release server took 2,000 concurrent page loads without one). One
/// server per process is how Huddle runs, so the tests run that way too.
static ONE_SERVER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The turn to run servers in this process (see [`ONE_SERVER_AT_A_TIME`]).
pub async fn one_server_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_SERVER_AT_A_TIME.lock().await
}

/// Which backend this run tests: SQLite unless `HUDDLE_TEST_DATABASE=postgres`.
pub fn on_postgres() -> bool {
    std::env::var("HUDDLE_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

fn pg_admin_url() -> String {
    std::env::var("HUDDLE_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn unique_name() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("huddle_t_{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), nanos)
}

async fn create_pg_database(name: &str) -> String {
    use sqlx::{Connection, Executor};
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", pg_admin_url()))
        .await
        .expect("HUDDLE_TEST_DATABASE=postgres but PostgreSQL is unreachable");
    admin.execute(sqlx::AssertSqlSafe(format!("create database {name}"))).await.expect("create test database");
    format!("{}/{name}", pg_admin_url())
}

fn drop_pg_database(name: String) {
    // Drop runs outside any async context: use a short-lived runtime on its own thread.
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            use sqlx::{Connection, Executor};
            if let Ok(mut admin) = sqlx::PgConnection::connect(&format!("{}/postgres", pg_admin_url())).await {
                let _ = admin.execute(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)"))).await;
            }
        });
    })
    .join();
}

pub fn test_config(data_dir: PathBuf, database_url: String) -> Config {
    let reports = data_dir.join("reports");
    Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        site_dir: data_dir.join("site"),
        data_dir,
        database_url,
        jwt_secret: b"integration-test-secret-0123456789".to_vec(),
        origins: Vec::new(),
        public_url: None,
        env: Environment::Dev,
        secure_cookies: false,
        default_currency: app::models::money::Currency::find("EUR").unwrap(),
        ws_queue: app::server::hub::Hub::DEFAULT_QUEUE,
        ws_caps: Default::default(),
        // Tests sign many people up from one address; the limit has a test of its own.
        signups_per_hour: 100_000,
        // A dropped socket's seat is kept 2 s here (30 s in production): the test of it waits.
        calls: app::server::hub::calls::CallConfig { grace: std::time::Duration::from_secs(2), max_peers: 3, ..Default::default() },
        // Mail goes to files in the test's data folder unless a test points it at an SMTP server.
        mail: server::config::MailSettings {
            smtp: None,
            from: app::server::mail::parse_mailbox("Huddle <huddle@huddle.test>").unwrap(),
            retry: app::server::mail::Retry::default(),
        },
        require_verified_email: false,
        payments: app::server::premium::ProviderConfig::Demo,
        premium_price: app::server::premium::Price { amount: 500, currency: app::models::money::Currency::find("EUR").unwrap() },
        saved_reports: app::server::saved_reports::StoreConfig::Folder(reports),
        saved_reports_keep: std::time::Duration::from_secs(30 * 86_400),
        metrics_addr: None,
        trusted_proxies: Vec::new(),
        redis_url: None,
        bus: Default::default(),
    }
}

/// A fresh, empty database of the backend under test; dropped (PostgreSQL) or deleted
/// (SQLite) with this value.
pub struct TestDatabase {
    pub url: String,
    pub dir: PathBuf,
    pg_name: Option<String>,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let name = unique_name();
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        if on_postgres() {
            Self { url: create_pg_database(&name).await, dir, pg_name: Some(name) }
        } else {
            let url = format!("sqlite://{}?mode=rwc", dir.join("huddle.db").display());
            Self { url, dir, pg_name: None }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            drop_pg_database(name);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server whose configuration `adjust` changed first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    server::telemetry::init_for_tests();
    let turn = ONE_SERVER_AT_A_TIME.lock().await;
    let database = TestDatabase::create().await;
    let mut config = test_config(database.dir.clone(), database.url.clone());
    adjust(&mut config);
    let app = Application::build(config).await.expect("server starts");
    let (addr, metrics) = (app.local_addr(), app.metrics_addr());
    tokio::spawn(app.run_until_stopped());
    TestApp { addr, metrics, database, _one_at_a_time: turn }
}

/// A server that stops (as on SIGTERM) when the sender is used; the handle ends when it has.
pub async fn spawn_stoppable_app() -> (TestApp, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
    server::telemetry::init_for_tests();
    let turn = ONE_SERVER_AT_A_TIME.lock().await;
    let database = TestDatabase::create().await;
    let config = test_config(database.dir.clone(), database.url.clone());
    let app = Application::build(config).await.expect("server starts");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (TestApp { addr, metrics: None, database, _one_at_a_time: turn }, stop, running)
}

impl TestApp {
    /// Runs one statement on the app's database, behind its back (to age a link, say).
    pub async fn execute(&self, sql: &'static str, binds: &[i64]) {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.database.url).await.unwrap();
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.execute(&mut conn).await.unwrap();
    }

    /// One number from the app's database, behind its back (`select count(*) ...`).
    pub async fn number(&self, sql: &'static str, binds: &[i64]) -> i64 {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.database.url).await.unwrap();
        let mut q = sqlx::query_as::<_, (i64,)>(sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.fetch_one(&mut conn).await.unwrap().0
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A new browser-like client with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        self.browser_at([127, 0, 0, 1])
    }

    /// A browser connecting from another loopback address (another client IP).
    pub fn browser_at(&self, ip: [u8; 4]) -> Browser {
        Browser::new(self.addr, ip)
    }

    /// A browser behind a proxy on 127.0.0.1 that says it forwards for `client`.
    pub fn browser_forwarded_for(&self, client: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", client.parse().unwrap());
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).default_headers(headers).build().unwrap();
        Browser { http, ..self.browser() }
    }

    /// A browser that has registered `username` and is signed in.
    pub async fn signed_up(&self, username: &str) -> Browser {
        let mut b = self.browser();
        let res = b.register(username).await;
        assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
        b
    }
}

/// Keeps cookies the way a browser does and sends the `Origin` a same-site page would.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    pub user_agent: String,
}

impl Browser {
    /// A browser with an empty cookie jar, talking to the server at `addr` from loopback address `ip`.
    pub fn new(addr: SocketAddr, ip: [u8; 4]) -> Browser {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(std::net::IpAddr::from(ip))
            .build()
            .unwrap();
        Browser {
            base: format!("http://{addr}"),
            http,
            cookies: BTreeMap::new(),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36".into(),
        }
    }

    /// The same browser (the same cookies: the same login) talking to another node.
    pub fn on(&self, addr: SocketAddr) -> Browser {
        Browser { base: format!("http://{addr}"), http: self.http.clone(), cookies: self.cookies.clone(), user_agent: self.user_agent.clone() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep_cookies(&mut self, res: &Response) {
        for v in res.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Response {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header(COOKIE, self.cookie_header())
            .header("user-agent", &self.user_agent)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&res);
        res
    }

    /// Calls a server function the way the hydrated app does (JSON errors, status codes).
    pub async fn call(&mut self, endpoint: &str, form: &[(&str, &str)]) -> Response {
        let res = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .header(COOKIE, self.cookie_header())
            .header(ORIGIN, self.base.clone())
            .header("user-agent", &self.user_agent)
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&res);
        res
    }

    /// Posts nothing to a plain route (not a server function), keeping cookies.
    pub async fn post(&mut self, path: &str) -> Response {
        let req = self.http.post(format!("{}{path}", self.base));
        self.send_as_page(req).await
    }

    /// Posts a form to a plain route (not a server function) as a page of ours would.
    pub async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send_as_page(req).await
    }

    pub async fn register(&mut self, username: &str) -> Response {
        let email = format!("{username}@example.org");
        let form = [("name", "Ada Lovelace"), ("username", username), ("email", &email), ("password", STRONG_PASSWORD)];
        self.call("register", &form).await
    }

    pub async fn login(&mut self, login: &str, password: &str) -> Response {
        self.call("login", &[("login", login), ("password", password)]).await
    }

    /// The signed-in user as the server sees it (`null` when signed out).
    pub async fn me(&mut self) -> serde_json::Value {
        let res = self.call("me", &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub fn refresh_token(&self) -> String {
        self.cookies.get("huddle_refresh").cloned().expect("a refresh cookie")
    }

    /// Forgets the access token, as if it had expired.
    pub fn expire_access(&mut self) {
        self.cookies.remove("huddle_access");
    }
}

/// Calls a server function that answers a new id, and returns it.
pub async fn created(b: &mut Browser, endpoint: &str, form: &[(&str, &str)]) -> i64 {
    let res = b.call(endpoint, form).await;
    assert_eq!(res.status(), StatusCode::OK, "{endpoint}");
    res.json().await.unwrap()
}

/// The JSON error body of a failed server function call.
pub async fn error_of(res: Response) -> serde_json::Value {
    res.json().await.unwrap()
}

impl Browser {
    /// Posts a form the way a browser without JavaScript does (HTML accepted, `Referer` set).
    pub async fn form_post(&mut self, endpoint: &str, referer: &str, form: &[(&str, &str)]) -> Response {
        let req = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header(reqwest::header::REFERER, format!("{}{referer}", self.base))
            .form(form);
        self.send_as_page(req).await
    }

    /// Sends a request with this browser's cookies and its page's `Origin`, keeping the cookies
    /// the answer sets.
    async fn send_as_page(&mut self, req: reqwest::RequestBuilder) -> Response {
        let res = req.header(COOKIE, self.cookie_header()).header(ORIGIN, self.base.clone()).send().await.unwrap();
        self.keep_cookies(&res);
        res
    }

    /// The WebSocket handshake request this browser's page would make.
    pub fn socket_request(&self, origin: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/ws?v=1", self.base.replacen("http://", "ws://", 1));
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert("cookie", self.cookie_header().parse().unwrap());
        req.headers_mut().insert("origin", origin.parse().unwrap());
        req
    }

    /// Opens a socket as this browser's tab and reads the welcome frame.
    pub async fn socket(&self) -> Socket {
        let (ws, _) = tokio_tungstenite::connect_async(self.socket_request(&self.base)).await.expect("socket opens");
        let mut socket = Socket { ws };
        match socket.recv().await {
            ServerMsg::Welcome { protocol, .. } => assert_eq!(protocol, 1),
            other => panic!("expected welcome, got {other:?}"),
        }
        socket
    }
}

impl Browser {
    /// Like [`Browser::socket`], over a TCP socket whose receive buffer holds only `bytes`.
    pub async fn socket_with_receive_buffer(&self, bytes: u32) -> Socket {
        let addr: SocketAddr = self.base.trim_start_matches("http://").parse().unwrap();
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(bytes).unwrap();
        let stream = tcp.connect(addr).await.unwrap();
        let (ws, _) = tokio_tungstenite::client_async(self.socket_request(&self.base), tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .expect("socket opens");
        let mut socket = Socket { ws };
        assert!(matches!(socket.recv().await, ServerMsg::Welcome { .. }));
        socket
    }
}

impl Browser {
    /// Opens a socket from loopback address `ip` (another client address) without reading
    /// anything: the server may answer with a welcome or with a close.
    pub async fn open_socket_from(&self, ip: [u8; 4]) -> Socket {
        let addr: SocketAddr = self.base.trim_start_matches("http://").parse().unwrap();
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.bind(SocketAddr::from((ip, 0))).unwrap();
        let stream = tcp.connect(addr).await.unwrap();
        let (ws, _) = tokio_tungstenite::client_async(self.socket_request(&self.base), tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .expect("socket opens");
        Socket { ws }
    }
}

/// A test's end of a WebSocket: typed frames in and out.
pub struct Socket {
    pub ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Socket {
    pub async fn send(&mut self, msg: &ClientMsg) {
        self.send_text(&serde_json::to_string(msg).unwrap()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        use futures::SinkExt;
        self.ws.send(WsMessage::text(text)).await.expect("frame sent");
    }

    /// Waits (5 s at most) for the server to close this socket; returns the close code.
    pub async fn expect_closed(&mut self) -> u16 {
        use futures::StreamExt;
        let closed = async {
            while let Some(Ok(frame)) = self.ws.next().await {
                if let WsMessage::Close(c) = frame {
                    return c.map_or(1005, |c| u16::from(c.code));
                }
            }
            1006
        };
        tokio::time::timeout(Duration::from_secs(5), closed).await.expect("the socket closed within 5 s")
    }

    /// The next server frame (5 s at most).
    pub async fn recv(&mut self) -> ServerMsg {
        use futures::StreamExt;
        loop {
            let next = tokio::time::timeout(Duration::from_secs(5), self.ws.next()).await;
            match next.expect("a frame within 5 s").expect("socket open").expect("frame read") {
                WsMessage::Text(t) => return serde_json::from_str(t.as_str()).expect("a ServerMsg"),
                WsMessage::Close(c) => panic!("socket closed: {c:?}"),
                _ => continue,
            }
        }
    }

    /// The next frame `pick` accepts, skipping others (presence, typing… of no interest).
    pub async fn recv_where<T>(&mut self, mut pick: impl FnMut(ServerMsg) -> Option<T>) -> T {
        loop {
            if let Some(t) = pick(self.recv().await) {
                return t;
            }
        }
    }

    /// The next error frame.
    pub async fn error(&mut self) -> (ErrorCode, String, Option<String>) {
        self.recv_where(|m| match m {
            ServerMsg::Error { code, message, client_id } => Some((code, message, client_id)),
            _ => None,
        })
        .await
    }

    /// The next message (new or changed) seen live.
    pub async fn message(&mut self) -> ChatMessage {
        self.recv_where(|m| match m {
            ServerMsg::Message { message } => Some(message),
            _ => None,
        })
        .await
    }

    /// Sends a message and waits for its ack.
    pub async fn say(&mut self, room: i64, body: &str) -> ChatMessage {
        let client_id = new_client_id();
        self.send(&ClientMsg::Send { room, client_id: client_id.clone(), body: body.into() }).await;
        self.recv_where(|m| match m {
            ServerMsg::Ack { client_id: c, message } if c == client_id => Some(message),
            ServerMsg::Error { message, .. } => panic!("send refused: {message}"),
            _ => None,
        })
        .await
    }

    /// Proves the connection is still up: a ping is answered.
    pub async fn still_up(&mut self) {
        self.send(&ClientMsg::Ping).await;
        self.recv_where(|m| matches!(m, ServerMsg::Pong).then_some(())).await;
    }
}

/// A fresh UUID-shaped client id.
pub fn new_client_id() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    format!("{:08x}-0000-4000-8000-{:012x}", n, nanos & 0xffff_ffff_ffff)
}

/// A test server in a child process that binds its port itself and prints it as its first
/// line. (A port picked here and handed over stays free while the child starts, Python taking a
/// second, and another test's server can take it meanwhile: CI once created an S3 bucket on a
/// server answering 404.) Stopped by its PID when dropped.
pub struct ChildServer {
    pub port: u16,
    child: std::process::Child,
}

impl ChildServer {
    /// Starts `command` (`what` names it in failures) and waits, 20 s at most, for its port.
    pub fn start(mut command: std::process::Command, what: &str) -> Self {
        use std::io::{BufRead, BufReader};
        let mut child = command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().unwrap_or_else(|e| panic!("start {what}: {e}"));
        let stdout = child.stdout.take().expect("the child's stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = tx.send(BufReader::new(stdout).read_line(&mut line).map(|_| line));
        });
        // Made first, so that a panic below stops the child.
        let mut server = Self { port: 0, child };
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("{what} did not start listening in 20 s")).expect("the child's output");
        server.port = line.trim().parse().unwrap_or_else(|_| panic!("{what} printed {line:?}, not its port"));
        server
    }

    /// Stops it now (also done when dropped).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A Redis server of the test's own, on a port of its own (never the shared 6379); killed by
/// its PID when dropped.
pub struct RedisServer {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl RedisServer {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = Self { port, child: None };
        server.restart().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on its port, empty, and waits until it answers.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server starts (scripts/test.sh installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not listen on {}", self.port);
    }

    /// Kills it with SIGKILL (by its PID): everything it held is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Several nodes sharing one PostgreSQL database and one Redis of the test's own.
pub struct Cluster {
    pub nodes: Vec<SocketAddr>,
    /// Stops node `i` as SIGTERM would (dropped with the cluster: every node stops).
    stops: Vec<Option<tokio::sync::oneshot::Sender<()>>>,
    pub database: TestDatabase,
    pub redis: RedisServer,
    _one_at_a_time: tokio::sync::MutexGuard<'static, ()>,
}

pub use app::server::hub::bus::BusConfig;

/// Bus timings short enough for tests: checks every 300 ms, offline after 400 ms, an
/// incarnation dead 1.5 s after its last refresh.
pub fn quick_bus() -> app::server::hub::bus::BusConfig {
    app::server::hub::bus::BusConfig {
        check_every: Duration::from_millis(300),
        gap_wait: Duration::from_millis(30),
        alive_ttl: Duration::from_millis(1500),
        offline_grace: Duration::from_millis(400),
        lose: None,
        mute: None,
        hold_subscriptions: None,
    }
}

/// `n` nodes on PostgreSQL and a Redis of their own; `None` on SQLite, where several nodes
/// are refused (the caller skips: the PostgreSQL pass runs it).
pub async fn spawn_cluster(n: usize, bus: app::server::hub::bus::BusConfig) -> Option<Cluster> {
    if !on_postgres() {
        return None;
    }
    server::telemetry::init_for_tests();
    let turn = ONE_SERVER_AT_A_TIME.lock().await;
    let database = TestDatabase::create().await;
    let redis = RedisServer::start().await;
    let (mut nodes, mut stops) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let mut config = test_config(database.dir.clone(), database.url.clone());
        config.redis_url = Some(redis.url());
        config.bus = bus.clone();
        let app = Application::build(config).await.expect("node starts");
        nodes.push(app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(Some(stop));
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
    }
    Some(Cluster { nodes, stops, database, redis, _one_at_a_time: turn })
}

impl Cluster {
    /// Stops node `node` the way SIGTERM does.
    pub fn stop(&mut self, node: usize) {
        if let Some(stop) = self.stops[node].take() {
            let _ = stop.send(());
        }
    }

    /// A browser that registered `username` on node `node` and is signed in.
    pub async fn signed_up(&self, node: usize, username: &str) -> Browser {
        let mut b = Browser::new(self.nodes[node], [127, 0, 0, 1]);
        let res = b.register(username).await;
        assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
        b
    }
}
