//! `huddle`: reads its configuration from the environment (and `.env`), then serves.

use server::config::Config;
use server::startup::Application;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    keep_large_allocations_off_the_heap();
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("huddle: .env: {e}");
        return ExitCode::from(2);
    }
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("admin") {
        return admin(args.skip(1)).await;
    }
    match server::telemetry::LogFormat::parse(std::env::var("HUDDLE_LOG_FORMAT").ok().as_deref()) {
        Ok(format) => server::telemetry::init(format),
        Err(e) => {
            eprintln!("huddle: {e}");
            return ExitCode::from(2);
        }
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("huddle: {e}");
            return ExitCode::from(2);
        }
    };
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("huddle: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!("Huddle is listening on http://{}", app.local_addr());
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("huddle: {e}");
            ExitCode::from(1)
        }
    }
}

/// `huddle admin …`: exit 0 when done, 2 for a bad argument or configuration, 1 when the
/// command could not be carried out.
async fn admin(args: impl Iterator<Item = String>) -> ExitCode {
    let command = match server::admin::parse(args) {
        Ok(command) => command,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("huddle admin: {e}");
            return ExitCode::from(2);
        }
    };
    match server::admin::run(command, config).await {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("huddle admin: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Each password hash borrows 19 MiB. glibc raises its mmap threshold after the first such
/// block is freed and from then on keeps every later one in a heap it never returns: RSS grew
/// by about 17 MiB per sign-up (750 MiB after 40). A fixed threshold keeps large blocks mmapped
/// and returned on free (25 MiB after 40).
fn keep_large_allocations_off_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any large allocation.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
