package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/jackc/pgx/v5"
)

var _ auditlog.TokenService = (*DB)(nil)

var errBadToken = auditlog.Errorf(auditlog.EUNAUTHORIZED, "invalid or expired api token")

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
	t := &auditlog.Token{ID: auditlog.NewID(8), Email: email, Secret: secret, CreatedAt: now}
	if expiresAt != nil {
		exp := expiresAt.UTC().Truncate(time.Microsecond) // what timestamptz keeps
		t.ExpiresAt = &exp
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO tokens (hash, id, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		hash[:], t.ID, email, now, t.ExpiresAt); err != nil {
		return nil, fmt.Errorf("create token: %w", err)
	}
	return t, nil
}

// Authenticate returns the live token whose secret is given. It reads the
// database every time: a token deleted through any server is refused by all
// of them at once.
func (db *DB) Authenticate(ctx context.Context, secret string) (*auditlog.Token, error) {
	if secret == "" || len(secret) > 256 {
		return nil, errBadToken
	}
	hash := auditlog.HashToken(secret)
	t, err := scanToken(db.pool.QueryRow(ctx, `SELECT id, email, created_at, expires_at FROM tokens WHERE hash = $1`, hash[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errBadToken
	} else if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if t.Expired(db.Now()) {
		return nil, errBadToken
	}
	return t, nil
}

func scanToken(row pgx.Row) (*auditlog.Token, error) {
	var t auditlog.Token
	if err := row.Scan(&t.ID, &t.Email, &t.CreatedAt, &t.ExpiresAt); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if t.ExpiresAt != nil {
		exp := t.ExpiresAt.UTC()
		t.ExpiresAt = &exp
	}
	return &t, nil
}

// Tokens lists a user's tokens, oldest first, without secrets.
func (db *DB) Tokens(ctx context.Context, email string) ([]auditlog.Token, error) {
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT id, email, created_at, expires_at FROM tokens WHERE email = $1 ORDER BY created_at, id`, email)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (auditlog.Token, error) {
		t, err := scanToken(row)
		if err != nil {
			return auditlog.Token{}, err
		}
		return *t, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// DeleteToken deletes one of a user's tokens.
func (db *DB) DeleteToken(ctx context.Context, email, id string) error {
	email, err := auditlog.NormalizeEmail(email)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM tokens WHERE email = $1 AND id = $2`, email, id)
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return auditlog.Errorf(auditlog.ENOTFOUND, "token not found")
	}
	return nil
}
