//! The call-record writer: every finished call the B2BUA reports goes to the CRM from here.
//!
//! Why a writer of its own instead of a task per call: a task per call meant thousands of
//! transactions queueing for SQLite's one write connection under load, each with its own
//! sync of the WAL (a few hundred a second on an ordinary disk), and a call whose report
//! waited past the pool's timeout five times was lost. Here reports queue in memory (the SIP
//! loop never waits), and the writer takes everything queued as one batch: one transaction
//! and one sync for the lot (group commit), so the write rate follows the call rate.
//!
//! Nothing is dropped for being slow: a batch that fails because the database does is
//! retried with backoff until it is written (idempotency keys make a retry harmless). Only a
//! report the CRM refuses as invalid is given up, with an error in the log. At shutdown the
//! writer drains the queue before the service counts as stopped.

use crm::{CallReport, CrmError};
use std::sync::Arc;
use std::time::Duration;
use store::StoreError;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// At most this many reports per transaction: a batch stays a short transaction, and a
/// failed one that falls back to one-by-one costs little.
const MAX_BATCH: usize = 256;
/// First wait after a failed write; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A transaction starts at most this often: what arrives meanwhile waits for the next one.
/// Under load most of a batch's cost is its commit (the WAL sync and every page the calls
/// table's indexes touched), so a few milliseconds more per record buy far fewer commits;
/// at one call a second it only delays each record by as much.
const COMMIT_EVERY: Duration = Duration::from_millis(10);
/// After the service was told to stop, a database that keeps failing is given this long
/// before the remaining reports are written to the log as lost.
const DRAIN_PATIENCE: Duration = Duration::from_secs(30);

/// The sending side, owned by the SIP loop.
pub(crate) struct CallLogWriter {
    tx: mpsc::UnboundedSender<CallReport>,
    task: JoinHandle<()>,
}

impl CallLogWriter {
    /// Starts the writer task.
    pub(crate) fn spawn(crm: Arc<crm::Crm>) -> CallLogWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(crm, rx));
        CallLogWriter { tx, task }
    }

    /// Queues a finished call. Never waits.
    pub(crate) fn log(&self, report: CallReport) {
        if let Err(e) = self.tx.send(report) {
            // Only after the writer task ended, which happens only when it panicked.
            tracing::error!(report = ?e.0, "call report lost: the call log writer is gone");
        }
    }

    /// Closes the queue and waits until everything queued is written (or given up).
    pub(crate) async fn finish(self) {
        let CallLogWriter { tx, task } = self;
        drop(tx);
        let _ = task.await;
    }
}

async fn run(crm: Arc<crm::Crm>, mut rx: mpsc::UnboundedReceiver<CallReport>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Since when the database has been failing while the service stops: one patience for
    // the whole queue, not one per batch.
    let mut failing_at_shutdown: Option<tokio::time::Instant> = None;
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let started = tokio::time::Instant::now();
        write(
            &crm,
            std::mem::take(&mut batch),
            &rx,
            &mut failing_at_shutdown,
        )
        .await;
        // Not when stopping: the backlog is written as fast as it can be.
        if !rx.is_closed() {
            tokio::time::sleep_until(started + COMMIT_EVERY).await;
        }
    }
}

/// Writes one batch, retrying what failed for the database's sake until it is written.
async fn write(
    crm: &crm::Crm,
    mut pending: Vec<CallReport>,
    rx: &mpsc::UnboundedReceiver<CallReport>,
    failing_since_close: &mut Option<tokio::time::Instant>,
) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let results = crm.log_calls(pending.clone()).await;
        let mut retry = Vec::new();
        for (report, result) in pending.into_iter().zip(results) {
            match result {
                Ok(_) => {}
                Err(CrmError::Store(StoreError::Backend(e))) => {
                    tracing::warn!(error = %e, "writing a call record failed; will retry");
                    retry.push(report);
                }
                Err(e) => {
                    tracing::error!(error = %e, ?report, "call report refused by the CRM; not logged")
                }
            }
        }
        if retry.is_empty() {
            return;
        }
        if rx.is_closed() {
            let since = *failing_since_close.get_or_insert_with(tokio::time::Instant::now);
            if since.elapsed() >= DRAIN_PATIENCE {
                for report in retry {
                    tracing::error!(
                        ?report,
                        "call report lost: the database kept failing at shutdown"
                    );
                }
                return;
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        pending = retry;
    }
}
