package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/procure"
	"github.com/supplywatch/supplywatch/rules/sla"
	"go.yaml.in/yaml/v3"
)

// A fixture file (*_test.yaml beside the rule files) runs events through
// the rules as promtool runs alerting-rule tests:
//
//	tests:
//	  - name: late acknowledgement raises and resolves
//	    events:
//	      - {at: 2026-05-11T08:00:00Z, type: po.released, supplier: S1, plant: P1,
//	         document: {id: "4500000001", version: 1}, data: {...}}
//	    until: 2026-05-20T00:00:00Z     # fire timers up to here (default: last event)
//	    expect:
//	      - {rule: po-not-acknowledged, subject: po/4500000001, state: resolved}
//
// Events get defaults: id (test and position), tenant acme, source by type,
// document kind by type. Timers due before an event fire before it. Every
// test ends with the events delivered again, which must change nothing.
type fixtureFile struct {
	Tests []fixtureTest `yaml:"tests"`
}

type fixtureTest struct {
	Name   string            `yaml:"name"`
	Events []yaml.Node       `yaml:"events"`
	Until  string            `yaml:"until"`
	Expect []ExpectException `yaml:"expect"`
}

// ExpectException is an expected exception of a fixture test.
type ExpectException struct {
	Rule        string `yaml:"rule"`
	Subject     string `yaml:"subject"`
	State       string `yaml:"state"`
	Occurrences int    `yaml:"occurrences"` // 0: any
}

func (e ExpectException) String() string {
	s := fmt.Sprintf("%s %s [%s]", e.Rule, e.Subject, e.State)
	if e.Occurrences > 0 {
		s += fmt.Sprintf(" x%d", e.Occurrences)
	}
	return s
}

var defaultSources = map[string]procure.Source{
	"po.released": procure.SourceERP, "po.changed": procure.SourceERP, "po.cancelled": procure.SourceERP,
	"po.acknowledged": procure.SourcePortal, "po.change_requested": procure.SourcePortal, "po.change_decided": procure.SourceERP,
	"asn.submitted": procure.SourcePortal, "asn.cancelled": procure.SourcePortal, "goods.received": procure.SourceWMS,
	"quality.document_attached": procure.SourceQMS, "quality.hold_placed": procure.SourceQMS, "quality.hold_released": procure.SourceQMS,
	"invoice.status_changed": procure.SourceAP, "supplier.updated": procure.SourceERP, "item.updated": procure.SourceERP,
	"message.failed": procure.SourceMiddleware, "message.delivered": procure.SourceMiddleware,
}

// RunFixtures loads the rules of dir and runs every fixture file in it. It
// returns a readable report and whether every test passed.
func RunFixtures(dir string) (string, bool) {
	var rep strings.Builder
	rs, err := LoadDir(dir, time.Now())
	if err != nil {
		fmt.Fprintf(&rep, "FAIL rules refused:\n%s\n", indent(err.Error()))
		return rep.String(), false
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintf(&rep, "FAIL %v\n", err)
		return rep.String(), false
	}
	ok, n := true, 0
	for _, e := range entries {
		if e.IsDir() || !isFixture(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		fok, fn := runFixtureFile(&rep, rs, path)
		ok, n = ok && fok, n+fn
	}
	if n == 0 {
		fmt.Fprintf(&rep, "FAIL no fixture tests (*_test.yaml) in %s\n", dir)
		return rep.String(), false
	}
	if ok {
		fmt.Fprintf(&rep, "ok   %d tests\n", n)
	}
	return rep.String(), ok
}

func runFixtureFile(rep *strings.Builder, rs *RuleSet, path string) (bool, int) {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(rep, "FAIL %s: %v\n", path, err)
		return false, 1
	}
	var f fixtureFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		fmt.Fprintf(rep, "FAIL %s\n", yamlError(path, err))
		return false, 1
	}
	ok := true
	for i, t := range f.Tests {
		name := t.Name
		if name == "" {
			name = fmt.Sprintf("test %d", i+1)
		}
		diff, err := runFixtureTest(rs, &t, fmt.Sprintf("%s#%d", filepath.Base(path), i+1))
		switch {
		case err != nil:
			ok = false
			fmt.Fprintf(rep, "FAIL %s: %s: %v\n", filepath.Base(path), name, err)
		case diff != "":
			ok = false
			fmt.Fprintf(rep, "FAIL %s: %s\n%s", filepath.Base(path), name, diff)
		default:
			fmt.Fprintf(rep, "ok   %s: %s\n", filepath.Base(path), name)
		}
	}
	return ok, len(f.Tests)
}

