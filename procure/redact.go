package procure

import (
	"bytes"
	"regexp"
)

// Secrets that inputs carry and that must never be stored, published or
// shown again: cXML credentials (SharedSecret, DigitalSignature), XML
// signatures, and HTTP authorization (a header block in a MIME or AS2
// message, a bearer token, a JSON "authorization" field).
var (
	secretMarkers = [][]byte{[]byte("sharedsecret"), []byte("signature"), []byte("authorization"), []byte("bearer ")}
	secretREs     = []struct {
		re   *regexp.Regexp
		repl []byte
	}{
		{regexp.MustCompile(`(?is)(<(?:[\w-]+:)?SharedSecret\b[^>]*>).*?(</(?:[\w-]+:)?SharedSecret\s*>)`), []byte("${1}[redacted]${2}")},
		{regexp.MustCompile(`(?is)(<(?:[\w-]+:)?DigitalSignature\b[^>]*>).*?(</(?:[\w-]+:)?DigitalSignature\s*>)`), []byte("${1}[redacted]${2}")},
		{regexp.MustCompile(`(?is)(<(?:[\w-]+:)?SignatureValue\b[^>]*>).*?(</(?:[\w-]+:)?SignatureValue\s*>)`), []byte("${1}[redacted]${2}")},
		{regexp.MustCompile(`(?im)^((?:proxy-)?authorization[ \t]*:)[^\r\n]*`), []byte("${1} [redacted]")},
		{regexp.MustCompile(`(?i)("(?:proxy-)?authorization"\s*:\s*)"(?:[^"\\]|\\.)*"`), []byte(`${1}"[redacted]"`)},
		{regexp.MustCompile(`(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+`), []byte("${1}[redacted]")},
	}
)

// RedactSecrets returns raw with the secrets above replaced by
// "[redacted]". It returns raw itself when there is none (the common case
// costs one lower-casing scan) and a new slice otherwise; raw is never
// modified.
func RedactSecrets(raw []byte) []byte {
	lower := bytes.ToLower(raw)
	found := false
	for _, m := range secretMarkers {
		if bytes.Contains(lower, m) {
			found = true
			break
		}
	}
	if !found {
		return raw
	}
	out := raw
	for _, s := range secretREs {
		out = s.re.ReplaceAll(out, s.repl)
	}
	return out
}
