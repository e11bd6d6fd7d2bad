package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/b2b/partner"
	"github.com/supplywatch/supplywatch/procure"
)

// recorder keeps everything an Intake hands to its dependencies.
type recorder struct {
	mu       sync.Mutex
	raws     []RawDocument
	events   []procure.Received
	rejected []procure.Rejection
}

func (r *recorder) deps() Deps {
	return Deps{
		RawStore: RawStoreFunc(func(_ context.Context, d RawDocument) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.raws = append(r.raws, d)
			return nil
		}),
		Publisher: PublisherFunc(func(_ context.Context, evs []procure.Received) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.events = append(r.events, evs...)
			return nil
		}),
		DeadLetter: DeadLetterFunc(func(_ context.Context, rs []procure.Rejection) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.rejected = append(r.rejected, rs...)
			return nil
		}),
	}
}

// everything is every byte the dependencies received, to search for what
// must not leak.
func (r *recorder) everything() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b bytes.Buffer
	for _, d := range r.raws {
		b.Write(d.Body)
		b.WriteString(d.Tenant + strings.Join(d.Partners, ","))
	}
	for _, e := range r.events {
		b.Write(e.Raw)
	}
	for _, x := range r.rejected {
		b.Write(x.Raw)
		b.WriteString(x.Reason + x.Tenant)
	}
	return b.Bytes()
}

const twoTenants = `partners:
  - id: widget-a
    tenant: tenant-a
    supplier: S0042
    currency: USD
    x12:
      interchange: [{qualifier: "12", id: "1111111111"}]
    codes:
      ship_to: {"9:0003947268292": P02}
  - id: widget-b
    tenant: tenant-b
    supplier: S0042
    currency: USD
    x12:
      interchange: [{qualifier: "12", id: "4405197800"}]
    codes:
      ship_to: {"9:0003947268292": P02}
  - id: portal-b
    tenant: tenant-a
    supplier: S0043
    source: portal
    currency: USD
    x12:
      interchange: [{qualifier: "12", id: "2222222222"}]
    codes:
      ship_to: {"9:0003947268292": P02}
`

func twoTenantRegistry(t *testing.T) *partner.Registry {
	t.Helper()
	path := filepath.Join(t.TempDir(), "partners.yaml")
	if err := os.WriteFile(path, []byte(twoTenants), 0o600); err != nil {
		t.Fatal(err)
	}
	reg, err := partner.LoadFile(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestScopeRefusesAnotherTenantsPartner: a document whose ISA names tenant
// B's partner, sent with tenant A's token, is refused as from an unknown
// sender: nothing is published, no acknowledgement is built, and the dead
// letter and the stored document belong to A and do not name B's partner.
func TestScopeRefusesAnotherTenantsPartner(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir(t), "x12-850-nodex12-1.edi")) // ISA06 4405197800: widget-b
	if err != nil {
		t.Fatal(err)
	}
	reg := twoTenantRegistry(t)

	t.Run("tenant A's token with B's interchange is refused without touching B", func(t *testing.T) {
		var rec recorder
		deps := rec.deps()
		deps.Now = func() time.Time { return now }
		res, err := New(reg, Config{}, deps).ProcessAs(context.Background(), Scope{Tenant: "tenant-a"}, raw, Auto)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != Rejected || len(res.Events) != 0 || len(res.Acks) != 0 || len(res.Partners) != 0 {
			t.Fatalf("status %s, %d events, %d acks, partners %v", res.Status, len(res.Events), len(res.Acks), res.Partners)
		}
		if len(res.Rejections) != 1 || !strings.Contains(res.Rejections[0].Error(), "12:4405197800 is not a known partner of tenant tenant-a") {
			t.Fatalf("rejections %v", res.Rejections)
		}
		if len(rec.events) != 0 {
			t.Fatalf("published %d events", len(rec.events))
		}
		for _, d := range rec.rejected {
			if d.Tenant != "tenant-a" {
				t.Fatalf("dead letter of tenant %q", d.Tenant)
			}
		}
		if len(rec.raws) != 1 || rec.raws[0].Tenant != "tenant-a" || len(rec.raws[0].Partners) != 0 {
			t.Fatalf("raw documents %+v", rec.raws)
		}
		if all := rec.everything(); bytes.Contains(all, []byte("tenant-b")) || bytes.Contains(all, []byte("widget-b")) {
			t.Fatal("tenant B or its partner named in what was stored or published")
		}
	})

	t.Run("tenant B's token with its own interchange is accepted", func(t *testing.T) {
		var rec recorder
		deps := rec.deps()
		res, err := New(reg, Config{}, deps).ProcessAs(context.Background(), Scope{Tenant: "tenant-b"}, raw, Auto)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == Rejected || len(rec.events) == 0 || len(res.Acks) != 1 || res.Partners[0] != "widget-b" {
			t.Fatalf("status %s, %d events, %d acks, partners %v: %v", res.Status, len(rec.events), len(res.Acks), res.Partners, res.Rejections)
		}
		for _, e := range rec.events {
			if e.Event.Tenant != "tenant-b" {
				t.Fatalf("event of tenant %s", e.Event.Tenant)
			}
		}
	})

	t.Run("a token without the partner's source is refused", func(t *testing.T) {
		portal := bytes.Replace(raw, []byte("*12*4405197800     *"), []byte("*12*2222222222     *"), 1)
		var rec recorder
		res, err := New(reg, Config{}, rec.deps()).ProcessAs(context.Background(), Scope{Tenant: "tenant-a", Sources: []string{"edi"}}, portal, Auto)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != Rejected || len(rec.events) != 0 || len(res.Acks) != 0 {
			t.Fatalf("status %s, %d events, %d acks", res.Status, len(rec.events), len(res.Acks))
		}
		res, err = New(reg, Config{}, rec.deps()).ProcessAs(context.Background(), Scope{Tenant: "tenant-a", Sources: []string{"portal"}}, portal, Auto)
		if err != nil || res.Status == Rejected {
			t.Fatalf("with the portal source: %v %s %v", err, res.Status, res.Rejections)
		}
	})
}

