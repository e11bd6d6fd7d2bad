package slack

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/supplywatch/supplywatch/alerts"
)

// The action ids of the buttons; the value is the alert group id.
const (
	ActionAcknowledge = alerts.ActionAcknowledge
	ActionAssignToMe  = alerts.ActionAssignToMe
	ActionSnooze      = alerts.ActionSnooze
	ActionRetry       = alerts.ActionRetry
)

var severityEmoji = map[string]string{"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:", "low": ":white_circle:"}

// maxListed bounds the exceptions listed in one message (Slack allows 50
// blocks); the rest are linked.
const maxListed = 10

// Render returns the fallback text and Block Kit blocks of a group: what
// (rule and title), where (plant, supplier), impact (exceptions, value at
// risk), due time, links into the console, and the buttons.
func Render(g *alerts.GroupView) (string, []slack.Block) {
	active, value, currency := 0, 0.0, ""
	var due time.Time
	severity := "low"
	rank := map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3}
	for _, m := range g.Members {
		if !m.Active() {
			continue
		}
		active++
		value += m.ValueAtRisk
		if m.Currency != "" {
			currency = m.Currency
		}
		if !m.Due.IsZero() && (due.IsZero() || m.Due.Before(due)) {
			due = m.Due
		}
		if rank[m.Severity] < rank[severity] {
			severity = m.Severity
		}
	}
	title := g.Labels["rule"]
	if len(g.Members) > 0 {
		title = g.Members[0].Title
	}
	status := fmt.Sprintf("%s %s", severityEmoji[severity], strings.ToUpper(severity))
	if g.State == "resolved" {
		status = ":white_check_mark: RESOLVED"
	}
	text := fmt.Sprintf("%s: %s (%d open) supplier %s plant %s", status, title, active, g.Labels["supplier"], g.Labels["plant"])
	fields := []*slack.TextBlockObject{
		md("*Rule*\n" + g.Labels["rule"]),
		md("*Where*\nplant " + or(g.Labels["plant"], "–") + ", supplier " + or(g.Labels["supplier"], "–")),
		md(fmt.Sprintf("*Impact*\n%d open of %d, value at risk %.0f %s", active, len(g.Members), value, currency)),
		md("*Due*\n" + dueText(due)),
	}
	if g.Labels["team"] != "" {
		fields = append(fields, md("*Team*\n"+g.Labels["team"]))
	}
	if g.EscalationLevel > 0 {
		fields = append(fields, md(fmt.Sprintf("*Escalation*\nlevel %d", g.EscalationLevel)))
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, trim(status+" "+title, 150), true, false)),
		slack.NewSectionBlock(nil, fields, nil),
	}
	var lines []string
	for i, m := range g.Members {
		if i == maxListed {
			lines = append(lines, fmt.Sprintf("… and %d more", len(g.Members)-maxListed))
			break
		}
		who := ""
		if m.Assignee != "" {
			who = " · " + m.Assignee
		}
		link := m.Title
		if m.ExceptionID != 0 {
			link = fmt.Sprintf("<%s|%s>", g.ExceptionURL(m.ExceptionID), m.Subject)
		}
		lines = append(lines, fmt.Sprintf("%s *%s* %s — %s%s", severityEmoji[m.Severity], m.State, link, trim(m.Message, 200), who))
	}
	blocks = append(blocks, slack.NewSectionBlock(md(trim(strings.Join(lines, "\n"), 2900)), nil, nil))
	ctx := fmt.Sprintf("<%s|Open in supplywatch>", g.ConsoleURL)
	if !g.SnoozedUntil.IsZero() && g.SnoozedUntil.After(time.Now()) {
		ctx += " · snoozed until " + g.SnoozedUntil.UTC().Format("2006-01-02 15:04 MST")
	}
	blocks = append(blocks, slack.NewContextBlock("", md(ctx)))
	if g.State != "resolved" {
		id := strconv.FormatInt(g.ID, 10)
		btn := func(action, label string, style slack.Style) *slack.ButtonBlockElement {
			b := slack.NewButtonBlockElement(action, id, slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
			if style != "" {
				b.WithStyle(style)
			}
			return b
		}
		blocks = append(blocks, slack.NewActionBlock("group_"+id,
			btn(ActionAcknowledge, "Acknowledge", slack.StylePrimary), btn(ActionAssignToMe, "Assign to me", ""),
			btn(ActionSnooze, "Snooze 4h", ""), btn(ActionRetry, "Retry", slack.StyleDanger)))
	}
	return text, blocks
}

func md(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func dueText(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return fmt.Sprintf("<!date^%d^{date_short} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 MST"))
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
