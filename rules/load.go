// Package rules is supplywatch's rules engine: it loads rule files (YAML
// with expr-lang expressions, compiled and type-checked at load), keeps the
// document state of the procurement chain up to date from the events topic,
// evaluates validation rules into exceptions and SLA definitions into timer
// observations for package sla, and runs rule fixture tests.
//
// It leaves storage to a procure.StateStore (package postgres), timer
// arithmetic and firing to sla.Scheduler, and delivery of exception events
// to whoever reads the outbox (console, alerts).
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/supplywatch/supplywatch/procure"
	"go.yaml.in/yaml/v3"
)

// Subjects of rules and SLAs.
const (
	SubjectDocument = "document"
	SubjectLine     = "line"
	SubjectSupplier = "supplier"
)

// Expr is an expression in a rule file, with the line it is on.
type Expr struct {
	Src  string
	Line int
}

// UnmarshalYAML keeps the line of the expression for error messages.
func (e *Expr) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: an expression must be a string", n.Line)
	}
	e.Src, e.Line = n.Value, n.Line
	return nil
}

// file is one rule file as written.
type file struct {
	Rules     []ruleConfig                      `yaml:"rules"`
	SLAs      []slaConfig                       `yaml:"slas"`
	Calendars map[string]procure.CalendarConfig `yaml:"calendars"`
	Segments  []segmentConfig                   `yaml:"segments"`
}

type ruleConfig struct {
	ID          string   `yaml:"id"`
	Title       string   `yaml:"title"`
	Description string   `yaml:"description"`
	Severity    string   `yaml:"severity"`
	Team        string   `yaml:"team"`
	Subject     string   `yaml:"subject"`
	On          []string `yaml:"on"`
	Key         Expr     `yaml:"key"`
	When        Expr     `yaml:"when"`
	Clear       *bool    `yaml:"clear"`
	Grace       string   `yaml:"grace"`
	Message     Expr     `yaml:"message"`
	// Segment limits the rule to the suppliers of a segment ("pilot") or
	// to everyone outside it ("!pilot").
	Segment string `yaml:"segment"`
}

type slaConfig struct {
	ID          string    `yaml:"id"`
	Title       string    `yaml:"title"`
	Description string    `yaml:"description"`
	Severity    string    `yaml:"severity"`
	Team        string    `yaml:"team"`
	Subject     string    `yaml:"subject"`
	On          []string  `yaml:"on"`
	Key         Expr      `yaml:"key"`
	Start       Expr      `yaml:"start"`
	Stop        Expr      `yaml:"stop"`
	Pause       Expr      `yaml:"pause"`
	Resume      Expr      `yaml:"resume"`
	Reset       Expr      `yaml:"reset"`
	Cancel      Expr      `yaml:"cancel"`
	Duration    Expr      `yaml:"duration"`
	Deadline    Expr      `yaml:"deadline"`
	Calendar    string    `yaml:"calendar"`
	WarnAt      []float64 `yaml:"warn_at"`
	Message     Expr      `yaml:"message"`
	Segment     string    `yaml:"segment"`
}

// Rule is a compiled validation rule.
type Rule struct {
	ID, Title, Description, Severity, Team, Subject string
	On                                              []procure.Type
	File                                            string
	When, Key                                       *vm.Program
	Clear                                           bool
	// Grace, when set, defers the rule: it is evaluated on its event once
	// the event time has passed the event's occurred_at plus Grace, on the
	// state then (a comparison across documents, which may arrive on
	// other partitions in any order).
	Grace   time.Duration
	Message *Template
	// Segment, when set, limits what the rule raises to the suppliers it
	// covers (it still clears for everyone).
	Segment *SegmentRef
}

// SLA is a compiled SLA definition.
type SLA struct {
	ID, Title, Description, Severity, Team, Subject string
	On                                              []procure.Type
	File                                            string
	Key                                             *vm.Program
	Start, Stop, Pause, Resume, Reset, Cancel       *vm.Program
	Duration, Deadline                              *vm.Program
	Calendar                                        string // "plant" or procure.Calendar24x7
	WarnAt                                          []float64
	Message                                         *Template
	// Segment, when set, limits the timers started (start, reset) to the
	// suppliers it covers; stop, pause, resume and cancel apply to all.
	Segment *SegmentRef
}

