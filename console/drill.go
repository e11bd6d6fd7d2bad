package console

import (
	"context"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/procure"
)

// Drill names a KPI figure of the executive dashboard: the KPI, its period
// [From, To) and scope, and whether only the documents that missed it are
// wanted.
type Drill struct {
	KPI          string
	From, To     time.Time
	Plant        string
	Supplier     string
	Missed       bool
	MaxDocuments int
}

// DrillSet is the exact set of documents behind a figure, as the queue
// names them (PO, ASN, invoice numbers; exception ids for the exception
// KPIs), and how many KPI entity rows they are.
type DrillSet struct {
	Documents    []string
	ExceptionIDs []int64
	Entities     int
}

// DrillFunc resolves the documents behind a figure of tenant
// (kpi.Querier.DrillSet, joined in app). Too many documents is an invalid
// request, never a cut set.
type DrillFunc func(ctx context.Context, tenant string, d Drill) (*DrillSet, error)

// maxDrillDocuments bounds the set a queue is filtered to (one array
// parameter of the queue query).
const maxDrillDocuments = 50000

// drillSummary is what the queue answer says of a drill-down.
type drillSummary struct {
	KPI       string `json:"kpi"`
	From      string `json:"from"`
	To        string `json:"to"`
	Plant     string `json:"plant,omitempty"`
	Supplier  string `json:"supplier,omitempty"`
	Docs      string `json:"docs"`
	Documents int    `json:"documents"`
	Entities  int    `json:"entities"`
}

// drillFilter narrows f to the documents behind the KPI figure named by the
// query (kpi, from, to, plant, supplier, docs=missed|all); nil without kpi.
// The queue query still applies the caller's scope: a drill-down never
// shows an exception the caller could not open. It is for the roles that
// may read the tenant-wide KPIs; c.drill is not nil.
func (h *queueHandlers) drillFilter(g *gin.Context, p *Principal, f *procure.QueueFilter) (*drillSummary, error) {
	kpi := g.Query("kpi")
	if kpi == "" {
		return nil, nil
	}
	if !slices.Contains(TenantWide, p.Role) {
		return nil, procure.Errorf(procure.EFORBIDDEN, "role %s may not drill into tenant-wide KPI figures", p.Role)
	}
	d := Drill{KPI: kpi, Plant: g.Query("plant"), Supplier: g.Query("supplier"), Missed: true, MaxDocuments: maxDrillDocuments}
	s := &drillSummary{KPI: kpi, Plant: d.Plant, Supplier: d.Supplier, Docs: "missed"}
	switch v := g.DefaultQuery("docs", "missed"); v {
	case "missed", "all":
		d.Missed, s.Docs = v == "missed", v
	default:
		return nil, invalid("docs", "must be missed or all")
	}
	for name, dst := range map[string]*time.Time{"from": &d.From, "to": &d.To} {
		v := g.Query(name)
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return nil, invalid(name, "%q is not a date YYYY-MM-DD (needed with kpi)", v)
		}
		*dst = t
	}
	if !d.From.Before(d.To) {
		return nil, invalid("from", "must be before to")
	}
	s.From, s.To = d.From.Format(time.DateOnly), d.To.Format(time.DateOnly)
	set, err := h.drill(g.Request.Context(), p.Tenant, d)
	if err != nil {
		return nil, err
	}
	f.Documents, f.IDs = set.Documents, set.ExceptionIDs
	s.Documents, s.Entities = len(set.Documents)+len(set.ExceptionIDs), set.Entities
	return s, nil
}
