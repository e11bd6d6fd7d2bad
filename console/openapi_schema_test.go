package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/kpi"
	"github.com/supplywatch/supplywatch/procure"
)

// answerSchemas checks answers against the response schemas of the OpenAPI
// document, the document the web app's types are generated from (npm run
// gen in console/web): an answer that the document does not describe fails
// here, a use of a field the document lacks fails the web app's typecheck.
type answerSchemas struct {
	c     *jsonschema.Compiler
	paths map[string]map[string]any // "/api/x/{id}" → method → operation
	cache map[string]*jsonschema.Schema
}

// newAnswerSchemas reads console.OpenAPI() and turns its OpenAPI 3.0
// schemas into JSON Schema (2020-12): nullable becomes a "null" type, and
// an object that lists its properties and says nothing of others is
// closed (additionalProperties: false), so a field the handlers answer but
// the document does not name is a failure, not a silent extra.
func newAnswerSchemas(t testing.TB) *answerSchemas {
	t.Helper()
	b, err := console.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	toJSONSchema(doc["paths"])
	toJSONSchema(doc["components"])
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	s := &answerSchemas{c: c, paths: map[string]map[string]any{}, cache: map[string]*jsonschema.Schema{}}
	for p, ops := range doc["paths"].(map[string]any) {
		s.paths[p] = ops.(map[string]any)
	}
	return s
}

// toJSONSchema rewrites the OpenAPI 3.0 schema objects under v in place.
func toJSONSchema(v any) {
	switch x := v.(type) {
	case map[string]any:
		for _, it := range x {
			toJSONSchema(it)
		}
		if n, _ := x["nullable"].(bool); n {
			delete(x, "nullable")
			if t, ok := x["type"].(string); ok {
				x["type"] = []any{t, "null"}
			}
			if e, ok := x["enum"].([]any); ok {
				x["enum"] = append(e, nil)
			}
		}
		if _, ok := x["properties"].(map[string]any); ok {
			if _, set := x["additionalProperties"]; !set {
				x["additionalProperties"] = false
			}
		}
	case []any:
		for _, it := range x {
			toJSONSchema(it)
		}
	}
}

