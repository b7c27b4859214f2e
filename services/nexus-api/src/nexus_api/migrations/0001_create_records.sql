-- Records written through the API. The id is chosen by the client, so a retried write finds its first attempt.
CREATE TABLE records (
    id          text        PRIMARY KEY CHECK (char_length(id) BETWEEN 1 AND 128),
    data        jsonb       NOT NULL,
    -- SHA-256 of the canonical JSON of data: a replay is accepted only with the same body.
    body_sha256 bytea       NOT NULL CHECK (octet_length(body_sha256) = 32),
    -- The region whose database accepted the write (tells writes before and after a failover apart).
    region      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- GET /api/v1/records lists the most recent first.
CREATE INDEX records_created_at_idx ON records (created_at DESC, id DESC);
