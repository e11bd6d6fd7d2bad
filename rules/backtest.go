package rules

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules/sla"
)

// BacktestWarmup is how much history before the period a back-test replays
// to build document state (POs released, ASNs sent, certificates attached
// before the period) without reporting what it raises. Master data
// (supplier.updated, item.updated) is replayed from the beginning.
const BacktestWarmup = 30 * 24 * time.Hour

// backtestFirst is how many exceptions a Report lists.
const backtestFirst = 20

// History is the stored events a back-test replays (clickhouse.History).
type History interface {
	// ReplayEvents passes to f the raw events that occurred in [from, to]
	// and the master data (supplier.updated, item.updated) that occurred
	// before from, in occurred_at then id order; an error of f stops it.
	ReplayEvents(ctx context.Context, from, to time.Time, f func(raw []byte) error) error
}

// Report is what one rule would have raised over a period of history.
type Report struct {
	Rule  string
	Title string
	Kind  string // validation | sla
	// From and To bound the period: exceptions first raised in it count.
	From, To time.Time
	// Events is the number of events of the period replayed, Warmup the
	// number replayed before it to build state, Skipped the rows that did
	// not decode or that a rule could not be evaluated on.
	Events, Warmup, Skipped int
	// Raised is the number of distinct exceptions (rule and subject) first
	// raised in the period; Occurrences counts their raises. Open and
	// Resolved are their states at To.
	Raised, Occurrences, Open, Resolved int
	// BySupplier and ByPlant count Raised, most first.
	BySupplier, ByPlant []Count
	// First are the earliest exceptions raised, at most 20.
	First []BacktestHit
}

// Count is a number of exceptions for one supplier or plant.
type Count struct {
	Key        string
	Exceptions int
}

// BacktestHit is one exception a back-test raised.
type BacktestHit struct {
	At       time.Time // first raised (event time, or the timer's due time)
	Tenant   string
	Subject  string
	Supplier string
	Plant    string
	State    string // at the end of the period
	Message  string
}

// Backtest replays the events of the period [now-since, now] of history
// (ClickHouse: every tenant's stored events) through the rule or SLA
// ruleID of rs and reports what it would have raised. State is built in memory
// (MemStore) from empty: master data of all time and the BacktestWarmup
// before the period are replayed first and what they raise is not
// reported. Timers fire on event time as the replay passes their due
// times, and at now. Nothing is written anywhere.
func Backtest(ctx context.Context, history History, rs *RuleSet, ruleID string, since time.Duration, now time.Time) (Report, error) {
	if since <= 0 {
		return Report{}, procure.Errorf(procure.EINVALID, "backtest: the period must be positive, not %s", since)
	}
	one, rep, err := rs.only(ruleID)
	if err != nil {
		return Report{}, err
	}
	rep.To = now.UTC()
	rep.From = rep.To.Add(-since)
	warmFrom := rep.From.Add(-BacktestWarmup)

	store := NewMemStore()
	log := slog.New(slog.DiscardHandler)
	clock := warmFrom
	sched := sla.New(sla.Config{}, store, log, func() time.Time { return clock })
	en := NewEngine(store, NewEvaluator(one), sched, log, func() time.Time { return clock })

	const batchSize = 500
	var batch []*procure.Event
	// next is the earliest firing time of a running timer: a batch ends
	// before an event past it, so timers fire between the events they
	// fall between, as they would have live.
	var next time.Time
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		for {
			_, err := en.Process(ctx, batch)
			var ee *procure.EventError
			if err == nil {
				break
			}
			if !errors.As(err, &ee) {
				return err
			}
			// The rule cannot be evaluated on this event (live, it would
			// be dead-lettered): replay the rest without it.
			batch = without(batch, ee.Event)
			rep.Skipped++
		}
		batch = batch[:0]
		next, err = store.NextFireAt(ctx)
		return err
	}
	fire := func(at time.Time) error {
		clock = at
		if _, err := sched.FireDue(ctx, at); err != nil {
			return err
		}
		next, err = store.NextFireAt(ctx)
		return err
	}
	err = history.ReplayEvents(ctx, warmFrom, rep.To, func(raw []byte) error {
		e, err := procure.Decode(raw)
		if err != nil {
			rep.Skipped++
			return nil
		}
		if e.OccurredAt.Before(rep.From) {
			rep.Warmup++
		} else {
			rep.Events++
		}
		if !next.IsZero() && e.OccurredAt.After(next) {
			if err := flush(); err != nil {
				return err
			}
			if err := fire(e.OccurredAt); err != nil {
				return err
			}
		}
		clock = e.OccurredAt
		batch = append(batch, e)
		if len(batch) >= batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return Report{}, fmt.Errorf("backtest %s: %w", ruleID, err)
	}
	if err := flush(); err != nil {
		return Report{}, fmt.Errorf("backtest %s: %w", ruleID, err)
	}
	if err := fire(rep.To); err != nil {
		return Report{}, fmt.Errorf("backtest %s: %w", ruleID, err)
	}
	rep.add(store.Exceptions())
	return rep, nil
}

