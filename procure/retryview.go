package procure

// RetryView is what the automatic retry policy (retry.Worker) decided about
// a failed delivery, so that a rule raises its exception only once the
// policy gives up (retry.pending false). The rules engine asks the policy
// for it in its transaction and rules read it as `retry`; it lives here so
// that the policy and the engine share it without importing each other.
type RetryView struct {
	// Pending: another automatic retry is scheduled.
	Pending bool `expr:"pending"`
	// Retryable: the policy retries this error class at all.
	Retryable bool `expr:"retryable"`
	// Attempts is how many automatic retries were published so far.
	Attempts    int    `expr:"attempts"`
	MaxAttempts int    `expr:"max_attempts"`
	Policy      string `expr:"policy"`
	// Reason says, once the policy is done, why: "not retried
	// automatically (validation)", "3 automatic retries failed", ...
	Reason string `expr:"reason"`
}