// RuleSet is a loaded, compiled set of rule files. It is immutable.
type RuleSet struct {
	Rules     []*Rule
	SLAs      []*SLA
	Calendars *procure.Calendars
	// Segments are the supplier segments rules and routes refer to.
	Segments []*Segment
	Files    []string
	LoadedAt time.Time
	// ackSLAs are the partners' functional-acknowledgement SLAs
	// (Evaluator.SetPartnerAckSLAs).
	ackSLAs map[string]time.Duration
}

// LoadError is a refused rule file: where and why.
type LoadError struct {
	File   string
	Line   int
	Reason string
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Reason)
}

// RuleFiles lists the rule files of dir: *.yaml and *.yml, without fixture
// files (*_test.yaml), sorted.
func RuleFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || isFixture(n) {
			continue
		}
		if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

func isFixture(name string) bool {
	return strings.HasSuffix(name, "_test.yaml") || strings.HasSuffix(name, "_test.yml")
}

// LoadDir loads every rule file of dir as one set. Any error refuses the
// whole set; errors.Join of *LoadError, one per problem found.
func LoadDir(dir string, now time.Time) (*RuleSet, error) {
	files, err := RuleFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("rules: no rule files in %s", dir)
	}
	return LoadFiles(files, now)
}

// LoadFiles loads the given rule files as one set.
func LoadFiles(paths []string, now time.Time) (*RuleSet, error) {
	type parsed struct {
		path string
		f    file
	}
	var files []parsed
	var errs []error
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, &LoadError{File: p, Reason: err.Error()})
			continue
		}
		f, err := parse(p, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files = append(files, parsed{p, f})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rs := &RuleSet{Calendars: &procure.Calendars{ByPlant: map[string]*procure.Calendar{}}, Files: paths, LoadedAt: now}
	// Calendars first: expressions' helpers use them.
	for _, pf := range files {
		for name, cc := range pf.f.Calendars {
			cal, err := procure.NewCalendar(name, cc)
			if err != nil {
				errs = append(errs, &LoadError{File: pf.path, Reason: err.Error()})
				continue
			}
			if name == "default" {
				rs.Calendars.Default = cal
			} else {
				rs.Calendars.ByPlant[name] = cal
			}
		}
	}
	c := &compiler{opts: append([]expr.Option{expr.Env(&Env{})}, functions(rs.Calendars)...), ids: map[string]string{}, segs: map[string]*Segment{}}
	// Segments next: rules refer to them, from any file.
	for _, pf := range files {
		c.segments(pf.path, pf.f.Segments)
	}
	rs.Segments = c.segOrder
	for _, pf := range files {
		for i := range pf.f.Rules {
			if r := c.rule(pf.path, &pf.f.Rules[i]); r != nil {
				rs.Rules = append(rs.Rules, r)
			}
		}
		for i := range pf.f.SLAs {
			if s := c.sla(pf.path, &pf.f.SLAs[i]); s != nil {
				rs.SLAs = append(rs.SLAs, s)
			}
		}
	}
	errs = append(errs, c.errs...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

func parse(path string, b []byte) (file, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return f, yamlError(path, err)
	}
	return f, nil
}

// yamlError turns "yaml: line 3: field x not found in type ..." into a
// LoadError with the line.
func yamlError(path string, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	var line int
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
		_, rest, _ := strings.Cut(msg, ":")
		msg = strings.TrimSpace(rest)
	}
	msg = strings.ReplaceAll(msg, " in type rules.ruleConfig", " in a rule")
	msg = strings.ReplaceAll(msg, " in type rules.slaConfig", " in an SLA")
	msg = strings.ReplaceAll(msg, " in type rules.segmentConfig", " in a segment")
	msg = strings.ReplaceAll(msg, " in type rules.file", " at the top level (rules, slas, calendars, segments)")
	return &LoadError{File: path, Line: line, Reason: msg}
}

type compiler struct {
	opts     []expr.Option
	ids      map[string]string // id → file, for duplicates
	segs     map[string]*Segment
	segOrder []*Segment
	errs     []error
}

