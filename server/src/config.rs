//! Configuration from environment variables. Every invalid value is one clear error naming
//! the variable.

use app::models::money::Currency;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `dev` generates what is missing; `production` insists on being told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Dev,
    Production,
}

#[derive(Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub jwt_secret: Vec<u8>,
    /// Origins allowed to make state-changing requests; empty means `http://` + the request's Host.
    pub origins: Vec<String>,
    /// Where users reach Huddle, e.g. `https://huddle.example.org` (without a trailing slash).
    pub public_url: Option<String>,
    pub env: Environment,
    pub secure_cookies: bool,
    /// Where the built browser bundle, CSS and public files are served from.
    pub site_dir: PathBuf,
    /// The currency new accounts start with.
    pub default_currency: &'static Currency,
    /// Live frames a WebSocket may have waiting before it is told to resync from the database.
    pub ws_queue: usize,
    /// Sockets per user, per client address and in all.
    pub ws_caps: app::server::hub::limits::SocketCaps,
    /// Accounts one client address may create per hour.
    pub signups_per_hour: u32,
    /// Seats per call, STUN and TURN servers.
    pub calls: app::server::hub::calls::CallConfig,
    /// Outgoing mail (password reset and verification links).
    pub mail: MailSettings,
    /// Sign-in waits for a confirmed address; sign-up never reveals an address's account.
    pub require_verified_email: bool,
    /// Who sells premium, and for how much.
    pub payments: app::server::premium::ProviderConfig,
    pub premium_price: app::server::premium::Price,
    /// Where premium accounts' CSV exports are kept, and for how long.
    pub saved_reports: app::server::saved_reports::StoreConfig,
    pub saved_reports_keep: std::time::Duration,
    /// Where Prometheus scrapes the metrics (`HUDDLE_METRICS_ADDR`); none by default.
    pub metrics_addr: Option<SocketAddr>,
    /// Proxies whose `X-Forwarded-For` names the client (`HUDDLE_TRUSTED_PROXIES`); none by
    /// default, and then the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The bus between nodes (`HUDDLE_REDIS_URL`); none for a single node.
    pub redis_url: Option<String>,
    /// The bus's timings (tests shorten them; not configurable from the environment).
    pub bus: app::server::hub::bus::BusConfig,
}

/// How mail leaves: `HUDDLE_SMTP_URL` and `HUDDLE_MAIL_FROM`.
#[derive(Clone)]
pub struct MailSettings {
    /// `None`: each mail is written as a file into `<data folder>/mail` (development only).
    pub smtp: Option<app::server::mail::Transport>,
    pub from: app::server::mail::Mailbox,
    pub retry: app::server::mail::Retry,
}

fn mail_settings(get: &impl Fn(&str) -> Option<String>, env: Environment) -> Result<MailSettings, ConfigError> {
    use app::server::mail::{Retry, Transport, parse_mailbox};
    let smtp = match get("HUDDLE_SMTP_URL") {
        Some(url) => Some(Transport::smtp(&url).map_err(|e| invalid("HUDDLE_SMTP_URL", e))?),
        None if env == Environment::Production => {
            return Err(invalid("HUDDLE_SMTP_URL", "required when HUDDLE_ENV=production: password reset links go out by mail, e.g. smtps://user:password@smtp.example.org"));
        }
        None => None,
    };
    let from = match get("HUDDLE_MAIL_FROM") {
        Some(from) => parse_mailbox(&from).map_err(|e| invalid("HUDDLE_MAIL_FROM", e))?,
        None if env == Environment::Production => {
            return Err(invalid("HUDDLE_MAIL_FROM", "required when HUDDLE_ENV=production, e.g. Huddle <huddle@example.org>"));
        }
        None => parse_mailbox("Huddle <huddle@localhost>").expect("a valid sender"),
    };
    Ok(MailSettings { smtp, from, retry: Retry::default() })
}

