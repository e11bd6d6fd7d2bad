package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/postgres"
	"golang.org/x/sync/errgroup"
)

// startConsole builds the console (API and web UI) on the stores.
func (a *App) startConsole() error {
	w, err := a.cfg.Kafka.NewWriter("")
	if err != nil {
		return err
	}
	a.consoleWriter = w
	a.cfg.Console.PublicURL = a.cfg.HTTP.PublicURL
	if a.cfg.Console.RedriveTopic == "" {
		a.cfg.Console.RedriveTopic = a.cfg.Kafka.Topic
	}
	if a.cfg.Console.RetryTopicPrefix == "" {
		a.cfg.Console.RetryTopicPrefix = a.cfg.Kafka.RetryTopicPrefix
	}
	deps := console.Deps{
		Store:     postgres.NewConsoleStore(a.pg),
		Facts:     console.NewClickHouseFacts(a.conn, a.cfg.ClickHouse.Database),
		Publisher: console.NewKafkaPublisher(w),
		Log:       a.log.With("component", "console"),
	}
	if a.reloader != nil {
		deps.Rules = a.reloader
		deps.RuleBook = console.RulesOf(a.evaluator)
	}
	c, err := console.New(a.cfg.Console, deps)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	a.console = c
	return nil
}

// DemoSignIns creates (or finds) one demo user per role and returns their
// sign-ins, for `make run` to print.
func (a *App) DemoSignIns(ctx context.Context, tenant string) ([]console.SignIn, error) {
	if a.pg == nil {
		return nil, nil
	}
	seed, err := demoSeed(a.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return console.EnsureDemoUsers(ctx, postgres.NewConsoleStore(a.pg), tenant, []string{"P01"}, seed)
}

// demoSeed is a random secret kept in the data directory, so that demo
// passwords are stable across restarts of one installation and differ
// between installations.
func demoSeed(dir string) (string, error) {
	path := filepath.Join(dir, "demo-seed")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return string(b), nil
	}
	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	seed := hex.EncodeToString(buf)
	return seed, os.WriteFile(path, []byte(seed), 0o600)
}

func (a *App) runConsole(ctx context.Context, g *errgroup.Group) {
	g.Go(func() error { return a.console.Run(ctx) })
}
