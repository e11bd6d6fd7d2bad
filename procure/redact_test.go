package procure

import (
	"strings"
	"testing"
)

func TestRedactSecretsRemovesCredentialsAndKeepsTheRest(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		gone     []string
		kept     []string
	}{
		{"cXML shared secret", `<Sender><Credential domain="NetworkID"><Identity>AN01</Identity><SharedSecret>abracadabra</SharedSecret></Credential></Sender>`,
			[]string{"abracadabra"}, []string{"<Identity>AN01</Identity>", "<SharedSecret>[redacted]</SharedSecret>"}},
		{"cXML digital signature", "<Credential><DigitalSignature type=\"PK7 self-contained\">\nMIIB0gYJKo\n</DigitalSignature></Credential>",
			[]string{"MIIB0gYJKo"}, []string{`<DigitalSignature type="PK7 self-contained">[redacted]</DigitalSignature>`}},
		{"XML signature value", `<ds:Signature><ds:SignatureValue>c2lnbmVk</ds:SignatureValue></ds:Signature>`, []string{"c2lnbmVk"}, []string{"<ds:SignatureValue>[redacted]"}},
		{"HTTP header block", "POST /as2 HTTP/1.1\r\nAuthorization: Basic dXNlcjpwYXNz\r\nContent-Type: application/edi-x12\r\n\r\nISA*00*",
			[]string{"dXNlcjpwYXNz"}, []string{"Authorization: [redacted]\r\n", "Content-Type: application/edi-x12", "ISA*00*"}},
		{"JSON authorization field", `{"headers":{"Authorization":"Bearer swt_abc.def"},"id":"E1"}`, []string{"swt_abc"}, []string{`"Authorization":"[redacted]"`, `"id":"E1"`}},
		{"bearer token in text", `token was Bearer swt_XyZ-123 sent`, []string{"swt_XyZ-123"}, []string{"Bearer [redacted] sent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(RedactSecrets([]byte(tc.in)))
			for _, g := range tc.gone {
				if strings.Contains(got, g) {
					t.Errorf("%q still in %q", g, got)
				}
			}
			for _, k := range tc.kept {
				if !strings.Contains(got, k) {
					t.Errorf("%q missing from %q", k, got)
				}
			}
		})
	}
	t.Run("an input without secrets is returned as it is", func(t *testing.T) {
		in := []byte(`{"id":"E1","type":"po.released"}`)
		if out := RedactSecrets(in); &out[0] != &in[0] {
			t.Fatal("copied an input without secrets")
		}
	})
}

func TestBoundRedactsBeforeTheDeadLetterIsStoredOrPublished(t *testing.T) {
	r := &Rejection{Raw: []byte(`<cXML><SharedSecret>s3cr3t</SharedSecret></cXML>`)}
	r.Bound()
	if strings.Contains(string(r.Raw), "s3cr3t") || r.RawSize != int64(len(r.Raw)) {
		t.Fatalf("raw %q (size %d)", r.Raw, r.RawSize)
	}
}
