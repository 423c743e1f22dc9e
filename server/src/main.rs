//! `huddle`: reads its configuration from the environment (and `.env`), then serves.

use server::config::Config;
use server::startup::Application;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
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
