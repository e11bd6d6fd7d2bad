// Package schema publishes the JSON Schema (draft 2020-12) of the canonical
// event envelope and of every event type, generated from the procure types.
// The generated files are committed under this directory (go generate) and
// served by the API; a test keeps them in step with the Go types.
//
// The schemas describe the shape; procure.Decode remains the authority on
// validity (cross-field rules such as "a changed line proposes something").
package schema

//go:generate go run ./gen

import (
	"embed"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/invopop/jsonschema"
	"github.com/supplywatch/supplywatch/procure"
)

//go:embed *.schema.json
var files embed.FS

// File returns the committed schema file name ("envelope" or an event type).
func File(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".schema.json")
	if err != nil {
		return nil, procure.Errorf(procure.ENOTFOUND, "no schema %q", name)
	}
	return b, nil
}

// Names lists the published schemas: "envelope" and every event type.
func Names() []string {
	names := []string{"envelope"}
	for _, t := range procure.Types() {
		names = append(names, string(t))
	}
	return names
}

func reflector() *jsonschema.Reflector {
	return &jsonschema.Reflector{
		ExpandedStruct: true,
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			switch t {
			case reflect.TypeFor[procure.Date]():
				return &jsonschema.Schema{Type: "string", Format: "date"}
			case reflect.TypeFor[time.Time]():
				return &jsonschema.Schema{Type: "string", Format: "date-time"}
			}
			return nil
		},
	}
}

// Generate returns the schema named name, as Names lists them.
func Generate(name string) ([]byte, error) {
	r := reflector()
	s := r.Reflect(&procure.Event{})
	s.ID = jsonschema.ID("https://supplywatch.dev/schema/" + name + ".schema.json")
	s.Properties.Delete("Payload")
	typeProp, _ := s.Properties.Get("type")
	srcProp, _ := s.Properties.Get("source")
	for _, src := range procure.Sources {
		srcProp.Enum = append(srcProp.Enum, string(src))
	}
	docProp, _ := s.Properties.Get("document")
	docSchema := docProp
	if docProp.Ref != "" {
		docSchema = s.Definitions["DocumentRef"]
	}
	if name == "envelope" {
		s.Title = "supplywatch canonical event envelope"
		for _, t := range procure.Types() {
			typeProp.Enum = append(typeProp.Enum, string(t))
		}
		dataProp, _ := s.Properties.Get("data")
		*dataProp = jsonschema.Schema{Type: "object", Description: "type-specific payload; see the schema of the event type"}
	} else {
		t := procure.Type(name)
		p := procure.NewPayload(t)
		if p == nil {
			return nil, fmt.Errorf("unknown event type %q", name)
		}
		s.Title = "supplywatch event " + name
		typeProp.Const = name
		if docSchema != nil {
			if kind, ok := docSchema.Properties.Get("kind"); ok {
				kind.Const = string(procure.DocumentKindOf(t))
			}
		}
		ps := r.Reflect(p)
		dataProp, _ := s.Properties.Get("data")
		*dataProp = *ps
		dataProp.Version = ""
		dataProp.ID = ""
		for k, v := range ps.Definitions {
			if s.Definitions == nil {
				s.Definitions = jsonschema.Definitions{}
			}
			s.Definitions[k] = v
		}
		dataProp.Definitions = nil
	}
	s.Required = []string{"id", "type", "source", "tenant", "occurred_at", "document", "data"}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
