package collector_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/collector/otlp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// poisonEnv is the collector with every ingest path it serves: the Kafka
// consumer, POST /v1/events and POST /v1/traces, over one Writer, one
// ClickHouse database and one broker.
type poisonEnv struct {
	*pipeline
	url string
}

// poisonInput is one input of the corpus.
type poisonInput struct {
	name string
	body []byte
}

// poisonPath sends one poison input through one ingest path and reports
// what it saw; an error fails the test (a 5xx, a hang, a dropped
// connection). Paths of other packages (B2B over HTTP, the drop folder)
// add themselves here.
type poisonPath struct {
	name  string
	kinds string // the corpus files it takes: "event" or "otlp"
	send  func(t *testing.T, e *poisonEnv, in poisonInput) error
}

// errNotTaken is a path's answer for an input refused before it reached
// the collector.
var errNotTaken = errors.New("not taken by the transport")

var poisonPaths = []poisonPath{
	{"kafka", "event", func(t *testing.T, e *poisonEnv, in poisonInput) error {
		err := e.producer(t).WriteMessages(context.Background(), kafkago.Message{Key: []byte(in.name), Value: in.body})
		if errors.Is(err, kafkago.MessageSizeTooLarge) {
			return errNotTaken // the broker refuses it to the producer: it never reaches the collector
		}
		return err
	}},
	{"http events", "event", func(t *testing.T, e *poisonEnv, in poisonInput) error {
		for _, body := range [][]byte{in.body, append(append([]byte("["), in.body...), ']')} {
			if err := e.postExpect(t, "/v1/events", "application/json", "", body, 200, 400, 413); err != nil {
				return err
			}
		}
		return nil
	}},
	{"otlp protobuf", "otlp", func(t *testing.T, e *poisonEnv, in poisonInput) error {
		return e.postOTLP(t, otlp.ContentTypeProtobuf, in.body)
	}},
	{"otlp json", "otlp", func(t *testing.T, e *poisonEnv, in poisonInput) error {
		return e.postOTLP(t, otlp.ContentTypeJSON, in.body)
	}},
}

func (e *poisonEnv) postOTLP(t *testing.T, ct string, body []byte) error {
	enc := ""
	if bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		enc = "gzip"
	}
	return e.postExpect(t, otlp.Path, ct, enc, body, 200, 400, 413)
}

// postExpect posts body and requires one of the statuses within 30 s.
func (e *poisonEnv) postExpect(t *testing.T, path, ct, enc string, body []byte, ok ...int) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.url+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer erp-secret-token")
	req.Header.Set("Content-Type", ct)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	for _, s := range ok {
		if resp.StatusCode == s {
			if s != 200 && len(msg) == 0 {
				return fmt.Errorf("status %d without a reason", s)
			}
			return nil
		}
	}
	return fmt.Errorf("status %d: %.300s", resp.StatusCode, msg)
}

func newPoisonEnv(t *testing.T) *poisonEnv {
	t.Helper()
	p := newPipeline(t, collector.WriterConfig{FlushInterval: 20 * time.Millisecond}, "")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := collector.NewMetrics(nil)
	in, err := collector.NewIngest(collector.IngestConfig{Tokens: tokens}, p.store, p.pub, p.writer, log, m)
	if err != nil {
		t.Fatal(err)
	}
	traces, err := otlp.New(otlp.Config{}, in.OTLPAuthenticator(), p.writer, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	in.Register(r)
	r.POST(otlp.Path, gin.WrapH(traces))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &poisonEnv{pipeline: p, url: srv.URL}
}

// poisonCorpus is the files of testdata/poison and the generated cases.
func poisonCorpus(t *testing.T, kind string) []poisonInput {
	t.Helper()
	files, err := filepath.Glob("testdata/poison/" + kind + "-*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s corpus: %v", kind, err)
	}
	var out []poisonInput
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, poisonInput{filepath.Base(f), b})
	}
	bomb := gzipOf(bytes.Repeat([]byte{0}, 80<<20)) // 80 MiB of zeros in ~80 KiB
	switch kind {
	case "b2b":
		out = append(out, b2bGenerated()...)
	case "event":
		out = append(out,
			poisonInput{"oversized (1.2 MB)", []byte(strings.Replace(ev("p-big", "acme"), `"duplicate order"`, `"`+strings.Repeat("x", 1200<<10)+`"`, 1))},
		)
	case "otlp":
		good := poisonTraces(1, 0)
		pb, _ := ptraceotlp.NewExportRequestFromTraces(good).MarshalProto()
		js, _ := ptraceotlp.NewExportRequestFromTraces(good).MarshalJSON()
		events, _ := ptraceotlp.NewExportRequestFromTraces(poisonTraces(1, 200000)).MarshalProto()
		badIDs := poisonTraces(3, 0)
		badIDs.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetSpanID(pcommon.SpanID{})
		ids, _ := ptraceotlp.NewExportRequestFromTraces(badIDs).MarshalProto()
		// A span name of invalid UTF-8: field 5 of a span, written by hand.
		badName := bytes.Replace(pb, []byte("poison-span"), []byte("poison\xff\xfe\xfd"), 1)
		out = append(out,
			poisonInput{"truncated protobuf", pb[:len(pb)/2]},
			poisonInput{"truncated json", js[:len(js)/2]},
			poisonInput{"gzip bomb", bomb},
			poisonInput{"200,000 empty span events", events},
			poisonInput{"span with a zero id", ids},
			poisonInput{"span name not UTF-8", badName},
			poisonInput{"not a message at all", []byte("\xff\xff\xff\xff\xff\xff")},
		)
	}
	return out
}

