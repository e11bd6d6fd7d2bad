package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
)

// b2bEnv configures a collector child for B2B intake, with the control
// number sequence in a database of the test's own.
func b2bEnv(t *testing.T) []string {
	return b2bEnvOn(pgtest.URL(t))
}

func b2bEnvOn(pgURL string) []string {
	return []string{
		"SUPPLYWATCH_POSTGRES_URL=" + pgURL,
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
	c := e.startCollector(t, b2bEnv(t)...)
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

	// A format the sender names wrongly is refused before anything is read,
	// naming the field.
	body, err := os.ReadFile("../b2b/testdata/samples/x12-855-nodex12-1.edi")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.httpAddr+"/v1/b2b?format=idoc", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer test-erp-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(answer), `"field":"format"`) || !strings.Contains(string(answer), `format \"idoc\" is not x12, edifact or cxml`) {
		t.Errorf("format=idoc: status %d: %s", resp.StatusCode, answer)
	}
	c.stop(t)
}

// badSetsX12 is one X12 interchange of widget-buyer (deploy/partners.yaml)
// with n 850 sets, each with a unit the profile does not map: every set is
// rejected.
func badSetsX12(n int) []byte {
	var b bytes.Buffer
	b.WriteString("ISA*00*          *00*          *12*4405197800     *01*999999999      *101127*1719*U*00400*000003438*0*P*>~\n")
	b.WriteString("GS*PO*4405197800*999999999*20101127*1719*1421*X*004010~\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "ST*850*%04d~BEG*00*SA*%d**20101127~DTM*002*20101214~PO1*1*0*QQ*1~SE*5*%04d~", i%10000, i, i%10000)
	}
	fmt.Fprintf(&b, "GE*%d*1421~\nIEA*1*000003438~\n", n)
	return b.Bytes()
}

