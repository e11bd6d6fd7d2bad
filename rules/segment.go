package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/supplywatch/supplywatch/procure"
)

// A segment is a named set of suppliers: a list of supplier ids, or a
// predicate on supplier master data (tier, country, channel, status, …),
// optionally limited to some tenants. Rules and SLAs carry one
// (`segment: pilot`, or `segment: "!pilot"` for everyone else) so that a
// rule is rolled out to a pilot segment first and to the rest later; alert
// routes and console routing rules match on segments too.
//
// A segment limits what a rule raises and what an SLA starts; it never
// keeps evidence from resolving: outside its segment a rule still clears
// and a running timer still stops, pauses and is cancelled, so narrowing a
// segment or rolling back strands no exception and no timer.

type segmentConfig struct {
	Name        Expr     `yaml:"name"` // an Expr for its line, not an expression
	Description string   `yaml:"description"`
	Tenants     []string `yaml:"tenants"`
	Suppliers   []string `yaml:"suppliers"`
	Where       Expr     `yaml:"where"`
}

// Segment is a compiled supplier segment.
type Segment struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Tenants     []string `json:"tenants,omitempty"`
	// Suppliers lists the members by id; empty when Where is used.
	Suppliers []string `json:"suppliers,omitempty"`
	// Where is the predicate's source; empty when Suppliers is used.
	Where string `json:"where,omitempty"`
	File  string `json:"file"`
	where *vm.Program
	ids   map[string]bool
}

// SegmentEnv is what a segment's where expression sees.
type SegmentEnv struct {
	Tenant   string                 `expr:"tenant"`
	Supplier *procure.SupplierState `expr:"supplier"`
}

// Contains reports whether supplier sup of tenant is in the segment.
func (s *Segment) Contains(tenant string, sup *procure.SupplierState) (bool, error) {
	if len(s.Tenants) > 0 && !slices.Contains(s.Tenants, tenant) {
		return false, nil
	}
	if sup == nil || sup.ID == "" {
		return false, nil
	}
	if s.where == nil {
		return s.ids[sup.ID], nil
	}
	v, err := expr.Run(s.where, &SegmentEnv{Tenant: tenant, Supplier: sup})
	if err != nil {
		return false, fmt.Errorf("segment %s: where: %w", s.Name, err)
	}
	b, _ := v.(bool)
	return b, nil
}

// SegmentRef is a rule's segment: the segment's members, or (Not)
// everyone else.
type SegmentRef struct {
	Name string
	Not  bool
	seg  *Segment
}

// String is the form written in rule files: "pilot" or "!pilot".
func (r *SegmentRef) String() string {
	if r == nil {
		return ""
	}
	if r.Not {
		return "!" + r.Name
	}
	return r.Name
}

// Covers reports whether the reference covers supplier sup of tenant; a
// nil reference covers every supplier.
func (r *SegmentRef) Covers(tenant string, sup *procure.SupplierState) (bool, error) {
	if r == nil {
		return true, nil
	}
	in, err := r.seg.Contains(tenant, sup)
	return in != r.Not, err
}

// segments compiles the segments of every file (before the rules, which
// refer to them).
func (c *compiler) segments(path string, scs []segmentConfig) {
	for i := range scs {
		sc := &scs[i]
		name, line := sc.Name.Src, max(sc.Name.Line, sc.Where.Line)
		if name == "" {
			c.fail(path, line, "segments[%d]: name is required", i)
			continue
		}
		if !procure.ValidSegmentName(name) {
			c.fail(path, line, "segment %q: name must be lower case letters, digits, - _ . (at most 64)", name)
			continue
		}
		what := fmt.Sprintf("segment %q", name)
		if prev, dup := c.segs[name]; dup {
			c.fail(path, line, "%s: name already used in %s", what, prev.File)
			continue
		}
		s := &Segment{Name: name, Description: sc.Description, Tenants: sc.Tenants, Suppliers: sc.Suppliers, Where: sc.Where.Src, File: path}
		for j, t := range sc.Tenants {
			if strings.TrimSpace(t) == "" {
				c.fail(path, line, "%s: tenants[%d] is empty", what, j)
			}
		}
		switch {
		case sc.Where.Src != "" && sc.Suppliers != nil:
			c.fail(path, line, "%s: give suppliers or where, not both", what)
			continue
		case sc.Where.Src != "":
			p, err := expr.Compile(sc.Where.Src, expr.Env(&SegmentEnv{}), expr.AsBool())
			if err != nil {
				c.fail(path, sc.Where.Line, "%s: where: %s", what, oneLine(err.Error()))
				continue
			}
			s.where = p
		case len(sc.Suppliers) == 0:
			c.fail(path, line, "%s: suppliers: the list is empty (give supplier ids, or a where expression)", what)
			continue
		default:
			s.ids = map[string]bool{}
			for j, id := range sc.Suppliers {
				switch {
				case strings.TrimSpace(id) == "":
					c.fail(path, line, "%s: suppliers[%d] is empty", what, j)
				case s.ids[id]:
					c.fail(path, line, "%s: suppliers[%d]: %q is listed twice", what, j, id)
				}
				s.ids[id] = true
			}
		}
		c.segs[s.Name] = s
		c.segOrder = append(c.segOrder, s)
	}
}

