package procure

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
