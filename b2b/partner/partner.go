// Package partner holds trading-partner profiles: who a partner is on each
// B2B standard (X12 ISA/GS ids, EDIFACT UNB ids, cXML credentials), which
// tenant and supplier its documents belong to, which standard versions it
// sends, and how its codes map to canonical values (units, currencies,
// Incoterms, product and party id qualifiers, ship-to locations → plants).
//
// Profiles are YAML, decoded strictly and validated at load: a bad file is
// refused with file, line and reason, and the caller keeps the profiles in
// force. A built-in default code table covers the common codes; a partner's
// own table overrides it entry by entry. A code that neither maps is an
// *UnmappedError naming the code, the partner and the field: it is never
// passed through or guessed.
//
// It leaves to others: reading documents (b2b/x12, b2b/edifact, b2b/cxml),
// mapping them (b2b/mapping) and deciding what to do with a rejection
// (b2b/intake). Shared secrets are referenced by environment variable name and
// resolved through a lookup function given to Load; their values never print.
package partner

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Profile is one trading partner.
type Profile struct {
	ID     string `yaml:"id"`
	Tenant string `yaml:"tenant"`
	// Supplier is the canonical supplier code of the partner (events about
	// its documents carry it), unless the document names a party that Parties
	// maps to another supplier.
	Supplier string `yaml:"supplier"`
	// Plant is used when a document names no ship-to location. A ship-to that
	// is named but not in ShipTo is an error, never this default.
	Plant string `yaml:"plant"`
	// Source is the canonical source of the events (default edi).
	Source string `yaml:"source"`
	// TimeZone is the zone of the local dates and times in X12 and EDIFACT
	// documents (IANA name; default UTC).
	TimeZone string `yaml:"time_zone"`
	// Currency is used when a document names none (X12 without CUR).
	Currency string `yaml:"currency"`
	// DefaultUnit is used when a quantity has no unit (EANCOM QTY without a
	// unit counts trade items); empty means such a quantity is an error.
	DefaultUnit string `yaml:"default_unit"`
	// FunctionalAckSLA is how long the partner has to send its 997, 999 or
	// CONTRL for an interchange we delivered (rule functional-ack-overdue);
	// zero means the rule's default (24 hours). At most 30 days.
	FunctionalAckSLA time.Duration `yaml:"functional_ack_sla"`
	// TransitDays is the usual time from shipping to arrival; a ship notice
	// without an estimated arrival is expected this many days after its
	// ship date (0: on the ship date), with a warning.
	TransitDays int `yaml:"transit_days"`

	X12     *X12Ids     `yaml:"x12"`
	EDIFACT *EDIFACTIds `yaml:"edifact"`
	CXML    *CXMLIds    `yaml:"cxml"`
	Codes   Codes       `yaml:"codes"`

	loc *time.Location
}

// Location returns the partner's time zone (UTC by default).
func (p *Profile) Location() *time.Location {
	if p.loc == nil {
		return time.UTC
	}
	return p.loc
}

// ID is a qualified identifier: an ISA05/ISA06 pair, a UNB sender with its
// code qualifier. An empty Qualifier matches any qualifier.
type ID struct {
	Qualifier string `yaml:"qualifier"`
	ID        string `yaml:"id"`
}

func (i ID) String() string {
	if i.Qualifier == "" {
		return i.ID
	}
	return i.Qualifier + ":" + i.ID
}

// X12Ids identifies the partner in X12 envelopes.
type X12Ids struct {
	// Interchange are the ISA05/ISA06 sender ids the partner uses.
	Interchange []ID `yaml:"interchange"`
	// Groups optionally restricts the GS02 application sender codes.
	Groups []string `yaml:"groups"`
	// Versions are the GS08 versions the partner sends (004010, 004010VICS,
	// 005010 …); empty accepts any.
	Versions []string `yaml:"versions"`
	// Ack is the functional acknowledgement to send: 997 (default), 999 or none.
	Ack string `yaml:"ack"`
	// ApplicationAdvice is "824" when the partner wants application and
	// configuration problems (unmapped codes, missing dates) in an 824;
	// empty or "none" keeps them internal.
	ApplicationAdvice string `yaml:"application_advice"`
}