// TestSecretsRedactedBeforeStored: the cXML SharedSecret of a sample (and a
// DigitalSignature and CredentialMac written into it) never reach the raw
// store or the dead letter, and the origin id is the hash of what is
// stored.
func TestSecretsRedactedBeforeStored(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir(t), "cxml-orderrequest-cxmlphp-1.xml")) // Sender SharedSecret coyote
	if err != nil {
		t.Fatal(err)
	}
	signed := bytes.Replace(raw, []byte("</Header>"), []byte(`<DigitalSignature type="PK7 self-contained"><![CDATA[MIIGsig</DigitalSignature>zz]]></DigitalSignature>`+
		`<ds:Signature><ds:SignatureValue>c2lnbmF0dXJl</ds:SignatureValue></ds:Signature></Header>`), 1)
	signed = bytes.Replace(signed, []byte("<SharedSecret>coyote</SharedSecret>"), []byte(`<SharedSecret>coyote</SharedSecret><CredentialMac type="FromSenderCredentials">bWFj</CredentialMac>`), 1)
	for name, doc := range map[string][]byte{"accepted": raw, "signed": signed, "wrong secret": bytes.Replace(raw, []byte("coyote"), []byte("roadrunner-guess"), 1)} {
		t.Run(name, func(t *testing.T) {
			var rec recorder
			deps := rec.deps()
			res, err := New(registry(t), Config{}, deps).Process(context.Background(), doc, Auto)
			if err != nil {
				t.Fatal(err)
			}
			all := rec.everything()
			for _, secret := range []string{"coyote", "roadrunner-guess", "MIIGsig", "c2lnbmF0dXJl", "bWFj", "zz]]"} {
				if bytes.Contains(all, []byte(secret)) {
					t.Fatalf("%q stored or published", secret)
				}
			}
			if len(rec.raws) != 1 || !bytes.Contains(rec.raws[0].Body, []byte("<SharedSecret>[redacted]</SharedSecret>")) {
				t.Fatalf("stored body does not show the redaction")
			}
			sum := sha256.Sum256(rec.raws[0].Body)
			if res.OriginID != hex.EncodeToString(sum[:]) {
				t.Fatal("origin id is not the hash of the stored (redacted) body")
			}
		})
	}
}

func TestRedactCXML(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"nothing to redact is returned as is", `<cXML><Header/></cXML>`, `<cXML><Header/></cXML>`},
		{"secret content replaced", `<Sender><Credential><SharedSecret>s3&lt;</SharedSecret></Credential></Sender>`, `<Sender><Credential><SharedSecret>[redacted]</SharedSecret></Credential></Sender>`},
		{"prefixed signature value", `<ds:SignatureValue a="1">xyz</ds:SignatureValue>`, `<ds:SignatureValue a="1">[redacted]</ds:SignatureValue>`},
		{"empty element kept", `<SharedSecret/><X/>`, `<SharedSecret/><X/>`},
		{"unclosed secret withheld to the end", `<SharedSecret>abc<Other>`, `<SharedSecret>[redacted]`},
		{"a longer name is not a secret", `<SharedSecretHint>abc</SharedSecretHint>`, `<SharedSecretHint>abc</SharedSecretHint>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(RedactCXML([]byte(tt.in))); got != tt.want {
				t.Fatalf("got %s", got)
			}
		})
	}
}
