package schema

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func TestCommittedSchemasMatchTheGoTypes(t *testing.T) {
	for _, n := range Names() {
		want, err := Generate(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		got, err := File(n)
		if err != nil {
			t.Fatalf("%s: %v (run go generate ./procure/schema)", n, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s.schema.json is stale: run go generate ./procure/schema", n)
		}
	}
}

func TestValidEventsPassAndBadOnesFailTheSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	for _, n := range []string{"envelope", "po.released"} {
		b, _ := File(n)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(n+".json", doc); err != nil {
			t.Fatal(err)
		}
	}
	fixture, err := os.ReadFile("../testdata/po_released.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"envelope", "po.released"} {
		sch, err := c.Compile(n + ".json")
		if err != nil {
			t.Fatalf("compile %s: %v", n, err)
		}
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(fixture))
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s rejects a valid event: %v", n, err)
		}
		bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(strings.Replace(string(fixture), `"source":"erp"`, `"source":"fax"`, 1)))
		if err := sch.Validate(bad); err == nil {
			t.Errorf("%s accepts source fax", n)
		}
	}
	sch, _ := c.Compile("po.released.json")
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(strings.Replace(string(fixture), `"item":"M-100"`, `"item":"M-100","colour":"red"`, 1)))
	if err := sch.Validate(bad); err == nil {
		t.Error("po.released accepts an unknown line field")
	}
}
