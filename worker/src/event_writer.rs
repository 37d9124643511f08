//! Batches a run's events into few database writes. Emitting never waits for the database:
//! events go into a channel, and one task writes whatever has accumulated in one transaction, so
//! a step that logs 10 000 lines costs a handful of round trips, not 10 000.
//!
//! The writer rides out a database outage: a batch the database could not take is written
//! again (numbered, so a try whose commit landed with its answer lost is not stored twice), in
//! order, with orch's reconnect backoff (`orchestrator::retry::RECONNECT`) until the
//! database is back; nothing is dropped. Events emitted meanwhile wait in memory. Past the
//! buffer's bound ([`DEFAULT_BUFFER`] events not yet stored), [`EventSink::room`] stops
//! resolving: the executor starts no step or attempt and command output is not read (so the
//! command blocks on its own output) until the backlog is written; and [`EventSink::emit`]
//! itself holds its thread there (on a multi-threaded runtime), so a Rust asset that logs in a
//! loop without awaiting pauses too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use orchestrator::definitions::EventSink;
use orchestrator::domain::{NewEvent, RunId};
use orchestrator::retry::RECONNECT;
use orchestrator::storage::{RunStorage, StorageError};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Something that watches events as they are emitted (the CLI's live progress).
pub type EventObserver = Arc<dyn Fn(&NewEvent) + Send + Sync>;

/// The most events written in one transaction.
const MAX_BATCH: usize = 2_000;

/// Events emitted and not yet stored past which the run's steps pause (`ORCH_EVENT_BUFFER`).
pub const DEFAULT_BUFFER: usize = 100_000;

/// Attempts at a batch the database refused for another reason than being away (a deadlock, a
/// serialization failure), the first included.
const REFUSED_ATTEMPTS: u32 = 5;

/// How long the first event of a batch waits for company before it is written, unless a flush
/// asks sooner. Short enough for live progress, long enough that a quick step's start, output,
/// materialization and success share one transaction.
const LINGER: std::time::Duration = std::time::Duration::from_millis(50);

/// How often a thread held in `emit` looks at the backlog again, besides being woken.
const ROOM_RECHECK: std::time::Duration = std::time::Duration::from_millis(100);

enum Message {
    Event(NewEvent),
    Flush(oneshot::Sender<Result<(), String>>),
    /// Hand back what is not written yet and stop.
    Finish(oneshot::Sender<Result<Vec<NewEvent>, String>>),
}

/// The sending side; cheap to clone through `Arc`.
pub struct EventWriter {
    tx: mpsc::UnboundedSender<Message>,
    observer: Option<EventObserver>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
    backlog: Arc<Backlog>,
}

/// Events emitted and not yet stored, against the bound.
#[derive(Debug)]
struct Backlog {
    pending: AtomicUsize,
    limit: usize,
    /// Woken when stored events make room.
    room: Notify,
    /// The same for a thread held in [`EventSink::emit`] (`block_for_room`).
    room_lock: std::sync::Mutex<()>,
    room_freed: std::sync::Condvar,
}

impl Backlog {
    fn has_room(&self) -> bool {
        self.pending.load(Ordering::Acquire) < self.limit
    }

    fn stored(&self, n: usize) {
        self.pending.fetch_sub(n, Ordering::AcqRel);
        if self.has_room() {
            self.room.notify_waiters();
            // Under the lock, so a thread between its check and its wait cannot miss it.
            let _held = self.room_lock.lock().unwrap_or_else(|e| e.into_inner());
            self.room_freed.notify_all();
        }
    }

    /// Holds the calling thread until there is room.
    fn block_for_room(&self) {
        let mut held = self.room_lock.lock().unwrap_or_else(|e| e.into_inner());
        while !self.has_room() {
            held = match self.room_freed.wait_timeout(held, ROOM_RECHECK) {
                Ok((held, _)) => held,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// Past the bound, holds an emitting thread until the writer makes room: a Rust asset that
    /// logs in a loop without awaiting pauses too. On a multi-threaded runtime the thread is
    /// handed over (`block_in_place`) so the writer and the rest of the worker go on; on a
    /// current-thread runtime the writer runs on this very thread, so it does not wait there
    /// (the step boundaries still pause).
    fn pause_emitter(&self) {
        use tokio::runtime::{Handle, RuntimeFlavor};
        if self.has_room() {
            return;
        }
        match Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(RuntimeFlavor::CurrentThread) => {}
            Ok(_) => tokio::task::block_in_place(|| self.block_for_room()),
            // A thread of the asset's own, outside the runtime: the writer runs elsewhere.
            Err(_) => self.block_for_room(),
        }
    }

    async fn wait_for_room(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            // Registered before the check, so a write between the two still wakes us.
            notified.as_mut().enable();
            if self.has_room() {
                return;
            }
            notified.await;
        }
    }
}

impl std::fmt::Debug for EventWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventWriter").finish_non_exhaustive()
    }
}

