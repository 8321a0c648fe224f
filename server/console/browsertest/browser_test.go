package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/server/console/consoletest"
)

// chromium returns the browser's path, or skips (fails in CI) without one.
func chromium(t *testing.T) string {
	path := os.Getenv("COMPLY_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no browser at %s: CI installs it (apt-get install -y chromium)", path)
		}
		t.Skipf("no browser at %s: apt-get install -y chromium (or set COMPLY_CHROMIUM)", path)
	}
	return path
}

// tab is a browser tab with its console messages.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string // screenshots

	mu   sync.Mutex
	msgs []string // errors and warnings the page logged
}

func newTab(t *testing.T, base string) *tab {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel3)
	dir := os.Getenv("COMPLY_CONSOLE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tb := &tab{t: t, ctx: ctx, base: base, dir: dir}
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatal(err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleException || m.Type == "error" || m.Type == "warning" || m.Type == "assert" {
				tb.mu.Lock()
				tb.msgs = append(tb.msgs, string(m.Type)+": "+m.Text)
				tb.mu.Unlock()
			}
		}
	}()
	return tb
}

// consoleErrors returns and forgets the errors logged so far.
func (tb *tab) consoleErrors() []string {
	time.Sleep(200 * time.Millisecond) // let the last messages arrive
	tb.mu.Lock()
	defer tb.mu.Unlock()
	m := tb.msgs
	tb.msgs = nil
	return m
}

func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to path and waits until the page's script has filled it.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do("open "+path, chromedp.Navigate(tb.base+path), chromedp.WaitReady("body[data-ready]"))
}

func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s: %v", js, err)
	}
	return v
}

func (tb *tab) location() string {
	tb.t.Helper()
	u, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	return strings.TrimPrefix(u, tb.base)
}

// screenshot saves the whole page, beyond the window, as name.png.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(tb.dir, name+".png"), png, 0o600); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) signIn(secret string) {
	tb.t.Helper()
	tb.do("sign in", chromedp.Navigate(tb.base+"/entries"), chromedp.WaitVisible("#token"),
		chromedp.SendKeys("#token", secret), chromedp.Submit("#token"), chromedp.WaitReady("body[data-ready]"))
}

// noStrayText fails the test if the page shows a value that was not
// meant as text: an object, null or undefined.
func (tb *tab) noStrayText(page string) {
	tb.t.Helper()
	if bad := eval[string](tb, `(document.querySelector("main").innerText.match(/\[object \w+\]|^(null|undefined)$/m) || [""])[0]`); bad != "" {
		tb.t.Errorf("%s page shows %q", page, bad)
	}
}

// rowsText returns the text of the entries table's rows.
func (tb *tab) rowsText() []string {
	return eval[[]string](tb, `[...document.querySelectorAll("#entries tbody tr")].map(r => r.innerText)`)
}

