-- The plugin registry, the checks an operator defines on the server, and
-- where each agent sits (docs/registry.md).

-- Publisher keys. A key is never deleted, only revoked.
CREATE TABLE publisher_keys (
    key_id      text PRIMARY KEY,
    name        text NOT NULL,
    -- base64 of the 32-byte ed25519 public key.
    public_key  text NOT NULL,
    root        boolean NOT NULL,
    -- A root's Endorsement of a non-root key.
    endorsement jsonb,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

-- Published packages, one row per name and version. The file is TOASTed
-- out of line: listings that do not select it never read it.
CREATE TABLE plugin_packages (
    name         text NOT NULL,
    version      text NOT NULL,
    -- The signed package digest, hex.
    digest       text NOT NULL,
    -- sha256 of the file, hex: its blob address.
    sha256       text NOT NULL UNIQUE,
    size         int8 NOT NULL,
    manifest     jsonb NOT NULL,
    -- The key whose signature the registry checked.
    signer       text NOT NULL,
    published_at timestamptz NOT NULL,
    published_by uuid NOT NULL,
    yanked_at    timestamptz,
    bytes        bytea NOT NULL,
    PRIMARY KEY (name, version)
);

-- Checks defined on the server (`checks` holds the check targets results name).
CREATE TABLE check_configs (
    name       text PRIMARY KEY,
    spec       jsonb NOT NULL,
    -- Capabilities the operator reviewed (array).
    reviewed   jsonb NOT NULL,
    revision   int8 NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Placement and the last ConfigStatus the agent reported.
ALTER TABLE agents
    ADD COLUMN groups jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN labels jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN config_status jsonb;
