package main

// End-to-end tests of the web viewer (SPEC §11) in headless Chromium
// (Debian's chromium, driven with chromedp) against the real server on
// 127.0.0.1:0. Every browser step is bounded; on a failure the test writes a
// screenshot under os.TempDir()/auditlog-web-screenshots and logs its path.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog/merkle"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// stepTimeout bounds each browser step.
const stepTimeout = 10 * time.Second

// webFixture is a service with gh/acme (business plan) holding webEvents
// events, and one user, ana@acme.example: organizationAdmin of gh/acme and of
// gh/small (free plan), repositoryRead in gh/other (business plan).
type webFixture struct {
	*TestService
	Token string
}

const webEvents = 120

func mustWebFixture(t *testing.T) *webFixture {
	t.Helper()
	s := MustRunService(t)
	s.MustCreateOrg("gh", "acme", "business")
	s.MustCreateOrg("gh", "small", "free")
	s.MustCreateOrg("gh", "other", "business")
	for _, m := range []struct{ org, role string }{
		{"acme", "organizationAdmin"}, {"small", "organizationAdmin"}, {"other", "repositoryRead"},
	} {
		s.MustDo(http.StatusCreated, "PUT", "/api/v1/organizations/gh/"+m.org+"/members/ana@acme.example",
			map[string]any{"role": m.role}, admin()...)
	}
	tok := s.MustToken("ana@acme.example")

	// Event i (sequence i) happened (119-i)*3 hours before now: newest first is
	// sequence 119 down to 0. Every 4th is a user.login, every 10th (from the
	// 4th) failed, every 3rd came through the API.
	now := time.Now().UTC()
	actors := []string{"ana@acme.example", "bob@acme.example", "eve@acme.example"}
	var events []map[string]any
	for i := range webEvents {
		e := event("id", fmt.Sprintf("ev-%03d", i),
			"timestamp", now.Add(-time.Duration(webEvents-1-i)*3*time.Hour-time.Minute).Format(time.RFC3339Nano),
			"actor", map[string]any{"email": actors[i%3], "role": "organizationAdmin"},
			"ipAddress", "203.0.113.7", "userAgent", "Mozilla/5.0 (test)")
		switch i % 4 {
		case 0:
			e["action"] = "user.login"
		case 2:
			e["action"] = "repositories.tokens.create"
			e["repositoryName"] = "api-gateway"
		default:
			e["action"] = "organizations.gatepolicies.update"
			e["details"] = map[string]any{"policy": fmt.Sprintf("policy-%d", i), "threshold": json.RawMessage("1.0"),
				"rules": []any{"coverage", map[string]any{"max": 3}}}
		}
		if i%10 == 3 {
			e["result"] = "failed"
		}
		if i%3 == 0 {
			e["source"] = "API"
		}
		events = append(events, e)
	}
	s.MustIngest(events...)

	// The integrity badge needs the checkpoint of every event.
	deadline := time.Now().Add(stepTimeout)
	for {
		_, body, _ := s.Do("GET", "/api/v1/organizations/gh/acme/checkpoint", nil, apiTok(tok)...)
		if lines := strings.Split(string(body), "\n"); len(lines) > 1 && lines[1] == fmt.Sprint(webEvents) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d after %v: %s", webEvents, stepTimeout, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &webFixture{TestService: s, Token: tok}
}

// webBrowser is one headless Chromium tab.
type webBrowser struct {
	t   *testing.T
	ctx context.Context
	url string // the server's base URL

	mu       sync.Mutex
	problems []string // uncaught exceptions, console errors, CSP violations
}

// chromiumPath finds Chromium. Without it the tests skip, except in CI
// (CI=true), where a missing browser fails them.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AUDITLOG_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the web viewer tests need Chromium: apt-get install -y chromium")
	}
	t.Skip("Chromium is not installed (apt-get install -y chromium); CI runs these tests")
	return ""
}

