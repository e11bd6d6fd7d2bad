package partner

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/supplywatch/supplywatch/procure"
)

// File is the YAML document of partner profiles.
type File struct {
	// Fallback names the profile used for senders that no profile
	// identifies. Empty (the default) rejects unknown senders.
	Fallback string     `yaml:"fallback"`
	Partners []*Profile `yaml:"partners"`
}

// LoadError is a refused profile file: file, line and reason.
type LoadError struct {
	File   string
	Line   int
	Reason string
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Reason)
}

// Registry finds a partner by the ids of an envelope. It is immutable after
// Load and safe for concurrent use.
type Registry struct {
	byID     map[string]*Profile
	x12      map[string]*Profile // qualifier:id and bare id
	edifact  map[string]*Profile
	cxml     map[string]*Profile // lower(domain):identity
	fallback *Profile
}

// LookupEnv resolves an environment variable (os.LookupEnv in production, a
// map in tests).
type LookupEnv func(name string) (string, bool)

// LoadFile reads and validates a profile file.
func LoadFile(path string, env LookupEnv) (*Registry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &LoadError{File: path, Reason: err.Error()}
	}
	return Load(path, b, env)
}

// Load decodes data (named name in errors) strictly and validates every
// profile. The first problem is returned as a *LoadError.
func Load(name string, data []byte, env LookupEnv) (*Registry, error) {
	if env == nil {
		env = os.LookupEnv
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, yamlError(name, err)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	l := liner{root: &root}
	r := &Registry{byID: map[string]*Profile{}, x12: map[string]*Profile{}, edifact: map[string]*Profile{}, cxml: map[string]*Profile{}}
	fail := func(i int, reason string, keys ...string) error {
		return &LoadError{File: name, Line: l.line(i, keys...), Reason: reason}
	}
	if len(f.Partners) == 0 {
		return nil, &LoadError{File: name, Reason: "no partners"}
	}
	for i, p := range f.Partners {
		if p == nil {
			return nil, fail(i, "empty partner")
		}
		if field, reason := p.validate(env); reason != "" {
			if p.ID != "" {
				reason = fmt.Sprintf("partner %s: %s", p.ID, reason)
			}
			return nil, fail(i, reason, strings.Split(field, ".")...)
		}
		if _, dup := r.byID[p.ID]; dup {
			return nil, fail(i, fmt.Sprintf("partner id %s appears twice", p.ID), "id")
		}
		r.byID[p.ID] = p
		if p.X12 != nil {
			for _, id := range p.X12.Interchange {
				if q := r.x12[id.String()]; q != nil {
					return nil, fail(i, fmt.Sprintf("partner %s: X12 id %s is already partner %s's", p.ID, id, q.ID), "x12", "interchange")
				}
				r.x12[id.String()] = p
			}
		}
		if p.EDIFACT != nil {
			for _, id := range p.EDIFACT.Interchange {
				if q := r.edifact[id.String()]; q != nil {
					return nil, fail(i, fmt.Sprintf("partner %s: EDIFACT id %s is already partner %s's", p.ID, id, q.ID), "edifact", "interchange")
				}
				r.edifact[id.String()] = p
			}
		}
		if p.CXML != nil {
			for _, c := range p.CXML.Credentials {
				k := strings.ToLower(c.Domain) + ":" + c.Identity
				if q := r.cxml[k]; q != nil {
					return nil, fail(i, fmt.Sprintf("partner %s: cXML credential %s:%s is already partner %s's", p.ID, c.Domain, c.Identity, q.ID), "cxml", "credentials")
				}
				r.cxml[k] = p
			}
		}
	}
	if f.Fallback != "" {
		if r.fallback = r.byID[f.Fallback]; r.fallback == nil {
			return nil, &LoadError{File: name, Line: l.key("fallback"), Reason: fmt.Sprintf("fallback partner %s is not defined", f.Fallback)}
		}
	}
	return r, nil
}

// ByID returns the profile with the given id, or nil.
func (r *Registry) ByID(id string) *Profile { return r.byID[id] }

// Partners returns every profile, sorted by id.
func (r *Registry) Partners() []*Profile {
	out := make([]*Profile, 0, len(r.byID))
	for _, p := range r.byID {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Profile) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// AckSLAs returns the functional-acknowledgement SLA of every partner that
// sets one, by partner id (for rules.Evaluator.SetPartnerAckSLAs).
func (r *Registry) AckSLAs() map[string]time.Duration {
	m := map[string]time.Duration{}
	for _, p := range r.Partners() {
		if p.FunctionalAckSLA > 0 {
			m[p.ID] = p.FunctionalAckSLA
		}
	}
	return m
}

// ForX12 finds the partner of an ISA sender (ISA05 qualifier, ISA06 id), or
// the fallback, or nil.
func (r *Registry) ForX12(qualifier, id string) *Profile {
	id = strings.TrimSpace(id)
	if p := r.x12[qualifier+":"+id]; p != nil {
		return p
	}
	if p := r.x12[id]; p != nil {
		return p
	}
	return r.fallback
}

// ForEDIFACT finds the partner of a UNB sender (id, code qualifier).
func (r *Registry) ForEDIFACT(qualifier, id string) *Profile {
	if p := r.edifact[qualifier+":"+id]; p != nil && qualifier != "" {
		return p
	}
	if p := r.edifact[id]; p != nil {
		return p
	}
	return r.fallback
}

// ForCXML finds the partner of the first From credential that a profile
// lists (domains compare case-insensitively).
func (r *Registry) ForCXML(creds []Credential) *Profile {
	for _, c := range creds {
		if p := r.cxml[strings.ToLower(c.Domain)+":"+strings.TrimSpace(c.Identity)]; p != nil {
			return p
		}
	}
	return r.fallback
}

var (
	idRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	envRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// validate returns the dotted yaml field at fault and the reason, or "".
func (p *Profile) validate(env LookupEnv) (field, reason string) {
	switch {
	case p.ID == "":
		return "id", "id is required"
	case !idRE.MatchString(p.ID):
		return "id", fmt.Sprintf("id %q must be lowercase letters, digits, '.', '-' or '_'", p.ID)
	case p.Tenant == "":
		return "tenant", "tenant is required"
	case !procure.ValidTenant(p.Tenant):
		return "tenant", fmt.Sprintf("tenant %q must be lowercase letters, digits, '-' or '_'", p.Tenant)
	case p.Supplier == "":
		return "supplier", "supplier is required (the canonical supplier code of the partner)"
	case p.X12 == nil && p.EDIFACT == nil && p.CXML == nil:
		return "id", "no identifiers: give x12, edifact or cxml"
	}
	if p.Source == "" {
		p.Source = string(procure.SourceEDI)
	}
	if !slices.Contains(procure.Sources, procure.Source(p.Source)) {
		return "source", fmt.Sprintf("source %q is not one of %v", p.Source, procure.Sources)
	}
	if p.FunctionalAckSLA < 0 || p.FunctionalAckSLA > 30*24*time.Hour {
		return "functional_ack_sla", fmt.Sprintf("functional_ack_sla %s must be between 0 and 720h", p.FunctionalAckSLA)
	}
	if p.TimeZone != "" {
		loc, err := time.LoadLocation(p.TimeZone)
		if err != nil {
			return "time_zone", fmt.Sprintf("time_zone %q is not an IANA time zone", p.TimeZone)
		}
		p.loc = loc
	}
	if p.Currency != "" && !procure.KnownCurrency(p.Currency) {
		return "currency", fmt.Sprintf("currency %q is not an ISO 4217 code supplywatch knows", p.Currency)
	}
	if p.TransitDays < 0 || p.TransitDays > 365 {
		return "transit_days", fmt.Sprintf("transit_days %d is not 0 to 365", p.TransitDays)
	}
	if p.DefaultUnit != "" && !procure.KnownUnit(p.DefaultUnit) {
		return "default_unit", fmt.Sprintf("default_unit %q is not a UN/ECE Rec 20 code supplywatch knows", p.DefaultUnit)
	}
	if x := p.X12; x != nil {
		if len(x.Interchange) == 0 {
			return "x12.interchange", "x12.interchange needs at least one ISA sender id"
		}
		for _, id := range x.Interchange {
			if strings.TrimSpace(id.ID) == "" || len(id.ID) > 15 || len(id.Qualifier) > 2 {
				return "x12.interchange", fmt.Sprintf("x12 id %q (qualifier %q) must be 1-15 characters with a qualifier of at most 2", id.ID, id.Qualifier)
			}
		}
		if !slices.Contains([]string{"", "997", "999", "none"}, x.Ack) {
			return "x12.ack", fmt.Sprintf("x12.ack %q is not 997, 999 or none", x.Ack)
		}
		if !slices.Contains([]string{"", "824", "none"}, x.ApplicationAdvice) {
			return "x12.application_advice", fmt.Sprintf("x12.application_advice %q is not 824 or none", x.ApplicationAdvice)
		}
	}
	if e := p.EDIFACT; e != nil {
		if len(e.Interchange) == 0 {
			return "edifact.interchange", "edifact.interchange needs at least one UNB sender id"
		}
		for _, id := range e.Interchange {
			if strings.TrimSpace(id.ID) == "" || len(id.ID) > 35 || len(id.Qualifier) > 4 {
				return "edifact.interchange", fmt.Sprintf("edifact id %q (qualifier %q) must be 1-35 characters with a qualifier of at most 4", id.ID, id.Qualifier)
			}
		}
		for _, v := range e.Versions {
			if !strings.Contains(v, ":") {
				return "edifact.versions", fmt.Sprintf("edifact version %q must be version:release (D:96A)", v)
			}
		}
		if !slices.Contains([]string{"", "contrl", "none"}, e.Ack) {
			return "edifact.ack", fmt.Sprintf("edifact.ack %q is not contrl or none", e.Ack)
		}
		if !slices.Contains([]string{"", "aperak", "none"}, e.ApplicationAdvice) {
			return "edifact.application_advice", fmt.Sprintf("edifact.application_advice %q is not aperak or none", e.ApplicationAdvice)
		}
	}
	if c := p.CXML; c != nil {
		if len(c.Credentials) == 0 {
			return "cxml.credentials", "cxml.credentials needs at least one From credential"
		}
		for _, cr := range c.Credentials {
			if cr.Domain == "" || cr.Identity == "" {
				return "cxml.credentials", "a cxml credential needs domain and identity"
			}
		}
		if c.SharedSecretEnv != "" {
			if !envRE.MatchString(c.SharedSecretEnv) {
				return "cxml.shared_secret_env", fmt.Sprintf("shared_secret_env %q is not an environment variable name", c.SharedSecretEnv)
			}
			v, ok := env(c.SharedSecretEnv)
			if !ok || v == "" {
				return "cxml.shared_secret_env", fmt.Sprintf("shared_secret_env %s is not set", c.SharedSecretEnv)
			}
			c.secret = Secret{v: []byte(v)}
		}
	}
	return p.Codes.validate()
}

var standards = []Standard{X12, EDIFACT, CXML}

func (c *Codes) validate() (field, reason string) {
	for std, m := range c.Units {
		if !slices.Contains(standards, std) {
			return "codes.units", fmt.Sprintf("codes.units: %q is not x12, edifact or cxml", std)
		}
		for from, to := range m {
			if !procure.KnownUnit(to) {
				return "codes.units", fmt.Sprintf("codes.units.%s: %s maps to %q, not a UN/ECE Rec 20 code supplywatch knows", std, from, to)
			}
		}
	}
	for from, to := range c.Currencies {
		if !procure.KnownCurrency(to) {
			return "codes.currencies", fmt.Sprintf("codes.currencies: %s maps to %q, not an ISO 4217 code supplywatch knows", from, to)
		}
	}
	if c.IncotermsEdition != "" && !slices.Contains([]string{"2020", "2010", "2000"}, c.IncotermsEdition) {
		return "codes.incoterms_edition", fmt.Sprintf("codes.incoterms_edition %q is not 2020, 2010 or 2000", c.IncotermsEdition)
	}
	for from, t := range c.Incoterms {
		if t.Edition == "" {
			return "codes.incoterms", fmt.Sprintf("codes.incoterms: %s needs an edition", from)
		}
		if !procure.KnownIncoterm(t.Code, t.Edition) {
			return "codes.incoterms", fmt.Sprintf("codes.incoterms: %s maps to %s, not an Incoterm of edition %s", from, t.Code, t.Edition)
		}
	}
	for std := range c.ProductQualifiers {
		if !slices.Contains(standards, std) {
			return "codes.product_qualifiers", fmt.Sprintf("codes.product_qualifiers: %q is not x12, edifact or cxml", std)
		}
	}
	for from, to := range c.ShipTo {
		if strings.TrimSpace(to) == "" {
			return "codes.ship_to", fmt.Sprintf("codes.ship_to: %s maps to an empty plant", from)
		}
	}
	for from, to := range c.Parties {
		if strings.TrimSpace(to) == "" {
			return "codes.parties", fmt.Sprintf("codes.parties: %s maps to an empty supplier", from)
		}
	}
	return "", ""
}

// yamlError turns a yaml decoding error ("yaml: line 5: …") into a LoadError.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if strings.HasPrefix(msg, "line ") {
		rest := msg[5:]
		if i := strings.IndexByte(rest, ':'); i > 0 {
			fmt.Sscanf(rest[:i], "%d", &line)
			msg = strings.TrimSpace(rest[i+1:])
		}
	}
	return &LoadError{File: name, Line: line, Reason: msg}
}

// liner finds the line of a partner's field in the YAML tree.
type liner struct{ root *yaml.Node }

func (l liner) doc() *yaml.Node {
	n := l.root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func (l liner) key(k string) int {
	if n := child(l.doc(), k); n != nil {
		return n.Line
	}
	return 0
}

func (l liner) line(i int, keys ...string) int {
	ps := child(l.doc(), "partners")
	if ps == nil || ps.Kind != yaml.SequenceNode || i >= len(ps.Content) {
		return 0
	}
	n := ps.Content[i]
	line := n.Line
	for _, k := range keys {
		if n = child(n, k); n == nil {
			break
		}
		line = n.Line
	}
	return line
}
