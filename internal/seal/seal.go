// Package seal encrypts the secrets a store keeps for others, such as the
// HMAC keys and URL credentials of streams, with AES-256-GCM under a key from
// configuration: a dump of the database alone does not reveal them.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// version starts every sealed value, so that the format can change.
const version = 1

// Key seals and opens values. It is safe for concurrent use.
type Key struct {
	aead cipher.AEAD
}

// NewKey returns a Key of 32 bytes of key material.
func NewKey(b []byte) (*Key, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("seal: the key is %d bytes, want %d", len(b), KeySize)
	}
	block, err := aes.NewCipher(b)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead}, nil
}

// ParseKey reads a key written as 64 hex digits or as base64 (standard or
// URL alphabet, padded or not) of 32 bytes; surrounding space is ignored.
func ParseKey(text string) (*Key, error) {
	text = strings.TrimSpace(text)
	if b, err := hex.DecodeString(text); err == nil && len(b) == KeySize {
		return NewKey(b)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(text); err == nil && len(b) == KeySize {
			return NewKey(b)
		}
	}
	return nil, errors.New("seal: the key must be 32 bytes written as 64 hex digits or in base64")
}

// LoadKey reads a key file (see ParseKey).
func LoadKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// Seal encrypts plaintext, bound to context: Open with another context
// fails, so a sealed value copied onto another record does not open.
func (k *Key) Seal(plaintext, context []byte) []byte {
	out := make([]byte, 1+k.aead.NonceSize(), 1+k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return k.aead.Seal(out, out[1:], plaintext, context)
}

// ErrOpen is the error of a sealed value that does not open: another key,
// another context, or changed bytes.
var ErrOpen = errors.New("seal: the value does not open with this key (was the stream key changed?)")

// Open decrypts a value that Seal returned for the same context.
func (k *Key) Open(sealed, context []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], context)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
