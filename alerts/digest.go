package alerts

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// DigestRecorder records the digests sent (postgres.AlertStore): AddDigest
// records team's digest of day and queues the delivery build returns, in
// one transaction, unless it was recorded already (then build is not
// called and it returns false).
type DigestRecorder interface {
	AddDigest(ctx context.Context, team, day string, build func() (procure.AlertDelivery, error)) (bool, error)
}

// digests queues each team's daily digest once its local time has come,
// once per team and day (the store's record; d.digested remembers the
// days known recorded, so that later ticks of the day do not ask again).
func (d *Dispatcher) digests(ctx context.Context, now time.Time) (int, error) {
	d.digestMu.Lock()
	defer d.digestMu.Unlock()
	n := 0
	for _, c := range d.cfg.Digests {
		loc, _ := time.LoadLocation(c.Location)
		at, _ := parseClock(c.At)
		lt := now.In(loc)
		day := lt.Format(time.DateOnly)
		if lt.Hour()*60+lt.Minute() < at || d.digested[c.Team] == day {
			continue
		}
		added, err := d.digestStore.AddDigest(ctx, c.Team, day, func() (procure.AlertDelivery, error) {
			xs, err := d.store.FindExceptions(ctx, procure.ExceptionFilter{Tenant: c.Tenant,
				States: []string{procure.ExceptionOpen, procure.ExceptionAcknowledged}, Limit: 5000})
			if err != nil {
				return procure.AlertDelivery{}, fmt.Errorf("digest %s: %w", c.Team, err)
			}
			return procure.AlertDelivery{Channel: c.Channel, Kind: procure.DeliveryDigest, Body: digestText(c, xs, now, d.cfg.PublicURL),
				CreatedAt: now}, nil
		})
		if err != nil {
			return n, err
		}
		d.digested[c.Team] = day
		if added {
			n++
		}
	}
	return n, nil
}

// digestText summarises the team's active exceptions among xs: counts by
// severity, value at risk, the ten of highest priority.
func digestText(c DigestConfig, xs []*procure.Exception, now time.Time, publicURL string) string {
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
			fmt.Fprintf(&b, "… and %d more: %s/exceptions?team=%s\n", len(mine)-10, publicURL, url.QueryEscape(c.Team))
			break
		}
		fmt.Fprintf(&b, "• P%d <%s/exceptions/%d|%s> %s (%s, since %s)\n", x.Priority, publicURL, x.ID, Escape(x.Title), Escape(x.Subject),
			Escape(x.State), x.FirstSeen.UTC().Format("2006-01-02"))
	}
	return b.String()
}
