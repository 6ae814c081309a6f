package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser drives a real, headless Chromium (Debian's chromium package) against a stack's
// console, the way a person uses it: typing, clicking and reading what the page shows.
type browser struct {
	t   *testing.T
	s   *stack
	ctx context.Context
}

// chromiumPath finds Debian's chromium; .ci/run installs it when missing.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("METERBRIDGE_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium is not installed (apt-get install chromium); the console's browser tests need it")
	return ""
}

// newBrowser starts a fresh Chromium (its own profile, no network beyond this machine's
// loopback servers) for one test.
func newBrowser(t *testing.T, s *stack) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	b := &browser{t: t, s: s, ctx: ctx}
	// The first run starts the browser; it must not carry a timeout (see chromedp.Run).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// run runs browser actions, failing the test on error (with a minute's bound).
func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v\n(at %s)\n%s", err, b.location(), b.mainText())
	}
}

// value runs one action that answers a value, failing the test on error.
func value[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// mainText is the page's main text, for failure messages (never fails).
func (b *browser) mainText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return s
}

// open loads a console path and waits for its main content.
func (b *browser) open(path string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.s.api.URL+path), chromedp.WaitVisible(chromedp.CSS("main")))
}

// signIn signs in through the form with a token, as a person pastes it.
func (b *browser) signIn(token string) {
	b.t.Helper()
	b.open("/")
	b.run(
		chromedp.WaitVisible(chromedp.CSS("#f-token")),
		chromedp.SendKeys(chromedp.CSS("#f-token"), token),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".who .email")),
	)
}

// text returns the visible text of the first element matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(value(b, chromedp.Text(chromedp.CSS(sel))))
}

// location is the current address's path and query.
func (b *browser) location() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	u, _ := chromedp.Run(ctx, chromedp.Location())
	return strings.TrimPrefix(u, b.s.api.URL)
}

// count is how many elements match sel.
func (b *browser) count(sel string) int {
	b.t.Helper()
	return value(b, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
}

// status is the HTTP status of the current page, read from the navigation timing entry.
func (b *browser) status() int {
	b.t.Helper()
	return value(b, chromedp.Evaluate[int](`performance.getEntriesByType("navigation")[0].responseStatus`))
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "$", `\$`)
	return "`" + r.Replace(s) + "`"
}

// waitFor reloads path until cond holds (the workflow moves on its own time).
func (b *browser) waitFor(path, what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b.open(path)
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s on %s; the page shows:\n%s", what, path, b.mainText())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// screenshotDir holds the tests' screenshots of every page (git-ignored): look at them to
// check the pages at desktop and phone widths.
func screenshotDir(t *testing.T) string {
	dir := filepath.Join("screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves the whole current page at 1280 px and at a phone's 390 px.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := screenshotDir(b.t)
	for _, size := range []struct {
		suffix string
		w, h   int64
		mobile bool
	}{{"", 1280, 900, false}, {"-phone", 390, 844, true}} {
		vp := chromedp.EmulateViewport(size.w, size.h)
		if size.mobile {
			vp = chromedp.EmulateViewport(size.w, size.h, chromedp.EmulateMobile)
		}
		b.run(vp, chromedp.Sleep(150*time.Millisecond))
		img := value(b, chromedp.FullScreenshot(100)) // 100: PNG
		if err := os.WriteFile(filepath.Join(dir, name+size.suffix+".png"), img, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.run(chromedp.EmulateViewport(1280, 900))
}

// submit clicks a form's button and waits until the next page has loaded (a page the
// action leads to, not the one it left).
func (b *browser) submit(sel string) {
	b.t.Helper()
	value(b, chromedp.Evaluate[bool](`window.__mbLeft = true`))
	b.run(chromedp.Click(chromedp.CSS(sel)))
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`window.__mbLeft === undefined && document.readyState === "complete" && !!document.querySelector("main")`))
		cancel()
		if err == nil && loaded {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: no new page after clicking %s (last error %v)\n%s", sel, err, b.mainText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitJS polls a JavaScript expression until it is true (htmx swaps arrive on their own time).
func (b *browser) waitJS(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: %s never held (last error %v)\n%s", expr, err, b.mainText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
