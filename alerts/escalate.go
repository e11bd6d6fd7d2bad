package alerts

import (
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Escalator is the escalate stage: a firing group whose oldest open
// (unacknowledged) member has waited longer than the next step's After, in
// business time of the group's plant calendar, goes up one level.
type Escalator struct {
	cals *procure.Calendars
}

// Due returns the step to escalate to now, or nil.
func (e *Escalator) Due(g *procure.AlertGroup, r *Route, now time.Time) *EscalationStep {
	if g.State != procure.AlertFiring || g.EscalationLevel >= len(r.Escalation) || now.Before(g.SnoozedUntil) || g.NotifiedAt.IsZero() {
		return nil
	}
	var oldest time.Time
	for _, m := range g.Members {
		if m.State == procure.ExceptionOpen && (oldest.IsZero() || m.FirstSeen.Before(oldest)) {
			oldest = m.FirstSeen
		}
	}
	if oldest.IsZero() {
		return nil
	}
	step := &r.Escalation[g.EscalationLevel]
	cal := e.cals.For(g.Labels["plant"])
	if step.Calendar == procure.Calendar24x7 {
		cal = e.cals.For(procure.Calendar24x7)
	}
	if cal.Add(oldest, step.After).After(now) {
		return nil
	}
	return step
}
