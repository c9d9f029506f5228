-- Ringbase schema, SQLite: 0003.
-- Tasks and call backs (issue 5's after-call form) on a contact, lead or deal, like timeline
-- entries (subject_kind, subject_id); deleting a contact deletes its tasks in the same
-- transaction. Instants are unix milliseconds; done_at is NULL while the task is open.
CREATE TABLE tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    subject_kind TEXT    NOT NULL,
    subject_id   INTEGER NOT NULL,
    due_at       INTEGER,
    assignee_id  INTEGER NOT NULL REFERENCES users (id),
    created_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    call_id      INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    done_at      INTEGER
);
CREATE INDEX tasks_assignee ON tasks (assignee_id, done_at, due_at);
CREATE INDEX tasks_created_by ON tasks (created_by);
CREATE INDEX tasks_subject ON tasks (subject_kind, subject_id);
