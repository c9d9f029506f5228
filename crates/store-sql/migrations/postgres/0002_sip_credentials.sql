-- Ringbase schema, PostgreSQL: 0002.
-- SIP credentials per user (issue 4): the digest H(A1) for MD5 and SHA-256, never the password.
-- H(A1) binds the user name and the realm, so both are kept with it.
CREATE TABLE sip_credentials (
    user_id    BIGINT  NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    username   TEXT    NOT NULL CONSTRAINT sip_credentials_username_key UNIQUE,
    realm      TEXT    NOT NULL,
    ha1_md5    TEXT    NOT NULL,
    ha1_sha256 TEXT    NOT NULL,
    updated_at BIGINT  NOT NULL
);
