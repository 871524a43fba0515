-- Agent releases: archives addressed by their sha256, and the signed
-- manifests published for them (one per version and platform).
CREATE TABLE release_blobs (
    sha256      text PRIMARY KEY,
    size        int8 NOT NULL,
    uploaded_at timestamptz NOT NULL,
    bytes       bytea NOT NULL
);

CREATE TABLE agent_releases (
    version      text NOT NULL,
    platform     text NOT NULL,
    -- Grows with every manifest the registry publishes.
    seq          int8 NOT NULL UNIQUE,
    sha256       text NOT NULL REFERENCES release_blobs (sha256),
    -- The signed manifest (JSON), as agents check it.
    manifest     jsonb NOT NULL,
    signer       text NOT NULL,
    published_at timestamptz NOT NULL,
    published_by uuid NOT NULL,
    yanked_at    timestamptz,
    PRIMARY KEY (version, platform)
);