// check validates body, the 200 answer of method on route (a gin route:
// /api/exceptions/:id), against the document's schema of that answer.
func (s *answerSchemas) check(method, route string, body []byte) error {
	segs := strings.Split(route, "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, ":") {
			segs[i] = "{" + seg[1:] + "}"
		}
	}
	p := strings.Join(segs, "/")
	op, ok := s.paths[p][strings.ToLower(method)].(map[string]any)
	if !ok {
		return fmt.Errorf("%s %s is not in the document", method, p)
	}
	ptr := "openapi.json#/paths/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(p) + "/" + strings.ToLower(method) + "/responses/200/content/application~1json/schema"
	if _, ok := op["responses"].(map[string]any)["200"]; !ok {
		return fmt.Errorf("%s %s documents no 200 answer", method, p)
	}
	sch, ok := s.cache[ptr]
	if !ok {
		var err error
		if sch, err = s.c.Compile(ptr); err != nil {
			return fmt.Errorf("schema of %s %s: %w", method, p, err)
		}
		s.cache[ptr] = sch
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// TestAnswerSchemasFailOnWhatTheDocumentDoesNotSay proves the check can
// fail: a field the document does not name, a missing required field, a
// wrong type and a null where none is allowed are each refused, and a null
// where the document allows one is accepted.
func TestAnswerSchemasFailOnWhatTheDocumentDoesNotSay(t *testing.T) {
	s := newAnswerSchemas(t)
	view := `{"id":1,"name":"mine","query":"assignee=me","created_at":"2026-01-02T03:04:05Z"}`
	if err := s.check("GET", "/api/views", []byte(`{"views":[`+view+`]}`)); err != nil {
		t.Fatalf("a view as the document says: %v", err)
	}
	for name, body := range map[string]string{
		"unknown field":    `{"views":[` + strings.Replace(view, `"id":1`, `"id":1,"colour":"red"`, 1) + `]}`,
		"missing required": `{"views":[` + strings.Replace(view, `"name":"mine",`, ``, 1) + `]}`,
		"wrong type":       `{"views":[` + strings.Replace(view, `"id":1`, `"id":"1"`, 1) + `]}`,
		"null not allowed": `{"views":[` + strings.Replace(view, `"query":"assignee=me"`, `"query":null`, 1) + `]}`,
	} {
		if err := s.check("GET", "/api/views", []byte(body)); err == nil {
			t.Errorf("%s: accepted %s", name, body)
		}
	}
	tok := `{"tokens":[{"id":1,"tenant":"t","name":"n","user_id":2,"created_by":"a","created_at":"2026-01-02T03:04:05Z","expires_at":null,"last_used_at":null,"revoked":false}]}`
	if err := s.check("GET", "/api/tokens", []byte(tok)); err != nil {
		t.Errorf("nullable times as null: %v", err)
	}
	if err := s.check("GET", "/api/nothing/:id", []byte(`{}`)); err == nil {
		t.Error("an undocumented route passed")
	}
}

// TestKPIAnswersMatchTheOpenAPIDocument calls every route of the KPI API
// (package kpi, served beside the console and documented in the same
// document) for every KPI of the catalog over the fixture's rollup, as JSON,
// and checks each answer against its schema.
func TestKPIAnswersMatchTheOpenAPIDocument(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	kcfg := kpi.Config{}
	kcfg.Defaults()
	x := procure.Exception{ID: e.ids["ack-missing-3"], Tenant: tenant, Rule: "po-not-acknowledged", Kind: procure.KindSLA, Severity: procure.SeverityHigh,
		Team: "procurement", Plant: "P01", Supplier: "S2", PO: "4500000003", FirstSeen: e.now.Add(-5 * time.Hour)}
	opened, acked := x, x
	opened.State, acked.State = procure.ExceptionOpen, procure.ExceptionAcknowledged
	if err := kpi.NewMirror(e.ch, e.chdb, nil, kcfg, slog.New(slog.DiscardHandler)).Insert(ctx, []*procure.OutboxEvent{
		{ID: 1, Tenant: tenant, Kind: procure.OutboxOpened, At: x.FirstSeen, Exception: &opened},
		{ID: 2, Tenant: tenant, Kind: procure.OutboxAcknowledged, At: x.FirstSeen.Add(2 * time.Hour), Exception: &acked},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := kpi.NewRefresher(e.ch, e.chdb, kcfg, slog.New(slog.DiscardHandler), nil).RefreshAll(ctx, time.Now()); err != nil {
		t.Fatalf("kpi refresh: %v", err)
	}
	r := gin.New()
	kpi.NewHandler(kpi.NewQuerier(e.ch, e.chdb, kcfg, nil), kpi.HandlerOptions{Tenant: func(*gin.Context) string { return tenant }}).Register(r)
	srv := httptest.NewServer(r)
	defer srv.Close()
	s := newAnswerSchemas(t)
	span := "from=" + e.now.AddDate(0, 0, -30).Format(time.DateOnly) + "&to=" + e.now.AddDate(0, 0, 2).Format(time.DateOnly)
	calls := [][2]string{{"/api/kpi/catalog", ""}, {"/api/kpi/values", span}, {"/api/kpi/values", span + "&plant=P01"}, {"/api/kpi/ops", "window=720h"}}
	for _, d := range kpi.Catalog {
		for _, q := range []string{"&bucket=week", "&bucket=month&supplier=S1"} {
			calls = append(calls, [2]string{"/api/kpi/trend", span + "&kpi=" + d.ID + q})
		}
		for _, by := range []string{"plant", "supplier", "category"} {
			calls = append(calls, [2]string{"/api/kpi/breakdown", span + "&kpi=" + d.ID + "&by=" + by})
		}
		calls = append(calls, [2]string{"/api/kpi/documents", span + "&kpi=" + d.ID + "&limit=50"})
	}
	checked, nonEmpty := 0, 0
	for _, c := range calls {
		res, err := http.Get(srv.URL + c[0] + "?" + c[1])
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 400 && strings.Contains(c[0], "/breakdown") || res.StatusCode == 400 && strings.Contains(string(b), "unknown kpi") {
			continue // a KPI without that breakdown or trend (digital_suppliers, categories)
		}
		if res.StatusCode != 200 {
			t.Errorf("GET %s?%s: %d %.300s", c[0], c[1], res.StatusCode, b)
			continue
		}
		if err := s.check("GET", c[0], b); err != nil {
			t.Errorf("GET %s?%s: the answer does not match openapi.yaml: %v\n%.600s", c[0], c[1], err, b)
		}
		checked++
		if len(b) > 2 && string(b) != "null" && !strings.Contains(string(b), `"rows":null`) {
			nonEmpty++
		}
	}
	if checked < len(calls)/2 || nonEmpty < 10 {
		t.Errorf("only %d answers checked, %d with figures", checked, nonEmpty)
	}
	t.Logf("%d KPI answers checked, %d with figures", checked, nonEmpty)
}