// EDIFACTIds identifies the partner in EDIFACT envelopes.
type EDIFACTIds struct {
	// Interchange are the UNB02 sender ids (with the code qualifier, UNB02-2).
	Interchange []ID `yaml:"interchange"`
	// Versions are the message directories the partner sends, as
	// version:release (D:96A, D:01B); empty accepts any.
	Versions []string `yaml:"versions"`
	// Ack is contrl (default) or none.
	Ack string `yaml:"ack"`
	// ApplicationAdvice is "aperak" when the partner wants application and
	// configuration problems in an APERAK; empty or "none" keeps them
	// internal.
	ApplicationAdvice string `yaml:"application_advice"`
}

// CXMLIds identifies the partner in cXML headers.
type CXMLIds struct {
	// Credentials are the From credentials (domain, identity) of the partner.
	Credentials []Credential `yaml:"credentials"`
	// SharedSecretEnv names the environment variable holding the Sender
	// SharedSecret; when set, every document must present it.
	SharedSecretEnv string `yaml:"shared_secret_env"`
	// Versions are the cXML versions the partner sends (1.2.050 …); empty
	// accepts any.
	Versions []string `yaml:"versions"`

	secret Secret
}

// Credential is a cXML credential: an identity in a domain (NetworkId, DUNS).
type Credential struct {
	Domain   string `yaml:"domain"`
	Identity string `yaml:"identity"`
}

// Secret returns the resolved shared secret (zero when none is configured).
func (c *CXMLIds) Secret() Secret { return c.secret }

// Secret is a shared secret: it never prints, marshals or logs its value.
type Secret struct{ v []byte }

// IsZero reports whether no secret is configured.
func (s Secret) IsZero() bool { return len(s.v) == 0 }

// Bytes returns the secret for a constant-time comparison.
func (s Secret) Bytes() []byte { return s.v }

// Equal compares with b in constant time.
func (s Secret) Equal(b []byte) bool {
	return len(s.v) > 0 && subtle.ConstantTimeCompare(s.v, b) == 1
}

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "partner.Secret{[redacted]}" }
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Standard names a B2B standard; code tables are per standard.
type Standard string

// The standards.
const (
	X12     Standard = "x12"
	EDIFACT Standard = "edifact"
	CXML    Standard = "cxml"
)

// Codes are a partner's code mappings. Units, currencies and Incoterms are
// keyed by the code as the partner writes it; a partner entry replaces the
// built-in one for that code. Units are per standard because the same code
// means different things (X12 PL is a pallet, Rec 20 PL a pail).
type Codes struct {
	Units      map[Standard]map[string]string `yaml:"units"`
	Currencies map[string]string              `yaml:"currencies"`
	// Incoterms maps a partner's delivery-terms code to a term with its
	// edition; IncotermsEdition is the edition of the terms the partner
	// writes without one (default 2020).
	Incoterms        map[string]Incoterm `yaml:"incoterms"`
	IncotermsEdition string              `yaml:"incoterms_edition"`
	// ProductQualifiers is the preference order of product id qualifiers for
	// the canonical item (X12 235 BP, VN …; EDIFACT 7143 IN, SA, SRV …; cXML
	// BuyerPartID, SupplierPartID). Empty means the built-in order.
	ProductQualifiers map[Standard][]string `yaml:"product_qualifiers"`
	// Parties maps a party id (qualifier:id as in ID.String, or the bare id)
	// of a supplier party in a document to a canonical supplier code.
	Parties map[string]string `yaml:"parties"`
	// ShipTo maps ship-to location ids (qualifier:id or bare id; for cXML the
	// addressID) to plant codes.
	ShipTo map[string]string `yaml:"ship_to"`
}

// Incoterm is a delivery term of an edition (2020, 2010, 2000).
type Incoterm struct {
	Code    string `yaml:"code"`
	Edition string `yaml:"edition"`
}

