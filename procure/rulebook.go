package procure

import (
	"fmt"
	"regexp"
	"strings"
)

var segmentNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ValidSegmentName reports whether name is a supplier segment's name:
// lower case letters, digits, - _ . (at most 64, not starting with a sign).
func ValidSegmentName(name string) bool { return segmentNameRE.MatchString(name) }

// ParseSegmentRef splits a reference to a segment, "pilot" or "!pilot"
// (every supplier outside it), into the name and the negation, checking
// the name's form (not that it is defined). Rules, SLAs, alert routes and
// routing rules refer to segments this way.
func ParseSegmentRef(s string) (name string, not bool, err error) {
	name, not = strings.CutPrefix(strings.TrimSpace(s), "!")
	if !ValidSegmentName(name) {
		return "", false, fmt.Errorf("%q is not a segment name or !name (lower case letters, digits, - _ .)", s)
	}
	return name, not, nil
}

// RuleInfo says what a rule checks: the why of an exception.
type RuleInfo struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"` // validation | sla
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Severity    string   `json:"severity,omitempty"`
	Team        string   `json:"team,omitempty"`
	File        string   `json:"file,omitempty"`
	On          []string `json:"on,omitempty"`
	// Conditions are the rule's expressions by name (when, start, stop,
	// duration, ...): the thresholds are in them.
	Conditions map[string]string `json:"conditions,omitempty"`
	WarnAt     []float64         `json:"warn_at,omitempty"`
	// Segment is the supplier segment the rule is limited to ("pilot",
	// or "!pilot": every supplier outside it); empty: every supplier.
	Segment string `json:"segment,omitempty"`
}

// SegmentInfo is a supplier segment of the rule files: a list of
// suppliers or a predicate on their master data.
type SegmentInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Suppliers   []string `json:"suppliers,omitempty"`
	Where       string   `json:"where,omitempty"`
	File        string   `json:"file"`
}

// RuleCatalog lists the rules in force and the supplier segments
// (rules.Evaluator).
type RuleCatalog interface {
	RuleBook
	// ListRules describes every rule and SLA in force.
	ListRules() []RuleInfo
	// SegmentsFor lists the segments that apply to tenant's suppliers.
	SegmentsFor(tenant string) []SegmentInfo
}

// RuleBook describes rules by id (rules.Evaluator).
type RuleBook interface {
	Describe(id string) (RuleInfo, bool)
}

// RuleBookFunc adapts a function to RuleBook.
type RuleBookFunc func(id string) (RuleInfo, bool)

// Describe calls f.
func (f RuleBookFunc) Describe(id string) (RuleInfo, bool) { return f(id) }