// only returns a rule set with the one rule or SLA id of rs (and its
// calendars), and a Report naming it.
func (rs *RuleSet) only(id string) (*RuleSet, Report, error) {
	one := &RuleSet{Calendars: rs.Calendars, Files: rs.Files, LoadedAt: rs.LoadedAt}
	var rep Report
	for _, r := range rs.Rules {
		if r.ID == id {
			one.Rules = []*Rule{r}
			rep = Report{Rule: id, Title: r.Title, Kind: procure.KindValidation}
		}
	}
	for _, s := range rs.SLAs {
		if s.ID == id {
			one.SLAs = []*SLA{s}
			rep = Report{Rule: id, Title: s.Title, Kind: procure.KindSLA}
		}
	}
	if rep.Rule == "" {
		return nil, rep, procure.Errorf(procure.ENOTFOUND, "rule %q is not in the rule set", id)
	}
	return one, rep, nil
}

// add counts the exceptions first raised in the period.
func (rep *Report) add(xs []procure.Exception) {
	bySupplier, byPlant := map[string]int{}, map[string]int{}
	for _, x := range xs {
		if x.FirstSeen.Before(rep.From) || x.FirstSeen.After(rep.To) {
			continue
		}
		rep.Raised++
		rep.Occurrences += x.Occurrences
		if x.Active() {
			rep.Open++
		} else {
			rep.Resolved++
		}
		bySupplier[x.Supplier]++
		byPlant[x.Plant]++
		rep.First = append(rep.First, BacktestHit{At: x.FirstSeen, Tenant: x.Tenant, Subject: x.Subject, Supplier: x.Supplier,
			Plant: x.Plant, State: x.State, Message: x.Message})
	}
	slices.SortFunc(rep.First, func(a, b BacktestHit) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.Subject, b.Subject))
	})
	rep.First = rep.First[:min(len(rep.First), backtestFirst)]
	rep.BySupplier, rep.ByPlant = counts(bySupplier), counts(byPlant)
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{Key: k, Exceptions: n})
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Or(b.Exceptions-a.Exceptions, strings.Compare(a.Key, b.Key)) })
	return out
}

// Print writes the report for a person: totals, the counts per supplier
// and plant (the ten largest each), and the first exceptions.
func (rep *Report) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	const day = "2006-01-02 15:04 MST"
	p("rule %s (%s): %s\n", rep.Rule, rep.Kind, rep.Title)
	p("period %s to %s: %d events replayed (%d before it for state, %d undecodable or unevaluable skipped)\n",
		rep.From.Format(day), rep.To.Format(day), rep.Events, rep.Warmup, rep.Skipped)
	p("would have raised %d exceptions (%d occurrences): %d still open, %d resolved\n", rep.Raised, rep.Occurrences, rep.Open, rep.Resolved)
	if rep.Raised == 0 {
		return tw.Flush()
	}
	table := func(title string, cs []Count) {
		p("\n%s\texceptions\n", title)
		for i, c := range cs {
			if i == 10 {
				p("(%d more)\t\n", len(cs)-10)
				break
			}
			key := c.Key
			if key == "" {
				key = "(none)"
			}
			p("%s\t%d\n", key, c.Exceptions)
		}
	}
	table("supplier", rep.BySupplier)
	table("plant", rep.ByPlant)
	p("\nfirst raised\tsubject\tsupplier\tplant\tstate\tmessage\n")
	for _, h := range rep.First {
		p("%s\t%s\t%s\t%s\t%s\t%s\n", h.At.UTC().Format(day), h.Subject, h.Supplier, h.Plant, h.State, h.Message)
	}
	if rep.Raised > len(rep.First) {
		p("(%d more)\n", rep.Raised-len(rep.First))
	}
	return tw.Flush()
}
