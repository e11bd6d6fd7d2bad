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
	// Every text from data is escaped (esc) before it meets mrkdwn; the
	// header is plain_text, which Slack shows as it is.
	text := fmt.Sprintf("%s: %s (%d open) supplier %s plant %s", status, esc(title), active, esc(g.Labels["supplier"]), esc(g.Labels["plant"]))
	fields := []*slack.TextBlockObject{
		md("*Rule*\n" + esc(g.Labels["rule"])),
		md("*Where*\nplant " + or(esc(g.Labels["plant"]), "–") + ", supplier " + or(esc(g.Labels["supplier"]), "–")),
		md(fmt.Sprintf("*Impact*\n%d open of %d, value at risk %.0f %s", active, len(g.Members), value, esc(currency))),
		md("*Due*\n" + dueText(due)),
	}
	if g.Labels["team"] != "" {
		fields = append(fields, md("*Team*\n"+esc(g.Labels["team"])))
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
			who = " · " + esc(m.Assignee)
		}
		link := esc(m.Title)
		if m.ExceptionID != 0 {
			link = fmt.Sprintf("<%s|%s>", g.ExceptionURL(m.ExceptionID), esc(or(m.Subject, m.Title)))
		}
		lines = append(lines, fmt.Sprintf("%s *%s* %s — %s%s", severityEmoji[m.Severity], esc(m.State), link, esc(trim(m.Message, 200)), who))
	}
	blocks = append(blocks, slack.NewSectionBlock(md(joinLines(lines, 2900)), nil, nil))
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

func esc(s string) string { return alerts.Escape(s) }

// joinLines joins whole lines up to n bytes: cutting inside one could
// break a link or an escape.
func joinLines(lines []string, n int) string {
	var b strings.Builder
	for i, l := range lines {
		if b.Len()+len(l)+1 > n {
			fmt.Fprintf(&b, "… and %d more lines", len(lines)-i)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return b.String()
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
