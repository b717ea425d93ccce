// Package merkle holds the tamper evidence of auditlog: signing keys,
// signed checkpoints (C2SP tlog-checkpoint notes), proofs over each
// organization's RFC 6962 tree, and the evidence bundle with its offline
// verifier. The tree arithmetic is golang.org/x/mod/sumdb/tlog's; the signed
// notes are golang.org/x/mod/sumdb/note's.
package merkle

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// DefaultKeyName names the key in the signature lines of checkpoints.
const DefaultKeyName = "auditlog"

// GenerateKey returns a new Ed25519 signing key and its verifier key, in
// the note formats ("PRIVATE+KEY+name+hash+..." and "name+hash+...").
func GenerateKey(name string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, name)
}

// Key is a checkpoint signing key.
type Key struct {
	Signer   note.Signer
	Verifier note.Verifier
	VKey     string // the verifier key in text form, as GET /api/v1/log-key serves it
	skey     string
}

// DeriveSecret returns a 32-byte secret for purpose derived from the
// signing key, so that replicas given the same key file agree on it (list
// cursors are authenticated with one) without a second secret to manage.
func (k *Key) DeriveSecret(purpose string) []byte {
	m := hmac.New(sha256.New, []byte(k.skey))
	m.Write([]byte("auditlog derived secret v1\x00" + purpose))
	return m.Sum(nil)
}

// ParseKey reads a signing key in note's text form.
func ParseKey(skey string) (*Key, error) {
	skey = strings.TrimSpace(skey)
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("invalid signing key: %w", err)
	}
	vkey, err := verifierKey(skey)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &Key{Signer: signer, Verifier: verifier, VKey: vkey, skey: skey}, nil
}

// verifierKey derives the verifier key of a note signing key
// "PRIVATE+KEY+<name>+<hash>+<base64(0x01 || ed25519 seed)>".
func verifierKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return "", errors.New("invalid signing key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("invalid signing key: not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// LoadKey reads a signing key file.
func LoadKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// WriteNewKey writes a new signing key to path (mode 0600), refusing to
// overwrite an existing file, and returns it.
func WriteNewKey(path, name string) (*Key, error) {
	skey, _, err := GenerateKey(name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return ParseKey(skey)
}

// ParseVerifierKey reads a verifier key (the output of GET /api/v1/log-key).
func ParseVerifierKey(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("invalid verifier key: %w", err)
	}
	return v, nil
}