/// `HUDDLE_PAYMENTS` (`demo`, `razorpay` or `off`; dev defaults to `demo`, production to `off`:
/// a server that takes money says so), `HUDDLE_PREMIUM_PRICE` and `HUDDLE_PREMIUM_CURRENCY`,
/// and Razorpay's keys.
fn payments(
    get: &impl Fn(&str) -> Option<String>,
    env: Environment,
    default_currency: &'static Currency,
) -> Result<(app::server::premium::ProviderConfig, app::server::premium::Price), ConfigError> {
    use app::server::premium::{Price, ProviderConfig, razorpay::Keys};
    let currency = match get("HUDDLE_PREMIUM_CURRENCY") {
        None => default_currency,
        Some(code) => Currency::find(&code.to_ascii_uppercase())
            .ok_or_else(|| invalid("HUDDLE_PREMIUM_CURRENCY", format!("expected an ISO 4217 code Huddle knows (EUR, INR, …), got {code:?}")))?,
    };
    let raw = get("HUDDLE_PREMIUM_PRICE").unwrap_or_else(|| "5".into());
    let amount = app::models::money::Amount::parse(&raw, currency.decimals)
        .map_err(|e| invalid("HUDDLE_PREMIUM_PRICE", format!("{} (got {raw:?}, e.g. 5.00)", e.message)))?
        .minor();
    let price = Price { amount, currency };
    let default = if env == Environment::Production { "off" } else { "demo" };
    let provider = match get("HUDDLE_PAYMENTS").unwrap_or_else(|| default.into()).as_str() {
        "off" => ProviderConfig::Off,
        "demo" => ProviderConfig::Demo,
        "razorpay" => {
            let need = |var: &'static str| get(var).ok_or_else(|| invalid(var, "required with HUDDLE_PAYMENTS=razorpay (from Razorpay's dashboard)"));
            let api_url = get("HUDDLE_RAZORPAY_API_URL").unwrap_or_else(|| "https://api.razorpay.com".into()).trim_end_matches('/').to_string();
            let local = ["http://127.0.0.1:", "http://localhost:"].iter().any(|p| api_url.starts_with(p));
            if !api_url.starts_with("https://") && !local {
                return Err(invalid("HUDDLE_RAZORPAY_API_URL", format!("expected an https:// URL, got {api_url:?}")));
            }
            ProviderConfig::Razorpay(Keys {
                key_id: need("HUDDLE_RAZORPAY_KEY_ID")?,
                key_secret: need("HUDDLE_RAZORPAY_KEY_SECRET")?,
                webhook_secret: need("HUDDLE_RAZORPAY_WEBHOOK_SECRET")?,
                api_url,
            })
        }
        other => return Err(invalid("HUDDLE_PAYMENTS", format!("expected demo, razorpay or off, got {other:?}"))),
    };
    Ok((provider, price))
}

