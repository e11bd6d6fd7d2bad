package rules_test

import (
	"testing"

	"github.com/supplywatch/supplywatch/chdb/chtest"
)

// TestMain lets the test binary run the embedded ClickHouse of the
// back-test tests.
func TestMain(m *testing.M) { chtest.Main(m) }
