package intake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Take is the HTTP endpoint's path: the same intake as ProcessAs, answered
// in the domain's terms, within the sender's scope.
func TestTakeAnswersInDomainTerms(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir(t), "x12-850-nodex12-1.edi")) // widget-b, tenant-b
	if err != nil {
		t.Fatal(err)
	}
	reg := twoTenantRegistry(t)

	t.Run("an accepted interchange names its events and acknowledgement", func(t *testing.T) {
		var rec recorder
		deps := rec.deps()
		deps.Now = func() time.Time { return now }
		out, err := New(reg, Config{}, deps).Take(context.Background(), procure.B2BDocument{Tenant: "tenant-b", Format: "X12", Body: raw, ID: "http/abc"})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status == procure.B2BStatusRejected || out.Format != "x12" || len(out.Events) == 0 || len(out.Events) != len(rec.events) {
			t.Fatalf("outcome %+v, %d published", out, len(rec.events))
		}
		for i, e := range rec.events {
			if out.Events[i] != e.Event.ID {
				t.Fatalf("event %d: answered %s, published %s", i, out.Events[i], e.Event.ID)
			}
		}
		if len(out.Acks) != 1 || out.Acks[0].Kind != "997" || out.Acks[0].Verdict != "accepted" || !strings.HasPrefix(out.Acks[0].Body, "ISA*") {
			t.Fatalf("acks %+v", out.Acks)
		}
		if len(out.Partners) != 1 || out.Partners[0] != "widget-b" || out.OriginID == "" {
			t.Fatalf("partners %v, origin %q", out.Partners, out.OriginID)
		}
	})

	t.Run("another tenant's token gets a rejection with its reason", func(t *testing.T) {
		var rec recorder
		out, err := New(reg, Config{}, rec.deps()).Take(context.Background(), procure.B2BDocument{Tenant: "tenant-a", Body: raw})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != procure.B2BStatusRejected || len(out.Events) != 0 || len(out.Rejections) != 1 ||
			!strings.Contains(out.Rejections[0].Message, "is not a known partner of tenant tenant-a") {
			t.Fatalf("outcome %+v", out)
		}
	})

	t.Run("an unknown format name is an error on the field format", func(t *testing.T) {
		var rec recorder
		_, err := New(reg, Config{}, rec.deps()).Take(context.Background(), procure.B2BDocument{Tenant: "tenant-b", Format: "idoc", Body: raw})
		var fe *procure.FieldError
		if !errors.As(err, &fe) || fe.Field != "format" || !strings.Contains(fe.Reason, `"idoc"`) {
			t.Fatalf("err %v", err)
		}
		if len(rec.events) != 0 || len(rec.raws) != 0 {
			t.Fatal("something was published or stored for a refused format")
		}
	})

	t.Run("a document dead-lettered whole keeps its id, tenant and reason", func(t *testing.T) {
		var rec recorder
		err := New(reg, Config{}, rec.deps()).DeadLetterDocument(context.Background(),
			procure.B2BDocument{Tenant: "tenant-b", Body: raw, ID: "http/abc"}, "not processed: boom")
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.rejected) != 1 || rec.rejected[0].InputID != "b2b:http/abc" || rec.rejected[0].Tenant != "tenant-b" || rec.rejected[0].Reason != "not processed: boom" {
			t.Fatalf("dead letters %+v", rec.rejected)
		}
	})
}
