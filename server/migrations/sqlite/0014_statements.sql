-- Registry statements (protocol/src/statement.rs): signed offline by a
-- root key; only newer ones are taken, and agents get the newest.
CREATE TABLE registry_statements (
    sequence    INTEGER PRIMARY KEY,
    statement   TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    uploaded_at INTEGER NOT NULL
);
