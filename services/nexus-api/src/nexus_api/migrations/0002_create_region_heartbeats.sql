-- /readyz proves the database writable by writing here; one row per region, so it replicates to the other region
-- and shows there how fresh the replica is.
CREATE TABLE region_heartbeats (
    region     text        PRIMARY KEY,
    checked_at timestamptz NOT NULL
);
