package collector_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/kafka"
	"github.com/supplywatch/supplywatch/procure"
)

// The wedge of issue 9: an event of 1.2 MB is rejected, and its dead letter
// must neither exceed the broker's 1 MB message limit nor stop the events
// after it.
func TestOversizedEventIsDeadLetteredBoundedAndIngestGoesOn(t *testing.T) {
	e := newIngestEnv(t, collector.IngestConfig{Tokens: tokens})
	big := strings.Replace(ev("big-1", "acme"), `"duplicate order"`, `"`+strings.Repeat("x", 1200<<10)+`"`, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, out, raw := e.post(t, "erp-secret-token", []byte("["+big+","+ev("after-1", "acme")+"]"))
	if resp.StatusCode != 200 || out.Rejected != 1 || out.Accepted != 1 {
		t.Fatalf("status %d: %.300s", resp.StatusCode, raw)
	}
	if r := out.Results[0]; !strings.Contains(r.Reason, "more than the limit") {
		t.Errorf("the rejection does not name the size limit: %+v", r)
	}
	var (
		size           uint64
		rawLen         uint64
		sha, stage, id string
		sender         string
	)
	if err := e.store.Conn().QueryRow(ctx, "SELECT raw_size, length(raw), raw_sha256, stage, event_id, sender FROM "+e.store.Database()+".rejected").
		Scan(&size, &rawLen, &sha, &stage, &id, &sender); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(big))
	if size != uint64(len(big)) || rawLen != procure.MaxDeadLetterRaw || sha != hex.EncodeToString(sum[:]) || stage != procure.StageIngest || id != "big-1" {
		t.Errorf("dead letter row: raw_size %d (want %d), raw %d bytes, sha %s, stage %q, event %q", size, len(big), rawLen, sha, stage, id)
	}
	if sender != "erp" { // the token it came with, for the redrive's re-check
		t.Errorf("dead letter row names sender %q, want the token erp", sender)
	}
	// The dead-letter topic holds the same bounded record.
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: e.kcfg.Brokers, Topic: "deadletter", GroupID: "t", StartOffset: kafkago.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	m, err := r.ReadMessage(ctx)
	if err != nil {
		t.Fatalf("no dead-letter record: %v", err)
	}
	if kafka.Header(&m, kafka.HeaderRawSHA256) != sha || len(m.Value) != procure.MaxDeadLetterRaw || kafka.Header(&m, kafka.HeaderRawSize) != strconv.Itoa(len(big)) {
		t.Errorf("dead-letter record: %d bytes, raw-size header %q, sha %q", len(m.Value), kafka.Header(&m, kafka.HeaderRawSize), kafka.Header(&m, kafka.HeaderRawSHA256))
	}
}
