package alerts

import "strings"

// slackEscaper escapes the three characters Slack's mrkdwn gives meaning
// to: with them, text from a document (a PO number, a title) could mention
// <!channel>, link <https://…|anywhere> or hide a link label.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes s safe to interpolate into Slack mrkdwn text and link
// labels: every piece of text that comes from data (exception titles,
// messages, subjects, labels, user names) goes through it; only the
// configured mentions and our own links are written raw.
func Escape(s string) string { return slackEscaper.Replace(s) }
