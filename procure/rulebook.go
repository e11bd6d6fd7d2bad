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
}

// RuleBook describes rules by id (rules.Evaluator).
type RuleBook interface {
	Describe(id string) (RuleInfo, bool)
}

// RuleBookFunc adapts a function to RuleBook.
type RuleBookFunc func(id string) (RuleInfo, bool)

// Describe calls f.
func (f RuleBookFunc) Describe(id string) (RuleInfo, bool) { return f(id) }
