package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRunPartsStopsEveryPartWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan string, 2)
	parts := []part{
		{"a", RunnerFunc(func(ctx context.Context) error { <-ctx.Done(); stopped <- "a"; return nil })},
		{"b", RunnerFunc(func(ctx context.Context) error { <-ctx.Done(); stopped <- "b"; return ctx.Err() })},
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := runParts(ctx, parts, time.Second); err != nil {
		t.Fatalf("runParts = %v, want nil (context.Canceled is a normal stop)", err)
	}
	if len(stopped) != 2 {
		t.Errorf("%d parts stopped, want 2", len(stopped))
	}
}

func TestRunPartsStopsTheOthersWhenOneFails(t *testing.T) {
	boom := errors.New("boom")
	parts := []part{
		{"failing", RunnerFunc(func(ctx context.Context) error { return boom })},
		{"waiting", RunnerFunc(func(ctx context.Context) error { <-ctx.Done(); return nil })},
	}
	err := runParts(context.Background(), parts, time.Second)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "failing") {
		t.Fatalf("runParts = %v, want boom named after its part", err)
	}
}

func TestRunPartsNamesAPartThatDoesNotStopInTime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	parts := []part{
		{"stuck", RunnerFunc(func(ctx context.Context) error { <-release; return nil })},
		{"polite", RunnerFunc(func(ctx context.Context) error { <-ctx.Done(); return nil })},
	}
	cancel()
	start := time.Now()
	err := runParts(ctx, parts, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "[stuck]") {
		t.Fatalf("runParts = %v, want an error naming only the stuck part", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("runParts returned after %s, want about the stop timeout", d)
	}
}