// MustOpenBrowser starts headless Chromium with a temporary profile and opens a tab.
func MustOpenBrowser(t *testing.T, baseURL string) *webBrowser {
	t.Helper()
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})

	// The first run starts the browser and binds it to ctx, so it cannot
	// take a timeout of its own: bound it from here.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not start within 30s")
	}

	b := &webBrowser{t: t, ctx: ctx, url: baseURL}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			// The API's 4xx answers are logged by the network stack; they are expected.
			if m.IsException() || m.Type == chromedp.ConsoleError && m.Source != "network" {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	// Runs before the browser closes (cleanups run last in, first out).
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot()
		}
	})
	return b
}

// screenshot writes the page as it is now next to the test output and logs where.
func (b *webBrowser) screenshot() {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot failed: %v", err)
		return
	}
	dir := filepath.Join(os.TempDir(), "auditlog-web-screenshots")
	name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(b.t.Name(), "_")
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.png", name, time.Now().Format("20060102T150405")))
	if err := os.MkdirAll(dir, 0o755); err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		b.t.Logf("screenshot not written: %v", err)
		return
	}
	b.t.Logf("screenshot of the failure: %s", path)
	// What the page says in its live regions: statuses and alerts.
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('[role=status], [role=alert], #view-message')]
		.filter(e => e.getClientRects().length > 0 && e.textContent.trim())
		.map(e => '#' + e.id + ': ' + e.textContent.trim().replace(/\s+/g, ' ')).concat(['search: ' + JSON.stringify((document.getElementById('q') || {}).value)]).join('\n')`)); err == nil {
		b.t.Logf("the page says:\n%s", text)
	}
}

// do runs steps, bounded by stepTimeout.
func (b *webBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// click clicks an element with the mouse once the page is quiet (nothing
// loading, nothing being checked), so that nothing moves under the pointer.
func (b *webBrowser) click(what, sel string) {
	b.t.Helper()
	b.wait("the page is quiet before: "+what, quietJS)
	b.do(what, chromedp.Click(chromedp.CSS(sel)))
}

// quietJS is true when the events page loads and checks nothing.
const quietJS = `document.getElementById('view-events').hidden
	|| (document.getElementById('view-events').getAttribute('aria-busy') === null
		&& document.getElementById('integrity').dataset.state !== 'checking'
		&& !document.getElementById('activity-summary').textContent.startsWith('Loading'))`

// wait waits until the JavaScript expression is true.
func (b *webBrowser) wait(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout+time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout)))
	if err != nil {
		b.t.Fatalf("waiting until %s (%s): %v", what, expr, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](b *webBrowser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *webBrowser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, sel))
}

// checkNoProblems fails the test on any uncaught exception or console error the page had.
func (b *webBrowser) checkNoProblems() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("the page logged an error: %s", p)
	}
}

// webRow is one row of the events table.
type webRow struct {
	Seq    int    `json:"seq"`
	Action string `json:"action"`
	Result string `json:"result"`
}

func (b *webBrowser) rows() []webRow {
	b.t.Helper()
	return eval[[]webRow](b, `[...document.querySelectorAll('#events-body tr')].map(r => ({seq: Number(r.dataset.seq), action: r.dataset.action, result: r.dataset.result}))`)
}

// search types q into the search box and presses Enter, as a user does.
func (b *webBrowser) search(q string) {
	b.t.Helper()
	b.do("search "+q,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('q').value = ''`),
		chromedp.SendKeys(chromedp.CSS("#q"), q+kb.Enter),
	)
}

// signIn opens the viewer and signs in with the form; it leaves the organization chooser on screen.
func (b *webBrowser) signIn(token string) {
	b.t.Helper()
	b.do("open the viewer", chromedp.Navigate(b.url+"/"), chromedp.WaitVisible(chromedp.CSS("#token-input")))
	b.do("sign in", chromedp.SendKeys(chromedp.CSS("#token-input"), token+kb.Enter))
}

