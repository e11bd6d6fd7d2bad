package console_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/supplywatch/supplywatch/console"
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
