package rules

import (
	"github.com/expr-lang/expr/vm"
	"github.com/supplywatch/supplywatch/procure"
)

var _ procure.RuleBook = (*Evaluator)(nil)

// Describe says what the rule or SLA id in force checks (the console's
// exception detail): its texts and the sources of its expressions.
func (ev *Evaluator) Describe(id string) (procure.RuleInfo, bool) {
	rs := ev.Rules()
	if rs == nil {
		return procure.RuleInfo{}, false
	}
	for _, r := range rs.Rules {
		if r.ID == id {
			ri := procure.RuleInfo{ID: r.ID, Kind: procure.KindValidation, Title: r.Title, Description: r.Description, Severity: r.Severity,
				Team: r.Team, File: r.File, On: typeNames(r.On), Conditions: map[string]string{}}
			if r.When != nil {
				ri.Conditions["when"] = r.When.Source().String()
			}
			return ri, true
		}
	}
	for _, s := range rs.SLAs {
		if s.ID == id {
			ri := procure.RuleInfo{ID: s.ID, Kind: procure.KindSLA, Title: s.Title, Description: s.Description, Severity: s.Severity,
				Team: s.Team, File: s.File, On: typeNames(s.On), Conditions: map[string]string{}, WarnAt: s.WarnAt}
			for name, p := range slaPrograms(s) {
				ri.Conditions[name] = p
			}
			return ri, true
		}
	}
	return procure.RuleInfo{}, false
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