/// `HUDDLE_REPORTS_BUCKET` with its endpoint, region and keys, or a folder in the data folder.
fn report_store(get: &impl Fn(&str) -> Option<String>, data_dir: &Path) -> Result<app::server::saved_reports::StoreConfig, ConfigError> {
    use app::server::saved_reports::StoreConfig;
    let Some(bucket) = get("HUDDLE_REPORTS_BUCKET") else {
        for var in ["HUDDLE_REPORTS_S3_ENDPOINT", "HUDDLE_REPORTS_S3_ACCESS_KEY_ID", "HUDDLE_REPORTS_S3_SECRET_ACCESS_KEY"] {
            if get(var).is_some() {
                return Err(invalid(var, "set without HUDDLE_REPORTS_BUCKET"));
            }
        }
        return Ok(StoreConfig::Folder(data_dir.join("reports")));
    };
    let endpoint = get("HUDDLE_REPORTS_S3_ENDPOINT");
    if let Some(e) = &endpoint
        && !(e.starts_with("https://") || e.starts_with("http://"))
    {
        return Err(invalid("HUDDLE_REPORTS_S3_ENDPOINT", format!("expected a URL like https://s3.example.org, got {e:?}")));
    }
    let need = |var: &'static str| get(var).ok_or_else(|| invalid(var, "required with HUDDLE_REPORTS_BUCKET"));
    Ok(StoreConfig::S3 {
        bucket,
        endpoint,
        region: get("HUDDLE_REPORTS_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
        access_key_id: need("HUDDLE_REPORTS_S3_ACCESS_KEY_ID")?,
        secret_access_key: need("HUDDLE_REPORTS_S3_SECRET_ACCESS_KEY")?,
    })
}

/// `HUDDLE_MEETING_MAX_PEERS` (2-8), `HUDDLE_STUN_URLS`, `HUDDLE_TURN_URLS` with
/// `HUDDLE_TURN_SECRET` (coturn's `static-auth-secret`).
fn call_config(get: &impl Fn(&str) -> Option<String>) -> Result<app::server::hub::calls::CallConfig, ConfigError> {
    use app::server::hub::calls::{CallConfig, Turn};
    let mut config = CallConfig::default();
    if let Some(v) = get("HUDDLE_MEETING_MAX_PEERS") {
        config.max_peers = v
            .parse()
            .ok()
            .filter(|n| (2..=8).contains(n))
            .ok_or_else(|| invalid("HUDDLE_MEETING_MAX_PEERS", format!("expected a number of people from 2 to 8 (a full mesh), got {v:?}")))?;
    }
    let urls = |var: &'static str, schemes: &[&str]| -> Result<Vec<String>, ConfigError> {
        let list: Vec<String> = get(var).unwrap_or_default().split(',').map(str::trim).filter(|u| !u.is_empty()).map(String::from).collect();
        match list.iter().find(|u| !schemes.iter().any(|s| u.starts_with(s))) {
            Some(bad) => Err(invalid(var, format!("expected comma-separated {} URLs, got {bad:?}", schemes.join(" or ")))),
            None => Ok(list),
        }
    };
    config.stun_urls = urls("HUDDLE_STUN_URLS", &["stun:", "stuns:"])?;
    let turn_urls = urls("HUDDLE_TURN_URLS", &["turn:", "turns:"])?;
    match (turn_urls.is_empty(), get("HUDDLE_TURN_SECRET")) {
        (true, None) => {}
        (false, Some(secret)) if secret.len() >= 16 => {
            config.turn = Some(Turn { urls: turn_urls, secret, ttl: std::time::Duration::from_secs(12 * 3600) })
        }
        (false, Some(_)) => return Err(invalid("HUDDLE_TURN_SECRET", "at least 16 characters (coturn's static-auth-secret)")),
        (false, None) => return Err(invalid("HUDDLE_TURN_SECRET", "required with HUDDLE_TURN_URLS")),
        (true, Some(_)) => return Err(invalid("HUDDLE_TURN_SECRET", "set without HUDDLE_TURN_URLS (e.g. turn:turn.example.org:3478)")),
    }
    Ok(config)
}

/// A configuration variable with a bad value.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.var, self.message)
    }
}

impl std::error::Error for ConfigError {}

const MIN_SECRET_LEN: usize = 32;
const SECRET_FILE: &str = "jwt_secret";

