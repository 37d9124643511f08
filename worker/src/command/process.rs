//! A command's process group: started as the leader of a group of its own, so that its children
//! and grandchildren are signalled together, and never outliving its step. A group whose step
//! is dropped mid-way (the run was canceled and its step tasks aborted) is handed to the
//! [`Reaper`], which the executor awaits: SIGTERM, then SIGKILL after the grace period.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::process::{Pid, Signal};
use tokio::process::Child;

/// The groups of command steps that were stopped from outside, still to be ended.
#[derive(Debug, Default)]
pub struct Reaper {
    groups: Mutex<Vec<(Pid, Child)>>,
}

impl Reaper {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn adopt(&self, pgid: Pid, child: Child) {
        if let Ok(mut groups) = self.groups.lock() {
            groups.push((pgid, child));
        }
    }

    /// Ends every adopted group: each got SIGTERM when adopted; a group still alive after
    /// `grace` gets SIGKILL. Returns once every leader has been reaped.
    pub async fn end_all(&self, grace: Duration) {
        let groups = match self.groups.lock() {
            Ok(mut groups) => std::mem::take(&mut *groups),
            Err(_) => return,
        };
        let ends = groups.into_iter().map(|(pgid, mut child)| async move {
            end_group(pgid, &mut child, grace).await;
        });
        futures::future::join_all(ends).await;
    }
}

/// A running command, leader of its own process group.
#[derive(Debug)]
pub(crate) struct Group {
    pgid: Pid,
    child: Option<Child>,
    reaper: Arc<Reaper>,
}

impl Group {
    /// Takes over `child`, which was spawned with `process_group(0)`.
    pub fn new(child: Child, reaper: Arc<Reaper>) -> Option<Self> {
        let pid = child.id().and_then(|id| i32::try_from(id).ok())?;
        Some(Self {
            pgid: Pid::from_raw(pid)?,
            child: Some(child),
            reaper,
        })
    }

    pub fn child(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// Waits for the leader to exit. Dropped before that (an aborted step), the group goes to
    /// the reaper.
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let Some(child) = self.child.as_mut() else {
            return Err(std::io::Error::other("the command was already waited for"));
        };
        let status = child.wait().await;
        if status.is_ok() {
            self.child = None;
        }
        status
    }

    /// Stops the whole group (SIGTERM, SIGKILL after `grace`) and reaps the leader.
    pub async fn terminate(&mut self, grace: Duration) {
        if let Some(mut child) = self.child.take() {
            end_group(self.pgid, &mut child, grace).await;
        }
    }

    /// After the leader exited: kills what it left behind in its group (a background child,
    /// a daemonized grandchild), so no orphan outlives the step.
    pub fn kill_leftovers(&mut self) {
        self.child = None;
        signal_group(self.pgid, Signal::KILL);
    }
}

impl Drop for Group {
    /// A step dropped with its command still running (an aborted task) hands the group to the
    /// reaper, which the executor awaits before it ends the run.
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            signal_group(self.pgid, Signal::TERM);
            self.reaper.adopt(self.pgid, child);
        }
    }
}

async fn end_group(pgid: Pid, child: &mut Child, grace: Duration) {
    signal_group(pgid, Signal::TERM);
    let deadline = tokio::time::Instant::now() + grace;
    if tokio::time::timeout_at(deadline, child.wait())
        .await
        .is_ok()
    {
        // The leader is gone; give its group the rest of the grace period to follow.
        while group_alive(pgid) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    signal_group(pgid, Signal::KILL);
    let _ = child.wait().await;
}

fn signal_group(pgid: Pid, signal: Signal) {
    // ESRCH: the group is already gone, which is what we want.
    let _ = rustix::process::kill_process_group(pgid, signal);
}

/// Whether any process of the group is left (zombies included until reaped).
fn group_alive(pgid: Pid) -> bool {
    rustix::process::test_kill_process_group(pgid).is_ok()
}