impl EventWriter {
    /// Starts the writer task for `run`, with the default buffer bound.
    pub fn spawn(
        store: Arc<dyn RunStorage>,
        run: RunId,
        observer: Option<EventObserver>,
    ) -> Arc<Self> {
        Self::spawn_with_buffer(store, run, observer, DEFAULT_BUFFER)
    }

    /// Starts the writer task for `run`; past `buffer` events not yet stored, steps pause.
    pub fn spawn_with_buffer(
        store: Arc<dyn RunStorage>,
        run: RunId,
        observer: Option<EventObserver>,
        buffer: usize,
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog {
            pending: AtomicUsize::new(0),
            limit: buffer.max(1),
            room: Notify::new(),
            room_lock: std::sync::Mutex::new(()),
            room_freed: std::sync::Condvar::new(),
        });
        let task = tokio::spawn(write_loop(store, run, rx, backlog.clone()));
        Arc::new(Self {
            tx,
            observer,
            task: std::sync::Mutex::new(Some(task)),
            backlog,
        })
    }

    /// Events emitted and not yet stored.
    pub fn backlog(&self) -> usize {
        self.backlog.pending.load(Ordering::Acquire)
    }

    /// Waits until every event emitted before this call is stored.
    pub async fn flush(&self) -> Result<(), StorageError> {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Message::Flush(ack)).is_err() {
            return Err(StorageError::Corrupt("the event writer has stopped".into()));
        }
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StorageError::Corrupt(message)),
            Err(_) => Err(StorageError::Corrupt("the event writer has stopped".into())),
        }
    }

    /// Stops the writer and returns the events it has not written yet, so the caller can store
    /// them together with the run's final status in one transaction. Fails if an earlier batch
    /// could not be recorded.
    pub async fn finish(&self) -> Result<Vec<NewEvent>, StorageError> {
        let stopped = || StorageError::Corrupt("the event writer has stopped".into());
        let (ack, done) = oneshot::channel();
        self.tx.send(Message::Finish(ack)).map_err(|_| stopped())?;
        let result = done.await.map_err(|_| stopped())?;
        if let Some(task) = self.task.lock().ok().and_then(|mut t| t.take()) {
            let _ = task.await;
        }
        result.map_err(StorageError::Corrupt)
    }
}

impl EventSink for EventWriter {
    fn emit(&self, event: NewEvent) {
        if let Some(observer) = &self.observer {
            observer(&event);
        }
        self.backlog.pending.fetch_add(1, Ordering::AcqRel);
        // A send fails only after finish(); an event emitted that late has nowhere to go.
        if self.tx.send(Message::Event(event)).is_err() {
            self.backlog.stored(1);
            return;
        }
        self.backlog.pause_emitter();
    }

    fn room(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.backlog.wait_for_room())
    }
}

