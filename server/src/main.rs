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
    server::telemetry::init();
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
