package procure

import "time"

// Raise applies a rule's (or an SLA timer's) occurrence c to the exception
// x it belongs to, nil when none is stored yet: the one place where a raise
// is checked and turned into activity and an outbox event, as Apply is for
// a person's action (a rule's or a timer's resolve is an ActResolve through
// Apply, with the rule as actor). A first occurrence opens a new exception,
// which Raise returns; a later one counts on x, refreshes it from c and
// reopens it when it was resolved (an ignored one stays ignored and counts).
// It does no I/O: the store writes the exception, the activity and the
// outbox event in the transaction that raised it.
func Raise(x *Exception, c *ExceptionCandidate) (*Exception, *ExceptionChange, error) {
	actor := Actor{Kind: ActorRule, Name: c.Rule}
	if err := actor.Validate(); err != nil {
		return nil, nil, &FieldError{Field: "rule", Reason: "an exception is raised by a named rule"}
	}
	if x == nil {
		x = NewException(c)
		return x, &ExceptionChange{Outbox: OutboxOpened, Activities: []Activity{
			{At: c.At, Actor: actor, Action: "opened", ToState: x.State, Note: x.Message}}}, nil
	}
	if fp := c.Fingerprint(); x.Tenant != c.Tenant || x.Fingerprint != fp {
		return nil, nil, Errorf(EINVALID, "exception %d is %s: a candidate of %s cannot recur on it", x.ID, x.Fingerprint, fp)
	}
	from := x.State
	kind := x.Recur(c)
	action := "recurred"
	if kind == OutboxReopened {
		action = "reopened"
	}
	return x, &ExceptionChange{Outbox: kind, Activities: []Activity{
		{At: c.At, Actor: actor, Action: action, FromState: from, ToState: x.State, Note: x.Message}}}, nil
}

// RuleResolve is the action with which a rule whose condition cleared, or
// an SLA timer, resolves an exception: a resolve like a person's, applied
// through Apply, by the rule.
func RuleResolve(actor Actor, reason string, at time.Time) Action {
	return Action{Kind: ActResolve, Reason: reason, Actor: actor, At: at}
}
