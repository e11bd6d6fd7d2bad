package console

import "testing"

func TestOnlyAnEmailVerifiedClaimThatIsTrueVerifiesTheEmail(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name     string
		email    string
		verified *bool
		want     bool
	}{
		{"true verifies", "ann@example.com", &yes, true},
		{"false does not", "ann@example.com", &no, false},
		{"a missing claim does not", "ann@example.com", nil, false},
		{"no email does not", "", &yes, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := emailVerified(tc.email, tc.verified); got != tc.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}
