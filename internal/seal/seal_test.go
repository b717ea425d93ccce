package seal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/auditlog/auditlog/internal/seal"
)

func mustKey(tb testing.TB, fill byte) *seal.Key {
	tb.Helper()
	k, err := seal.NewKey(bytes.Repeat([]byte{fill}, seal.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := mustKey(t, 1)
	secret := []byte("webhook secret")
	a := k.Seal(secret, []byte("org 1 stream a"))
	if bytes.Contains(a, secret) {
		t.Fatal("the sealed value holds the plaintext")
	}
	if b := k.Seal(secret, []byte("org 1 stream a")); bytes.Equal(a, b) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	got, err := k.Open(a, []byte("org 1 stream a"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(a, []byte("org 1 stream b")); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("Open with another context: %v, want ErrOpen", err)
	}
	if _, err := mustKey(t, 2).Open(a, []byte("org 1 stream a")); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("Open with another key: %v, want ErrOpen", err)
	}
	for i := range a {
		c := bytes.Clone(a)
		c[i] ^= 1
		if _, err := k.Open(c, []byte("org 1 stream a")); err == nil {
			t.Fatalf("a value changed at byte %d opens", i)
		}
	}
	if _, err := k.Open(a[:10], nil); err == nil {
		t.Error("a truncated value opens")
	}
}

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, 32)
	for _, text := range []string{
		hex.EncodeToString(raw),
		" " + hex.EncodeToString(raw) + "\n",
		base64.StdEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
	} {
		k, err := seal.ParseKey(text)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", text, err)
			continue
		}
		// The same key as raw: what one seals, the other opens.
		ref, _ := seal.NewKey(raw)
		if _, err := ref.Open(k.Seal([]byte("x"), nil), nil); err != nil {
			t.Errorf("ParseKey(%q) is another key", text)
		}
	}
	for _, text := range []string{"", "abc", hex.EncodeToString(raw[:16]), base64.StdEncoding.EncodeToString(raw[:31])} {
		if _, err := seal.ParseKey(text); err == nil {
			t.Errorf("ParseKey(%q) accepted", text)
		}
	}
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(hex.EncodeToString(raw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.LoadKey(path); err != nil {
		t.Error(err)
	}
	if _, err := seal.LoadKey(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("LoadKey of a missing file succeeded")
	}
}
