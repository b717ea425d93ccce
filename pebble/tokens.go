package pebble

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/cockroachdb/pebble/v2"
)

var _ auditlog.TokenService = (*DB)(nil)

// tokenRecord is a stored token: never its secret, only the secret's hash (the key).
type tokenRecord struct {
	ID        string     `json:"id"`
	Email     string     `json:"email"`
	Hash      []byte     `json:"hash"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

func (r *tokenRecord) token() *auditlog.Token {
	return &auditlog.Token{ID: r.ID, Email: r.Email, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
}

// CreateToken creates an account API token for email.
func (db *DB) CreateToken(ctx context.Context, email string, expiresAt *time.Time) (*auditlog.Token, error) {
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	now := db.now()
	if expiresAt != nil && !expiresAt.After(now) {
		return nil, auditlog.Errorf(auditlog.EUNPROCESSABLE, "expiresAt must be in the future")
	}
	secret, hash := auditlog.NewTokenSecret()
	rec := tokenRecord{ID: auditlog.NewID(8), Email: email, Hash: hash[:], CreatedAt: now, ExpiresAt: expiresAt}
	b := db.db.NewBatch()
	defer b.Close()
	if err := setJSON(b, tokenKey(hash), &rec); err != nil {
		return nil, err
	}
	_ = b.Set(userTokenKey(email, rec.ID), hash[:], nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("create token: %w", err)
	}
	t := rec.token()
	t.Secret = secret
	return t, nil
}

var errBadToken = auditlog.Errorf(auditlog.EUNAUTHORIZED, "invalid or expired api token")

// Authenticate returns the live token whose secret is given.
func (db *DB) Authenticate(ctx context.Context, secret string) (*auditlog.Token, error) {
	if secret == "" || len(secret) > 256 {
		return nil, errBadToken
	}
	hash := auditlog.HashToken(secret)
	var rec tokenRecord
	if err := db.getJSON(tokenKey(hash), &rec); errors.Is(err, pebble.ErrNotFound) {
		return nil, errBadToken
	} else if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(rec.Hash, hash[:]) != 1 {
		return nil, errBadToken
	}
	t := rec.token()
	if t.Expired(db.Now()) {
		return nil, errBadToken
	}
	return t, nil
}

// Tokens lists a user's tokens, oldest first, without secrets.
func (db *DB) Tokens(ctx context.Context, email string) ([]auditlog.Token, error) {
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	prefix := userTokenPrefix(email)
	it, err := db.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	var hashes [][]byte
	for it.First(); it.Valid(); it.Next() {
		hashes = append(hashes, append([]byte(nil), it.Value()...))
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, err
	}
	out := make([]auditlog.Token, 0, len(hashes))
	for _, h := range hashes {
		var rec tokenRecord
		if err := db.getJSON(append([]byte{prefixToken}, h...), &rec); err != nil {
			return nil, fmt.Errorf("token of %s: %w", email, err)
		}
		out = append(out, *rec.token())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// DeleteToken deletes one of a user's tokens.
func (db *DB) DeleteToken(ctx context.Context, email, id string) error {
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return err
	}
	hash, err := db.get(userTokenKey(email, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return auditlog.Errorf(auditlog.ENOTFOUND, "token not found")
	} else if err != nil {
		return err
	}
	b := db.db.NewBatch()
	defer b.Close()
	_ = b.Delete(append([]byte{prefixToken}, hash...), nil)
	_ = b.Delete(userTokenKey(email, id), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}
