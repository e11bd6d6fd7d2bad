package rules

import (
	"slices"

	"github.com/expr-lang/expr/vm"
	"github.com/supplywatch/supplywatch/procure"
)

var _ procure.RuleCatalog = (*Evaluator)(nil)

// Describe says what the rule or SLA id in force checks (the console's
// exception detail): its texts, the sources of its expressions and its
// supplier segment.
func (ev *Evaluator) Describe(id string) (procure.RuleInfo, bool) {
	for _, ri := range ev.ListRules() {
		if ri.ID == id {
			return ri, true
		}
	}
	return procure.RuleInfo{}, false
}

// ListRules describes every rule and SLA in force, in file order.
func (ev *Evaluator) ListRules() []procure.RuleInfo {
	rs := ev.Rules()
	if rs == nil {
		return nil
	}
	out := make([]procure.RuleInfo, 0, len(rs.Rules)+len(rs.SLAs))
	for _, r := range rs.Rules {
		ri := procure.RuleInfo{ID: r.ID, Kind: procure.KindValidation, Title: r.Title, Description: r.Description, Severity: r.Severity,
			Team: r.Team, File: r.File, On: typeNames(r.On), Conditions: map[string]string{}, Segment: r.Segment.String()}
		if r.When != nil {
			ri.Conditions["when"] = r.When.Source().String()
		}
		out = append(out, ri)
	}
	for _, s := range rs.SLAs {
		ri := procure.RuleInfo{ID: s.ID, Kind: procure.KindSLA, Title: s.Title, Description: s.Description, Severity: s.Severity,
			Team: s.Team, File: s.File, On: typeNames(s.On), Conditions: map[string]string{}, WarnAt: s.WarnAt, Segment: s.Segment.String()}
		for name, p := range slaPrograms(s) {
			ri.Conditions[name] = p
		}
		out = append(out, ri)
	}
	return out
}

// SegmentsFor lists the segments of the rules in force that apply to
// tenant's suppliers (a segment limited to other tenants is left out).
func (ev *Evaluator) SegmentsFor(tenant string) []procure.SegmentInfo {
	rs := ev.Rules()
	if rs == nil {
		return nil
	}
	var out []procure.SegmentInfo
	for _, s := range rs.Segments {
		if len(s.Tenants) == 0 || slices.Contains(s.Tenants, tenant) {
			out = append(out, procure.SegmentInfo{Name: s.Name, Description: s.Description, Suppliers: s.Suppliers, Where: s.Where, File: s.File})
		}
	}
	return out
}

func slaPrograms(s *SLA) map[string]string {
	out := map[string]string{}
	for name, p := range map[string]*vm.Program{"start": s.Start, "stop": s.Stop, "pause": s.Pause, "resume": s.Resume,
		"reset": s.Reset, "cancel": s.Cancel, "duration": s.Duration, "deadline": s.Deadline} {
		if p != nil {
			out[name] = p.Source().String()
		}
	}
	return out
}

func typeNames(ts []procure.Type) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}