func (c *compiler) fail(path string, line int, format string, args ...any) {
	c.errs = append(c.errs, &LoadError{File: path, Line: line, Reason: fmt.Sprintf(format, args...)})
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	timeType     = reflect.TypeOf(time.Time{})
)

// compile compiles e to a program whose result has type want (nil: any).
// An empty expression gives nil.
func (c *compiler) compile(path, what string, e Expr, want reflect.Type, required bool, fallbackLine int) *vm.Program {
	if strings.TrimSpace(e.Src) == "" {
		if required {
			c.fail(path, fallbackLine, "%s is required", what)
		}
		return nil
	}
	opts := slices.Clone(c.opts)
	if want == reflect.TypeOf(true) {
		opts = append(opts, expr.AsBool())
	}
	p, err := expr.Compile(e.Src, opts...)
	if err != nil {
		c.fail(path, e.Line, "%s: %s", what, oneLine(err.Error()))
		return nil
	}
	if want != nil && want != reflect.TypeOf(true) {
		if got := p.Node().Type(); got != nil && got != want && got.Kind() != reflect.Interface {
			c.fail(path, e.Line, "%s: is %s, must be %s", what, got, want)
			return nil
		}
	}
	return p
}

func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(first)
}

func (c *compiler) common(path, kind, id, title, severity, subject string, on []string, line int) ([]procure.Type, bool) {
	ok := true
	if id == "" {
		c.fail(path, line, "%s without id", kind)
		return nil, false
	}
	if prev, dup := c.ids[id]; dup {
		c.fail(path, line, "%s %q: id already used in %s", kind, id, prev)
		ok = false
	}
	c.ids[id] = path
	if title == "" {
		c.fail(path, line, "%s %q: title is required", kind, id)
		ok = false
	}
	if !slices.Contains(procure.Severities, severity) {
		c.fail(path, line, "%s %q: severity %q is not one of %v", kind, id, severity, procure.Severities)
		ok = false
	}
	switch subject {
	case SubjectDocument, SubjectLine, SubjectSupplier:
	default:
		c.fail(path, line, "%s %q: subject %q is not one of document, line, supplier", kind, id, subject)
		ok = false
	}
	var types []procure.Type
	for _, t := range on {
		if procure.NewPayload(procure.Type(t)) == nil {
			c.fail(path, line, "%s %q: on: unknown event type %q", kind, id, t)
			ok = false
			continue
		}
		types = append(types, procure.Type(t))
	}
	return types, ok
}

func (c *compiler) rule(path string, rc *ruleConfig) *Rule {
	line := rc.When.Line
	on, ok := c.common(path, "rule", rc.ID, rc.Title, rc.Severity, rc.Subject, rc.On, line)
	if rc.ID == "" {
		return nil
	}
	if len(on) == 0 && len(rc.On) == 0 {
		c.fail(path, line, "rule %q: on: at least one event type is required", rc.ID)
		ok = false
	}
	what := fmt.Sprintf("rule %q", rc.ID)
	r := &Rule{ID: rc.ID, Title: rc.Title, Description: rc.Description, Severity: rc.Severity, Team: rc.Team, Subject: rc.Subject,
		On: on, File: path, Clear: rc.Clear == nil || *rc.Clear}
	r.When = c.compile(path, what+": when", rc.When, reflect.TypeOf(true), true, line)
	r.Key = c.compile(path, what+": key", rc.Key, reflect.TypeOf(""), false, line)
	r.Message = c.template(path, what+": message", rc.Message, rc.Title)
	var segOK bool
	if r.Segment, segOK = c.segmentRef(path, line, what, rc.Segment); !segOK {
		ok = false
	}
	if rc.Grace != "" {
		d, err := time.ParseDuration(rc.Grace)
		if err != nil || d <= 0 || d > 7*24*time.Hour {
			c.fail(path, line, "rule %q: grace %q is not a duration between 1ns and 168h (like 1h or 30m)", rc.ID, rc.Grace)
			ok = false
		}
		r.Grace = d
	}
	if !ok || r.When == nil {
		return nil
	}
	return r
}

