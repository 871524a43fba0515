-- The plugin registry, the checks an operator defines on the server, and
-- where each agent sits (docs/registry.md). SQLite's types as in 0001.

-- Publisher keys. A key is never deleted, only revoked.
CREATE TABLE publisher_keys (
    key_id      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    -- base64 of the 32-byte ed25519 public key.
    public_key  TEXT NOT NULL,
    root        INTEGER NOT NULL CHECK (root IN (0, 1)),
    -- A root's Endorsement (JSON) of a non-root key.
    endorsement TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) WITHOUT ROWID;

-- Published packages, one row per name and version. A rowid table, with
-- the package file as its last column: listings read the columns before it
-- and never the file's overflow pages.
CREATE TABLE plugin_packages (
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    -- The signed package digest, hex.
    digest       TEXT NOT NULL,
    -- sha256 of the file, hex: its blob address.
    sha256       TEXT NOT NULL UNIQUE,
    size         INTEGER NOT NULL,
    -- The manifest (JSON).
    manifest     TEXT NOT NULL,
    -- The key whose signature the registry checked.
    signer       TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    published_by BLOB NOT NULL,
    yanked_at    INTEGER,
    bytes        BLOB NOT NULL,
    PRIMARY KEY (name, version)
);

-- Checks defined on the server (`checks` holds the check targets results name).
CREATE TABLE check_configs (
    name       TEXT PRIMARY KEY,
    -- The CheckSpec (JSON).
    spec       TEXT NOT NULL,
    -- Capabilities the operator reviewed (JSON array).
    reviewed   TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Placement (JSON array of group names, JSON object of labels) and the
-- last ConfigStatus the agent reported (JSON).
ALTER TABLE agents ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE agents ADD COLUMN config_status TEXT;