func TestConsoleInBrowser(t *testing.T) {
	env := consoletest.Start(t, consoletest.Options{Entries: 250})
	tb := newTab(t, env.URL)

	// Sign in: the entries page, newest first, a page of 100.
	tb.signIn(consoletest.DecryptSecret)
	tb.do("entries", chromedp.WaitVisible("#entries tbody tr"))
	if loc := tb.location(); loc != "/entries" {
		t.Fatalf("after sign-in at %s, want /entries", loc)
	}
	rows := tb.rowsText()
	if len(rows) != 100 {
		t.Fatalf("%d rows, want 100", len(rows))
	}
	tb.screenshot("entries")

	// Page: the next 100, older.
	first := rows[0]
	tb.do("next page", chromedp.Click("#next"), chromedp.WaitVisible("#newest"), chromedp.WaitReady("body[data-ready]"))
	if loc := tb.location(); !strings.Contains(loc, "cursor=") {
		t.Errorf("next page at %s, want a cursor", loc)
	}
	if rows := tb.rowsText(); len(rows) != 100 || rows[0] == first {
		t.Errorf("page 2: %d rows, first %q", len(rows), rows[0])
	}

	// Filter by clicking a model.
	tb.open("/entries")
	model := eval[string](tb, `document.querySelector("#entries tbody tr td:nth-child(3) button").textContent`)
	tb.do("click a model", chromedp.Click("#entries tbody tr td:nth-child(3) button"), chromedp.WaitReady("body[data-ready='2']"))
	if loc := tb.location(); !strings.Contains(loc, "model="+model) {
		t.Errorf("after the click at %s, want model=%s", loc, model)
	}
	for _, r := range tb.rowsText() {
		if !strings.Contains(r, model) {
			t.Fatalf("filtered by click on %s: row %q", model, r)
		}
	}

	// Filter by URL.
	tb.open("/entries?model=gpt-4o&safety=failed&since=30d")
	rows = tb.rowsText()
	if len(rows) == 0 {
		t.Fatal("no failed gpt-4o entries")
	}
	for _, r := range rows {
		if !strings.Contains(r, "gpt-4o") || !strings.Contains(r, "failed") {
			t.Fatalf("filtered by URL: row %q", r)
		}
	}
	if v := eval[string](tb, `document.querySelector("#f-model").value`); v != "gpt-4o" {
		t.Errorf("the model filter shows %q", v)
	}
	tb.screenshot("entries-filtered")

	// Filter by safety passed and by detector, by URL.
	for _, tc := range []struct {
		query, select_, want, never string
	}{
		{"safety=passed", "passed", "passed", "failed"},
		{"detector=pii", "", "failed", "passed"},
		{"detector=pii&safety=failed&model=gpt-4o", "failed", "gpt-4o", "passed"},
	} {
		tb.open("/entries?" + tc.query)
		rows := tb.rowsText()
		if len(rows) == 0 {
			t.Fatalf("%s: no rows", tc.query)
		}
		for _, r := range rows {
			if !strings.Contains(r, tc.want) || strings.Contains(r, tc.never) {
				t.Fatalf("%s: row %q", tc.query, r)
			}
		}
		if v := eval[string](tb, `document.querySelector("#f-safety").value`); v != tc.select_ {
			t.Errorf("%s: the safety filter shows %q", tc.query, v)
		}
	}

	// Find by content: paste a prompt of several lines (the page sends it
	// as is: one changed byte is another hash), then a response.
	tb.open("/entries")
	tb.do("find by input", chromedp.SetValue("#f-content", consoletest.MultilineInput), chromedp.Click("#filters button.primary"),
		chromedp.WaitReady("body[data-ready='2']"))
	if rows := eval[[]string](tb, `[...document.querySelectorAll("#entries tbody tr")].map(r => r.dataset.href)`); len(rows) != 1 ||
		rows[0] != "/entries/"+env.IDs[consoletest.MultilineIndex] {
		t.Errorf("find by input: rows %v, want entry %d", rows, consoletest.MultilineIndex)
	}
	if v := eval[string](tb, `document.querySelector("#f-content").value`); v != consoletest.MultilineInput {
		t.Errorf("the content field shows %q after the search", v)
	}
	tb.open("/entries")
	tb.do("find by output", chromedp.SetValue("#f-content", "answer 7: thirty days."), chromedp.SetValue("#f-content-in", "output"),
		chromedp.Click("#filters button.primary"), chromedp.WaitReady("body[data-ready='2']"))
	if loc := tb.location(); !strings.Contains(loc, "output_text=") {
		t.Errorf("find by output at %s", loc)
	}
	if rows := eval[[]string](tb, `[...document.querySelectorAll("#entries tbody tr")].map(r => r.dataset.href)`); len(rows) != 1 || rows[0] != "/entries/"+env.IDs[7] {
		t.Errorf("find by output: rows %v, want entry 7", rows)
	}

	// Open an entry; decrypt it with a reason.
	tb.do("open an entry", chromedp.Click("#entries tbody tr td:nth-child(4)"), chromedp.WaitVisible("#metadata"))
	entryPath := tb.location()
	if !strings.HasPrefix(entryPath, "/entries/") {
		t.Fatalf("the row opened %s", entryPath)
	}
	tb.do("decrypt", chromedp.SendKeys("#reason", "case 42"), chromedp.Click("#decrypt button"), chromedp.WaitVisible("#input-text"))
	if in := eval[string](tb, `document.querySelector("#input-text").textContent`); !strings.Contains(in, "refund policy") {
		t.Errorf("decrypted input %q", in)
	}
	tb.screenshot("entry")

	tb.open("/conversations/conv-alpha")
	if n := eval[int](tb, `document.querySelectorAll("#timeline li").length`); n == 0 {
		t.Error("the conversation has no turns")
	}
	tb.screenshot("conversation")

	// The dashboard: its charts drew pixels.
	tb.open("/dashboard?since=30d")
	tb.do("charts", chromedp.WaitVisible("#chart-volume canvas"), chromedp.WaitVisible("#chart-latency canvas"))
	inked := eval[[]int](tb, `[...document.querySelectorAll(".chart canvas")].map(c => {
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
		return n; })`)
	if len(inked) != 4 {
		t.Fatalf("%d charts, want 4", len(inked))
	}
	for i, n := range inked {
		if n < 500 {
			t.Errorf("chart %d drew %d pixels", i, n)
		}
	}
	// Its breakdowns are comply stats' figures; the users a count of the range.
	st, err := env.Logger.Stats(t.Context(), time.Now().Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][]comply.NameCount{"by-block-reason": st.ByBlockReason, "by-detector": st.ByDetector} {
		got := eval[[]string](tb, `[...document.querySelectorAll("#`+id+` tbody tr")].map(r => r.cells[0].innerText + "=" + r.cells[1].innerText)`)
		var w []string
		for _, r := range want {
			w = append(w, fmt.Sprintf("%s=%d", r.Name, r.Entries))
		}
		if len(w) == 0 || strings.Join(got, ",") != strings.Join(w, ",") {
			t.Errorf("%s: %v, comply stats %v", id, got, w)
		}
	}
	if users := eval[[]string](tb, `[...document.querySelectorAll("#by-user tbody tr")].map(r => r.cells[0].innerText + "=" + r.cells[1].innerText)`); strings.Join(users, ",") != "user-0=50,user-1=50,user-2=50,user-3=50,user-4=50" {
		t.Errorf("busiest users: %v", users)
	}
	tb.noStrayText("dashboard")
	tb.screenshot("dashboard")

	// Integrity: the heartbeats of the last 24 hours, with the sample's
	// outage as the one downtime; verify with progress (as decrypt: no
	// button).
	tb.open("/integrity")
	states := eval[[]string](tb, `[...document.querySelectorAll("#heartbeats span")].map(s => s.dataset.state)`)
	if !slices.Contains(states, "traffic") || !slices.Contains(states, "idle") || !slices.Contains(states, "down") {
		t.Errorf("heartbeat timeline: %v", states)
	}
	if n := eval[int](tb, `document.querySelectorAll("#downtimes tbody tr").length`); n != 1 {
		t.Errorf("%d downtimes, want the sample's outage", n)
	}
	tb.noStrayText("integrity")
	if n := eval[int](tb, `document.querySelectorAll("#verify").length`); n != 0 {
		t.Error("a decrypt token is offered verify")
	}

	// The admin sees the decrypt, with its reason, in the access page.
	tb.do("sign out", chromedp.Click(".who button"), chromedp.WaitVisible("#token"))
	tb.signIn(consoletest.AdminSecret)
	tb.open("/integrity")
	tb.do("verify", chromedp.Click("#verify"), chromedp.WaitVisible("#verify-result .pill.ok"))
	if note := eval[string](tb, `document.querySelector("#verify-note").textContent`); !strings.HasPrefix(note, "250 of 250 entries read") {
		t.Errorf("verify progress: %q", note)
	}
	tb.screenshot("integrity")
	tb.open("/access?token=decrypter")
	found := eval[bool](tb, `[...document.querySelectorAll("#access tbody tr")].some(r => r.innerText.includes("decrypt") && r.innerText.includes("reason=case 42"))`)
	if !found {
		t.Error("the access page does not show the decrypt with its reason")
	}
	tb.screenshot("access")
	// The access log keeps the hash of the text searched for, never the text.
	hashed := eval[bool](tb, `[...document.querySelectorAll("#access tbody tr")].some(r => /input_text=(hmac-sha256:)?[0-9a-f]{64}/.test(r.innerText))`)
	leaked := eval[bool](tb, `document.querySelector("#access").innerText.includes("question 5:")`)
	if !hashed || leaked {
		t.Errorf("access log of find by content: hash shown %v, text shown %v", hashed, leaked)
	}

	// A phone's width.
	tb.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	tb.open("/entries")
	tb.screenshot("entries-phone")
	tb.do("desktop", chromedp.EmulateViewport(1280, 900))

	if errs := tb.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}

	// Without the decrypt role: no action offered, and the API says 403.
	tb.do("sign out", chromedp.Click(".who button"), chromedp.WaitVisible("#token"))
	tb.signIn(consoletest.ReadSecret)
	tb.open(entryPath)
	if n := eval[int](tb, `document.querySelectorAll("#decrypt").length`); n != 0 {
		t.Error("a read token is offered decrypt")
	}
	status := eval[int](tb, fmt.Sprintf(`fetch(%q + "/decrypt?reason=x", {method: "POST", headers: {"X-CSRF-Token": document.body.dataset.csrf}}).then(r => r.status)`, "/v1"+entryPath))
	if status != 403 {
		t.Errorf("decrypt as read: %d, want 403", status)
	}

	// An inline script is blocked by the CSP, and the violation reported.
	blocked := eval[string](tb, `new Promise(resolve => {
		document.addEventListener("securitypolicyviolation", e => resolve(e.violatedDirective), {once: true});
		const s = document.createElement("script");
		s.textContent = "window.inlineRan = true";
		document.body.append(s);
		setTimeout(() => resolve(window.inlineRan ? "ran" : "no report"), 2000);
	})`)
	if ran := eval[bool](tb, `window.inlineRan === true`); ran || !strings.HasPrefix(blocked, "script-src") {
		t.Errorf("inline script: ran %v, violation %q", ran, blocked)
	}
}

