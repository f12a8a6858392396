//! `portcullis serve`

use std::net::TcpListener;

use super::Failure;
use crate::config::Config;
use crate::ServeOptions;

/// Binds, starts, and serves until SIGTERM / SIGINT (graceful: in-flight requests finish).
pub fn run(config: Config, migrate: bool) -> Result<(), Failure> {
    let listener = TcpListener::bind(config.bind)
        .map_err(|e| Failure::failed(format!("cannot listen on {}: {e}", config.bind)))?;
    limit_malloc_arenas();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Blocking threads wait for one of `pool_size` connections (or hash nothing:
        // passwords have their own workers); more would only hold memory.
        .max_blocking_threads(64)
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
        // Start-up (migrations, keys made with OpenSSL) freed memory the server
        // does not need again: give it back.
        trim_malloc();
        let served = started.server.await;
        // What the batching audit writer still holds goes to the database first.
        started.audit.flush().await;
        served.map_err(|e| Failure::failed(format!("server error: {e}")))?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Returns the allocator's free memory to the system.
fn trim_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// glibc gives each thread that allocates its own arena, up to 8 per core, and
/// memory freed in one is not reused by another: with the blocking threads of the
/// database pool that is most of an idle server's memory. Two arenas were measured
/// (`bench/run`, BENCHMARKS.md) to keep the request rate and save that memory.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning parameter of the allocator; called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