func poisonTraces(spans, events int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "poison")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := range spans {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{0xa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(i + 1)})
		s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(i + 1)})
		s.SetName("poison-span")
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(time.Millisecond)))
		for range events {
			s.Events().AppendEmpty()
		}
	}
	return td
}

// Issue 9 item 8: the poison corpus through every ingest path in one test;
// afterwards a known good event (by Kafka and by HTTP) and a good span are
// stored within seconds, and every poison Kafka record is in the dead
// letter with its reason.
func TestPoisonCorpusThroughEveryPathThenGoodInputIsStored(t *testing.T) {
	t.Parallel()
	e := newPoisonEnv(t)
	kafkaRecords := 0
	for _, path := range poisonPaths {
		for _, in := range poisonCorpus(t, path.kinds) {
			err := path.send(t, e, in)
			switch {
			case errors.Is(err, errNotTaken):
				continue
			case err != nil:
				t.Errorf("%s, %s: %v", path.name, in.name, err)
			}
			if path.name == "kafka" {
				kafkaRecords++
			}
		}
	}
	// The good inputs, after all of the poison.
	start := time.Now()
	ctx := context.Background()
	if err := e.producer(t).WriteMessages(ctx, evMsg("good-kafka")); err != nil {
		t.Fatal(err)
	}
	if err := e.postExpect(t, "/v1/events", "application/json", "", []byte("["+ev("good-http", "acme")+"]"), 200); err != nil {
		t.Fatal(err)
	}
	good, _ := ptraceotlp.NewExportRequestFromTraces(poisonTraces(1, 0)).MarshalProto()
	if err := e.postExpect(t, otlp.Path, otlp.ContentTypeProtobuf, "", good, 200); err != nil {
		t.Fatal(err)
	}
	db := e.direct.Database()
	waitFor(t, 30*time.Second, "the good events stored after the corpus", func() bool {
		var n uint64
		e.direct.Conn().QueryRow(ctx, "SELECT count() FROM "+db+".events WHERE id IN ('good-kafka', 'good-http')").Scan(&n)
		return n == 2
	})
	var spans uint64
	if err := e.direct.Conn().QueryRow(ctx, "SELECT count() FROM "+db+".spans_v2 WHERE name = 'poison-span'").Scan(&spans); err != nil || spans == 0 {
		t.Errorf("the good span is not stored (%d, %v)", spans, err)
	}
	t.Logf("good inputs stored %s after the corpus", time.Since(start).Round(10*time.Millisecond))
	// Every poison Kafka record is a dead letter with a reason, bounded.
	waitFor(t, 30*time.Second, "the poison Kafka records dead-lettered", func() bool {
		var n uint64
		e.direct.Conn().QueryRow(ctx, "SELECT count() FROM "+db+".rejected FINAL WHERE channel = 'kafka' AND reason != '' AND length(raw) <= 262144").Scan(&n)
		return n == uint64(kafkaRecords)
	})
	var stored uint64
	e.direct.Conn().QueryRow(ctx, "SELECT count() FROM "+db+".events WHERE id LIKE 'p-%'").Scan(&stored)
	if stored != 0 {
		t.Errorf("%d poison events were stored as events", stored)
	}
}
