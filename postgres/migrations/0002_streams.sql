-- Streams (SPEC §10): destinations of an organization's new events. The URL
-- as given and the webhook secret are in sealed, encrypted with the stream
-- key (internal/seal); url is the redacted URL that listings show. The other
-- columns are the delivery status, which the delivery worker rewrites after
-- every batch: cursor is the next sequence to deliver.
CREATE TABLE streams (
	org_id          integer     NOT NULL REFERENCES organizations (id),
	id              text        NOT NULL,
	type            text        NOT NULL,
	url             text        NOT NULL,
	subject         text        NOT NULL,
	q               text        NOT NULL,
	created_at      timestamptz NOT NULL,
	sealed          bytea       NOT NULL,
	state           text        NOT NULL,
	cursor          bigint      NOT NULL,
	last_delivered  bigint      NOT NULL,
	last_error      text        NOT NULL,
	last_success_at timestamptz,
	failing_since   timestamptz,
	PRIMARY KEY (org_id, id)
);