// wantPage waits for a page of the events list, newest first: sequences first down to last.
func (b *webBrowser) wantPage(what string, first, last int) {
	b.t.Helper()
	b.wait(what, fmt.Sprintf(`(() => { const r = document.querySelectorAll('#events-body tr');
		return r.length === %d && r[0].dataset.seq === '%d' && r[r.length-1].dataset.seq === '%d'
			&& document.getElementById('view-events').getAttribute('aria-busy') === null })()`, first-last+1, first, last))
}

func TestWebViewer_ReadEvents(t *testing.T) {
	s := mustWebFixture(t)
	b := MustOpenBrowser(t, s.URL)

	// 401: a wrong token is refused, and not kept.
	b.signIn("alt_not-a-token")
	b.wait("the 401 message", `document.getElementById('signin-error').textContent.includes('401')`)
	if got := eval[bool](b, `sessionStorage.getItem('auditlog.token') === null`); !got {
		t.Error("a refused token stays in sessionStorage")
	}

	// Sign in, choose gh/acme among the three organizations.
	b.do("sign in", chromedp.SendKeys(chromedp.CSS("#token-input"), s.Token+kb.Enter))
	b.wait("the organization chooser", `document.querySelectorAll('#org-list button').length === 3`)
	b.click("choose gh/acme", `#org-list button[data-org="gh/acme"]`)

	// The newest 50 events, newest first.
	b.wantPage("the first page", 119, 70)
	rows := b.rows()
	for i, r := range rows {
		if r.Seq != 119-i {
			t.Fatalf("row %d has sequence %d, want %d", i, r.Seq, 119-i)
		}
	}
	if got := b.text("#events-title"); got != "Audit log of gh/acme" {
		t.Errorf("title = %q", got)
	}
	if got := eval[string](b, `location.hash`); got != "#org=gh%2Facme" {
		t.Errorf("location.hash = %q, want the organization only", got)
	}

	// The integrity badge: every shown event's inclusion proof checked in the browser.
	b.wait("the integrity badge", `document.getElementById('integrity').dataset.state === 'verified'`)
	want := fmt.Sprintf("Inclusion of 50 shown events verified against checkpoint of size %d (signature valid)", webEvents)
	if got := b.text("#integrity-summary"); !strings.Contains(got, want) {
		t.Errorf("integrity summary = %q, want it to contain %q", got, want)
	}

	// The activity chart: 90 days, every event in them.
	b.wait("the activity chart", fmt.Sprintf(`(s => s && s.dataset.total === '%d' && s.querySelectorAll('rect.bar').length === 90)(document.querySelector('#chart svg'))`, webEvents))
	if got := eval[int](b, `[...document.querySelectorAll('#chart rect.bar')].reduce((n, r) => n + Number(r.dataset.count), 0)`); got != webEvents {
		t.Errorf("the chart's bars add up to %d events, want %d", got, webEvents)
	}

	// An event's detail, opened and closed with the keyboard.
	b.do("open the newest event's detail with the keyboard",
		chromedp.Focus(chromedp.CSS(`#events-body tr[data-seq="119"] button`)),
		chromedp.KeyEvent(kb.Enter))
	b.wait("the detail dialog", `document.getElementById('detail').open`)
	if got, want := b.text("#detail-title"), "Event 119: organizations.gatepolicies.update"; got != want {
		t.Errorf("detail title = %q, want %q", got, want)
	}
	detailJSON := b.text("#detail-json")
	for _, want := range []string{`"policy": "policy-119"`, `"threshold": 1.0`, `"max": 3`} {
		if !strings.Contains(detailJSON, want) {
			t.Errorf("details JSON %q does not contain %q", detailJSON, want)
		}
	}
	fields := b.text("#detail-fields")
	for _, want := range []string{"ev-119", "eve@acme.example", "203.0.113.7", "Mozilla/5.0 (test)", "Update gate policy"} {
		if !strings.Contains(fields, want) {
			t.Errorf("detail fields %q do not contain %q", fields, want)
		}
	}
	if got := eval[string](b, `document.getElementById('detail-proof').dataset.state`); got != "verified" {
		t.Errorf("the detail's proof state = %q, want verified", got)
	}
	b.do("close the detail with Escape", chromedp.KeyEvent(kb.Escape))
	b.wait("the dialog closed, focus back on its button",
		`!document.getElementById('detail').open && document.activeElement === document.querySelector('#events-body tr[data-seq="119"] button')`)

	// Search, focused with the "/" key.
	b.do("press /", chromedp.KeyEvent("/"))
	b.wait("the search box focused", `document.activeElement.id === 'q'`)
	b.search("action:user.login")
	b.wait("30 logins", `(r => r.length === 30 && [...r].every(x => x.dataset.action === 'user.login'))(document.querySelectorAll('#events-body tr'))`)
	b.wait("the chart of the search", `document.querySelector('#chart svg').dataset.total === '30'`)
	b.wait("the logins verified", `document.getElementById('integrity').dataset.state === 'verified' && document.getElementById('integrity').dataset.verified === '30'`)
	if got := eval[string](b, `location.hash`); !strings.Contains(got, "q=action%3Auser.login") {
		t.Errorf("location.hash = %q, want the search in it", got)
	}

	// A bad term: the server's message, and the term marked where it is.
	b.search("action:user.login bogus:1")
	b.wait("the query error", `!document.getElementById('q-error').hidden`)
	if got := b.text("#q-error-text"); !strings.Contains(got, "position 19") || !strings.Contains(got, `unknown field "bogus"`) {
		t.Errorf("query error = %q", got)
	}
	if got := b.text("#q-error-term"); got != "bogus:1" {
		t.Errorf("marked term = %q, want bogus:1", got)
	}
	sel := eval[[]int](b, `(q => [q.selectionStart, q.selectionEnd, q.getAttribute('aria-invalid') === 'true' ? 1 : 0])(document.getElementById('q'))`)
	if !slices.Equal(sel, []int{18, 25, 1}) {
		t.Errorf("search box selection, aria-invalid = %v, want [18 25 1]: the bad term selected", sel)
	}

	// No match: the empty page.
	b.search("nosuchwordanywhere")
	b.wait("the empty page", `!document.getElementById('empty').hidden && document.getElementById('events').hidden`)
	if got := b.text("#empty-title"); got != "No events match this search" {
		t.Errorf("empty title = %q", got)
	}

	// Quick filters add terms to the search.
	b.click("clear the search", "#empty-clear")
	b.wantPage("the first page again", 119, 70)
	b.do("filter failed events", chromedp.Evaluate[chromedp.Void](
		`(s => { s.value = 'failed'; s.dispatchEvent(new Event('change', {bubbles: true})) })(document.getElementById('f-result'))`))
	b.wait("12 failed events", `(r => r.length === 12 && [...r].every(x => x.dataset.result === 'failed'))(document.querySelectorAll('#events-body tr'))`)
	if got := eval[string](b, `document.getElementById('q').value`); got != "result:failed" {
		t.Errorf("search after the result filter = %q, want result:failed", got)
	}
	b.do("filter an actor too", chromedp.SendKeys(chromedp.CSS("#f-actor"), "bob@acme.example"+kb.Enter))
	b.wait("the failed events of bob", `document.getElementById('q').value === 'result:failed actor:bob@acme.example'
		&& document.querySelectorAll('#events-body tr').length === 4`)
	for _, r := range b.rows() {
		if r.Result != "failed" || (r.Seq%3) != 1 {
			t.Errorf("row %+v does not match result:failed actor:bob@acme.example", r)
		}
	}

	// Paging: older, older (the last page), newer.
	b.click("clear the search", "#q-clear")
	b.wantPage("page 1", 119, 70)
	b.click("older", "#page-older")
	b.wantPage("page 2", 69, 20)
	b.wait("page 2 verified", `document.getElementById('integrity').dataset.state === 'verified'`)
	b.click("older", "#page-older")
	b.wantPage("page 3", 19, 0)
	if eval[bool](b, `!document.getElementById('page-older').disabled`) {
		t.Error("Older is enabled on the last page")
	}
	b.click("newer", "#page-newer")
	b.wantPage("page 2 again", 69, 20)

	// Every control has a name a screen reader can read.
	if unnamed := eval[[]string](b, unnamedControlsJS); len(unnamed) > 0 {
		t.Errorf("controls without an accessible name: %q", unnamed)
	}

	// Sign out forgets the token.
	b.click("sign out", "#sign-out")
	b.wait("the sign-in page", `!document.getElementById('view-signin').hidden && sessionStorage.getItem('auditlog.token') === null && location.hash === ''`)
	b.checkNoProblems()
}

