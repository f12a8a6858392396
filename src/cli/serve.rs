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
        .max_blocking_threads(crate::blocking_threads(config.pool_size, 1))
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
///
/// The mmap and trim thresholds are fixed at glibc's initial 128 KiB, which turns
/// off their dynamic growth: freeing one large block (the dummy argon2 hash made at
/// start frees 19 MiB) would otherwise raise the mmap threshold to its size and the
/// trim threshold to twice that, so that argon2's working memory came from the heap
/// and up to 38 MiB of freed heap was never given back.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets tuning parameters of the allocator; called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}
