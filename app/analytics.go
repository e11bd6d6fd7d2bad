package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/supplywatch/supplywatch/alerts"
	"github.com/supplywatch/supplywatch/alerts/slack"
	"github.com/supplywatch/supplywatch/clickhouse"
	"github.com/supplywatch/supplywatch/kpi"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules"
)

// addAnalytics keeps the KPIs current (business calendars, rollups, the
// exception history mirror) and, when Slack is configured, runs the alert
// pipeline. The exception outbox has one reader: the alert dispatcher's
// feeder when alerts run (the mirror is one of its consumers), else the
// mirror itself.
func (a *App) addAnalytics(ctx context.Context) error {
	db := a.cfg.ClickHouse.Database
	log := a.log.With("component", "kpi")
	now := time.Now()
	years := a.cfg.KPI.CalendarYears
	// On a cluster the KPI tables the refresher truncates and swaps are
	// the shard-local ones (clickhouse.Cluster).
	var cluster kpi.Cluster
	if a.cfg.ClickHouse.Cluster != "" {
		c, err := clickhouse.OpenCluster(ctx, a.conn, a.cfg.ClickHouse)
		if err != nil {
			return fmt.Errorf("kpi: %w", err)
		}
		a.closers = append(a.closers, c.Close)
		cluster = c
	}
	if err := kpi.SyncCalendarsOn(ctx, a.conn, cluster, db, a.ruleSet.Calendars, now.AddDate(-years, 0, 0), now.AddDate(years, 0, 0)); err != nil {
		return fmt.Errorf("kpi calendars: %w", err)
	}
	a.kpiRefresher = kpi.NewRefresher(a.conn, db, a.cfg.KPI, log, nil).WithMetrics(kpi.NewMetrics(a.registry)).WithCluster(cluster)
	// One refresher across the rules processes: they would all rebuild the
	// same rollups (and race their partition swaps).
	a.add("kpi refresher", singleton(a.pg.Pool, kpiRefreshLock, 5*time.Second, a.kpiRefresher, log))

	var outbox kpi.OutboxClaimer = a.exceptions
	if a.cfg.Slack.Token != "" {
		d, err := a.newDispatcher()
		if err != nil {
			return err
		}
		a.alerts = d
		outbox = d.Feeder().Consumer("clickhouse")
		a.add("alert dispatcher", d)
		// Pipeline alerts watch this process's own metrics: in `run` all of
		// them, in a split deployment the rules role's (its consumer lag,
		// Slack deliveries); the collector's are Prometheus's to alert on
		// (deploy/prometheus).
		watcher := alerts.NewWatcher(alerts.DefaultWatchRules(), PipelineSampler(a.registry, alerts.SenderSampler(d.Sender())), d.Ingest)
		a.add("pipeline watcher", RunnerFunc(func(ctx context.Context) error { return watcher.Run(ctx, 30*time.Second, time.Now) }))
	} else {
		a.log.Info("slack alerts off: set slack.token (SUPPLYWATCH_SLACK_TOKEN) to send them")
	}
	a.add("kpi mirror", kpi.NewMirror(a.conn, db, outbox, a.cfg.KPI, log))
	return nil
}

// The alert pipeline keeps its state in Postgres: postgres.AlertStore has
// the method sets of the interfaces alerts declares (adapters do not import
// engines, so the check is here).
var _ alerts.Store = (*postgres.AlertStore)(nil)

// newDispatcher is the alert pipeline on Postgres. The rules role runs it;
// the console role uses it only to act on Slack button presses.
func (a *App) newDispatcher() (*alerts.Dispatcher, error) {
	cfg := a.cfg.Alerts
	cfg.PublicURL = a.cfg.HTTP.PublicURL
	cfg.Consumers = append(slices.Clone(cfg.Consumers), "clickhouse")
	var actor alerts.ExceptionActor
	if a.console != nil {
		// Slack's Retry button re-sends through the console's retry path
		// (same scope, allow-list, duplicate-risk check, record, audit).
		c := a.console
		actor = alerts.NewStoreActor(a.exceptions, func(ctx context.Context, u alerts.User, x *procure.Exception) error {
			_, err := c.RetryAs(ctx, u.Tenant, u.Login, x.ID, "slack")
			return err
		})
	}
	d, err := alerts.New(cfg, alerts.Deps{
		Store: postgres.NewAlertStore(a.pg), Exceptions: a.exceptions, Poster: slack.NewPoster(a.cfg.Slack), Actor: actor,
		Calendars: a.ruleSet.Calendars, Log: a.log.With("component", "alerts"), Metrics: alerts.NewMetrics(a.registry),
		Segments: rules.NewSegmentFinder(a.evaluator, postgres.NewStateStore(a.pg)),
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return d, nil
}

// registerSlackInteractions answers Slack's buttons (the console role: it
// serves HTTP); the resulting messages are sent by the rules role's
// dispatcher, which finds them in Postgres.
func (a *App) registerSlackInteractions() error {
	d := a.alerts
	if d == nil {
		var err error
		if d, err = a.newDispatcher(); err != nil {
			return err
		}
	}
	users := &SlackUsers{API: SlackClient(a.cfg.Slack.Token, a.cfg.Slack.APIURL), Users: postgres.NewConsoleStore(a.pg)}
	if len(a.cfg.Slack.Workspaces) == 0 {
		a.log.Warn("slack buttons do nothing: slack.workspaces maps no Slack workspace to a tenant")
	}
	slack.NewInteractions(a.cfg.Slack.SigningSecret, a.cfg.Slack.Workspaces, users, d, a.log.With("component", "slack"), nil).Register(a.router)
	return nil
}
