package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// runMainEnv makes the test binary run main() with its arguments (see TestMain).
const runMainEnv = "METERBRIDGE_TEST_RUN_MAIN"

// captureStdout runs f with os.Stdout captured and returns what it printed.
func captureStdout(t *testing.T, f func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	ferr := f()
	os.Stdout = old
	require.NoError(t, w.Close())
	return <-done, ferr
}

// runBinary runs the real main with args and returns its exit code, stdout and stderr. The
// environment is emptied of meterbridge's variables so nothing reaches a database.
func runBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = []string{runMainEnv + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, out.String(), errOut.String()
}

// `meterbridge version` names the module version, the commit the binary was built from and
// the Temporal SDK it speaks with; the commit comes from the Go toolchain's VCS stamp.
func TestVersionNamesModuleVersionCommitAndTemporalSDK(t *testing.T) {
	v := readVersion(&debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/meterbridge/meterbridge", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-30T18:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}, true)
	require.Equal(t, "meterbridge v1.4.0 (commit 0123456789abcdef0123456789abcdef01234567, 2026-11-30T18:00:00Z, modified)\ngo1.26.8\nTemporal Go SDK v"+temporal.SDKVersion, v.String())

	// The binary as built: its SDK version is the one linked (go.mod's), and a build
	// without VCS information says so rather than printing nothing.
	bi, ok := debug.ReadBuildInfo()
	require.True(t, ok)
	for _, d := range bi.Deps {
		if d.Path == "go.temporal.io/sdk" {
			require.Equal(t, d.Version, "v"+temporal.SDKVersion, "the reported SDK version is the linked module's")
		}
	}
	code, out, _ := runBinary(t, "version")
	require.Equal(t, 0, code)
	require.Contains(t, out, "meterbridge ")
	require.Contains(t, out, "Temporal Go SDK v"+temporal.SDKVersion)
	require.Contains(t, out, "commit ")

	out, err := captureStdout(t, func() error { return run(context.Background(), []string{"version", "-json"}) })
	require.NoError(t, err)
	require.Contains(t, out, `"temporal_sdk":"v`+temporal.SDKVersion+`"`)
}

// Every command and subcommand answers -h with its usage on standard output and exit code 0,
// before it reads any configuration.
func TestEveryCommandAnswersHelp(t *testing.T) {
	commands := [][]string{
		{}, {"api"}, {"worker"}, {"migrate"}, {"token"}, {"token", "create"}, {"token", "list"}, {"token", "revoke"},
		{"migrate", "status"}, {"secrets"}, {"secrets", "new-key"}, {"secrets", "rotate"}, {"schedules"}, {"schedules", "sync"},
		{"backfill"}, {"version"}, {"probe"},
	}
	for _, c := range commands {
		name := strings.TrimSpace("meterbridge " + strings.Join(c, " "))
		t.Run(name, func(t *testing.T) {
			out, err := captureStdout(t, func() error { return run(context.Background(), append(append([]string{}, c...), "-h")) })
			require.ErrorIs(t, err, flag.ErrHelp)
			require.Equal(t, 0, exitCode(err))
			require.Contains(t, out, "usage: "+name, "the help names the command")
		})
	}
	// The real process: exit 0, help on stdout, nothing on stderr.
	code, out, errOut := runBinary(t, "backfill", "-h")
	require.Equal(t, 0, code)
	require.Contains(t, out, "usage: meterbridge backfill [flags]")
	require.Contains(t, out, "-from string")
	require.Empty(t, errOut)
}

// A command line meterbridge cannot act on exits 2 with a message naming the flag (or the
// command) and a pointer to -h; nothing is run and no configuration is needed.
func TestUsageErrorsNameTheFlagAndExit2(t *testing.T) {
	cases := []struct {
		args []string
		says string
	}{
		{[]string{}, "a command is required"},
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"api", "-listen", ":1"}, "flag provided but not defined: -listen"},
		{[]string{"worker", "-activities", "many"}, `invalid value "many" for flag -activities`},
		{[]string{"worker", "-activities", "0"}, "-activities must be at least 1"},
		{[]string{"migrate", "now"}, `unknown migrate command "now"`},
		{[]string{"migrate", "status", "-all"}, "flag provided but not defined: -all"},
		{[]string{"token"}, "a subcommand is required: create, list, revoke"},
		{[]string{"token", "delete"}, `unknown subcommand "delete"`},
		{[]string{"token", "create", "-role", "owner", "-email", "a@b.example"}, `-role must be admin, approver or viewer, not "owner"`},
		{[]string{"token", "create", "-email", "a@b.example"}, "-role is required"},
		{[]string{"token", "create", "-role", "viewer", "-email", "a@b.example"}, "-tenant is required for approver and viewer tokens"},
		{[]string{"token", "create", "-role", "admin", "-email", "not-an-address"}, "-email:"},
		{[]string{"token", "create", "-role"}, "flag needs an argument: -role"},
		{[]string{"token", "create", "-role", "viewer", "-tenant", "demo", "-email", "a@b.example", "-tz", "Mars/Olympus"}, "-tz"},
		{[]string{"token", "revoke"}, "want exactly one token ID"},
		{[]string{"secrets", "new-key", "a", "b"}, "want at most one key ID"},
		{[]string{"schedules", "sync", "-tenant"}, "flag needs an argument: -tenant"},
		{[]string{"backfill", "-action", "delete", "-tenant", "demo"}, `-action must be publish, refresh or sync, not "delete"`},
		{[]string{"backfill", "-from", "2026-01-01", "-to", "2026-02-01"}, "-tenant is required"},
		{[]string{"backfill", "-tenant", "demo", "-to", "2026-02-01"}, "-from is required"},
		{[]string{"backfill", "-tenant", "demo", "-from", "2026-01-01", "-to", "1 Feb"}, `-to "1 Feb": want a date as YYYY-MM-DD`},
		{[]string{"version", "-short"}, "flag provided but not defined: -short"},
		{[]string{"probe"}, "want exactly one URL argument"},
		{[]string{"probe", "ftp://127.0.0.1/"}, "want an http or https URL"},
		{[]string{"probe", "-timeout", "0s", "http://127.0.0.1:1/"}, "-timeout must be positive"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Setenv("DATABASE_URL", "") // nothing may be opened
			var err error
			_, _ = captureStdout(t, func() error { err = run(context.Background(), c.args); return nil })
			require.Equal(t, 2, exitCode(err), "exit code for %v (err %v)", c.args, err)
			var msg bytes.Buffer
			require.Equal(t, 2, report(err, &msg))
			require.Contains(t, msg.String(), c.says)
			require.Contains(t, msg.String(), "-h' for usage")
		})
	}
	// The real process exits 2 and says it on stderr.
	code, _, errOut := runBinary(t, "backfill", "-tenant", "demo", "-action", "delete")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `meterbridge backfill: -action must be publish, refresh or sync, not "delete"`)
	require.Contains(t, errOut, "run 'meterbridge backfill -h' for usage")
	// A failure while running is not a usage error: exit 1.
	code, _, errOut = runBinary(t, "token", "list")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "DATABASE_URL is not set")
}

// `meterbridge probe` is what container healthchecks run: exit 0 on a 2xx answer, 1 on
// anything else or no answer.
func TestProbeSucceedsOnlyOnA2xxAnswer(t *testing.T) {
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(`{"ready":` + strconv.FormatBool(!down.Load()) + `}`))
	}))
	defer srv.Close()
	code, out, _ := runBinary(t, "probe", srv.URL+"/readyz")
	require.Equal(t, 0, code)
	require.Contains(t, out, "200 OK")
	down.Store(true)
	code, _, errOut := runBinary(t, "probe", srv.URL+"/readyz")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "503 Service Unavailable")
	srv.Close()
	code, _, _ = runBinary(t, "probe", "-timeout", "2s", srv.URL+"/readyz")
	require.Equal(t, 1, code)
}
