//! The real binary refuses bad configuration with one line and exit code 2.

use std::process::Command;

fn run_huddle(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("huddle-cfg-{}-{run}", std::process::id()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_huddle"));
    cmd.env_clear().env("HUDDLE_DATA_DIR", &dir).current_dir(std::env::temp_dir());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let _ = std::fs::remove_dir_all(dir);
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn an_invalid_value_exits_2_naming_the_variable() {
    let (code, stderr) = run_huddle(&[("HUDDLE_ADDR", "not-an-address")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_ADDR: expected an address"), "{stderr}");
    assert!(!stderr.contains("panicked"));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn production_without_a_secret_refuses_to_start() {
    let (code, stderr) = run_huddle(&[("HUDDLE_ENV", "production")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_JWT_SECRET: required when HUDDLE_ENV=production"), "{stderr}");
}

#[test]
fn a_short_secret_refuses_to_start() {
    let (code, stderr) = run_huddle(&[("HUDDLE_ENV", "production"), ("HUDDLE_JWT_SECRET", "tooshort")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_JWT_SECRET: too short"), "{stderr}");
}

#[test]
fn production_without_its_origins_refuses_to_start() {
    let secret = ("HUDDLE_JWT_SECRET", "0123456789abcdef0123456789abcdef");
    let (code, stderr) = run_huddle(&[("HUDDLE_ENV", "production"), secret]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_ORIGINS: required when HUDDLE_ENV=production"), "{stderr}");
}

#[test]
fn production_without_a_public_url_or_mail_refuses_to_start() {
    let secret = ("HUDDLE_JWT_SECRET", "0123456789abcdef0123456789abcdef");
    let (code, stderr) = run_huddle(&[("HUDDLE_ENV", "production"), secret, ("HUDDLE_ORIGINS", "https://huddle.example.org")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_PUBLIC_URL: required when HUDDLE_ENV=production"), "{stderr}");
    let url = ("HUDDLE_PUBLIC_URL", "https://huddle.example.org");
    let (code, stderr) = run_huddle(&[("HUDDLE_ENV", "production"), secret, url]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_SMTP_URL: required when HUDDLE_ENV=production"), "{stderr}");
    let (code, stderr) = run_huddle(&[("HUDDLE_ENV", "production"), secret, url, ("HUDDLE_SMTP_URL", "smtps://u:hunter2@smtp.example.org:99999")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_SMTP_URL: not a usable SMTP URL") && !stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn bad_operations_settings_exit_2_naming_the_variable() {
    let (code, stderr) = run_huddle(&[("HUDDLE_LOG_FORMAT", "xml")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_LOG_FORMAT: expected text or json"), "{stderr}");
    let (code, stderr) = run_huddle(&[("HUDDLE_METRICS_ADDR", "everywhere")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_METRICS_ADDR: expected an address"), "{stderr}");
    let (code, stderr) = run_huddle(&[("HUDDLE_ADDR", "127.0.0.1:39017"), ("HUDDLE_METRICS_ADDR", "127.0.0.1:39017")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_METRICS_ADDR: must differ from HUDDLE_ADDR"), "{stderr}");
    let (code, stderr) = run_huddle(&[("HUDDLE_TRUSTED_PROXIES", "10.0.0.0/8, the-load-balancer")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains(r#"HUDDLE_TRUSTED_PROXIES: expected addresses or CIDR ranges like 127.0.0.1, 10.0.0.0/8, got "the-load-balancer""#), "{stderr}");
    let (code, stderr) = run_huddle(&[("HUDDLE_REDIS_URL", "127.0.0.1:6379")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_REDIS_URL: expected a redis:// URL"), "{stderr}");
}

#[test]
fn several_nodes_on_sqlite_are_refused_with_the_reason() {
    let (code, stderr) = run_huddle(&[("DATABASE_URL", "sqlite::memory:"), ("HUDDLE_REDIS_URL", "redis://127.0.0.1:6379")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HUDDLE_REDIS_URL: several nodes need PostgreSQL"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}
