package app

import (
	"context"
	"fmt"
	"time"

	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/retry"
	"github.com/supplywatch/supplywatch/rules"
	"github.com/supplywatch/supplywatch/rules/sla"
)

// startPostgres opens (creating if needed) and migrates the workflow store.
func (a *App) startPostgres(ctx context.Context) error {
	if err := postgres.EnsureDatabase(ctx, a.cfg.Postgres); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, a.cfg.Postgres)
	if err != nil {
		return err
	}
	a.pg = db
	if err := db.Migrate(ctx, a.log.With("component", "postgres")); err != nil {
		return fmt.Errorf("postgres migrate: %w", err)
	}
	a.exceptions = postgres.NewExceptionStore(db, nil)
	return nil
}

// startRules loads the rule files; a bad rule pack refuses the start.
func (a *App) startRules() error {
	rs, err := rules.LoadDir(a.cfg.Rules.Dir, time.Now())
	if err != nil {
		return fmt.Errorf("rules %s: %w", a.cfg.Rules.Dir, err)
	}
	a.ruleSet = rs
	a.evaluator = rules.NewEvaluator(rs)
	if err := a.setPartnerAckSLAs(); err != nil {
		return err
	}
	a.reloader = rules.NewReloader(a.cfg.Rules.Dir, a.evaluator, a.log.With("component", "rules"), nil)
	// A reload may not drop a segment an alert route refers to.
	a.reloader.RequireSegments("alerts.route", a.cfg.Alerts.Segments()...)
	return nil
}

// addRules adds the rules processor (its own consumer group on the events
// topic), the SLA scheduler, the automatic retry worker and the rule file
// watcher.
func (a *App) addRules() error {
	state := postgres.NewStateStore(a.pg)
	sched := sla.New(a.cfg.SLA, state, a.log.With("component", "sla"), nil)
	sched.UseMetrics(sla.NewMetrics(a.registry))
	engine := rules.NewEngine(state, a.evaluator, sched, a.log.With("component", "rules"), nil)
	// The retry worker sees message.failed / message.delivered through the
	// rules engine (same consumer group, same transaction), so the rules
	// raise a delivery's exception only once the policy gives up.
	rw, err := a.cfg.Kafka.NewWriter("")
	if err != nil {
		return err
	}
	a.closers = append(a.closers, func() { rw.Close() })
	prefix := a.cfg.Console.RetryTopicPrefix // the manual retries' topics
	if prefix == "" {
		prefix = a.cfg.Kafka.RetryTopicPrefix
	}
	worker := retry.New(a.cfg.Retry, postgres.NewRetryStore(a.pg), kafka.NewMessageWriter(rw), a.pub,
		prefix, a.log.With("component", "retry"), nil)
	worker.UseIngestSources(ingestSources(a.cfg.Ingest.Tokens))
	worker.UseAudit(postgres.NewConsoleStore(a.pg)) // audited as the console's retries are
	engine.UseRetrier(worker)
	if !a.cfg.Retry.Disabled {
		a.add("retry worker", worker)
	}
	reader, err := a.cfg.Kafka.NewReader(a.cfg.Kafka.Topic, a.cfg.Rules.Group, a.log.With("component", "kafka"))
	if err != nil {
		return err
	}
	a.closers = append(a.closers, func() { reader.Close() })
	registerRulesLag(a.registry, reader)
	if err := a.monitorLag(a.cfg.Kafka.Topic, a.cfg.Rules.Group, a.cfg.Rules.StallAfter); err != nil {
		return err
	}
	proc := rules.NewProcessor(reader, engine, a.cfg.Rules, a.log.With("component", "rules"))
	proc.UseDeadLetter(a.writer) // the rejected table and the dead-letter topic
	proc.UseMetrics(rules.NewMetrics(a.registry))
	a.rulesProc = proc
	a.add("rules processor", proc)
	a.add("sla scheduler", sched)
	a.add("rules reloader", a.reloader)
	return nil
}