// TestReportsInBrowser generates a compliance report on the Reports page,
// then opens its HTML form (the API's answer, with its own CSP) in the
// browser: no console error, no CSP violation.
func TestReportsInBrowser(t *testing.T) {
	env := consoletest.Start(t, consoletest.Options{Entries: 72})
	tb := newTab(t, env.URL)
	tb.signIn(consoletest.ReadSecret)
	tb.open("/reports")
	if n := eval[int](tb, `document.querySelectorAll("#controls").length`); n != 0 {
		t.Error("the Reports page shows a report before Generate")
	}
	if cur := eval[string](tb, `document.querySelector(".top nav a[aria-current=page]").textContent`); cur != "Reports" {
		t.Errorf("the nav marks %q", cur)
	}

	// A custom period: the last 30 days, SOC 2 and the EU AI Act.
	now := time.Now().UTC()
	start, end := now.AddDate(0, 0, -30).Format(time.DateOnly), now.Format(time.DateOnly)
	tb.do("generate", chromedp.SetValue("#r-period", "custom"), chromedp.Evaluate[chromedp.Void](`document.querySelector("#r-period").dispatchEvent(new Event("change"))`),
		chromedp.SetValue("#r-start", start), chromedp.SetValue("#r-end", end),
		chromedp.Evaluate[chromedp.Void](`["hipaa","iso42001","gdpr"].forEach(f => document.querySelector("#fw-" + f).checked = false)`),
		chromedp.Click("#generate"), chromedp.WaitVisible("#controls tbody tr"))
	loc := tb.location()
	for _, want := range []string{"framework=eu-ai-act%2Csoc2", "start=" + start, "end=" + end} {
		if !strings.Contains(loc, want) {
			t.Errorf("after Generate at %s, want %s", loc, want)
		}
	}
	statuses := eval[[]string](tb, `[...document.querySelectorAll("#controls tbody tr")].map(r => r.cells[0].innerText + " " + r.querySelector(".pill.status").dataset.status)`)
	known := map[string]bool{"pass": true, "fail": true, "not_evidenced": true, "not_applicable": true, "manual": true}
	frameworks := map[string]bool{}
	for _, s := range statuses {
		fw, st, _ := strings.Cut(s, " ")
		frameworks[fw] = true
		if !known[st] {
			t.Errorf("control status %q", s)
		}
	}
	if len(statuses) < 5 || len(frameworks) != 2 || !frameworks["soc2"] || !frameworks["eu-ai-act"] {
		t.Errorf("controls: %v", statuses)
	}
	if txt := eval[string](tb, `document.querySelector("#evidence").innerText`); !strings.Contains(txt, "72 entries") {
		t.Errorf("evidence summary: %q", txt)
	}
	tb.noStrayText("reports")
	tb.screenshot("reports")

	// The downloads go through the API: each is a read in the access log.
	for _, f := range []string{"json", "md", "html"} {
		href := eval[string](tb, `document.querySelector("#download-`+f+`").getAttribute("href")`)
		if !strings.HasPrefix(href, "/v1/reports?") || !strings.Contains(href, "format="+f) {
			t.Errorf("download %s: %q", f, href)
		}
		status := eval[int](tb, fmt.Sprintf(`fetch(%q).then(r => r.status)`, href))
		if status != 200 {
			t.Errorf("download %s: status %d", f, status)
		}
	}
	if errs := tb.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors on the Reports page:\n%s", strings.Join(errs, "\n"))
	}

	// The HTML report, opened in the browser: styled (its <style> allowed
	// by the report's CSP), no script, no error.
	href := eval[string](tb, `document.querySelector("#download-html").getAttribute("href")`)
	tb.do("open the HTML report", chromedp.Navigate(tb.base+href), chromedp.WaitReady("body"))
	violations := eval[[]string](tb, `new Promise(resolve => {
		const v = [];
		document.addEventListener("securitypolicyviolation", e => v.push(e.violatedDirective));
		setTimeout(() => resolve(v), 300);
	})`)
	if len(violations) > 0 {
		t.Errorf("CSP violations in the HTML report: %v", violations)
	}
	if n := eval[int](tb, `document.styleSheets.length`); n == 0 {
		t.Error("the HTML report has no style sheet applied")
	}
	if txt := eval[string](tb, `document.body.innerText`); !strings.Contains(txt, "soc2") && !strings.Contains(txt, "SOC 2") {
		t.Errorf("the HTML report does not name SOC 2: %.200q", txt)
	}
	if errs := tb.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors in the HTML report:\n%s", strings.Join(errs, "\n"))
	}
}
