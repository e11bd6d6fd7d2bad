package alerts

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/supplywatch/supplywatch/procure"
)

// digests enqueues each team's daily digest once its local time has come:
// the alert_digests row and the delivery are written in one transaction,
// so a digest is sent once per team and day.
func (d *Dispatcher) digests(ctx context.Context, tx pgx.Tx, now time.Time) (int, error) {
	n := 0
	for _, c := range d.cfg.Digests {
		loc, _ := time.LoadLocation(c.Location)
		at, _ := parseClock(c.At)
		lt := now.In(loc)
		if lt.Hour()*60+lt.Minute() < at {
			continue
		}
		tag, err := tx.Exec(ctx, `INSERT INTO alert_digests (team, day) VALUES ($1, $2) ON CONFLICT DO NOTHING`, c.Team, lt.Format(time.DateOnly))
		if err != nil {
			return n, err
		}
		if tag.RowsAffected() == 0 {
			continue
		}
		body, err := d.digestText(ctx, c, now)
		if err != nil {
			return n, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO alert_deliveries (channel, kind, body, next_at, created_at) VALUES ($1, 'digest', $2, $3, $3)`,
			c.Channel, body, now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// digestText summarises the team's active exceptions: counts by severity,
// the ten of highest priority, the oldest.
func (d *Dispatcher) digestText(ctx context.Context, c DigestConfig, now time.Time) (string, error) {
	xs, err := d.store.FindExceptions(ctx, procure.ExceptionFilter{Tenant: c.Tenant,
		States: []string{procure.ExceptionOpen, procure.ExceptionAcknowledged}, Limit: 5000})
	if err != nil {
		return "", fmt.Errorf("digest %s: %w", c.Team, err)
	}
	var mine []*procure.Exception
	bySev := map[string]int{}
	var value float64
	for _, x := range xs {
		if x.Team != c.Team {
			continue
		}
		mine = append(mine, x)
		bySev[x.Severity]++
		value += x.ValueAtRisk
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Daily digest for %s* (%s): %d active exception(s)", Escape(c.Team), now.In(time.UTC).Format(time.DateOnly), len(mine))
	for _, s := range procure.Severities {
		if bySev[s] > 0 {
			fmt.Fprintf(&b, ", %d %s", bySev[s], s)
		}
	}
	if value > 0 {
		fmt.Fprintf(&b, "; value at risk %.0f", value)
	}
	b.WriteString("\n")
	sort.SliceStable(mine, func(i, j int) bool { return mine[i].Priority < mine[j].Priority })
	for i, x := range mine {
		if i == 10 {
			fmt.Fprintf(&b, "… and %d more: %s/exceptions?team=%s\n", len(mine)-10, d.cfg.PublicURL, url.QueryEscape(c.Team))
			break
		}
		fmt.Fprintf(&b, "• P%d <%s/exceptions/%d|%s> %s (%s, since %s)\n", x.Priority, d.cfg.PublicURL, x.ID, Escape(x.Title), Escape(x.Subject),
			Escape(x.State), x.FirstSeen.UTC().Format("2006-01-02"))
	}
	return b.String(), nil
}
