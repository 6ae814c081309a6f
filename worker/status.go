package worker

import (
	"errors"
	"fmt"
	"sync"
)

// Status follows one worker's life for its health endpoints: not started, polling,
// stopping, or stopped by a fatal error (the SDK stops a worker whose namespace or task
// queue it cannot use). It is safe for concurrent use.
type Status struct {
	mu      sync.Mutex
	polling bool
	stopped bool
	fatal   error
}

// Started marks the worker as polling.
func (s *Status) Started() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polling, s.stopped = true, false
}

// Stopping marks the worker as no longer taking new tasks (shutdown has begun).
func (s *Status) Stopping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polling, s.stopped = false, true
}

// Fatal records that the SDK stopped the worker on an error it cannot recover from.
func (s *Status) Fatal(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polling, s.fatal = false, err
}

// Polling returns nil while the worker polls its task queue, else why not.
func (s *Status) Polling() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.fatal != nil:
		return fmt.Errorf("worker stopped: %w", s.fatal)
	case s.stopped:
		return errors.New("worker is stopping")
	case !s.polling:
		return errors.New("worker not started")
	}
	return nil
}

// Alive returns an error only when the worker cannot recover by itself (a fatal error).
func (s *Status) Alive() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fatal != nil {
		return fmt.Errorf("worker stopped: %w", s.fatal)
	}
	return nil
}