// settledJS is true once the page has loaded the list, checked it and drawn the chart:
// a pointer aims at a button only where nothing moves anymore.
const settledJS = `document.getElementById('integrity').dataset.state === 'verified'
	&& document.getElementById('view-events').getAttribute('aria-busy') === null
	&& !!document.querySelector('#chart svg')`

// unnamedControlsJS lists the visible form controls and buttons that have no accessible name.
const unnamedControlsJS = `[...document.querySelectorAll('input, select, button, textarea, [role=img]')]
	.filter(e => e.getClientRects().length > 0)
	.filter(e => !((e.labels && e.labels.length && e.labels[0].textContent.trim()) || e.getAttribute('aria-label')
		|| e.getAttribute('aria-labelledby') || (e.tagName === 'BUTTON' && e.textContent.trim())))
	.map(e => e.outerHTML.slice(0, 100))`

func TestWebViewer_Export(t *testing.T) {
	s := mustWebFixture(t)
	b := MustOpenBrowser(t, s.URL)
	dir := t.TempDir()
	b.do("allow downloads", func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)})
		return chromedp.Void{}, err
	})
	b.do("open gh/acme with the token in the fragment", chromedp.Navigate(s.URL+"/#token="+s.Token+"&org=gh/acme"))
	b.wantPage("the first page", 119, 70)
	b.wait("the page settled", settledJS)

	// download clicks an export button and returns the file the browser saved.
	download := func(format string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		defer cancel()
		begin := chromedp.Events(ctx, browser.DownloadWillBegin)
		progress := chromedp.Events(ctx, browser.DownloadProgress)
		b.click("export "+format, `button[data-export="`+format+`"]`)
		var name string
		for ev, err := range begin {
			if err != nil {
				t.Fatalf("export %s: no download began: %v", format, err)
			}
			name = ev.SuggestedFilename
			break
		}
		for ev, err := range progress {
			if err != nil {
				t.Fatalf("export %s: the download did not complete: %v", format, err)
			}
			if ev.State == browser.DownloadProgressStateCanceled {
				t.Fatalf("export %s: the download was canceled", format)
			}
			if ev.State != browser.DownloadProgressStateCompleted {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				t.Fatal(err)
			}
			b.wait("the export status", `document.getElementById('export-status').dataset.state === 'done' && document.getElementById('export-status').dataset.format === '`+format+`'`)
			if got := b.text("#export-status"); !strings.Contains(got, name) {
				t.Errorf("export status %q does not name the file %q", got, name)
			}
			if got := eval[string](b, `document.getElementById('export-status').dataset.bytes`); got != fmt.Sprint(len(data)) {
				t.Errorf("export status says %s bytes, the file has %d", got, len(data))
			}
			return data
		}
		panic("unreachable")
	}

	// Every ingested event is in each export. (The server also records each
	// export as an event of its own, so the files hold those too.)
	wantIDs := func(format string, ids []string) {
		t.Helper()
		slices.Sort(ids)
		var missing []string
		for i := range webEvents {
			if id := fmt.Sprintf("ev-%03d", i); !slices.Contains(ids, id) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 || len(slices.Compact(ids)) != len(ids) {
			t.Errorf("the %s export misses %q or repeats an event (%d events)", format, missing, len(ids))
		}
	}
	records, err := csv.NewReader(bytes.NewReader(download("csv"))).ReadAll()
	if err != nil || len(records) < 1 || records[0][1] != "id" {
		t.Fatalf("the CSV export does not parse, or has no header: %v", err)
	}
	var ids []string
	for _, rec := range records[1:] {
		ids = append(ids, rec[1])
	}
	wantIDs("CSV", ids)
	ids = nil
	for line := range bytes.Lines(download("ndjson")) {
		var e struct{ ID string }
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("NDJSON line %q: %v", line, err)
		}
		ids = append(ids, e.ID)
	}
	wantIDs("NDJSON", ids)

	// The evidence bundle verifies offline with the server's log key.
	bundle := download("bundle")
	v, err := merkle.ParseVerifierKey(strings.TrimSpace(string(s.MustDo(http.StatusOK, "GET", "/api/v1/log-key", nil))))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := merkle.VerifyBundle(bytes.NewReader(bundle), v, nil)
	if err != nil {
		t.Fatalf("the bundle downloaded by the viewer does not verify: %v", err)
	}
	if rep.Events < webEvents || !rep.Complete {
		t.Errorf("bundle report %+v, want at least %d events, complete", rep, webEvents)
	}

	// Exports follow the search.
	b.search("action:user.login")
	b.wait("30 logins", `document.querySelectorAll('#events-body tr').length === 30`)
	b.wait("the page settled", settledJS)
	if n := bytes.Count(download("ndjson"), []byte("\n")); n != 30 {
		t.Errorf("the NDJSON export of action:user.login has %d lines, want 30", n)
	}
	b.checkNoProblems()
}

