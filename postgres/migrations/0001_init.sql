-- The first schema of the PostgreSQL store. See docs/scaling.md.

-- Organizations: the directory. id is the internal number every other table uses.
CREATE TABLE organizations (
	id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	provider       text        NOT NULL,
	name           text        NOT NULL,
	plan           text        NOT NULL,
	retention_days integer     NOT NULL,
	legal_hold     boolean     NOT NULL,
	created_at     timestamptz NOT NULL,
	updated_at     timestamptz NOT NULL,
	UNIQUE (provider, name)
);

-- One row per organization for appends to lock (SELECT ... FOR UPDATE, in
-- org_id order), so that each organization's log stays one gapless sequence
-- with one Merkle tree across every server process. The log itself (its size,
-- its tree) is in leaves; this row is never updated, which keeps the lock
-- cheap.
CREATE TABLE log_heads (
	org_id integer PRIMARY KEY REFERENCES organizations (id)
);

CREATE TABLE members (
	org_id     integer     NOT NULL REFERENCES organizations (id),
	email      text        NOT NULL,
	role       text        NOT NULL,
	manager    boolean     NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (org_id, email)
);
CREATE INDEX members_email ON members (email);

-- Account API tokens: never the secret, only its SHA-256.
CREATE TABLE tokens (
	hash       bytea       PRIMARY KEY,
	id         text        NOT NULL,
	email      text        NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz,
	UNIQUE (email, id)
);

-- The log: one row per event ever appended, kept when retention deletes the
-- event. It holds the event's id (idempotent retries), its timestamp (to find
-- the event) and the tlog stored hashes its leaf added to the tree: its leaf
-- hash, then one hash per subtree it completed.
CREATE TABLE leaves (
	org_id integer     NOT NULL,
	seq    bigint      NOT NULL,
	ts     timestamptz NOT NULL,
	id     bytea       NOT NULL,
	hashes bytea       NOT NULL,
	PRIMARY KEY (org_id, seq)
);
CREATE UNIQUE INDEX leaves_id ON leaves (org_id, id);

-- The events, partitioned by timestamp (one partition per month, created
-- ahead and on demand), so that retention drops whole partitions and a query
-- reads only the months its range needs. Free-form strings are bytea: they
-- may hold NUL, which text cannot. The primary key serves the newest-first
-- lists.
CREATE TABLE events (
	org_id        integer     NOT NULL,
	ts            timestamptz NOT NULL,
	seq           bigint      NOT NULL,
	id            bytea       NOT NULL,
	action        text        NOT NULL,
	actor_email   text        NOT NULL,
	actor_role    text        NOT NULL,
	result        text        NOT NULL,
	source        text        NOT NULL,
	received_at   timestamptz NOT NULL,
	repository    bytea       NOT NULL,
	entity        bytea       NOT NULL,
	description   bytea       NOT NULL,
	details       text,
	ip            text        NOT NULL,
	user_agent    bytea       NOT NULL,
	salt          bytea,
	personal_hash bytea,
	PRIMARY KEY (org_id, ts, seq)
) PARTITION BY RANGE (ts);
-- The actor index (org_id, actor_email, ts), for erasure and actor: search,
-- is not on this table: the maintenance worker builds it on each partition
-- once its month is over (events_pYYYYMM_actor), so that ingest into the
-- current month does not pay for it.

-- Signed checkpoints, every one: proofs are served against any of them.
CREATE TABLE checkpoints (
	org_id    integer     NOT NULL REFERENCES organizations (id),
	size      bigint      NOT NULL,
	note      text        NOT NULL,
	signed_at timestamptz NOT NULL,
	PRIMARY KEY (org_id, size)
);

-- Signed purge notes (merkle.SignPurge): the sequences whose events
-- retention deleted. Their leaves stay; store verification accepts an event
-- without its row only if a note signed with the log key names it, so that
-- an event deleted by hand cannot pass for retention.
CREATE TABLE purge_notes (
	id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id    integer     NOT NULL REFERENCES organizations (id),
	note      text        NOT NULL,
	purged_at timestamptz NOT NULL
);
CREATE INDEX purge_notes_org ON purge_notes (org_id);
