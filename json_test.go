package auditlog_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/auditlog/auditlog"
	"github.com/google/go-cmp/cmp"
)

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quo"te\back`, "tab\tnl\ncr\r", "\x00\x1f", "é ü 漢字 🙂", "bad\xffutf8", "<html>&", "line\u2028sep"} {
		got := auditlog.AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, got, err)
		}
		want := string([]rune(s)) // invalid UTF-8 becomes U+FFFD
		if back != want {
			t.Errorf("%q: round trip gave %q", s, back)
		}
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	e := auditlog.Event{
		Organization: auditlog.OrgRef{Provider: "gh", Name: "acme"},
		Sequence:     7, ID: "abc", Action: "user.login",
		Actor:  auditlog.Actor{Email: "a@b.c", Role: "organizationAdmin"},
		Result: "succeed", Source: "UI",
		Timestamp:   time.Date(2024, 6, 28, 14, 29, 13, 430e6, time.UTC),
		ReceivedAt:  time.Date(2024, 6, 28, 14, 29, 14, 0, time.UTC),
		Description: "User logged in", Details: json.RawMessage(`{"k":[1,2]}`),
		IPAddress: "10.0.0.1", UserAgent: "curl",
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	var got auditlog.Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["timestamp"] != "2024-06-28T14:29:13.430Z" {
		t.Errorf("timestamp = %v", m["timestamp"])
	}
}
