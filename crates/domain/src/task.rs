//! Tasks: what an employee has to do next about a contact, lead or deal ("send the offer",
//! "call back on Monday at 10"). Usually written in the after-call form, so a task may name the
//! call it came from.

use crate::validation::{require_text, FieldError, Validate};
use crate::{CallId, Subject, TaskId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// Longest task title, in characters.
pub const TASK_TITLE_MAX: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Something to do.
    Task,
    /// Call the customer back at `due_at` (a call back always has a due time).
    CallBack,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Task => "task",
            TaskKind::CallBack => "call_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [TaskKind::Task, TaskKind::CallBack]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub title: String,
    pub kind: TaskKind,
    /// The contact, lead or deal the task is about; its timeline shows the task's creation.
    pub subject: Subject,
    pub due_at: Option<Timestamp>,
    /// Who has to do it.
    pub assignee_id: UserId,
    /// Who wrote it; `None` for an API key or a removed user.
    pub created_by: Option<UserId>,
    /// The call it came from, if any.
    pub call_id: Option<CallId>,
    pub created_at: Timestamp,
    /// When it was marked done; `None` while open.
    pub done_at: Option<Timestamp>,
}

impl Task {
    pub fn is_done(&self) -> bool {
        self.done_at.is_some()
    }

    /// The rules that hold for a task as a whole, after a create or a change.
    pub fn check(&self) -> Result<(), FieldError> {
        check(&self.title, self.kind, self.due_at)
    }
}

fn check(title: &str, kind: TaskKind, due_at: Option<Timestamp>) -> Result<(), FieldError> {
    require_text("title", title, TASK_TITLE_MAX)?;
    if title.contains('\n') {
        return Err(FieldError::new("title", "must be one line"));
    }
    if kind == TaskKind::CallBack && due_at.is_none() {
        return Err(FieldError::new("due_at", "a call back needs a due time"));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    pub title: String,
    pub kind: TaskKind,
    pub subject: Subject,
    pub due_at: Option<Timestamp>,
    pub assignee_id: UserId,
    pub created_by: Option<UserId>,
    pub call_id: Option<CallId>,
    pub created_at: Timestamp,
}

impl Validate for NewTask {
    fn validate(&self) -> Result<(), FieldError> {
        check(&self.title, self.kind, self.due_at)
    }
}

/// A change to a task; `None` leaves a field as it is. `due_at: Some(None)` clears the due
/// time (refused for a call back); `done: Some(true)` marks it done (keeping the first time it
/// was marked), `Some(false)` opens it again.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub due_at: Option<Option<Timestamp>>,
    pub assignee_id: Option<UserId>,
    pub done: Option<bool>,
}

impl TaskPatch {
    /// The task with this patch applied at `now`; what the store writes.
    pub fn apply(&self, task: &Task, now: Timestamp) -> Result<Task, FieldError> {
        let mut next = task.clone();
        if let Some(title) = &self.title {
            next.title = title.trim().to_string();
        }
        if let Some(due_at) = self.due_at {
            next.due_at = due_at;
        }
        if let Some(assignee) = self.assignee_id {
            next.assignee_id = assignee;
        }
        match self.done {
            Some(true) if next.done_at.is_none() => next.done_at = Some(now),
            Some(false) => next.done_at = None,
            _ => {}
        }
        next.check()?;
        Ok(next)
    }
}

impl Validate for TaskPatch {
    fn validate(&self) -> Result<(), FieldError> {
        if let Some(title) = &self.title {
            require_text("title", title, TASK_TITLE_MAX)?;
            if title.contains('\n') {
                return Err(FieldError::new("title", "must be one line"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContactId;
    use chrono::TimeZone;

    fn at(hour: u32) -> Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2026, 3, 2, hour, 0, 0)
            .single()
            .unwrap()
    }

    fn new_task(kind: TaskKind, due_at: Option<Timestamp>) -> NewTask {
        NewTask {
            title: "Send the offer".into(),
            kind,
            subject: Subject::Contact(ContactId(1)),
            due_at,
            assignee_id: UserId(1),
            created_by: Some(UserId(1)),
            call_id: None,
            created_at: at(9),
        }
    }

    fn task(kind: TaskKind, due_at: Option<Timestamp>) -> Task {
        Task {
            id: TaskId(1),
            title: "Send the offer".into(),
            kind,
            subject: Subject::Contact(ContactId(1)),
            due_at,
            assignee_id: UserId(1),
            created_by: None,
            call_id: None,
            created_at: at(9),
            done_at: None,
        }
    }

    #[test]
    fn new_tasks_name_the_bad_field() {
        assert!(new_task(TaskKind::Task, None).validate().is_ok());
        assert!(new_task(TaskKind::CallBack, Some(at(10)))
            .validate()
            .is_ok());
        assert_eq!(
            new_task(TaskKind::CallBack, None)
                .validate()
                .unwrap_err()
                .field,
            "due_at"
        );
        for bad in ["", "   ", "two\nlines", &"x".repeat(TASK_TITLE_MAX + 1)] {
            let mut t = new_task(TaskKind::Task, None);
            t.title = bad.to_string();
            assert_eq!(t.validate().unwrap_err().field, "title", "{bad:?}");
        }
    }

    #[test]
    fn patches_apply_and_keep_the_rules() {
        let open = task(TaskKind::CallBack, Some(at(10)));
        let done = TaskPatch {
            done: Some(true),
            ..Default::default()
        }
        .apply(&open, at(11))
        .unwrap();
        assert_eq!(done.done_at, Some(at(11)));
        // Marking done again keeps the first time.
        let again = TaskPatch {
            done: Some(true),
            title: Some("  Call back  ".into()),
            ..Default::default()
        }
        .apply(&done, at(12))
        .unwrap();
        assert_eq!(again.done_at, Some(at(11)));
        assert_eq!(again.title, "Call back");
        let reopened = TaskPatch {
            done: Some(false),
            ..Default::default()
        }
        .apply(&again, at(13))
        .unwrap();
        assert_eq!(reopened.done_at, None);
        // A call back cannot lose its due time; a plain task can.
        let clear = TaskPatch {
            due_at: Some(None),
            ..Default::default()
        };
        assert_eq!(clear.apply(&open, at(11)).unwrap_err().field, "due_at");
        let plain = task(TaskKind::Task, Some(at(10)));
        assert_eq!(clear.apply(&plain, at(11)).unwrap().due_at, None);
    }
}