func (c *compiler) sla(path string, sc *slaConfig) *SLA {
	line := sc.Start.Line
	on, ok := c.common(path, "sla", sc.ID, sc.Title, sc.Severity, sc.Subject, sc.On, line)
	if sc.ID == "" {
		return nil
	}
	what := fmt.Sprintf("sla %q", sc.ID)
	s := &SLA{ID: sc.ID, Title: sc.Title, Description: sc.Description, Severity: sc.Severity, Team: sc.Team, Subject: sc.Subject,
		On: on, File: path, Calendar: sc.Calendar, WarnAt: sc.WarnAt}
	boolT := reflect.TypeOf(true)
	s.Start = c.compile(path, what+": start", sc.Start, boolT, true, line)
	s.Stop = c.compile(path, what+": stop", sc.Stop, boolT, false, line)
	s.Pause = c.compile(path, what+": pause", sc.Pause, boolT, false, line)
	s.Resume = c.compile(path, what+": resume", sc.Resume, boolT, false, line)
	s.Reset = c.compile(path, what+": reset", sc.Reset, boolT, false, line)
	s.Cancel = c.compile(path, what+": cancel", sc.Cancel, boolT, false, line)
	s.Key = c.compile(path, what+": key", sc.Key, reflect.TypeOf(""), false, line)
	switch {
	case sc.Duration.Src != "" && sc.Deadline.Src != "":
		c.fail(path, sc.Duration.Line, "%s: give duration or deadline, not both", what)
		ok = false
	case sc.Duration.Src != "":
		s.Duration = c.compile(path, what+": duration", sc.Duration, durationType, true, line)
	case sc.Deadline.Src != "":
		s.Deadline = c.compile(path, what+": deadline", sc.Deadline, timeType, true, line)
	default:
		c.fail(path, line, "%s: duration or deadline is required", what)
		ok = false
	}
	if (sc.Pause.Src == "") != (sc.Resume.Src == "") {
		c.fail(path, line, "%s: pause and resume go together", what)
		ok = false
	}
	switch s.Calendar {
	case "":
		s.Calendar = "plant"
	case "plant", procure.Calendar24x7:
	default:
		c.fail(path, line, "%s: calendar %q is not plant or %s", what, s.Calendar, procure.Calendar24x7)
		ok = false
	}
	for _, f := range s.WarnAt {
		if !(f > 0 && f < 1) {
			c.fail(path, line, "%s: warn_at %g is not a fraction between 0 and 1", what, f)
			ok = false
		}
	}
	s.Message = c.template(path, what+": message", sc.Message, sc.Title)
	var segOK bool
	if s.Segment, segOK = c.segmentRef(path, line, what, sc.Segment); !segOK {
		ok = false
	}
	if !ok || s.Start == nil || s.Duration == nil && s.Deadline == nil {
		return nil
	}
	return s
}

// Template is a message with {{ expr }} holes, each compiled at load.
type Template struct {
	parts []templatePart
}

type templatePart struct {
	text string
	prog *vm.Program
}

func (c *compiler) template(path, what string, e Expr, fallback string) *Template {
	src := e.Src
	if src == "" {
		src = fallback
	}
	t := &Template{}
	for {
		i := strings.Index(src, "{{")
		if i < 0 {
			t.parts = append(t.parts, templatePart{text: src})
			return t
		}
		j := strings.Index(src[i:], "}}")
		if j < 0 {
			c.fail(path, e.Line, "%s: {{ without }}", what)
			return t
		}
		t.parts = append(t.parts, templatePart{text: src[:i]})
		hole := strings.TrimSpace(src[i+2 : i+j])
		if p := c.compile(path, what, Expr{Src: hole, Line: e.Line}, nil, true, e.Line); p != nil {
			t.parts = append(t.parts, templatePart{prog: p})
		}
		src = src[i+j+2:]
	}
}

// Render runs the holes on env.
func (t *Template) Render(env *Env) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := expr.Run(p.prog, env)
		if err != nil {
			b.WriteString("?")
			continue
		}
		switch x := v.(type) {
		case time.Time:
			b.WriteString(x.UTC().Format(time.RFC3339))
		case float64:
			b.WriteString(fmt.Sprintf("%g", x))
		default:
			fmt.Fprint(&b, x)
		}
	}
	return b.String()
}
