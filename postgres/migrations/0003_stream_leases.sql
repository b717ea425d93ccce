-- Stream leases: each stream is delivered by one server at a time, the one
-- named by lease_holder, until lease_expires (the database's clock). The
-- holder renews its leases well before they expire; another server takes
-- over a stream whose lease expired, and increments lease_token as it does.
-- The delivery worker writes the status columns only under the token it
-- claimed (postgres/leases.go), in the same row, so a server that lost a
-- stream can neither move its cursor back nor overwrite the new holder's
-- status: the row lock orders the takeover and the write.
ALTER TABLE streams
	ADD COLUMN lease_holder  text,
	ADD COLUMN lease_token   bigint NOT NULL DEFAULT 0,
	ADD COLUMN lease_expires timestamptz;