// segmentRef resolves the segment field of a rule or SLA ("" is none).
func (c *compiler) segmentRef(path string, line int, what, src string) (*SegmentRef, bool) {
	if src == "" {
		return nil, true
	}
	name, not, err := procure.ParseSegmentRef(src)
	if err != nil {
		c.fail(path, line, "%s: segment: %v", what, err)
		return nil, false
	}
	s := c.segs[name]
	if s == nil {
		known := make([]string, 0, len(c.segs))
		for n := range c.segs {
			known = append(known, n)
		}
		slices.Sort(known)
		if len(known) == 0 {
			c.fail(path, line, "%s: segment: %q is not defined (no file has a segments: section)", what, name)
		} else {
			c.fail(path, line, "%s: segment: %q is not defined (defined: %s)", what, name, strings.Join(known, ", "))
		}
		return nil, false
	}
	return &SegmentRef{Name: name, Not: not, seg: s}, true
}

// Segment returns the segment named name, or nil.
func (rs *RuleSet) Segment(name string) *Segment {
	i := slices.IndexFunc(rs.Segments, func(s *Segment) bool { return s.Name == name })
	if i < 0 {
		return nil
	}
	return rs.Segments[i]
}

// SegmentsOf lists the names of the segments supplier sup of tenant is in,
// in the order they are defined.
func (rs *RuleSet) SegmentsOf(tenant string, sup *procure.SupplierState) ([]string, error) {
	var out []string
	for _, s := range rs.Segments {
		in, err := s.Contains(tenant, sup)
		if err != nil {
			return nil, err
		}
		if in {
			out = append(out, s.Name)
		}
	}
	return out, nil
}

// StateFinder reads one stored projection (postgres.StateStore.FindState).
type StateFinder interface {
	FindState(ctx context.Context, key procure.StateKey) ([]byte, error)
}

// SegmentFinder answers which segments of the rules in force a supplier is
// in, from its master data as stored by the rules engine: for alert routes
// and console routing rules, which see exceptions, not suppliers.
type SegmentFinder struct {
	ev     *Evaluator
	states StateFinder
}

// NewSegmentFinder reads the segments of ev's rules in force and the
// supplier master data of states.
func NewSegmentFinder(ev *Evaluator, states StateFinder) *SegmentFinder {
	return &SegmentFinder{ev: ev, states: states}
}

// Defined reports whether the rules in force define segment name.
func (f *SegmentFinder) Defined(name string) bool { return f.ev.Rules().Segment(name) != nil }

// Names lists the segments of the rules in force.
func (f *SegmentFinder) Names() []string {
	var out []string
	for _, s := range f.ev.Rules().Segments {
		out = append(out, s.Name)
	}
	return out
}

// SegmentsOf lists the segments supplier of tenant is in; a supplier
// without master data is only in the list segments naming it.
func (f *SegmentFinder) SegmentsOf(ctx context.Context, tenant, supplier string) ([]string, error) {
	rs := f.ev.Rules()
	if supplier == "" || len(rs.Segments) == 0 {
		return nil, nil
	}
	sup := &procure.SupplierState{ID: supplier}
	b, err := f.states.FindState(ctx, procure.StateKey{Tenant: tenant, Kind: procure.StateSupplier, ID: supplier})
	switch {
	case procure.ErrorCode(err) == procure.ENOTFOUND:
	case err != nil:
		return nil, fmt.Errorf("segments of supplier %s: %w", supplier, err)
	default:
		if err := json.Unmarshal(b, sup); err != nil {
			return nil, fmt.Errorf("segments of supplier %s: %w", supplier, err)
		}
		if sup.ID == "" {
			sup.ID = supplier
		}
	}
	return rs.SegmentsOf(tenant, sup)
}

// String counts what the set holds: "12 rules, 9 SLAs, 3 segments (pilot,
// strategic, edi)".
func (rs *RuleSet) String() string {
	names := make([]string, len(rs.Segments))
	for i, s := range rs.Segments {
		names[i] = s.Name
	}
	out := fmt.Sprintf("%d rules, %d SLAs, %d segments", len(rs.Rules), len(rs.SLAs), len(rs.Segments))
	if len(names) > 0 {
		out += " (" + strings.Join(names, ", ") + ")"
	}
	return out
}
