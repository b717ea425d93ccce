package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func testTokens(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("CreateAuthenticate", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		tok, err := s.CreateToken(ctx, "Bob@Example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok.Secret, auditlog.TokenPrefix) || len(tok.Secret) < len(auditlog.TokenPrefix)+32 {
			t.Errorf("secret %q: want %q and at least 32 more characters", tok.Secret, auditlog.TokenPrefix)
		}
		if tok.ID == "" || tok.Email != "bob@example.com" || !tok.CreatedAt.Equal(T0) || tok.ExpiresAt != nil {
			t.Errorf("created token %+v: want an id, bob@example.com, created at %s, no expiry", tok, T0)
		}
		got, err := s.Authenticate(ctx, tok.Secret)
		if err != nil {
			t.Fatal(err)
		}
		want := *tok
		want.Secret = ""
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("authenticated token (-want +got):\n%s", diff)
		}

		tok2, err := s.CreateToken(ctx, "bob@example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tok2.ID == tok.ID || tok2.Secret == tok.Secret {
			t.Errorf("two tokens share an id or a secret: %+v, %+v", tok, tok2)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		tok, err := s.CreateToken(ctx, "bob@example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		last := tok.Secret[len(tok.Secret)-1]
		flipped := tok.Secret[:len(tok.Secret)-1] + string(rune(last^1))
		for _, tt := range []struct{ name, secret string }{
			{"empty", ""},
			{"prefix only", auditlog.TokenPrefix},
			{"wrong", auditlog.TokenPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
			{"one character changed", flipped},
			{"truncated", tok.Secret[:len(tok.Secret)-1]},
			{"extended", tok.Secret + "x"},
			{"upper case", strings.ToUpper(tok.Secret)},
			{"very long", strings.Repeat("x", 10_000)},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.Authenticate(ctx, tt.secret)
				wantCode(t, err, auditlog.EUNAUTHORIZED)
			})
		}
	})

	t.Run("Expired", func(t *testing.T) {
		s, clock := mustOpen(t, open)
		expires := T0.Add(time.Hour)
		tok, err := s.CreateToken(ctx, "bob@example.com", &expires)
		if err != nil {
			t.Fatal(err)
		}
		if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(expires) {
			t.Errorf("expiresAt %v, want %s", tok.ExpiresAt, expires)
		}
		clock.Advance(time.Hour - time.Millisecond)
		if _, err := s.Authenticate(ctx, tok.Secret); err != nil {
			t.Fatalf("a millisecond before expiry: %v", err)
		}
		clock.Advance(time.Millisecond)
		_, err = s.Authenticate(ctx, tok.Secret)
		wantCode(t, err, auditlog.EUNAUTHORIZED)
		clock.Advance(24 * time.Hour)
		_, err = s.Authenticate(ctx, tok.Secret)
		wantCode(t, err, auditlog.EUNAUTHORIZED)

		// A token cannot be created already expired.
		past := clock.Now().Add(-time.Second)
		_, err = s.CreateToken(ctx, "bob@example.com", &past)
		wantCode(t, err, auditlog.EUNPROCESSABLE)
	})

	t.Run("Delete", func(t *testing.T) {
		s, _ := mustOpen(t, open)
		tok1, err := s.CreateToken(ctx, "bob@example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		tok2, err := s.CreateToken(ctx, "bob@example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		carol, err := s.CreateToken(ctx, "carol@example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		// A user cannot delete another user's token.
		wantCode(t, s.DeleteToken(ctx, "bob@example.com", carol.ID), auditlog.ENOTFOUND)
		if _, err := s.Authenticate(ctx, carol.Secret); err != nil {
			t.Fatalf("carol's token after bob tried to delete it: %v", err)
		}

		if err := s.DeleteToken(ctx, "BOB@example.com", tok1.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Authenticate(ctx, tok1.Secret)
		wantCode(t, err, auditlog.EUNAUTHORIZED)
		wantCode(t, s.DeleteToken(ctx, "bob@example.com", tok1.ID), auditlog.ENOTFOUND)
		wantCode(t, s.DeleteToken(ctx, "bob@example.com", "no-such-token"), auditlog.ENOTFOUND)
		if _, err := s.Authenticate(ctx, tok2.Secret); err != nil {
			t.Errorf("bob's other token: %v", err)
		}
		list, err := s.Tokens(ctx, "bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != tok2.ID {
			t.Errorf("bob's tokens after delete: %+v, want only %s", list, tok2.ID)
		}
	})

	t.Run("List", func(t *testing.T) {
		s, clock := mustOpen(t, open)
		var want []auditlog.Token
		for range 3 {
			tok, err := s.CreateToken(ctx, "bob@example.com", nil)
			if err != nil {
				t.Fatal(err)
			}
			tok.Secret = ""
			want = append(want, *tok)
			clock.Advance(time.Second)
		}
		if _, err := s.CreateToken(ctx, "carol@example.com", nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.Tokens(ctx, "Bob@Example.com")
		if err != nil {
			t.Fatal(err)
		}
		// Never a secret.
		for _, tok := range got {
			if tok.Secret != "" {
				t.Errorf("Tokens shows the secret of %s", tok.ID)
			}
		}
		byID := cmpopts.SortSlices(func(a, b auditlog.Token) bool { return a.ID < b.ID })
		if diff := cmp.Diff(want, got, byID); diff != "" {
			t.Errorf("bob's tokens (-want +got):\n%s", diff)
		}
		got, err = s.Tokens(ctx, "dave@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("tokens of a user without any: %v", got)
		}
	})
}
