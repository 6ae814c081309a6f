// Package pgcluster runs a private PostgreSQL cluster from the PostgreSQL server binaries
// installed on the machine, for the dev stack and the tests. It is never used in production,
// where DATABASE_URL points at a managed database.
package pgcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the role initdb creates unless Options.Superuser names another; the cluster
// trusts it on loopback only.
const Superuser = "meterbridge"

// Options says where and how to run the cluster.
type Options struct {
	// Dir holds the cluster: Dir/data is the data directory, Dir/postgres.log its log.
	Dir string
	// Port to listen on (127.0.0.1 only); 0 reuses the port of the last run when it is free,
	// else picks a free one.
	Port int
	// BinDir holds initdb, pg_ctl and postgres; found automatically when empty.
	BinDir string
	// Logger receives progress lines; slog.Default when nil.
	Logger *slog.Logger
	// Superuser names the role initdb creates; Superuser when empty.
	Superuser string
}

// Cluster is a running PostgreSQL server.
type Cluster struct {
	opts    Options
	port    int
	cred    *syscall.Credential
	started bool // false when we attached to a server that was already running
}

// ErrNoPostgres is returned when no PostgreSQL server binaries can be found.
var ErrNoPostgres = errors.New("no PostgreSQL server binaries found (looked for initdb on PATH and under /usr/lib/postgresql/*/bin): " +
	"install the PostgreSQL server package (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@16) " +
	"or set DATABASE_URL to an existing database")

// FindBinaries returns the folder holding initdb, pg_ctl and postgres.
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if hasServer(dir) {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Prefer the newest major version.
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	for _, dir := range matches {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

func hasServer(dir string) bool {
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return false
		}
	}
	return true
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Start initialises the cluster when Dir is new and starts it, or attaches to it when a
// previous run left it running. PostgreSQL refuses to run as root, so when this process is
// root the server runs as the "postgres" system user and Dir is handed to that user.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.BinDir == "" {
		dir, err := FindBinaries()
		if err != nil {
			return nil, err
		}
		opts.BinDir = dir
	}
	abs, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = abs
	c := &Cluster{opts: opts}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if port, ok := c.runningPort(); ok {
		c.port = port
		if err := c.waitReady(ctx); err == nil {
			opts.Logger.Info("postgres: reusing running cluster", "dir", c.dataDir(), "port", port)
			return c, nil
		}
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		opts.Logger.Info("postgres: creating cluster", "dir", c.dataDir(), "binaries", opts.BinDir)
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	}
	if c.port = opts.Port; c.port == 0 {
		c.port = c.lastPort()
		if c.port == 0 || !portFree(c.port) {
			if c.port, err = freePort(); err != nil {
				return nil, err
			}
		}
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	c.started = true
	_ = os.WriteFile(filepath.Join(c.opts.Dir, "port"), []byte(strconv.Itoa(c.port)), 0o644)
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	opts.Logger.Info("postgres: started", "port", c.port, "log", c.logFile())
	return c, nil
}

// URL returns a connection URL for a database of the cluster, as the superuser.
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(c.Superuser()),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Superuser is the role the cluster was created with.
func (c *Cluster) Superuser() string {
	if c.opts.Superuser != "" {
		return c.opts.Superuser
	}
	return Superuser
}

// Port is the TCP port the cluster listens on.
func (c *Cluster) Port() int { return c.port }

// Stop shuts the server down (fast mode: open sessions are ended, data is safe).
func (c *Cluster) Stop() error {
	cmd := c.command(context.Background(), "pg_ctl", "stop", "-D", c.dataDir(), "-m", "fast", "-w", "-t", "60")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl stop: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// EnsureDatabase creates the database when it does not exist.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	return EnsureDatabase(ctx, c.URL("postgres"), name)
}

// EnsureDatabase creates a database through an admin connection when it does not exist.
func EnsureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.opts.Dir, "data") }
func (c *Cluster) logFile() string { return filepath.Join(c.opts.Dir, "postgres.log") }

func (c *Cluster) prepareDir() error {
	if err := os.MkdirAll(c.opts.Dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", c.opts.Dir, err)
	}
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return errors.New("running as root, and PostgreSQL refuses to run as root: create a 'postgres' system user " +
			"(it comes with the PostgreSQL server package), run as an ordinary user, or set DATABASE_URL")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	// The server user must be able to walk down to its folder.
	for dir := filepath.Dir(c.opts.Dir); ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the postgres user cannot reach %s because %s is not traversable by others "+
				"(chmod o+x %s, choose another folder, or set DATABASE_URL)", c.opts.Dir, dir, dir)
		}
		if dir == "/" {
			break
		}
	}
	return filepath.Walk(c.opts.Dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.opts.BinDir, name), args...)
	cmd.Dir = c.opts.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

func (c *Cluster) initdb(ctx context.Context) error {
	cmd := c.command(ctx, "initdb", "-D", c.dataDir(), "-U", c.Superuser(), "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	// Loopback only, no unix socket (its path length and folder rights vary by machine).
	conf := "\n# meterbridge dev cluster\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n" +
		"fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\ntimezone = 'UTC'\n"
	f, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(conf)
	return err
}

func (c *Cluster) start(ctx context.Context) error {
	// pg_ctl detaches the server, so it outlives a crash of this process; the next Start
	// attaches to it through postmaster.pid.
	cmd := c.command(ctx, "pg_ctl", "start", "-D", c.dataDir(), "-l", c.logFile(), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d", c.port))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl start (log: %s): %w: %s", c.logFile(), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// runningPort reads postmaster.pid; a live postmaster there means a server is running.
func (c *Cluster) runningPort() (int, bool) {
	f, err := os.Open(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 4 {
		return 0, false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(lines[0]))
	port, err2 := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err1 != nil || err2 != nil {
		return 0, false
	}
	if syscall.Kill(pid, 0) != nil && !errors.Is(syscall.Kill(pid, 0), syscall.EPERM) {
		return 0, false
	}
	return port, true
}

func (c *Cluster) lastPort() int {
	b, err := os.ReadFile(filepath.Join(c.opts.Dir, "port"))
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return p
}

func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres on port %d not ready (log: %s): %w", c.port, c.logFile(), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}
