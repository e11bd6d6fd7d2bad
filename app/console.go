package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/supplywatch/supplywatch/collector"
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
		// The policies of this configuration (in force where the rules run).
		RetryPolicies: a.cfg.Retry.Summary(),
		Metrics:       a.registry,
		IngestSources: ingestSources(a.cfg.Ingest.Tokens),
		RetryTargets:  a.cfg.Retry.AllowedTargets(),
	}
	if a.ruleSet != nil && a.ruleSet.Calendars != nil {
		deps.PlantZones = map[string]string{}
		for plant, cal := range a.ruleSet.Calendars.ByPlant {
			if cal.Location != nil {
				deps.PlantZones[plant] = cal.Location.String()
			}
		}
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

// ingestSources answers which sources a tenant's ingest tokens may send
// (a token without a list may send any; a tenant without tokens sends over
// Kafka only, which is trusted), for the redrive and retry checks.
func ingestSources(tokens []collector.Token) func(tenant string) ([]string, bool) {
	return func(tenant string) ([]string, bool) {
		var out []string
		if !slices.ContainsFunc(tokens, func(t collector.Token) bool { return t.Tenant == tenant }) {
			return nil, true
		}
		for _, t := range tokens {
			if t.Tenant != tenant {
				continue
			}
			if len(t.Sources) == 0 {
				return nil, true
			}
			out = append(out, t.Sources...)
		}
		return out, false
	}
}

// DemoSignIns creates (or finds) one demo user per role and returns their
// sign-ins, for `make run` to print.
func (a *App) DemoSignIns(ctx context.Context, tenant string) ([]console.SignIn, error) {
	if a.pg == nil {
		return nil, nil
	}
	// The demo passwords derive from the identity of this Postgres
	// database: stable while the users it holds exist, different on every
	// installation, and new when the database is recreated.
	var sysID, dbOID uint64
	if err := a.pg.Pool.QueryRow(ctx, `SELECT (SELECT system_identifier FROM pg_control_system())::bigint,
		(SELECT oid FROM pg_database WHERE datname = current_database())::bigint`).Scan(&sysID, &dbOID); err != nil {
		return nil, fmt.Errorf("demo users: %w", err)
	}
	seed := fmt.Sprintf("supplywatch-demo/%d/%d", sysID, dbOID)
	return console.EnsureDemoUsers(ctx, postgres.NewConsoleStore(a.pg), tenant, []string{"P01"}, seed)
}

func (a *App) runConsole(ctx context.Context, g *errgroup.Group) {
	g.Go(func() error { return a.console.Run(ctx) })
}
