// Package cxml decodes cXML request documents (OrderRequest, ConfirmationRequest,
// ShipNoticeRequest, InvoiceDetailRequest, StatusUpdateRequest) into Go structs
// with encoding/xml, and checks the sender's credentials.
//
// The DOCTYPE is ignored and nothing is ever fetched: encoding/xml does not
// resolve external entities, and only the five predefined entities are known.
// Documents declared in ISO-8859-1, ISO-8859-15, Windows-1252 or US-ASCII are
// converted with a small built-in table; UTF-16 with a byte order mark is
// converted before decoding. Timestamps are read leniently (offsets with or
// without a colon, fractions, date only).
//
// It leaves to others: mapping documents to canonical events, resolving the
// partner from the credentials (partner profiles), and answering with a cXML
// Response. The SharedSecret is held in a Secret that never prints.
package cxml

import (
	"bytes"
	"crypto/subtle"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"
)

// Limits bound what Parse accepts; the zero value means the defaults.
type Limits struct {
	MaxBytes int `yaml:"max_bytes"` // default 16 MiB
}

// Error is a decoding or validation problem of one document.
type Error struct {
	PayloadID string // cXML@payloadID, when read
	Path      string // element or attribute, e.g. "Header/Sender/Credential"
	Line      int    // 1-based line in the input, 0 if unknown
	Reason    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("cxml")
	if e.PayloadID != "" {
		fmt.Fprintf(&b, " payload %s", e.PayloadID)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, " %s", e.Path)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Document is a decoded cXML envelope with exactly one request.
type Document struct {
	XMLName   xml.Name `xml:"cXML"`
	PayloadID string   `xml:"payloadID,attr"`
	Timestamp Time     `xml:"timestamp,attr"`
	Version   string   `xml:"version,attr"`
	Lang      string   `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Header    Header   `xml:"Header"`
	Request   *Request `xml:"Request"`
}

// Kind returns the name of the request element (OrderRequest …), or "".
func (d *Document) Kind() string {
	r := d.Request
	switch {
	case r == nil:
		return ""
	case r.OrderRequest != nil:
		return "OrderRequest"
	case r.ConfirmationRequest != nil:
		return "ConfirmationRequest"
	case r.ShipNoticeRequest != nil:
		return "ShipNoticeRequest"
	case r.InvoiceDetailRequest != nil:
		return "InvoiceDetailRequest"
	case r.StatusUpdateRequest != nil:
		return "StatusUpdateRequest"
	}
	return ""
}

// Header holds the parties and the sender's credential.
type Header struct {
	From   Party  `xml:"From"`
	To     Party  `xml:"To"`
	Sender Sender `xml:"Sender"`
}

// Party lists the credentials of From or To.
type Party struct {
	Credentials []Credential `xml:"Credential"`
}

// Sender is the party that sent the document, with its shared secret.
type Sender struct {
	Credentials []Credential `xml:"Credential"`
	UserAgent   string       `xml:"UserAgent"`
}

// Credential is one identity in a domain (NetworkID, DUNS …).
type Credential struct {
	Domain       string `xml:"domain,attr"`
	Identity     string `xml:"Identity"`
	SharedSecret Secret `xml:"SharedSecret"`
}

// Secret is a shared secret: it never prints, marshals or logs its value.
type Secret struct{ v []byte }

// UnmarshalXML reads the element text.
func (s *Secret) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var v string
	if err := d.DecodeElement(&v, &start); err != nil {
		return err
	}
	s.v = []byte(strings.TrimSpace(v))
	return nil
}

// IsZero reports whether no secret was sent.
func (s Secret) IsZero() bool { return len(s.v) == 0 }

// Equal compares with want in constant time.
func (s Secret) Equal(want []byte) bool {
	return len(s.v) > 0 && subtle.ConstantTimeCompare(s.v, want) == 1
}

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "cxml.Secret{[redacted]}" }
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Expected is what a partner profile says the sender must present.
type Expected struct {
	Domain, Identity string
	Secret           []byte
}

// ErrUnauthorized is wrapped by VerifySender's errors.
var ErrUnauthorized = errors.New("unauthorized")

// VerifySender checks that the Sender carries a credential of the expected
// domain (case-insensitive) and identity with the expected shared secret. The
// secret is compared in constant time and never appears in the error.
func (h Header) VerifySender(want Expected) error {
	for _, c := range h.Sender.Credentials {
		if !strings.EqualFold(c.Domain, want.Domain) || c.Identity != want.Identity {
			continue
		}
		if !c.SharedSecret.Equal(want.Secret) {
			return fmt.Errorf("cxml sender %s:%s: shared secret does not match: %w", c.Domain, c.Identity, ErrUnauthorized)
		}
		return nil
	}
	return fmt.Errorf("cxml sender: no credential %s:%s: %w", want.Domain, want.Identity, ErrUnauthorized)
}

// Time is a cXML timestamp, read leniently; Raw keeps what was written.
type Time struct {
	time.Time
	Raw string
}

var timeLayouts = [...]string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02",
}

// ParseTime reads an ISO 8601 timestamp as cXML senders write it:
// 2021-02-23T09:15:50-06:00, 2021-02-23T09:15:50-0600, with a fraction, Z, or a
// date alone. A timestamp without an offset is taken as UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not ISO 8601", s)
}

// UnmarshalXMLAttr reads the attribute; an empty one stays zero.
func (t *Time) UnmarshalXMLAttr(a xml.Attr) error {
	t.Raw = a.Value
	if strings.TrimSpace(a.Value) == "" {
		return nil
	}
	v, err := ParseTime(a.Value)
	if err != nil {
		return fmt.Errorf("attribute %s: %w", a.Name.Local, err)
	}
	t.Time = v
	return nil
}

// Parse decodes one cXML document. Every error is an *Error naming the
// payload and the element where decoding stopped.
func Parse(data []byte, lim Limits) (*Document, error) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = 16 << 20
	}
	if len(data) > lim.MaxBytes {
		return nil, &Error{Reason: fmt.Sprintf("document of %d bytes exceeds the limit of %d", len(data), lim.MaxBytes)}
	}
	data = toUTF8(data)
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = charsetReader
	var doc Document
	if err := dec.Decode(&doc); err != nil {
		line, _ := dec.InputPos()
		e := &Error{Line: line, Reason: err.Error()}
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			e.Line = se.Line
			e.Reason = "malformed XML: " + se.Msg
		}
		e.PayloadID = payloadID(data)
		return nil, e
	}
	if err := doc.validate(); err != nil {
		return &doc, err
	}
	return &doc, nil
}

func (d *Document) validate() error {
	fail := func(path, format string, args ...any) error {
		return &Error{PayloadID: d.PayloadID, Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	if d.PayloadID == "" {
		return fail("cXML@payloadID", "missing")
	}
	if d.Timestamp.Raw == "" {
		return fail("cXML@timestamp", "missing")
	}
	if len(d.Header.From.Credentials) == 0 || len(d.Header.To.Credentials) == 0 || len(d.Header.Sender.Credentials) == 0 {
		return fail("Header", "From, To and Sender each need a Credential")
	}
	if d.Request == nil {
		return fail("Request", "missing: only request documents are read")
	}
	if d.Kind() == "" {
		return fail("Request", "no supported request (OrderRequest, ConfirmationRequest, ShipNoticeRequest, InvoiceDetailRequest, StatusUpdateRequest)")
	}
	if o := d.Request.OrderRequest; o != nil {
		switch o.Header.Type {
		case "new", "update", "delete":
		default:
			return fail("OrderRequest/OrderRequestHeader@type", "%q is not new, update or delete", o.Header.Type)
		}
		if o.Header.OrderID == "" {
			return fail("OrderRequest/OrderRequestHeader@orderID", "missing")
		}
	}
	if c := d.Request.ConfirmationRequest; c != nil {
		switch c.Header.Type {
		case "accept", "allDetail", "detail", "backordered", "except", "reject", "requestToPay", "replace":
		default:
			return fail("ConfirmationRequest/ConfirmationHeader@type", "%q is not a confirmation type", c.Header.Type)
		}
	}
	if s := d.Request.ShipNoticeRequest; s != nil && s.Header.ShipmentID == "" {
		return fail("ShipNoticeRequest/ShipNoticeHeader@shipmentID", "missing")
	}
	if i := d.Request.InvoiceDetailRequest; i != nil && i.Header.InvoiceID == "" {
		return fail("InvoiceDetailRequest/InvoiceDetailRequestHeader@invoiceID", "missing")
	}
	return nil
}

// payloadID finds the payloadID attribute for error messages of documents
// that did not decode.
func payloadID(data []byte) string {
	i := bytes.Index(data, []byte(`payloadID="`))
	if i < 0 {
		return ""
	}
	rest := data[i+len(`payloadID="`):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || j > 200 {
		return ""
	}
	return string(rest[:j])
}

// toUTF8 converts UTF-16 input (with a byte order mark) to UTF-8 and strips a
// UTF-8 byte order mark.
func toUTF8(data []byte) []byte {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:]
	case len(data) >= 2 && (data[0] == 0xFF && data[1] == 0xFE || data[0] == 0xFE && data[1] == 0xFF):
		le := data[0] == 0xFF
		u := make([]uint16, 0, len(data)/2)
		for i := 2; i+1 < len(data); i += 2 {
			if le {
				u = append(u, uint16(data[i])|uint16(data[i+1])<<8)
			} else {
				u = append(u, uint16(data[i])<<8|uint16(data[i+1]))
			}
		}
		return []byte(string(utf16.Decode(u)))
	}
	return data
}

