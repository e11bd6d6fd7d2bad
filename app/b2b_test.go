package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func b2bEnv() []string {
	return []string{
		"SUPPLYWATCH_B2B_PARTNERS_FILE=../deploy/partners.yaml",
		"OFFICE_SUPPLIES_SECRET=t1", "COUPA_SUPPLIER_SECRET=t2", "PROMINATE_SECRET=t3", "ACME_HUB_SECRET=t4",
		"SUPPLYWATCH_CONFIG=testdata/ingest.yaml",
	}
}

func postB2B(t *testing.T, addr, file string) (int, map[string]any) {
	t.Helper()
	body, err := os.ReadFile("../b2b/testdata/samples/" + file)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/b2b", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer test-erp-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestB2BDocumentsOverHTTPBecomeEventsTracedToTheirBytes(t *testing.T) {
	e := newEnv(t)
	c := e.startCollector(t, b2bEnv()...)
	status, out := postB2B(t, c.httpAddr, "x12-855-nodex12-1.edi")
	if status != 200 {
		t.Fatalf("good 855: status %d: %v", status, out)
	}
	events, _ := out["events"].([]any)
	if len(events) == 0 {
		t.Fatalf("good 855 made no events: %v", out)
	}
	acks, _ := out["acks"].([]any)
	if len(acks) == 0 || !strings.Contains(acks[0].(map[string]any)["body"].(string), "AK1") {
		t.Errorf("no 997 for the 855: %v", out["acks"])
	}
	e.waitFor(t, "SELECT count() FROM events WHERE channel = 'b2b'", uint64(len(events)), 60*time.Second)
	if n := e.count(t, "SELECT count() FROM events e JOIN documents d ON d.origin_id = e.origin_id WHERE e.channel = 'b2b'"); n != uint64(len(events)) {
		t.Errorf("events traced to a stored document = %d, want %d", n, len(events))
	}

	status, out = postB2B(t, c.httpAddr, "bad-x12-850-gozer-1.edi")
	if status != 422 {
		t.Fatalf("bad 850: status %d, want 422: %v", status, out)
	}
	rej, _ := json.Marshal(out["rejections"])
	if !strings.Contains(string(rej), "count") {
		t.Errorf("bad 850 rejection does not name the SE count defect: %s", rej)
	}
	ackJSON, _ := json.Marshal(out["acks"])
	if !strings.Contains(string(ackJSON), "AK9*R") && !strings.Contains(string(ackJSON), "IK5*R") && !strings.Contains(string(ackJSON), "AK5*R") {
		t.Errorf("bad 850 is not rejected in its acknowledgement: %s", ackJSON)
	}
	// The rejection reaches the rules as a message.failed for the
	// integration team's exception.
	e.waitFor(t, "SELECT toUInt64(count() > 0) FROM events WHERE type = 'message.failed' AND JSONExtractString(raw, 'data', 'target') = 'supplywatch'", 1, 30*time.Second)
	c.stop(t)
}
