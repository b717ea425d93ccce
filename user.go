package auditlog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
	"unicode"
)

// NormalizeEmail lower-cases an email address and checks that it looks like one.
// Emails are compared case-insensitively everywhere: members, tokens, actors, erasure.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.IndexByte(s, '@')
	if s == "" {
		return "", Errorf(EINVALID, "email is required")
	}
	if len(s) > 254 || at <= 0 || at != strings.LastIndexByte(s, '@') || at == len(s)-1 ||
		strings.IndexFunc(s, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' || r == unicode.ReplacementChar
		}) >= 0 {
		return "", Errorf(EINVALID, "invalid email %q", truncate(s, 64))
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// TokenPrefix starts every account API token, so that leaked tokens are easy to scan for.
const TokenPrefix = "alt_"

// Token is an account API token. Only its hash is stored; Secret is set only
// on the value returned at creation.
type Token struct {
	ID        string     `json:"id"`
	Email     string     `json:"email"`
	Secret    string     `json:"token,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// Expired reports whether the token has expired at now.
func (t Token) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// NewTokenSecret returns a fresh random token secret and its hash.
func NewTokenSecret() (secret string, hash [32]byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashToken(secret)
}

// HashToken is how a token secret is stored and looked up.
func HashToken(secret string) [32]byte {
	return sha256.Sum256([]byte(secret))
}

// TokenService manages account API tokens.
type TokenService interface {
	// CreateToken creates a token for email; the returned Token carries its Secret.
	CreateToken(ctx context.Context, email string, expiresAt *time.Time) (*Token, error)
	// Authenticate returns the live token whose secret is given, or an EUNAUTHORIZED error.
	Authenticate(ctx context.Context, secret string) (*Token, error)
	// Tokens lists a user's tokens, without secrets.
	Tokens(ctx context.Context, email string) ([]Token, error)
	// DeleteToken deletes one of a user's tokens.
	DeleteToken(ctx context.Context, email, id string) error
}