// fixtureEvent builds a canonical event from a fixture node, with defaults.
func fixtureEvent(n *yaml.Node, id string) (*procure.Event, error) {
	v, err := nodeValue(n)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("line %d: an event must be a mapping", n.Line)
	}
	if at, ok := m["at"]; ok {
		m["occurred_at"] = at
		delete(m, "at")
	}
	typ, _ := m["type"].(string)
	if _, ok := m["id"]; !ok {
		m["id"] = id
	}
	if _, ok := m["tenant"]; !ok {
		m["tenant"] = "acme"
	}
	if _, ok := m["source"]; !ok {
		m["source"] = string(defaultSources[typ])
	}
	doc, _ := m["document"].(map[string]any)
	if doc == nil {
		doc = map[string]any{}
		m["document"] = doc
	}
	if _, ok := doc["kind"]; !ok {
		doc["kind"] = string(procure.DocumentKindOf(procure.Type(typ)))
	}
	if _, ok := m["supplier"]; !ok && typ == string(procure.SupplierUpdated) {
		m["supplier"] = doc["id"]
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	e, err := procure.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("line %d: event: %w", n.Line, err)
	}
	return e, nil
}

// nodeValue converts YAML to JSON-ready values, keeping unquoted dates and
// timestamps as strings.
func nodeValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		return nodeValue(n.Content[0])
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := nodeValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := []any{}
		for _, c := range n.Content {
			v, err := nodeValue(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	}
	switch n.Tag {
	case "!!int", "!!float":
		return json.Number(n.Value), nil
	case "!!bool":
		return n.Value == "true", nil
	case "!!null":
		return nil, nil
	}
	return n.Value, nil
}

func runFixtureTest(rs *RuleSet, t *fixtureTest, idPrefix string) (string, error) {
	ctx := context.Background()
	var events []*procure.Event
	for i := range t.Events {
		e, err := fixtureEvent(&t.Events[i], fmt.Sprintf("%s-%d", idPrefix, i+1))
		if err != nil {
			return "", err
		}
		events = append(events, e)
	}
	var until time.Time
	if t.Until != "" {
		u, err := time.Parse(time.RFC3339, t.Until)
		if err != nil {
			return "", fmt.Errorf("until: %q is not an RFC 3339 time", t.Until)
		}
		until = u
	} else if len(events) > 0 {
		until = events[len(events)-1].OccurredAt
	}
	// Expectations are of the settled chain: deferred evaluations (rules
	// with a grace period) of the last events fall due by until.
	for _, e := range events {
		if s := e.OccurredAt.Add(rs.MaxGrace()); s.After(until) {
			until = s
		}
	}
	store := NewMemStore()
	clock := until
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sched := sla.New(sla.Config{}, store, log, func() time.Time { return clock })
	en := NewEngine(store, NewEvaluator(rs), sched, log, func() time.Time { return clock })
	// Events are fed in the order written (which may differ from their
	// occurred_at order: that is how late arrivals are tested); timers fire
	// up to the latest business time seen so far.
	var seen time.Time
	for _, e := range events {
		if e.OccurredAt.After(seen) {
			seen = e.OccurredAt
			if _, err := sched.FireDue(ctx, seen); err != nil {
				return "", err
			}
		}
		if _, err := en.Process(ctx, []*procure.Event{e}); err != nil {
			return "", fmt.Errorf("event %s: %w", e.ID, err)
		}
	}
	if until.After(seen) {
		if _, err := sched.FireDue(ctx, until); err != nil {
			return "", err
		}
	}
	before := store.Exceptions()
	// Redelivery changes nothing.
	if st, err := en.Process(ctx, events); err != nil {
		return "", err
	} else if st.Events != 0 {
		return "", fmt.Errorf("redelivered events were applied again (%d)", st.Events)
	}
	if after := store.Exceptions(); !slices.EqualFunc(before, after, func(a, b procure.Exception) bool { return a.Version == b.Version }) {
		return "", fmt.Errorf("redelivered events changed exceptions")
	}
	return diffExceptions(t.Expect, before), nil
}

func diffExceptions(want []ExpectException, got []procure.Exception) string {
	var lines []string
	used := make([]bool, len(got))
	for _, w := range want {
		found := -1
		for i, x := range got {
			if !used[i] && x.Rule == w.Rule && x.Subject == w.Subject {
				found = i
				break
			}
		}
		if found < 0 {
			lines = append(lines, "  - missing:    "+w.String())
			continue
		}
		used[found] = true
		x := got[found]
		if (w.State != "" && x.State != w.State) || (w.Occurrences > 0 && x.Occurrences != w.Occurrences) {
			lines = append(lines, fmt.Sprintf("  ~ expected:   %s\n      got:      %s", w, describe(x)))
		}
	}
	for i, x := range got {
		if !used[i] {
			lines = append(lines, "  + unexpected: "+describe(x)+"  ("+x.Message+")")
		}
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func describe(x procure.Exception) string {
	return fmt.Sprintf("%s %s [%s] x%d", x.Rule, x.Subject, x.State, x.Occurrences)
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