func TestWebViewer_AccessPages(t *testing.T) {
	s := mustWebFixture(t)
	b := MustOpenBrowser(t, s.URL)

	// The token in the fragment moves to sessionStorage and out of the address.
	b.do("open with the token in the fragment", chromedp.Navigate(s.URL+"/#token="+s.Token+"&org=gh%2Facme"))
	b.wantPage("the first page", 119, 70)
	if got := eval[string](b, `location.href`); strings.Contains(got, s.Token) {
		t.Errorf("the address still holds the token: %s", got)
	}
	if got := eval[string](b, `sessionStorage.getItem('auditlog.token')`); got != s.Token {
		t.Errorf("sessionStorage token = %q", got)
	}

	// 403: the role page, then the Business plan page.
	choose := func(org string) {
		b.do("choose "+org, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(s => { s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})) })(document.getElementById('org-select'))`, org)))
	}
	choose("gh/other")
	b.wait("the role page", `!document.getElementById('view-message').hidden && document.getElementById('view-message').dataset.kind === 'role'`)
	if got := b.text("#view-message"); !strings.Contains(got, "requires the organizationAdmin role or the organization manager role") || !strings.Contains(got, "repositoryRead") {
		t.Errorf("role page = %q", got)
	}
	choose("gh/small")
	b.wait("the plan page", `document.getElementById('view-message').dataset.kind === 'plan'`)
	if got := b.text("#view-message"); !strings.Contains(got, "only available on the Business plan") || !strings.Contains(got, "Free plan") {
		t.Errorf("plan page = %q", got)
	}
	// The server agrees with the pages.
	for org, want := range map[string]string{"other": "organizationAdmin role", "small": "Business plan"} {
		if code, body, _ := s.Do("GET", "/api/v1/organizations/gh/"+org+"/events", nil, apiTok(s.Token)...); code != http.StatusForbidden || !strings.Contains(string(body), want) {
			t.Errorf("GET gh/%s/events: %d %s", org, code, body)
		}
	}

	// An organization with no events: the empty page.
	s.MustDo(http.StatusCreated, "PUT", "/api/v1/organizations/gh/quiet", map[string]any{"plan": "business"}, admin()...)
	s.MustDo(http.StatusCreated, "PUT", "/api/v1/organizations/gh/quiet/members/ana@acme.example", map[string]any{"role": "organizationAdmin"}, admin()...)
	b.do("go to gh/quiet", chromedp.Evaluate[chromedp.Void](`location.hash = '#org=gh/quiet'`))
	b.wait("the empty organization", `!document.getElementById('empty').hidden && document.getElementById('empty-title').textContent === 'No events yet'`)

	// 401: the token stops working mid-session (the user is erased).
	s.MustDo(http.StatusOK, "POST", "/api/v1/users/ana@acme.example/erase", nil, admin()...)
	b.do("go to gh/acme", chromedp.Evaluate[chromedp.Void](`location.hash = '#org=gh/acme'`))
	b.wait("the 401 page", `!document.getElementById('view-signin').hidden && document.getElementById('signin-error').textContent.includes('401')`)
	if eval[bool](b, `sessionStorage.getItem('auditlog.token') !== null`) {
		t.Error("the refused token is still in sessionStorage")
	}
	b.checkNoProblems()
}

func TestWebViewer_Phone(t *testing.T) {
	s := mustWebFixture(t)
	b := MustOpenBrowser(t, s.URL)
	b.do("a 390x844 phone", chromedp.EmulateViewport(390, 844))
	b.do("open gh/acme", chromedp.Navigate(s.URL+"/#token="+s.Token+"&org=gh/acme"))
	b.wantPage("the first page", 119, 70)
	b.wait("the integrity badge", `document.getElementById('integrity').dataset.state === 'verified'`)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the page is %dpx wide on a 390px screen: it scrolls sideways", w)
	}
	if got := eval[string](b, `getComputedStyle(document.querySelector('#events-body tr')).display`); got != "block" {
		t.Errorf("rows display as %q on a phone, want cards (block)", got)
	}
	b.click("open a detail", `#events-body tr[data-seq="118"] button`)
	b.wait("the detail dialog", `document.getElementById('detail').open`)
	if w := eval[int](b, `Math.ceil(document.getElementById('detail').getBoundingClientRect().right)`); w > 390 {
		t.Errorf("the detail dialog reaches %dpx on a 390px screen", w)
	}
	if unnamed := eval[[]string](b, unnamedControlsJS); len(unnamed) > 0 {
		t.Errorf("controls without an accessible name: %q", unnamed)
	}
	b.checkNoProblems()
}

