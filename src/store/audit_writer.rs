//! The batching audit writer (DESIGN.md §5): events that change no other state
//! (`token.issued` for client credentials, failed client authentication) are not
//! worth a database write on the request's path. They are logged at once and
//! queued; one background task writes what has queued in one transaction at least
//! every [`FLUSH_EVERY`] (or as soon as [`BATCH`] are waiting), and everything still
//! queued when the server stops ([`AuditWriter::flush`]).
//!
//! What a crash can lose: the events of the last [`FLUSH_EVERY`] (they are in the
//! log already). The queue is bounded ([`QUEUE`]): when it is full, requests wait
//! for room rather than lose events. While the database is away, the writer keeps
//! up to [`HELD_WHILE_DOWN`] events and retries; beyond that it drops the oldest
//! and says how many in the log.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::audit::{self, AuditEvent};
use super::Store;

/// The longest an event waits in memory.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// The most events one transaction writes.
pub const BATCH: usize = 512;
/// Events that may wait for the writer before requests wait for room.
pub const QUEUE: usize = 8192;
/// Events kept while the database cannot be written.
pub const HELD_WHILE_DOWN: usize = 100_000;

enum Message {
    Event(AuditEvent, i64),
    Flush(oneshot::Sender<()>),
}

/// The sending side; cheap to clone.
#[derive(Clone)]
pub struct AuditWriter {
    sender: mpsc::Sender<Message>,
}

impl AuditWriter {
    /// Starts the background task writing to `store`. It ends when every
    /// [`AuditWriter`] is dropped, after writing what was queued.
    pub fn start(store: Store) -> AuditWriter {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, receiver));
        AuditWriter { sender }
    }

    /// Logs the event now and queues it for the database (stamped `now`).
    pub async fn write(&self, event: AuditEvent, now: i64) {
        audit::log(&event);
        if let Err(mpsc::error::SendError(Message::Event(event, now))) =
            self.sender.send(Message::Event(event, now)).await
        {
            // The writer is gone (the runtime is shutting down): say what is lost.
            tracing::error!(
                kind = event.kind.as_str(),
                at = now,
                "audit writer stopped; event not stored"
            );
        }
    }

    /// Waits until everything queued before this call is stored (or given up).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(store: Store, mut receiver: mpsc::Receiver<Message>) {
    let mut pending: Vec<(AuditEvent, i64)> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut open = true;
    // Failed writes in a row; after the channel closed, a few end the task.
    let mut failures = 0u32;
    loop {
        if pending.is_empty() {
            for done in waiting.drain(..) {
                let _ = done.send(());
            }
            if !open {
                break;
            }
            match receiver.recv().await {
                Some(message) => take(message, &mut pending, &mut waiting),
                None => break,
            }
        }
        // Gather what arrives within the flush interval, up to a batch; a flush
        // request writes at once.
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        while open && waiting.is_empty() && pending.len() < BATCH {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Some(message)) => take(message, &mut pending, &mut waiting),
                Ok(None) => open = false,
                Err(_) => break,
            }
        }
        if pending.is_empty() {
            continue;
        }
        let batch: Arc<Vec<(AuditEvent, i64)>> =
            Arc::new(pending.drain(..pending.len().min(BATCH)).collect());
        let to_write = batch.clone();
        let written = store
            .transaction(move |conn| {
                for (event, at) in to_write.iter() {
                    event.record(conn, *at)?;
                }
                Ok(())
            })
            .await;
        match written {
            Ok(()) => failures = 0,
            Err(e) => {
                failures += 1;
                tracing::error!(error = %e, events = batch.len(), "cannot store audit events; retrying");
                let mut back = Arc::try_unwrap(batch).unwrap_or_else(|shared| (*shared).clone());
                back.append(&mut pending);
                pending = back;
                if pending.len() > HELD_WHILE_DOWN {
                    let dropped = pending.len() - HELD_WHILE_DOWN;
                    pending.drain(..dropped);
                    tracing::error!(
                        dropped,
                        "audit events dropped: the database is away too long"
                    );
                }
                if !open && failures >= 3 {
                    tracing::error!(
                        dropped = pending.len(),
                        "audit events not stored at shutdown"
                    );
                    pending.clear();
                }
                tokio::time::sleep(FLUSH_EVERY * 10).await;
            }
        }
    }
}

fn take(
    message: Message,
    pending: &mut Vec<(AuditEvent, i64)>,
    waiting: &mut Vec<oneshot::Sender<()>>,
) {
    match message {
        Message::Event(event, at) => pending.push((event, at)),
        Message::Flush(done) => waiting.push(done),
    }
}
