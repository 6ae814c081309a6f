package mailsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Limits of what the sink accepts.
const (
	MaxMessageBytes = 10 << 20
	MaxRecipients   = 100
)

// Sink is a running SMTP server and the messages it received. It is safe for concurrent use.
type Sink struct {
	srv *smtp.Server
	ln  net.Listener

	mu      sync.Mutex
	msgs    []Message
	nextID  int
	arrived chan struct{} // closed and replaced whenever a message arrives or all are deleted

	closeOnce sync.Once
	closeErr  error
	served    chan struct{}
}

// Start listens for SMTP on addr ("127.0.0.1:0" picks a free port) and serves until Close.
func Start(addr string) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln, arrived: make(chan struct{}), served: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{sink: s}, nil
	}))
	srv.Domain = "mailsink.localhost"
	srv.MaxMessageBytes = MaxMessageBytes
	srv.MaxRecipients = MaxRecipients
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = slogLogger{}
	s.srv = srv
	go func() {
		defer close(s.served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			slog.Error("mail sink stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return s, nil
}

// SMTPAddr is the host:port the sink listens on.
func (s *Sink) SMTPAddr() string { return s.ln.Addr().String() }

// Close stops the SMTP server and drops open connections; received messages stay readable.
func (s *Sink) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		<-s.served
	})
	return s.closeErr
}

// Messages returns every message received so far, oldest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Message returns one message by ID.
func (s *Sink) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if m.ID == id {
			return m, true
		}
	}
	return Message{}, false
}

// Reset forgets every message received so far.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
	s.signal()
}

// WaitFor blocks until at least n messages are held (counting from the last Reset) and
// returns them, or returns ctx's error with what has arrived so far.
func (s *Sink) WaitFor(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs, arrived := slices.Clone(s.msgs), s.arrived
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return msgs, ctx.Err()
		}
	}
}

// signal wakes waiters; s.mu must be held.
func (s *Sink) signal() {
	close(s.arrived)
	s.arrived = make(chan struct{})
}

func (s *Sink) add(from string, to []string, raw []byte) {
	m := parse(raw)
	m.From, m.To, m.Size, m.raw = from, to, len(raw), raw
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	m.ID = strconv.Itoa(s.nextID)
	m.ReceivedAt = time.Now().UTC()
	s.msgs = append(s.msgs, m)
	s.signal()
}

// session is one SMTP conversation's envelope.
type session struct {
	sink *Sink
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth accepts any credentials: the sink stands in for a relay whose password the dev
// stack cannot know.
func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(string, string, string) error { return nil }), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from, ss.to = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	ss.sink.add(ss.from, slices.Clone(ss.to), buf.Bytes())
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// slogLogger routes go-smtp's connection errors (clients hanging up) to debug logs.
type slogLogger struct{}

func (slogLogger) Printf(format string, v ...any) {
	slog.Debug("mail sink", "msg", strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (slogLogger) Println(v ...any) {
	slog.Debug("mail sink", "msg", strings.TrimSpace(fmt.Sprintln(v...)))
}