// cp1252 maps 0x80-0x9F of Windows-1252; 0 marks an unassigned byte.
var cp1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

// charsetReader converts the single-byte encodings cXML senders declare.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	var table func(b byte) rune
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "utf-16", "utf16":
		return in, nil // UTF-16 was converted before decoding
	case "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1":
		table = func(b byte) rune { return rune(b) }
	case "windows-1252", "cp1252", "x-cp1252":
		table = func(b byte) rune {
			if b >= 0x80 && b < 0xA0 {
				if r := cp1252[b-0x80]; r != 0 {
					return r
				}
				return 0xFFFD
			}
			return rune(b)
		}
	case "iso-8859-15", "latin9", "latin-9":
		table = func(b byte) rune {
			switch b {
			case 0xA4:
				return 0x20AC
			case 0xA6:
				return 0x0160
			case 0xA8:
				return 0x0161
			case 0xB4:
				return 0x017D
			case 0xB8:
				return 0x017E
			case 0xBC:
				return 0x0152
			case 0xBD:
				return 0x0153
			case 0xBE:
				return 0x0178
			}
			return rune(b)
		}
	default:
		return nil, fmt.Errorf("encoding %q is not supported", label)
	}
	raw, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.Grow(len(raw) + len(raw)/8)
	for _, c := range raw {
		if c < 0x80 {
			b.WriteByte(c)
			continue
		}
		b.WriteRune(table(c))
	}
	return strings.NewReader(b.String()), nil
}
