package console_test

import (
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/procure"
)

// TestChainTextsAreInThePlantsZone: PO 4500000003 (plant P01, Chicago)
// was released two days ago and is not acknowledged; the chain says since
// when in Chicago's time, and P02's order (no zone) in UTC.
func TestChainTextsAreInThePlantsZone(t *testing.T) {
	e := newEnv(t, func(_ *console.Config, d *console.Deps) { d.PlantZones = map[string]string{"P01": "America/Chicago"} })
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	released := e.now.Add(-2 * 24 * time.Hour)
	c := e.signIn(procure.RoleProcurement)
	for name, want := range map[string]string{
		"ack-missing-3": "not acknowledged since " + released.In(chicago).Format("2006-01-02 15:04 MST"),
		"ack-missing-2": "not acknowledged since " + e.now.Add(-3*24*time.Hour).UTC().Format("2006-01-02 15:04 MST"),
	} {
		var d struct {
			Chain struct {
				Steps []struct {
					Step, Detail string
				} `json:"steps"`
			} `json:"chain"`
		}
		c.mustOK("GET", idPath("/api/exceptions/%d", e.ids[name]), nil, &d)
		got := ""
		for _, s := range d.Chain.Steps {
			if s.Step == "acknowledgement" {
				got = s.Detail
			}
		}
		if got != want {
			t.Errorf("%s: acknowledgement %q, want %q", name, got, want)
		}
	}
}
