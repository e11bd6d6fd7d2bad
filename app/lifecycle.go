package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Runner is the one lifecycle shape of every long-running part of a
// process (consumer, writer, scheduler, dispatcher, HTTP server): Run works
// until ctx ends, then finishes or hands back what it holds and returns.
// An error other than ctx's ends the whole process.
type Runner interface {
	Run(ctx context.Context) error
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context) error

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context) error { return f(ctx) }

// part is a named Runner in the process's list.
type part struct {
	name string
	r    Runner
}

// runParts runs every part until ctx ends or one fails, then gives them
// stopTimeout together to return. A part still running after it is named
// in the error (the process exits anyway: what it held is redelivered).
func runParts(ctx context.Context, parts []part, stopTimeout time.Duration) error {
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	running := map[string]bool{}
	for _, p := range parts {
		mu.Lock()
		running[p.name] = true
		mu.Unlock()
		g.Go(func() error {
			defer func() {
				mu.Lock()
				delete(running, p.name)
				mu.Unlock()
			}()
			if err := p.r.Run(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			return nil
		})
	}
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	select {
	case err := <-done:
		return err
	case <-gctx.Done():
	}
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		mu.Lock()
		var names []string
		for n := range running {
			names = append(names, n)
		}
		mu.Unlock()
		slices.Sort(names)
		return fmt.Errorf("stop: %v still running %s after the stop began", names, stopTimeout)
	}
}
