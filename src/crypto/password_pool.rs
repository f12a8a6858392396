//! Bounded password hashing (DESIGN.md §1: "argon2 … with bounded concurrency").
//!
//! Each argon2id verification takes ~19 MiB and tens of milliseconds of a core.
//! Unbounded, a login flood keeps hundreds in flight: gigabytes of memory, and a
//! blocking pool (shared with every database call) starved. So hashing runs on a
//! fixed set of worker threads, each owning one reusable argon2 buffer, fed by a
//! queue of fixed size. A full queue is answered at once ([`PoolError::Busy`]: the
//! caller answers 503 with `Retry-After`); nothing waits in a queue that grows.
//! On Linux the workers run at a lower CPU priority (nice 10), so token, JWKS and
//! readiness requests keep their latency while a flood keeps the workers busy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use argon2::Block;
use tokio::sync::oneshot;

use super::password::{self, Argon2Params, PasswordError};
use super::Secret;

/// Why the pool did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Every worker is busy and the queue is full: try again shortly.
    #[error("password hashing is saturated")]
    Busy,
    /// The workers are gone (the server is stopping).
    #[error("password hashing workers stopped")]
    Stopped,
    #[error(transparent)]
    Password(#[from] PasswordError),
}

enum Work {
    Verify { stored: String },
    Hash { params: Argon2Params },
}

enum Done {
    Verified(bool),
    Hashed(String),
}

struct Job {
    password: Secret<String>,
    work: Work,
    reply: oneshot::Sender<Result<Done, PasswordError>>,
}

/// The hashing workers and their queue. Dropping the pool stops the workers once
/// the queue is drained.
pub struct PasswordPool {
    jobs: SyncSender<Job>,
    queued: Arc<AtomicUsize>,
    workers: usize,
    queue: usize,
}

impl PasswordPool {
    /// Starts `workers` threads (at least one) behind a queue of `queue` jobs.
    pub fn start(workers: usize, queue: usize) -> std::io::Result<PasswordPool> {
        let workers = workers.max(1);
        let (jobs, receiver) = mpsc::sync_channel(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let queued = Arc::new(AtomicUsize::new(0));
        for n in 0..workers {
            let receiver = receiver.clone();
            let queued = queued.clone();
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || work(&receiver, &queued))?;
        }
        Ok(PasswordPool {
            jobs,
            queued,
            workers,
            queue,
        })
    }

    /// A place in the queue, or [`PoolError::Busy`] at once when it is full. Taken
    /// before anything else is done for a sign-in, so that a sign-in answered
    /// "busy" has done (and counted) nothing; given back when dropped unused.
    pub fn reserve(&self) -> Result<Reservation<'_>, PoolError> {
        let mut queued = self.queued.load(Ordering::Relaxed);
        loop {
            if queued >= self.queue {
                return Err(PoolError::Busy);
            }
            match self.queued.compare_exchange_weak(
                queued,
                queued + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Ok(Reservation {
                        pool: self,
                        sent: false,
                    })
                }
                Err(now) => queued = now,
            }
        }
    }

    /// Whether `password` matches the PHC string `stored` (see [`password::verify`]).
    pub async fn verify(
        &self,
        password: Secret<String>,
        stored: String,
    ) -> Result<bool, PoolError> {
        self.reserve()?.verify(password, stored).await
    }

    /// The PHC string of `password` under `params` (see [`password::hash`]).
    pub async fn hash(
        &self,
        password: Secret<String>,
        params: Argon2Params,
    ) -> Result<String, PoolError> {
        match self
            .reserve()?
            .submit(password, Work::Hash { params })
            .await?
        {
            Done::Hashed(phc) => Ok(phc),
            Done::Verified(_) => Err(PoolError::Stopped),
        }
    }

    /// Jobs waiting for a worker now, and places reserved for jobs about to come.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// The number of workers.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The most jobs that may wait.
    pub fn capacity(&self) -> usize {
        self.queue
    }
}

/// A reserved place in the queue (counted in `queued` until a worker takes the job,
/// or until it is dropped unused).
pub struct Reservation<'a> {
    pool: &'a PasswordPool,
    sent: bool,
}

impl Reservation<'_> {
    /// Verifies in the reserved place: never [`PoolError::Busy`].
    pub async fn verify(self, password: Secret<String>, stored: String) -> Result<bool, PoolError> {
        match self.submit(password, Work::Verify { stored }).await? {
            Done::Verified(matches) => Ok(matches),
            Done::Hashed(_) => Err(PoolError::Stopped),
        }
    }

    /// Sends the job. The channel holds as many jobs as there are places, so it is
    /// never full for a reserved place; the worker that takes the job frees it.
    async fn submit(mut self, password: Secret<String>, work: Work) -> Result<Done, PoolError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            password,
            work,
            reply,
        };
        if self.pool.jobs.try_send(job).is_err() {
            // Dropped below, unsent: the place is given back.
            return Err(PoolError::Stopped);
        }
        self.sent = true;
        Ok(answer.await.map_err(|_| PoolError::Stopped)??)
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.sent {
            self.pool.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// One worker: takes jobs until the pool is dropped, reusing one argon2 buffer.
fn work(receiver: &Mutex<Receiver<Job>>, queued: &AtomicUsize) {
    lower_priority();
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let next = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        queued.fetch_sub(1, Ordering::Relaxed);
        let done = match job.work {
            Work::Verify { stored } => {
                password::verify_in(&job.password, &stored, &mut memory).map(Done::Verified)
            }
            Work::Hash { params } => password::hash(&params, &job.password).map(Done::Hashed),
        };
        // The caller may have gone (a closed connection): nothing to do then.
        let _ = job.reply.send(done);
    }
}

/// Nice 10 for the calling thread: Linux keeps the nice value per thread.
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: setpriority with the calling thread's own id changes only that
    // thread's scheduling priority; it reads and writes no memory of ours.
    let result = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10)
    };
    if result != 0 {
        tracing::debug!("cannot lower the priority of a password-hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Argon2Params = Argon2Params {
        memory_kib: 8 * 1024,
        iterations: 1,
        parallelism: 1,
    };

    #[tokio::test]
    async fn hashes_and_verifies_on_the_workers() {
        let pool = PasswordPool::start(2, 4).unwrap();
        let phc = pool.hash(Secret::new("pw".into()), CHEAP).await.unwrap();
        assert!(pool
            .verify(Secret::new("pw".into()), phc.clone())
            .await
            .unwrap());
        assert!(!pool.verify(Secret::new("px".into()), phc).await.unwrap());
        assert_eq!(pool.queued(), 0);
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let pool = Arc::new(PasswordPool::start(1, 1).unwrap());
        let slow = Argon2Params {
            memory_kib: 64 * 1024,
            iterations: 4,
            parallelism: 1,
        };
        let phc = password::hash(&slow, &Secret::new("pw".into())).unwrap();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let pool = pool.clone();
            let phc = phc.clone();
            tasks.push(tokio::spawn(async move {
                pool.verify(Secret::new("pw".into()), phc).await
            }));
        }
        let mut busy = 0;
        let mut verified = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(true) => verified += 1,
                Err(PoolError::Busy) => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(
            busy >= 1,
            "one worker and a queue of one cannot take six at once"
        );
        assert!(verified >= 1);
        assert_eq!(busy + verified, 6);
    }

    #[tokio::test]
    async fn a_corrupt_hash_is_an_error() {
        let pool = PasswordPool::start(1, 1).unwrap();
        assert!(matches!(
            pool.verify(Secret::new("pw".into()), "garbage".into())
                .await,
            Err(PoolError::Password(_))
        ));
    }
}