fn invalid(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { var, message: message.into() }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads every variable through `get` (empty counts as unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let env = match get("HUDDLE_ENV").as_deref() {
            None | Some("dev") => Environment::Dev,
            Some("production") => Environment::Production,
            Some(other) => return Err(invalid("HUDDLE_ENV", format!("expected dev or production, got {other:?}"))),
        };
        let addr = get("HUDDLE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
        let addr = addr
            .parse()
            .map_err(|_| invalid("HUDDLE_ADDR", format!("expected an address like 127.0.0.1:3000, got {addr:?}")))?;
        let data_dir = PathBuf::from(get("HUDDLE_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = match get("DATABASE_URL") {
            Some(url) => parse_database_url(url)?,
            None => format!("sqlite://{}?mode=rwc", data_dir.join("huddle.db").display()),
        };
        let secure_cookies = match get("HUDDLE_SECURE_COOKIES") {
            None => env == Environment::Production,
            Some(v) => parse_bool(&v).ok_or_else(|| invalid("HUDDLE_SECURE_COOKIES", format!("expected true or false, got {v:?}")))?,
        };
        let public_url = match get("HUDDLE_PUBLIC_URL") {
            None => None,
            Some(url) => Some(parse_public_url(&url)?),
        };
        let origins = match (get("HUDDLE_ORIGINS"), &public_url) {
            (Some(list), _) => parse_origins(&list)?,
            (None, Some(url)) => vec![origin_of_url(url).to_string()],
            (None, None) => Vec::new(),
        };
        let site_dir = PathBuf::from(get("HUDDLE_SITE_DIR").unwrap_or_else(|| "target/site".into()));
        let currency = get("HUDDLE_DEFAULT_CURRENCY").unwrap_or_else(|| "EUR".into());
        let default_currency = Currency::find(&currency).ok_or_else(|| {
            invalid("HUDDLE_DEFAULT_CURRENCY", format!("expected an ISO 4217 code Huddle knows (EUR, USD, …), got {currency:?}"))
        })?;
        let ws_queue = match get("HUDDLE_WS_QUEUE") {
            None => app::server::hub::Hub::DEFAULT_QUEUE,
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| invalid("HUDDLE_WS_QUEUE", format!("expected a number of frames from 1 to 1000000, got {v:?}")))?,
        };
        let defaults = app::server::hub::limits::SocketCaps::default();
        let count = |var: &'static str, default: usize, max: usize| match get(var) {
            None => Ok(default),
            Some(v) => v.parse().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| invalid(var, format!("expected a number from 1 to {max}, got {v:?}"))),
        };
        let ws_caps = app::server::hub::limits::SocketCaps {
            per_user: count("HUDDLE_WS_PER_USER", defaults.per_user, 10_000)?,
            per_ip: count("HUDDLE_WS_PER_IP", defaults.per_ip, 1_000_000)?,
            total: count("HUDDLE_WS_MAX", defaults.total, 10_000_000)?,
        };
        let signups_per_hour = count("HUDDLE_SIGNUPS_PER_HOUR", 10, 1_000_000)? as u32;
        let calls = call_config(&get)?;
        let jwt_secret = jwt_secret(get("HUDDLE_JWT_SECRET"), env, &data_dir)?;
        if origins.is_empty() && env == Environment::Production {
            return Err(invalid("HUDDLE_ORIGINS", "required when HUDDLE_ENV=production (or set HUDDLE_PUBLIC_URL), e.g. https://huddle.example.org"));
        }
        if public_url.is_none() && env == Environment::Production {
            // Links in mail are built from it, never from a request's Host header.
            return Err(invalid("HUDDLE_PUBLIC_URL", "required when HUDDLE_ENV=production: links in mail lead there, e.g. https://huddle.example.org"));
        }
        let mail = mail_settings(&get, env)?;
        let require_verified_email = match get("HUDDLE_REQUIRE_VERIFIED_EMAIL") {
            None => false,
            Some(v) => parse_bool(&v).ok_or_else(|| invalid("HUDDLE_REQUIRE_VERIFIED_EMAIL", format!("expected true or false, got {v:?}")))?,
        };
        let (payments, premium_price) = payments(&get, env, default_currency)?;
        let saved_reports = report_store(&get, &data_dir)?;
        let saved_reports_keep = std::time::Duration::from_secs(86_400 * count("HUDDLE_SAVED_REPORTS_DAYS", 30, 3650)? as u64);
        let metrics_addr = match get("HUDDLE_METRICS_ADDR") {
            None => None,
            Some(v) => Some(v.parse().map_err(|_| invalid("HUDDLE_METRICS_ADDR", format!("expected an address like 127.0.0.1:9100, got {v:?}")))?),
        };
        let trusted_proxies = match get("HUDDLE_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => parse_proxies(&list)?,
        };
        let redis_url = match get("HUDDLE_REDIS_URL") {
            None => None,
            Some(url) if !(url.starts_with("redis://") || url.starts_with("rediss://")) => {
                return Err(invalid("HUDDLE_REDIS_URL", format!("expected a redis:// URL, e.g. redis://127.0.0.1:6379, got {url:?}")));
            }
            // Nodes share what they store: one SQLite file per node would be several databases.
            Some(_) if app::server::db::Backend::of_url(&database_url) == Some(app::server::db::Backend::Sqlite) => {
                return Err(invalid("HUDDLE_REDIS_URL", "several nodes need PostgreSQL: set DATABASE_URL to a postgres:// URL, or unset HUDDLE_REDIS_URL for one node on SQLite"));
            }
            Some(url) => Some(url),
        };
        if metrics_addr.is_some() && metrics_addr == Some(addr) {
            return Err(invalid("HUDDLE_METRICS_ADDR", "must differ from HUDDLE_ADDR: the metrics have a listener of their own"));
        }
        Ok(Self { addr, data_dir, database_url, jwt_secret, origins, public_url, env, secure_cookies, site_dir, default_currency, ws_queue, ws_caps, signups_per_hour, calls, mail, require_verified_email, payments, premium_price, saved_reports, saved_reports_keep, metrics_addr, trusted_proxies, redis_url, bus: Default::default() })
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `127.0.0.1, 10.0.0.0/8, ::1`: addresses (one host each) and CIDR ranges.
fn parse_proxies(list: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| invalid("HUDDLE_TRUSTED_PROXIES", format!("expected addresses or CIDR ranges like 127.0.0.1, 10.0.0.0/8, got {s:?}")))
        })
        .collect()
}