// With --demo the printed address opens the viewer on gh/demo's events.
func TestWebViewer_Demo(t *testing.T) {
	s := MustRunService(t, func(c *Config) { c.Demo = true })
	b := MustOpenBrowser(t, s.URL)
	b.do("open the demo address", chromedp.Navigate(DemoViewerURL(s.URL, s.DemoToken)))
	b.wait("gh/demo's events", `document.getElementById('events-title').textContent === 'Audit log of gh/demo' && document.querySelectorAll('#events-body tr').length === 50`)
	if got := eval[string](b, `location.hash`); got != "#org=gh%2Fdemo" {
		t.Errorf("location.hash = %q, want the organization only", got)
	}
	b.checkNoProblems()
}

// The badge checks the proofs in the browser: a proof or a checkpoint
// changed on its way from the server fails it, naming what failed.
func TestWebViewer_TamperedEvidence(t *testing.T) {
	s := mustWebFixture(t)
	b := MustOpenBrowser(t, s.URL)

	// Intercept the answers of the server and change them: the leaf hash of
	// event 118's proof (one bit), and, once asked, the checkpoint's root.
	var tamperCheckpoint atomic.Bool
	paused := chromedp.Events(b.ctx, fetch.RequestPaused)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			body, err := chromedp.Call(b.ctx, fetch.GetResponseBody, fetch.GetResponseBodyParams{RequestID: ev.RequestID})
			if err != nil {
				return
			}
			data := body.Body
			switch {
			case strings.Contains(ev.Request.URL, "/events/118/proof"):
				var p map[string]any
				if json.Unmarshal(data, &p) == nil {
					h, _ := base64.StdEncoding.DecodeString(p["leafHash"].(string))
					h[0] ^= 1
					p["leafHash"] = base64.StdEncoding.EncodeToString(h)
					data, _ = json.Marshal(p)
				}
			case strings.HasSuffix(ev.Request.URL, "/checkpoint") && tamperCheckpoint.Load():
				lines := strings.Split(string(data), "\n")
				root, _ := base64.StdEncoding.DecodeString(lines[2])
				root[31] ^= 1
				lines[2] = base64.StdEncoding.EncodeToString(root)
				data = []byte(strings.Join(lines, "\n"))
			}
			_, _ = chromedp.Call(b.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: ev.ResponseStatusCode, ResponseHeaders: ev.ResponseHeaders, Body: data})
		}
	}()
	b.do("intercept proofs and checkpoints", func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: "*/events/118/proof*", RequestStage: fetch.RequestStageResponse},
			{URLPattern: "*/checkpoint", RequestStage: fetch.RequestStageResponse},
		}})
		return chromedp.Void{}, err
	})

	b.do("open gh/acme", chromedp.Navigate(s.URL+"/#token="+s.Token+"&org=gh/acme"))
	b.wantPage("the first page", 119, 70)
	b.wait("the badge failed", `document.getElementById('integrity').dataset.state === 'failed'`)
	want := fmt.Sprintf("Verification FAILED for 1 of 50 shown events against the checkpoint of size %d: the inclusion proof of event 118 does not lead to the checkpoint's root", webEvents)
	if got := b.text("#integrity-summary"); !strings.Contains(got, want) {
		t.Errorf("integrity summary = %q, want %q", got, want)
	}
	b.click("open event 118", `#events-body tr[data-seq="118"] button`)
	b.wait("its proof failed", `document.getElementById('detail').open && document.getElementById('detail-proof').dataset.state === 'failed'`)
	b.do("close", chromedp.KeyEvent(kb.Escape))

	// A checkpoint whose root was changed is not signed by the server's key.
	tamperCheckpoint.Store(true)
	b.click("show what was checked", "#integrity-details summary")
	b.click("check again", "#integrity-recheck")
	b.wait("the signature failed", `document.getElementById('integrity-summary').textContent.includes("is not signed by the server's log key")`)
}

