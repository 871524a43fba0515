-- Agent releases: archives addressed by their sha256, and the signed
-- manifests published for them (one per version and platform).
CREATE TABLE release_blobs (
    sha256      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    uploaded_at INTEGER NOT NULL,
    bytes       BLOB NOT NULL
);

CREATE TABLE agent_releases (
    version      TEXT NOT NULL,
    platform     TEXT NOT NULL,
    -- Grows with every manifest the registry publishes.
    seq          INTEGER NOT NULL UNIQUE,
    sha256       TEXT NOT NULL REFERENCES release_blobs (sha256),
    -- The signed manifest (JSON), as agents check it.
    manifest     TEXT NOT NULL,
    signer       TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    published_by BLOB NOT NULL,
    yanked_at    INTEGER,
    PRIMARY KEY (version, platform)
);