fn parse_database_url(url: String) -> Result<String, ConfigError> {
    if app::server::db::Backend::of_url(&url).is_none() {
        return Err(invalid("DATABASE_URL", "expected a sqlite: or postgres:// URL"));
    }
    Ok(url)
}

/// `https://chat.example.org, http://localhost:3000` into a list of bare origins.
fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let o = o.trim_end_matches('/');
            let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains('/') => Ok(o.to_string()),
                _ => Err(invalid("HUDDLE_ORIGINS", format!("expected origins like https://huddle.example.org, got {o:?}"))),
            }
        })
        .collect()
}

/// `https://huddle.example.org` or with a path prefix; no query, no trailing slash.
fn parse_public_url(url: &str) -> Result<String, ConfigError> {
    let url = url.trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(['?', '#', ' ']) => Ok(url.to_string()),
        _ => Err(invalid("HUDDLE_PUBLIC_URL", format!("expected a URL like https://huddle.example.org, got {url:?}"))),
    }
}

/// `https://host:port` of a URL already checked by [`parse_public_url`].
fn origin_of_url(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..].find('/').map_or(url, |i| &url[..after_scheme + i])
}

/// The configured secret; in dev, one generated once and kept in the data folder.
fn jwt_secret(given: Option<String>, env: Environment, data_dir: &Path) -> Result<Vec<u8>, ConfigError> {
    const VAR: &str = "HUDDLE_JWT_SECRET";
    match (given, env) {
        (Some(s), _) if s.len() < MIN_SECRET_LEN => {
            Err(invalid(VAR, format!("too short: at least {MIN_SECRET_LEN} characters are needed")))
        }
        (Some(s), _) => Ok(s.into_bytes()),
        (None, Environment::Production) => {
            Err(invalid(VAR, format!("required when HUDDLE_ENV=production (at least {MIN_SECRET_LEN} random characters)")))
        }
        (None, Environment::Dev) => dev_secret(data_dir).map_err(|e| invalid("HUDDLE_DATA_DIR", e.to_string())),
    }
}

