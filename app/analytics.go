package app

import (
	"context"
	"fmt"
	"time"

	"github.com/supplywatch/supplywatch/alerts"
	"github.com/supplywatch/supplywatch/alerts/slack"
	"github.com/supplywatch/supplywatch/kpi"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/procure"
	"golang.org/x/sync/errgroup"
)

// runAnalytics keeps the KPIs current (business calendars, rollups, the
// exception history mirror) and, when Slack is configured, runs the alert
// pipeline. The exception outbox has one reader: the alert dispatcher's
// feeder when alerts run (the mirror is one of its consumers), else the
// mirror itself.
func (a *App) runAnalytics(ctx context.Context, g *errgroup.Group) error {
	db := a.cfg.ClickHouse.Database
	log := a.log.With("component", "kpi")
	now := time.Now()
	years := a.cfg.KPI.CalendarYears
	if err := kpi.SyncCalendars(ctx, a.conn, db, a.ruleSet.Calendars, now.AddDate(-years, 0, 0), now.AddDate(years, 0, 0)); err != nil {
		return fmt.Errorf("kpi calendars: %w", err)
	}
	a.kpiRefresher = kpi.NewRefresher(a.conn, db, a.cfg.KPI, log, nil).WithMetrics(kpi.NewMetrics(a.registry))
	g.Go(func() error { return a.kpiRefresher.Run(ctx) })

	var outbox kpi.OutboxClaimer = a.exceptions
	if a.cfg.Slack.Token != "" {
		a.cfg.Alerts.PublicURL = a.cfg.HTTP.PublicURL
		a.cfg.Alerts.Consumers = append(a.cfg.Alerts.Consumers, "clickhouse")
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
		d, err := alerts.New(a.cfg.Alerts, alerts.Deps{
			Pool: a.pg.Pool, Exceptions: a.exceptions, Poster: slack.NewPoster(a.cfg.Slack), Actor: actor,
			Calendars: a.ruleSet.Calendars, Log: a.log.With("component", "alerts"), Metrics: alerts.NewMetrics(a.registry),
		})
		if err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		a.alerts = d
		outbox = d.Feeder().Consumer("clickhouse")
		g.Go(func() error { return d.Run(ctx) })
		watcher := alerts.NewWatcher(alerts.DefaultWatchRules(), PipelineSampler(a.registry, alerts.SenderSampler(d.Sender())), d.Ingest)
		g.Go(func() error { return watcher.Run(ctx, 30*time.Second, time.Now) })
		if a.router != nil && a.cfg.Slack.SigningSecret != "" {
			users := &SlackUsers{API: SlackClient(a.cfg.Slack.Token, a.cfg.Slack.APIURL), Users: postgres.NewConsoleStore(a.pg)}
			if len(a.cfg.Slack.Workspaces) == 0 {
				a.log.Warn("slack buttons do nothing: slack.workspaces maps no Slack workspace to a tenant")
			}
			slack.NewInteractions(a.cfg.Slack.SigningSecret, a.cfg.Slack.Workspaces, users, d, a.log.With("component", "slack"), nil).Register(a.router)
		}
	} else {
		a.log.Info("slack alerts off: set slack.token (SUPPLYWATCH_SLACK_TOKEN) to send them")
	}
	g.Go(func() error { return kpi.NewMirror(a.conn, db, outbox, a.cfg.KPI, log).Run(ctx) })
	return nil
}