// vmHWM reads the peak resident set size of a process, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestB2BRejectionFloodIsBoundedAndReferencesOneOriginal: a 640 KB X12 file
// with 10,000 bad sets is stored once; its 10,000 dead-letter rows (table
// and topic) reference that original and carry only their own set; the
// integration team gets one exception for the document; the collector's
// peak memory stays far from the gigabytes the copies needed (issue 9).
func TestB2BRejectionFloodIsBoundedAndReferencesOneOriginal(t *testing.T) {
	e := newEnv(t)
	c := e.startCollector(t, b2bEnv(t)...)
	doc := badSetsX12(10000)
	if len(doc) < 600<<10 {
		t.Fatalf("document of %d bytes", len(doc))
	}
	before := vmHWM(t, c.cmd.Process.Pid)
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.httpAddr+"/v1/b2b", bytes.NewReader(doc))
	req.Header.Set("Authorization", "Bearer test-erp-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		OriginID   string `json:"origin_id"`
		Status     string `json:"status"`
		Rejections []any  `json:"rejections"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 422 || out.Status != "rejected" || len(out.Rejections) != 10000 {
		t.Fatalf("status %d %s, %d rejections", resp.StatusCode, out.Status, len(out.Rejections))
	}
	o := out.OriginID
	e.waitFor(t, "SELECT count() FROM rejected FINAL WHERE original_ref = '"+o+"'", 10000, 60*time.Second)
	if n := e.count(t, "SELECT count() FROM documents FINAL WHERE origin_id = '"+o+"'"); n != 1 {
		t.Fatalf("original stored %d times", n)
	}
	if n := e.count(t, fmt.Sprintf("SELECT count() FROM rejected FINAL WHERE original_ref = '%s' AND stage = 'b2b' AND raw_size = %d AND raw_sha256 = '%s' AND tenant = 'acme' AND startsWith(raw, 'ST*850*') AND length(raw) < 100", o, len(doc), o)); n != 10000 {
		t.Fatalf("%d of 10000 rows carry only their set, the reference and the whole's size and hash", n)
	}
	total := e.count(t, "SELECT sum(length(raw)) FROM rejected FINAL WHERE original_ref = '"+o+"'")
	if total > uint64(len(doc)) {
		t.Fatalf("dead letters hold %d bytes of raw, more than the %d-byte document", total, len(doc))
	}
	e.waitFor(t, "SELECT count() FROM events WHERE type = 'message.failed' AND JSONExtractString(raw, 'data', 'message_id') = 'b2b:"+o+"'", 1, 30*time.Second)
	// every dead letter was published to the topic, each small and with
	// the reference
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: strings.Split(e.brokers, ","), Topic: "deadletter", GroupID: "flood", StartOffset: kafkago.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	published, largest := 0, 0
	for published < 10000 {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("dead-letter topic: %d of 10000 records: %v", published, err)
		}
		if kafka.Header(&m, kafka.HeaderOriginalRef) != o || kafka.Header(&m, kafka.HeaderRawSize) != strconv.Itoa(len(doc)) {
			t.Fatalf("dead-letter record without the reference to %s or the whole's size", o)
		}
		published++
		largest = max(largest, len(m.Value))
	}
	if largest > 100 {
		t.Fatalf("a dead-letter record of %d bytes", largest)
	}
	peak := vmHWM(t, c.cmd.Process.Pid)
	t.Logf("collector peak RSS %d MB (before the document %d MB); dead-letter raw %d bytes for a %d-byte document", peak>>20, before>>20, total, len(doc))
	if peak > 1<<30 {
		t.Fatalf("collector peak RSS %d MB", peak>>20)
	}
	c.stop(t)
}

// ackControls returns the ISA13 and GS06 of the 997 answering a post.
func ackControls(t *testing.T, out map[string]any) (string, string) {
	t.Helper()
	acks, _ := out["acks"].([]any)
	if len(acks) != 1 {
		t.Fatalf("acks: %v", out["acks"])
	}
	body := acks[0].(map[string]any)["body"].(string)
	var isa13, gs06 string
	for _, seg := range strings.Split(body, "~") {
		el := strings.Split(strings.TrimSpace(seg), "*")
		switch el[0] {
		case "ISA":
			isa13 = el[13]
		case "GS":
			gs06 = el[6]
		}
	}
	return isa13, gs06
}

// TestB2BAckControlNumbersFollowThePartnerSequenceAcrossRestarts: the 997s
// sent to a partner are numbered 1, 2, 3 (ISA13 and GS06) from its sequence
// in Postgres, the same document sent twice included, and the numbering
// goes on after the collector restarts.
func TestB2BAckControlNumbersFollowThePartnerSequenceAcrossRestarts(t *testing.T) {
	e := newEnv(t)
	pgURL := pgtest.URL(t)
	c := e.startCollector(t, b2bEnvOn(pgURL)...)
	var got [][2]string
	post := func(c *collector) {
		status, out := postB2B(t, c.httpAddr, "x12-855-nodex12-1.edi")
		if status != 200 {
			t.Fatalf("status %d: %v", status, out)
		}
		isa13, gs06 := ackControls(t, out)
		got = append(got, [2]string{isa13, gs06})
	}
	post(c)
	post(c)
	c.stop(t)
	c = e.startCollector(t, b2bEnvOn(pgURL)...)
	post(c)
	c.stop(t)
	want := [][2]string{{"000000001", "1"}, {"000000002", "2"}, {"000000003", "3"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ISA13/GS06 = %v, want %v", got, want)
	}
}

// TestB2BDocumentsFromTheKafkaTopicTakeTheHTTPPath: raw documents produced
// to the raw-document topic are taken like POST /v1/b2b: a good 855 becomes
// events traced to its stored bytes with a 997 numbered from the partner's
// sequence, a bad 850 is dead-lettered per set with a reference to its
// stored original, and a record that is no document at all is
// dead-lettered and does not stop the documents after it. The topic is
// scoped to tenant acme: an interchange of another tenant's partner would
// be refused like an unknown sender.
func TestB2BDocumentsFromTheKafkaTopicTakeTheHTTPPath(t *testing.T) {
	e := newEnv(t)
	c := e.startCollector(t, append(b2bEnv(t), "SUPPLYWATCH_B2B_KAFKA_TOPIC=b2b-raw", "SUPPLYWATCH_B2B_KAFKA_TENANT=acme")...)
	read := func(name string) string {
		b, err := os.ReadFile("../b2b/testdata/samples/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(strings.Split(e.brokers, ",")...), Topic: "b2b-raw", BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafkago.RequireAll, AllowAutoTopicCreation: true}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx,
		kafkago.Message{Key: []byte("a"), Value: []byte("not a document \x00 at all")},
		kafkago.Message{Key: []byte("a"), Value: []byte(read("bad-x12-850-gozer-1.edi")), Headers: []kafkago.Header{{Key: "supplywatch-format", Value: []byte("x12")}}},
		kafkago.Message{Key: []byte("a"), Value: []byte(read("x12-855-nodex12-1.edi"))},
	); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "SELECT toUInt64(count() > 0) FROM events e JOIN documents d ON d.origin_id = e.origin_id WHERE e.channel = 'b2b' AND e.type = 'po.acknowledged'", 1, 60*time.Second)
	e.waitFor(t, "SELECT toUInt64(count() > 0) FROM rejected FINAL WHERE stage = 'b2b' AND tenant = 'acme' AND reason LIKE '%count 33 does not match 21 segments%' AND original_ref != '' AND original_ref IN (SELECT origin_id FROM documents)", 1, 30*time.Second)
	e.waitFor(t, "SELECT toUInt64(count() > 0) FROM rejected FINAL WHERE stage = 'b2b' AND tenant = 'acme' AND reason LIKE '%input is not X12%'", 1, 30*time.Second)
	// The 997 of the 855 over Kafka took number 1 of its partner's
	// sequence (the bad 850 is another partner's): the feed numbers from
	// the same sequence as HTTP.
	status, out := postB2B(t, c.httpAddr, "x12-855-nodex12-1.edi")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if isa13, _ := ackControls(t, out); isa13 != "000000002" {
		t.Fatalf("the 997 over HTTP after one over Kafka is number %s, want 000000002", isa13)
	}
	c.stop(t)
}

// TestB2BDocumentFailingDeterministicallyIsDeadLetteredNotRetried: when
// storing a document fails the same way every time (here ClickHouse refuses
// it by a constraint), the sender gets 422, not 503 "send it again", the
// document is in the dead letter whole (bounded, with the reason), and the
// collector goes on taking the documents the constraint allows.
func TestB2BDocumentFailingDeterministicallyIsDeadLetteredNotRetried(t *testing.T) {
	e := newEnv(t)
	c := e.startCollector(t, b2bEnv(t)...)
	if err := e.conn.Exec(context.Background(), "ALTER TABLE documents ADD CONSTRAINT small_only CHECK length(body) < 2000"); err != nil {
		t.Fatal(err)
	}
	big, err := os.ReadFile("../b2b/testdata/samples/x12-850-nodex12-1.edi")
	if err != nil {
		t.Fatal(err)
	}
	big = append(big, bytes.Repeat([]byte("\n"), 2000)...) // trailing blank lines: still the same 850
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.httpAddr+"/v1/b2b", bytes.NewReader(big))
	req.Header.Set("Authorization", "Bearer test-erp-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Error struct{ Message string } `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 422 || !strings.Contains(out.Error.Message, "do not send it again unchanged") || !strings.Contains(out.Error.Message, "constraint") {
		t.Fatalf("status %d: %q", resp.StatusCode, out.Error.Message)
	}
	e.waitFor(t, fmt.Sprintf("SELECT count() FROM rejected FINAL WHERE stage = 'b2b' AND tenant = 'acme' AND startsWith(input_id, 'b2b:http/') AND raw_size = %d", len(big)), 1, 30*time.Second)
	if status, out := postB2B(t, c.httpAddr, "x12-855-nodex12-1.edi"); status != 200 {
		t.Fatalf("the next document: status %d %v", status, out)
	}
	c.stop(t)
}