// The page and its files are served with a strict policy, and revalidated by ETag.
// (No browser needed.)
func TestWebViewer_Served(t *testing.T) {
	s := MustRunService(t)
	code, page, h := s.Do("GET", "/", nil)
	if code != http.StatusOK || h.Get("Content-Type") != "text/html; charset=utf-8" || !bytes.Contains(page, []byte(`<script type="module" src="/assets/app.js">`)) {
		t.Fatalf("GET /: %d %s", code, h.Get("Content-Type"))
	}
	for name, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("GET /: %s = %q, want %q", name, got, want)
		}
	}
	// Nothing is loaded from elsewhere.
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).Find(page); m != nil {
		t.Errorf("the page loads %s from another origin", m)
	}
	for path, ct := range map[string]string{
		"/assets/app.js":      "text/javascript; charset=utf-8",
		"/assets/app.css":     "text/css; charset=utf-8",
		"/assets/favicon.svg": "image/svg+xml",
	} {
		code, _, h := s.Do("GET", path, nil)
		if code != http.StatusOK || h.Get("Content-Type") != ct || h.Get("ETag") == "" || h.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: %d, Content-Type %q, ETag %q", path, code, h.Get("Content-Type"), h.Get("ETag"))
			continue
		}
		if code, _, _ := s.Do("GET", path, nil, "If-None-Match", h.Get("ETag")); code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", path, code)
		}
	}
	for _, path := range []string{"/assets/nope.js", "/assets/index.html", "/index.html", "/assets/"} {
		if code, _, _ := s.Do("GET", path, nil); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}
