package slack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// call is one Web API call the fake Slack received.
type call struct {
	Method   string
	Channel  string
	Text     string
	Blocks   string
	ThreadTS string
	TS       string
	Metadata string
}

type message struct {
	TS, ThreadTS, Text, Metadata string
}

// fakeSlack stands in for Slack's Web API: chat.postMessage, chat.update,
// conversations.history and conversations.replies, with 429s on demand.
type fakeSlack struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	calls    []call
	msgs     map[string][]message // channel → messages
	seq      int
	limitFor int // answer the next n posts with 429
	retryAft string
	fail5xx  int             // answer the next n posts with 503
	cutAfter int             // take the next n posts, then cut the connection unanswered
	gone     map[string]bool // channels that answer channel_not_found
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{t: t, msgs: map[string][]message{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) URL() string { return f.srv.URL + "/api/" }

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	f.mu.Lock()
	defer f.mu.Unlock()
	c := call{Method: method, Channel: r.Form.Get("channel"), Text: r.Form.Get("text"), Blocks: r.Form.Get("blocks"),
		ThreadTS: r.Form.Get("thread_ts"), TS: r.Form.Get("ts"), Metadata: r.Form.Get("metadata")}
	w.Header().Set("Content-Type", "application/json")
	switch method {
	case "chat.postMessage":
		if f.limitFor > 0 {
			f.limitFor--
			f.calls = append(f.calls, call{Method: "429"})
			w.Header().Set("Retry-After", f.retryAft)
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		if f.fail5xx > 0 {
			f.fail5xx--
			f.calls = append(f.calls, call{Method: "503"})
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if f.gone[c.Channel] {
			f.calls = append(f.calls, call{Method: "channel_not_found", Channel: c.Channel})
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		f.calls = append(f.calls, c)
		f.seq++
		ts := fmt.Sprintf("1700000000.%06d", f.seq)
		f.msgs[c.Channel] = append(f.msgs[c.Channel], message{TS: ts, ThreadTS: c.ThreadTS, Text: c.Text, Metadata: c.Metadata})
		if f.cutAfter > 0 {
			// Slack took it and went away before answering (a restart).
			f.cutAfter--
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": c.Channel, "ts": ts})
	case "chat.update":
		f.calls = append(f.calls, c)
		for i, m := range f.msgs[c.Channel] {
			if m.TS == c.TS {
				f.msgs[c.Channel][i].Text = c.Text
				json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS, "text": c.Text})
				return
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "message_not_found"})
	case "conversations.history", "conversations.replies":
		f.calls = append(f.calls, c)
		var out []map[string]any
		for _, m := range f.msgs[c.Channel] {
			top := m.ThreadTS == ""
			if method == "conversations.history" && !top || method == "conversations.replies" && m.ThreadTS != c.TS && m.TS != c.TS {
				continue
			}
			msg := map[string]any{"ts": m.TS, "text": m.Text}
			if m.Metadata != "" {
				var md map[string]any
				json.Unmarshal([]byte(m.Metadata), &md)
				msg["metadata"] = md
			}
			if top {
				n := 0
				for _, r := range f.msgs[c.Channel] {
					if r.ThreadTS == m.TS {
						n++
					}
				}
				msg["reply_count"] = n
			}
			out = append(out, msg)
		}
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "messages": out, "has_more": false})
	default:
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// Calls returns the calls of method ("" for all) so far.
func (f *fakeSlack) Calls(method string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}
