package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/kpi"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/retry"
	"github.com/supplywatch/supplywatch/rules"
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
	store := postgres.NewConsoleStore(a.pg)
	if a.evaluator != nil {
		// Routing rules with a segment match by the supplier's segments.
		store.Segments = rules.NewSegmentFinder(a.evaluator, postgres.NewStateStore(a.pg)).SegmentsOf
	}
	deps := console.Deps{
		Store:     store,
		Facts:     clickhouse.NewFacts(a.conn, a.cfg.ClickHouse.Database),
		Publisher: kafka.NewMessageWriter(w),
		Log:       a.log.With("component", "console"),
		// The policies of this configuration (in force where the rules run).
		RetryPolicies: a.cfg.Retry.Summary(),
		Metrics:       a.registry,
		IngestSources: ingestSources(a.cfg.Ingest.Tokens),
		IngestToken:   ingestToken(a.cfg.Ingest.Tokens),
		Drill:         kpiDrill(kpi.NewQuerier(a.conn, a.cfg.ClickHouse.Database, a.cfg.KPI, nil)),
	}
	cc := a.cfg.Console
	cc.Defaults()
	// The console's retries and Slack's Retry button (RetryAs) re-send
	// through the one retry service.
	deps.Retries = &retry.Service{Exceptions: store, Facts: deps.Facts, Retries: store, Audit: store, Publisher: deps.Publisher,
		TopicPrefix: cc.RetryTopicPrefix, Targets: a.cfg.Retry.AllowedTargets(), Log: deps.Log}
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
		deps.RuleBook = a.evaluator
	}
	c, err := console.New(a.cfg.Console, deps)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	a.console = c
	a.add("console", c)
	return nil
}

// ingestSources answers which sources a tenant's ingest tokens may send
// (a token without a list may send any; a tenant without tokens sends over
// Kafka only, which is trusted), for the redrive and retry checks.
// ingestToken finds an ingest token of the configuration by name.
func ingestToken(tokens []collector.Token) func(name string) (string, []string, bool) {
	return func(name string) (string, []string, bool) {
		for _, t := range tokens {
			if t.Name == name {
				return t.Tenant, t.Sources, true
			}
		}
		return "", nil, false
	}
}

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

// kpiDrill resolves the documents behind a KPI figure for the console's
// queue drill-down.
func kpiDrill(q *kpi.Querier) console.DrillFunc {
	return func(ctx context.Context, tenant string, d console.Drill) (*console.DrillSet, error) {
		s, err := q.DrillSet(ctx, kpi.Query{Tenant: tenant, From: d.From, To: d.To, Plant: d.Plant, Supplier: d.Supplier}, d.KPI, d.Missed, d.MaxDocuments)
		if err != nil {
			return nil, err
		}
		return &console.DrillSet{Documents: s.Documents, ExceptionIDs: s.ExceptionIDs, Entities: s.Entities}, nil
	}
}
