package store_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/billing"
	"github.com/meterbridge/meterbridge/dev/testenv"
	"github.com/meterbridge/meterbridge/store"
)

// silentProxy forwards TCP connections to PostgreSQL until it is silenced: then it keeps
// every connection open but passes nothing on, not even the server closing it — the path
// to the database has gone quiet, as when a network link drops packets.
type silentProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	quiet  bool
	resume chan struct{}
}

func startSilentProxy(t *testing.T, upstream string) *silentProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &silentProxy{ln: ln, resume: make(chan struct{})}
	t.Cleanup(func() { p.speak(); _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				_ = c.Close()
				continue
			}
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	return p
}

// silence stops the traffic; speak lets it (and the closes held back) through again.
func (p *silentProxy) silence() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quiet = true
}

func (p *silentProxy) speak() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet {
		close(p.resume)
		p.quiet, p.resume = false, make(chan struct{})
	}
}

func (p *silentProxy) hold() {
	p.mu.Lock()
	quiet, resume := p.quiet, p.resume
	p.mu.Unlock()
	if quiet {
		<-resume
	}
}

// pipe copies src to dst; while the proxy is silent it holds what it read, and the end of
// src, back.
func (p *silentProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.hold()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// via is a database URL with its host replaced by the proxy's.
func (p *silentProxy) via(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	u.Host = p.ln.Addr().String()
	return u.String()
}

// The path from a lock's holder to PostgreSQL goes silent while it writes to the PSA: its
// pings block instead of failing, the server ends the session after Idle, and another push
// takes the lock. The holder must stop writing before that: its pings have their own
// deadline and its write is cancelled once no ping has been answered for Idle−Ping, before
// the server can let the lock go — so when the next holder's write starts, the first one's
// has already ended.
func TestAHolderWhosePathToTheDatabaseGoesSilentStopsBeforeTheLockPassesOn(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	silent := startSilentProxy(t, u.Host)
	ctx := context.Background()
	direct, err := store.Open(ctx, dbURL, nil)
	require.NoError(t, err)
	t.Cleanup(direct.Close)
	holder, err := store.Open(ctx, silent.via(t, dbURL), nil)
	require.NoError(t, err)
	t.Cleanup(holder.Close)
	t.Cleanup(silent.speak) // before the pool is closed: it waits for the holder's connection
	holder.SetPushLockTimings(store.PushLockTimings{Ping: 200 * time.Millisecond, Idle: 2 * time.Second})
	direct.SetPushLockTimings(store.PushLockTimings{Wait: time.Minute})
	newTenant(t, direct, "acme")
	ids := approvedItems(t, direct, 2)

	started, firstEnded := make(chan struct{}), make(chan struct{})
	first := pushAsync(holder, ids[0], "acme/autotask/target/9", func(ctx context.Context, _ store.Item, _ store.PublishedAfter) (store.Outcome, error) {
		close(started)
		<-ctx.Done()
		close(firstEnded)
		return store.Outcome{}, context.Cause(ctx)
	})
	<-started
	silent.silence()

	var stillWriting bool
	out, pushed, err := direct.PushItem(ctx, ids[1], "acme/autotask/target/9", func(ctx context.Context, it store.Item, after store.PublishedAfter) (store.Outcome, error) {
		select {
		case <-firstEnded:
		default:
			stillWriting = true
		}
		return applied(ctx, it, after)
	})
	require.NoError(t, err)
	require.True(t, pushed)
	require.Equal(t, billing.Applied, out.State)
	require.False(t, stillWriting, "the first holder was still writing when the lock passed on")
	silent.speak()
	res := <-first
	require.ErrorContains(t, res.err, "lost the database session")
}

// Pushes stuck at the PSA (a storm of 429s with long Retry-After waits, in code that still
// waited them out) hold a connection and a transaction each; however many run, they hold at
// most half the pool, and other database work goes on.
func TestPushesStuckAtThePSADoNotStarveOtherDatabaseWork(t *testing.T) {
	s := testenv.Store(t, nil)
	newTenant(t, s, "acme")
	max := int(s.Pool().Config().MaxConns)
	ids := approvedItems(t, s, max+2)
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open) // before the pool is closed: it waits for the pushes' connections
	var mu sync.Mutex
	writing := 0
	var results []<-chan pushResult
	for i, id := range ids {
		results = append(results, pushAsync(s, id, fmt.Sprintf("acme/autotask/target/%d", i), func(ctx context.Context, it store.Item, after store.PublishedAfter) (store.Outcome, error) {
			mu.Lock()
			writing++
			mu.Unlock()
			select {
			case <-release:
			case <-ctx.Done():
			}
			return applied(ctx, it, after)
		}))
	}
	// Wait until as many pushes write as ever will at once.
	for {
		mu.Lock()
		n := writing
		mu.Unlock()
		if n >= max/2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 3 {
		wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := s.GetTenant(wctx, "acme")
		cancel()
		require.NoError(t, err, "other database work waits for a connection while pushes hold them")
		c, err := s.CycleCounts(context.Background(), "00000000-0000-0000-0000-000000000000")
		require.NoError(t, err)
		require.Zero(t, c.Approved)
	}
	mu.Lock()
	require.LessOrEqual(t, writing, max/2, "pushes holding a connection")
	mu.Unlock()
	open()
	for _, r := range results {
		res := <-r
		require.NoError(t, res.err)
		require.True(t, res.pushed)
	}
}
