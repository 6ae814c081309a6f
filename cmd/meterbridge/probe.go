package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// runProbe asks a health endpoint and succeeds only on a 2xx answer. Container images of
// meterbridge have no shell or curl, so compose's healthchecks run this.
func runProbe(ctx context.Context, args []string) error {
	fs := newFlags("probe", "URL", `Ask a health endpoint (such as http://127.0.0.1:8080/readyz or the worker's
http://127.0.0.1:9090/readyz) and exit 0 when it answers 2xx, 1 otherwise. Container
healthchecks use it: the image has no shell or curl.`)
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("probe", "want exactly one URL argument, got %d", fs.NArg())
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("probe", "URL %q: want an http or https URL", fs.Arg(0))
	}
	if *timeout <= 0 {
		return usagef("probe", "-timeout must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("probe %s: %s %s", u.Redacted(), resp.Status, body)
	}
	fmt.Printf("%s %s\n", resp.Status, body)
	return nil
}
