-- Registry statements (protocol/src/statement.rs): signed offline by a
-- root key; only newer ones are taken, and agents get the newest.
CREATE TABLE registry_statements (
    sequence    int8 PRIMARY KEY,
    statement   text NOT NULL,
    expires_at  timestamptz NOT NULL,
    uploaded_at timestamptz NOT NULL
);
