//! `portcullis serve`

use std::net::TcpListener;

use super::Failure;
use crate::config::Config;
use crate::ServeOptions;

/// Binds, starts, and serves until SIGTERM / SIGINT (graceful: in-flight requests finish).
pub fn run(config: Config, migrate: bool) -> Result<(), Failure> {
    let listener = TcpListener::bind(config.bind)
        .map_err(|e| Failure::failed(format!("cannot listen on {}: {e}", config.bind)))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let bind = config.bind;
        let issuer = config.issuer.clone();
        let database = config.database_url.to_string();
        let started = crate::start(
            config,
            listener,
            ServeOptions {
                migrate,
                ..ServeOptions::default()
            },
        )
        .await
        .map_err(|e| Failure::failed(e.to_string()))?;
        tracing::info!(%bind, %issuer, %database, "portcullis is listening on http://{bind}");
        let served = started.server.await;
        // What the batching audit writer still holds goes to the database first.
        started.audit.flush().await;
        served.map_err(|e| Failure::failed(format!("server error: {e}")))?;
        tracing::info!("stopped");
        Ok(())
    })
}
