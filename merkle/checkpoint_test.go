package merkle_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/merkle"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// MustNewKey returns a new signing key named name.
func MustNewKey(tb testing.TB, name string) *merkle.Key {
	tb.Helper()
	skey, vkey, err := merkle.GenerateKey(name)
	if err != nil {
		tb.Fatal(err)
	}
	k, err := merkle.ParseKey(skey)
	if err != nil {
		tb.Fatalf("parse a generated key: %v", err)
	}
	if k.VKey != vkey {
		tb.Fatalf("ParseKey derived verifier key %q, GenerateKey said %q", k.VKey, vkey)
	}
	return k
}

// MustSign signs the checkpoint of a tree.
func MustSign(tb testing.TB, k *merkle.Key, origin string, size int64, root tlog.Hash) *merkle.Checkpoint {
	tb.Helper()
	cp, err := merkle.Sign(k, origin, size, root)
	if err != nil {
		tb.Fatal(err)
	}
	return cp
}

func testRoot(s string) tlog.Hash { return sha256.Sum256([]byte(s)) }

func TestCheckpoint_RoundTrip(t *testing.T) {
	k := MustNewKey(t, merkle.DefaultKeyName)
	root := testRoot("root")
	cp := MustSign(t, k, "auditlog/gh/acme", 42, root)

	// The note is a C2SP tlog-checkpoint: three body lines, a blank line, a signature line.
	body, sig, ok := strings.Cut(string(cp.Note), "\n\n")
	if !ok {
		t.Fatalf("note has no blank line before its signature:\n%s", cp.Note)
	}
	if want := "auditlog/gh/acme\n42\n" + base64.StdEncoding.EncodeToString(root[:]); body != want {
		t.Errorf("note body:\n%s\nwant:\n%s", body, want)
	}
	if !strings.HasPrefix(sig, "— auditlog ") || strings.Count(sig, "\n") != 1 {
		t.Errorf("signature lines = %q, want one line by key auditlog", sig)
	}

	// Opened with this package and, independently, with note + formats/log.
	for _, origin := range []string{"auditlog/gh/acme", ""} {
		got, err := merkle.OpenCheckpoint(cp.Note, k.Verifier, origin)
		if err != nil {
			t.Fatalf("open (origin %q): %v", origin, err)
		}
		if got.Origin != "auditlog/gh/acme" || got.Size != 42 || got.Root != root || string(got.Note) != string(cp.Note) {
			t.Errorf("opened %+v, want origin auditlog/gh/acme, size 42, root %x", got, root)
		}
	}
	v, err := note.NewVerifier(k.VKey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(cp.Note, note.VerifierList(v))
	if err != nil {
		t.Fatalf("note.Open: %v", err)
	}
	var c log.Checkpoint
	if rest, err := c.Unmarshal([]byte(n.Text)); err != nil || len(rest) != 0 {
		t.Fatalf("log.Checkpoint.Unmarshal: rest %q, %v", rest, err)
	}
	if c.Origin != "auditlog/gh/acme" || c.Size != 42 || string(c.Hash) != string(root[:]) {
		t.Errorf("formats/log read %+v", c)
	}

	// The empty tree and its size 0 round-trip too.
	empty := MustSign(t, k, "auditlog/gh/acme", 0, tlog.Hash{})
	if got, err := merkle.OpenCheckpoint(empty.Note, k.Verifier, ""); err != nil || got.Size != 0 {
		t.Errorf("empty tree: %+v, %v", got, err)
	}
}

func TestCheckpoint_Origin(t *testing.T) {
	for _, tc := range []struct {
		prefix, provider, name, want string
	}{
		{"", "gh", "acme", "auditlog/gh/acme"},
		{"auditlog", "gl", "beta", "auditlog/gl/beta"},
		{"example.com/audit", "bb", "x", "example.com/audit/bb/x"},
	} {
		if got := merkle.Origin(tc.prefix, orgRef(tc.provider, tc.name)); got != tc.want {
			t.Errorf("Origin(%q, %s/%s) = %q, want %q", tc.prefix, tc.provider, tc.name, got, tc.want)
		}
	}
}

func TestCheckpoint_Rejected(t *testing.T) {
	k := MustNewKey(t, merkle.DefaultKeyName)
	other := MustNewKey(t, merkle.DefaultKeyName) // same name, another key
	otherName := MustNewKey(t, "someone-else")
	root := testRoot("root")
	cp := MustSign(t, k, "auditlog/gh/acme", 7, root)

	// signBody signs arbitrary note text with k, as a faulty or hostile signer could.
	signBody := func(text string) []byte {
		msg, err := note.Sign(&note.Note{Text: text}, k.Signer)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	rootB64 := base64.StdEncoding.EncodeToString(root[:])
	for _, tc := range []struct {
		name   string
		note   []byte
		v      note.Verifier
		origin string
	}{
		{"another key of the same name", cp.Note, other.Verifier, ""},
		{"another key", cp.Note, otherName.Verifier, ""},
		{"signed by another key", MustSign(t, other, "auditlog/gh/acme", 7, root).Note, k.Verifier, ""},
		{"wrong origin", cp.Note, k.Verifier, "auditlog/gh/other"},
		{"origin of another prefix", cp.Note, k.Verifier, "evil/gh/acme"},
		{"size changed", []byte(strings.Replace(string(cp.Note), "\n7\n", "\n8\n", 1)), k.Verifier, ""},
		{"root changed", []byte(strings.Replace(string(cp.Note), rootB64, base64.StdEncoding.EncodeToString(make([]byte, 32)), 1)), k.Verifier, ""},
		{"origin changed", []byte(strings.Replace(string(cp.Note), "gh/acme", "gh/acmf", 1)), k.Verifier, ""},
		{"signature line dropped", []byte(string(cp.Note[:strings.Index(string(cp.Note), "\n\n")+2])), k.Verifier, ""},
		{"empty", nil, k.Verifier, ""},
		{"not a note", []byte("hello\n"), k.Verifier, ""},
		{"signed text that is not a checkpoint", signBody("hello\n"), k.Verifier, ""},
		{"signed checkpoint without origin", signBody("\n7\n" + rootB64 + "\n"), k.Verifier, ""},
		{"signed checkpoint with a bad size", signBody("auditlog/gh/acme\nseven\n" + rootB64 + "\n"), k.Verifier, ""},
		{"signed checkpoint with a negative size", signBody("auditlog/gh/acme\n-7\n" + rootB64 + "\n"), k.Verifier, ""},
		{"signed checkpoint with a huge size", signBody("auditlog/gh/acme\n18446744073709551615\n" + rootB64 + "\n"), k.Verifier, ""},
		{"signed checkpoint with a short root", signBody("auditlog/gh/acme\n7\n" + base64.StdEncoding.EncodeToString(root[:16]) + "\n"), k.Verifier, ""},
		{"signed checkpoint with a bad root", signBody("auditlog/gh/acme\n7\n!!!!\n"), k.Verifier, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := merkle.OpenCheckpoint(tc.note, tc.v, tc.origin)
			if err == nil {
				t.Fatalf("opened %+v, want an error", got)
			}
			if !errors.Is(err, merkle.ErrBadCheckpoint) {
				t.Errorf("error %v is not ErrBadCheckpoint", err)
			}
		})
	}
}

func TestKey_Parse(t *testing.T) {
	skey, vkey, err := merkle.GenerateKey("auditlog")
	if err != nil {
		t.Fatal(err)
	}
	// Surrounding space (a key file's newline) is fine.
	k, err := merkle.ParseKey("  " + skey + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if k.VKey != vkey {
		t.Errorf("VKey %q, want %q", k.VKey, vkey)
	}
	if _, err := merkle.ParseVerifierKey(vkey + "\n"); err != nil {
		t.Errorf("ParseVerifierKey: %v", err)
	}
	for _, bad := range []string{"", "garbage", vkey, "PRIVATE+KEY+auditlog+00000000+AAAA"} {
		if _, err := merkle.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) succeeded", bad)
		}
	}
	for _, bad := range []string{"", "garbage", skey, "auditlog+00000000+AAAA"} {
		if _, err := merkle.ParseVerifierKey(bad); err == nil {
			t.Errorf("ParseVerifierKey(%q) succeeded", bad)
		}
	}
}

func TestKey_WriteNewKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log-key")
	k, err := merkle.WriteNewKey(path, "auditlog")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	before, _ := os.ReadFile(path)
	if _, err := merkle.WriteNewKey(path, "auditlog"); err == nil {
		t.Error("WriteNewKey overwrote an existing key file")
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("the existing key file changed")
	}

	loaded, err := merkle.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.VKey != k.VKey {
		t.Errorf("loaded VKey %q, written %q", loaded.VKey, k.VKey)
	}
	// What the loaded key signs, the written key's verifier key opens.
	v, err := merkle.ParseVerifierKey(k.VKey)
	if err != nil {
		t.Fatal(err)
	}
	cp := MustSign(t, loaded, "auditlog/gh/acme", 1, testRoot("x"))
	if _, err := merkle.OpenCheckpoint(cp.Note, v, "auditlog/gh/acme"); err != nil {
		t.Errorf("open a checkpoint signed by the loaded key: %v", err)
	}
	if _, err := merkle.LoadKey(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("LoadKey of a missing file succeeded")
	}
}