async fn write_loop(
    store: Arc<dyn RunStorage>,
    run: RunId,
    mut rx: mpsc::UnboundedReceiver<Message>,
    backlog: Arc<Backlog>,
) {
    let mut inbox = Vec::with_capacity(256);
    let mut batch: Vec<NewEvent> = Vec::with_capacity(256);
    // The first error is kept and reported to every later flush, so a lost write is never silent.
    let mut failed: Option<String> = None;
    // The run's event numbers: each batch carries its own, the same on every try, so a batch
    // written again after the answer to its commit was lost stores nothing twice.
    let mut next_seq: i64 = 1;
    while rx.recv_many(&mut inbox, MAX_BATCH).await > 0 {
        let mut acks = Vec::new();
        let mut finish = sort_messages(&mut inbox, &mut batch, &mut acks);
        let deadline = tokio::time::Instant::now() + LINGER;
        while acks.is_empty() && finish.is_none() && batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv_many(&mut inbox, MAX_BATCH)).await {
                Ok(n) if n > 0 => finish = sort_messages(&mut inbox, &mut batch, &mut acks),
                _ => break,
            }
        }
        if let Some(finish) = finish {
            for ack in acks {
                let _ = ack.send(failed.clone().map_or(Ok(()), Err));
            }
            // Handed back: the caller stores them with the run's end.
            backlog.stored(batch.len());
            let _ = finish.send(failed.map_or(Ok(batch), Err));
            return;
        }
        if !batch.is_empty() {
            if let Err(e) = write_until_stored(store.as_ref(), run, next_seq, &batch).await {
                tracing::error!(run_id = %run, error = %e, events = batch.len(), "could not record events");
                failed.get_or_insert_with(|| {
                    format!("could not record {} events of run {run}: {e}", batch.len())
                });
            }
            next_seq += i64::try_from(batch.len()).unwrap_or(i64::MAX);
            backlog.stored(batch.len());
            batch.clear();
        }
        for ack in acks {
            let _ = ack.send(failed.clone().map_or(Ok(()), Err));
        }
    }
}

/// Sorts received messages into events and flush requests; returns a finish request, if any.
/// Events after a finish request are kept too: they were emitted before the caller asked.
fn sort_messages(
    inbox: &mut Vec<Message>,
    batch: &mut Vec<NewEvent>,
    acks: &mut Vec<oneshot::Sender<Result<(), String>>>,
) -> Option<oneshot::Sender<Result<Vec<NewEvent>, String>>> {
    let mut finish = None;
    for message in inbox.drain(..) {
        match message {
            Message::Event(event) => batch.push(event),
            Message::Flush(ack) => acks.push(ack),
            Message::Finish(ack) => finish = Some(ack),
        }
    }
    finish
}

/// Writes `batch` (the run's events `first_seq`, `first_seq + 1`, …), again and again while the
/// database is away (it keeps the run's order: no later batch is written before this one); a
/// batch refused for another reason is tried [`REFUSED_ATTEMPTS`] times. Every try carries the
/// same numbers, so a try whose commit landed with its answer lost is not stored twice.
async fn write_until_stored(
    store: &dyn RunStorage,
    run: RunId,
    first_seq: i64,
    batch: &[NewEvent],
) -> Result<(), StorageError> {
    let mut unavailable = RECONNECT.start();
    let mut refused = RECONNECT.start();
    loop {
        match store.append_numbered_events(run, first_seq, batch).await {
            Ok(()) => {
                if unavailable.failures() > 0 {
                    tracing::info!(run_id = %run, events = batch.len(), "the database is back; events recorded");
                }
                return Ok(());
            }
            Err(e) if e.is_unavailable() => {
                let delay = unavailable.failed();
                if unavailable.failures() == 1 {
                    tracing::warn!(run_id = %run, error = %e, "the database is away; keeping the run's events until it is back");
                } else {
                    tracing::debug!(run_id = %run, error = %e, ?delay, "event write failed again");
                }
                tokio::time::sleep(delay).await;
            }
            Err(StorageError::Database(e)) if refused.failures() + 1 < REFUSED_ATTEMPTS => {
                let delay = refused.failed();
                tracing::warn!(run_id = %run, error = %e, attempt = refused.failures(), "event write failed; retrying");
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}