// UnmappedError says that a code of a document has no mapping for a partner.
type UnmappedError struct {
	Partner string
	Kind    string // unit, currency, incoterm, ship-to, product id
	Code    string
	Field   string // the canonical field it was meant for
}

func (e *UnmappedError) Error() string {
	return fmt.Sprintf("%s %q is not mapped for partner %s (field %s)", e.Kind, e.Code, e.Partner, e.Field)
}

// ErrUnmapped is matched by every *UnmappedError (errors.Is).
var ErrUnmapped = errors.New("code not mapped")

// Is makes errors.Is(err, ErrUnmapped) true.
func (e *UnmappedError) Is(target error) bool { return target == ErrUnmapped }

// MapUnit maps a unit code of standard std to a UN/ECE Rec 20 code.
func (p *Profile) MapUnit(std Standard, code, field string) (string, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		if p.DefaultUnit != "" {
			return p.DefaultUnit, nil
		}
		return "", &UnmappedError{Partner: p.ID, Kind: "unit", Code: "", Field: field}
	}
	if v, ok := p.Codes.Units[std][code]; ok {
		return v, nil
	}
	if v, ok := defaultUnits[std][code]; ok {
		return v, nil
	}
	return "", &UnmappedError{Partner: p.ID, Kind: "unit", Code: code, Field: field}
}

// MapCurrency maps a currency code to ISO 4217; empty means the partner's
// default currency.
func (p *Profile) MapCurrency(code, field string) (string, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		code = p.Currency
		if code == "" {
			return "", &UnmappedError{Partner: p.ID, Kind: "currency", Code: "", Field: field}
		}
		return code, nil
	}
	if v, ok := p.Codes.Currencies[code]; ok {
		return v, nil
	}
	if knownCurrency(code) {
		return code, nil
	}
	return "", &UnmappedError{Partner: p.ID, Kind: "currency", Code: code, Field: field}
}

// MapIncoterm maps a delivery-terms code to a term with its edition. edition is
// the edition the document states, if any.
func (p *Profile) MapIncoterm(code, edition, field string) (Incoterm, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if t, ok := p.Codes.Incoterms[code]; ok {
		return t, nil
	}
	if edition == "" {
		edition = p.Codes.IncotermsEdition
	}
	if edition == "" {
		edition = "2020"
	}
	if knownIncoterm(code, edition) {
		return Incoterm{Code: code, Edition: edition}, nil
	}
	return Incoterm{}, &UnmappedError{Partner: p.ID, Kind: "incoterm", Code: code + " (" + edition + ")", Field: field}
}

// ProductQualifiers returns the preference order of product id qualifiers.
func (p *Profile) ProductQualifiers(std Standard) []string {
	if q := p.Codes.ProductQualifiers[std]; len(q) > 0 {
		return q
	}
	return defaultProductQualifiers[std]
}

// MapPlant maps a ship-to location to a plant. An empty location gives the
// partner's default plant; an unknown one is an *UnmappedError.
func (p *Profile) MapPlant(qualifier, id, field string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return p.Plant, nil
	}
	if v, ok := p.Codes.ShipTo[qualifier+":"+id]; ok && qualifier != "" {
		return v, nil
	}
	if v, ok := p.Codes.ShipTo[id]; ok {
		return v, nil
	}
	return "", &UnmappedError{Partner: p.ID, Kind: "ship-to location", Code: ID{qualifier, id}.String(), Field: field}
}

// SupplierFor maps a supplier party named in a document to the canonical
// supplier; a party that is not listed gives the partner's own supplier code.
func (p *Profile) SupplierFor(qualifier, id string) string {
	id = strings.TrimSpace(id)
	if id != "" {
		if v, ok := p.Codes.Parties[qualifier+":"+id]; ok && qualifier != "" {
			return v
		}
		if v, ok := p.Codes.Parties[id]; ok {
			return v
		}
	}
	return p.Supplier
}

// AcceptsVersion reports whether v is one of the versions listed (any when the
// list is empty).
func AcceptsVersion(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