fn dev_secret(data_dir: &Path) -> std::io::Result<Vec<u8>> {
    use base64::Engine;
    use rand::RngCore;
    let path = data_dir.join(SECRET_FILE);
    if let Ok(existing) = std::fs::read(&path)
        && existing.len() >= MIN_SECRET_LEN
    {
        return Ok(existing);
    }
    std::fs::create_dir_all(data_dir)?;
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes).into_bytes();
    write_private(&path, &secret)?;
    tracing::warn!(path = %path.display(), "HUDDLE_JWT_SECRET is not set: generated one for development and kept it here");
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_serve_sqlite_in_the_data_folder_on_port_3000() {
        let c = config(&[("HUDDLE_JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.database_url, "sqlite://./data/huddle.db?mode=rwc");
        assert_eq!(c.env, Environment::Dev);
        assert!(!c.secure_cookies);
    }

    #[test]
    fn calls_take_the_peer_limit_and_ice_servers() {
        let c = config(&[
            ("HUDDLE_JWT_SECRET", SECRET),
            ("HUDDLE_MEETING_MAX_PEERS", "6"),
            ("HUDDLE_STUN_URLS", "stun:stun.example.org:3478"),
            ("HUDDLE_TURN_URLS", "turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349"),
            ("HUDDLE_TURN_SECRET", "0123456789abcdef0123"),
        ])
        .unwrap();
        assert_eq!(c.calls.max_peers, 6);
        assert_eq!(c.calls.stun_urls, vec!["stun:stun.example.org:3478"]);
        assert_eq!(c.calls.turn.unwrap().urls.len(), 2);
        let short = config(&[("HUDDLE_JWT_SECRET", SECRET), ("HUDDLE_TURN_URLS", "turn:t.example"), ("HUDDLE_TURN_SECRET", "short")]);
        assert_eq!(short.err().unwrap().var, "HUDDLE_TURN_SECRET");
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases = [
            ("HUDDLE_ADDR", "localhost"),
            ("HUDDLE_ENV", "staging"),
            ("DATABASE_URL", "mysql://x"),
            ("HUDDLE_SECURE_COOKIES", "maybe"),
            ("HUDDLE_ORIGINS", "example.org"),
            ("HUDDLE_JWT_SECRET", "short"),
            ("HUDDLE_DEFAULT_CURRENCY", "XYZ"),
            ("HUDDLE_WS_QUEUE", "0"),
            ("HUDDLE_WS_QUEUE", "lots"),
            ("HUDDLE_PUBLIC_URL", "huddle.example.org"),
            ("HUDDLE_WS_PER_USER", "0"),
            ("HUDDLE_WS_PER_IP", "many"),
            ("HUDDLE_WS_MAX", "-1"),
            ("HUDDLE_SIGNUPS_PER_HOUR", "0"),
            ("HUDDLE_PUBLIC_URL", "https://x.example/?a=b"),
            ("HUDDLE_MEETING_MAX_PEERS", "1"),
            ("HUDDLE_MEETING_MAX_PEERS", "9"),
            ("HUDDLE_STUN_URLS", "http://stun.example.org"),
            ("HUDDLE_TURN_URLS", "https://turn.example.org"),
            ("HUDDLE_TURN_SECRET", "a-secret-without-urls"),
            ("HUDDLE_SMTP_URL", "mail.example.org"),
            ("HUDDLE_MAIL_FROM", "not an address"),
            ("HUDDLE_REQUIRE_VERIFIED_EMAIL", "sometimes"),
            ("HUDDLE_PAYMENTS", "paypal"),
            ("HUDDLE_PREMIUM_PRICE", "-5"),
            ("HUDDLE_PREMIUM_PRICE", "five"),
            ("HUDDLE_PREMIUM_CURRENCY", "XYZ"),
            ("HUDDLE_SAVED_REPORTS_DAYS", "0"),
            ("HUDDLE_REPORTS_S3_ENDPOINT", "http://127.0.0.1:9000"),
        ];
        for (var, value) in cases {
            let secret = if var == "HUDDLE_JWT_SECRET" { value } else { SECRET };
            let err = config(&[("HUDDLE_JWT_SECRET", secret), (var, value)]).err().unwrap();
            assert_eq!(err.var, var);
        }
    }

    #[test]
    fn production_refuses_to_start_without_a_secret_origins_or_mail_and_uses_secure_cookies() {
        let err = config(&[("HUDDLE_ENV", "production")]).err().unwrap();
        assert_eq!(err.var, "HUDDLE_JWT_SECRET");
        let err = config(&[("HUDDLE_ENV", "production"), ("HUDDLE_JWT_SECRET", SECRET)]).err().unwrap();
        assert_eq!(err.var, "HUDDLE_ORIGINS");
        let origins_only = [("HUDDLE_ENV", "production"), ("HUDDLE_JWT_SECRET", SECRET), ("HUDDLE_ORIGINS", "https://a.example")];
        assert_eq!(config(&origins_only).err().unwrap().var, "HUDDLE_PUBLIC_URL");
        let mut vars = vec![("HUDDLE_ENV", "production"), ("HUDDLE_JWT_SECRET", SECRET), ("HUDDLE_PUBLIC_URL", "https://a.example:8443/huddle/")];
        assert_eq!(config(&vars).err().unwrap().var, "HUDDLE_SMTP_URL");
        vars.push(("HUDDLE_SMTP_URL", "smtps://huddle:pw@smtp.example.org"));
        assert_eq!(config(&vars).err().unwrap().var, "HUDDLE_MAIL_FROM");
        vars.push(("HUDDLE_MAIL_FROM", "Huddle <huddle@a.example>"));
        let c = config(&vars).unwrap();
        assert!(c.mail.smtp.is_some());
        assert!(c.secure_cookies);
        assert_eq!(c.origins, ["https://a.example:8443"]);
        assert_eq!(c.public_url.as_deref(), Some("https://a.example:8443/huddle"));
    }

    #[test]
    fn premium_is_sold_by_the_demo_provider_in_dev_and_by_no_one_in_production_unless_configured() {
        use app::server::premium::ProviderConfig;
        let dev = config(&[("HUDDLE_JWT_SECRET", SECRET), ("HUDDLE_PREMIUM_PRICE", "4.99"), ("HUDDLE_PREMIUM_CURRENCY", "inr")]).unwrap();
        assert!(matches!(dev.payments, ProviderConfig::Demo));
        assert_eq!((dev.premium_price.amount, dev.premium_price.currency.code), (499, "INR"));
        let production = [
            ("HUDDLE_ENV", "production"),
            ("HUDDLE_JWT_SECRET", SECRET),
            ("HUDDLE_PUBLIC_URL", "https://a.example"),
            ("HUDDLE_SMTP_URL", "smtps://huddle:pw@smtp.example.org"),
            ("HUDDLE_MAIL_FROM", "huddle@a.example"),
        ];
        assert!(matches!(config(&production).unwrap().payments, ProviderConfig::Off));
        let mut razorpay = production.to_vec();
        razorpay.extend([("HUDDLE_PAYMENTS", "razorpay"), ("HUDDLE_RAZORPAY_KEY_ID", "rzp_live_x"), ("HUDDLE_RAZORPAY_KEY_SECRET", "s")]);
        assert_eq!(config(&razorpay).err().unwrap().var, "HUDDLE_RAZORPAY_WEBHOOK_SECRET");
        razorpay.push(("HUDDLE_RAZORPAY_WEBHOOK_SECRET", "w"));
        let ProviderConfig::Razorpay(keys) = config(&razorpay).unwrap().payments else { panic!("razorpay configured") };
        assert_eq!(keys.api_url, "https://api.razorpay.com");
        razorpay.push(("HUDDLE_RAZORPAY_API_URL", "http://api.example.org"));
        assert_eq!(config(&razorpay).err().unwrap().var, "HUDDLE_RAZORPAY_API_URL");
    }

    #[test]
    fn dev_generates_a_secret_once_and_keeps_it() {
        let dir = std::env::temp_dir().join(format!("huddle-config-{}", std::process::id()));
        let dir_s = dir.to_string_lossy().to_string();
        let first = config(&[("HUDDLE_DATA_DIR", &dir_s)]).unwrap().jwt_secret;
        let second = config(&[("HUDDLE_DATA_DIR", &dir_s)]).unwrap().jwt_secret;
        assert!(first.len() >= MIN_SECRET_LEN);
        assert_eq!(first, second);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn origins_are_trimmed_of_slashes_and_spaces() {
        let c = config(&[("HUDDLE_JWT_SECRET", SECRET), ("HUDDLE_ORIGINS", "https://a.example/ , http://localhost:3000")]).unwrap();
        assert_eq!(c.origins, ["https://a.example", "http://localhost:3000"]);
    }
}
