-- Ringbase schema, SQLite.
--
-- The SQLite and PostgreSQL files differ only in the id and integer column types; keep them so.
-- Instants are unix milliseconds, booleans 0/1, enums their snake_case names, JSON is text.
-- Phones and e-mails of a party are JSON text on its row (one-row reads); `phone_index` holds
-- one row per (number, party) for matching. Unique constraints are named: the store maps a
-- violated constraint to the input field it guards (src/error.rs).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    login         TEXT    NOT NULL,
    login_lower   TEXT    NOT NULL CONSTRAINT users_login_lower_key UNIQUE,
    role          TEXT    NOT NULL,
    extension     TEXT    CONSTRAINT users_extension_key UNIQUE,
    mobile_e164   TEXT,
    mobile_raw    TEXT,
    work_state    TEXT    NOT NULL,
    pause_reason  TEXT,
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    NOT NULL CONSTRAINT sessions_pkey PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    prefix     TEXT    NOT NULL,
    key_hash   TEXT    NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE devices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL CONSTRAINT devices_token_hash_key UNIQUE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER
);
CREATE INDEX devices_user ON devices(user_id);

CREATE TABLE sources (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    name_lower TEXT    NOT NULL CONSTRAINT sources_name_lower_key UNIQUE
);

CREATE TABLE companies (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL,
    name_lower     TEXT    NOT NULL,
    phones         TEXT    NOT NULL,
    emails         TEXT    NOT NULL,
    responsible_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX companies_name_lower ON companies(name_lower);
CREATE INDEX companies_responsible ON companies(responsible_id);

CREATE TABLE contacts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL,
    name_lower     TEXT    NOT NULL,
    company_id     INTEGER REFERENCES companies(id) ON DELETE SET NULL,
    phones         TEXT    NOT NULL,
    emails         TEXT    NOT NULL,
    responsible_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    source_id      INTEGER REFERENCES sources(id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX contacts_company ON contacts(company_id);
CREATE INDEX contacts_responsible ON contacts(responsible_id);

CREATE TABLE leads (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    title          TEXT    NOT NULL,
    name           TEXT,
    company_name   TEXT,
    phones         TEXT    NOT NULL,
    emails         TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    source_id      INTEGER REFERENCES sources(id) ON DELETE SET NULL,
    responsible_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    contact_id     INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX leads_status ON leads(status);
CREATE INDEX leads_contact ON leads(contact_id);

-- Which party carries which number: contacts, companies and leads alike. The first index
-- covers the caller lookup (find_by_phone reads no table row to learn who carries a number).
CREATE TABLE phone_index (
    e164       TEXT    NOT NULL,
    owner_kind TEXT    NOT NULL,
    owner_id   INTEGER NOT NULL
);
CREATE INDEX phone_index_e164 ON phone_index(e164, owner_kind, owner_id);
CREATE INDEX phone_index_owner ON phone_index(owner_kind, owner_id);

-- At most one open lead per number, even under concurrent calls: a unique key, so the second
-- of two racing transactions fails and is retried (it then joins the first one's lead).
CREATE TABLE open_lead_numbers (
    e164    TEXT    NOT NULL CONSTRAINT open_lead_numbers_pkey PRIMARY KEY,
    lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE
);
CREATE INDEX open_lead_numbers_lead ON open_lead_numbers(lead_id);

CREATE TABLE deals (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    title          TEXT    NOT NULL,
    stage          TEXT    NOT NULL,
    contact_id     INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    company_id     INTEGER REFERENCES companies(id) ON DELETE SET NULL,
    responsible_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    amount_minor   INTEGER NOT NULL,
    currency       TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    closed_at      INTEGER
);
CREATE INDEX deals_contact ON deals(contact_id, stage);
CREATE INDEX deals_company ON deals(company_id, stage);

CREATE TABLE lines (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    number_e164 TEXT    NOT NULL CONSTRAINT lines_number_e164_key UNIQUE,
    number_raw  TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    source_id   INTEGER REFERENCES sources(id),
    origin      TEXT    NOT NULL,
    lead_rule   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX lines_source ON lines(source_id);

CREATE TABLE lead_exceptions (
    e164 TEXT NOT NULL CONSTRAINT lead_exceptions_pkey PRIMARY KEY,
    raw  TEXT NOT NULL
);

-- Calls are never deleted; deleting a party only unlinks them.
CREATE TABLE calls (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    direction       TEXT    NOT NULL,
    caller_e164     TEXT,
    caller_raw      TEXT    NOT NULL,
    called_e164     TEXT,
    called_raw      TEXT    NOT NULL,
    remote_e164     TEXT,
    line_id         INTEGER REFERENCES lines(id),
    source_id       INTEGER REFERENCES sources(id) ON DELETE SET NULL,
    agent_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    queue           TEXT,
    started_at      INTEGER NOT NULL,
    answered_at     INTEGER,
    ended_at        INTEGER NOT NULL,
    duration_s      INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    recording       TEXT,
    rating          INTEGER,
    notes           TEXT,
    contact_id      INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    company_id      INTEGER REFERENCES companies(id) ON DELETE SET NULL,
    lead_id         INTEGER REFERENCES leads(id) ON DELETE SET NULL,
    deal_id         INTEGER REFERENCES deals(id) ON DELETE SET NULL,
    origin_kind     TEXT    NOT NULL,
    origin_device   INTEGER,
    idempotency_key TEXT    CONSTRAINT calls_idempotency_key_key UNIQUE
);
CREATE INDEX calls_started ON calls(started_at, id);
CREATE INDEX calls_agent ON calls(agent_id, started_at);
CREATE INDEX calls_contact ON calls(contact_id, started_at);
CREATE INDEX calls_company ON calls(company_id);
CREATE INDEX calls_lead ON calls(lead_id, started_at);
CREATE INDEX calls_line ON calls(line_id, started_at);
CREATE INDEX calls_remote ON calls(remote_e164, started_at);
CREATE INDEX calls_caller ON calls(caller_e164);
CREATE INDEX calls_called ON calls(called_e164);

CREATE TABLE timeline (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind TEXT    NOT NULL,
    subject_id   INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    call_id      INTEGER REFERENCES calls(id) ON DELETE SET NULL,
    author_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    text         TEXT
);
CREATE INDEX timeline_subject ON timeline(subject_kind, subject_id, at, id);

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    url        TEXT    NOT NULL,
    events     TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    active     INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event           TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at, id);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);

CREATE TABLE settings (
    key   TEXT NOT NULL CONSTRAINT settings_pkey PRIMARY KEY,
    value TEXT NOT NULL
);
