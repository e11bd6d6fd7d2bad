// Package kpi computes supplywatch's procurement KPIs in ClickHouse: the
// formulas of docs/kpi.md over the fact tables that the materialized views
// of clickhouse/migrations/0100_* fill from the events, a Refresher that
// rolls them up per day and plant and per month, plant and supplier (so
// dashboards over years read thousands of rows, not millions), a Querier for
// values with period-over-period comparison, drill-down and operational
// figures, the gin Handler serving them as JSON or CSV, and a Mirror that
// copies the Postgres exception outbox into the exception_history table.
//
// It leaves the schema migrations to package clickhouse (which embeds the
// files), authentication to the caller of Handler.Register, and screens to
// the console.
package kpi

import (
	"errors"
	"time"
)

// Params are the tolerances and thresholds of the formulas.
type Params struct {
	// QuantityTolerance is the relative quantity tolerance (0.05 = ±5%) of
	// confirmation accuracy, ASN accuracy, over-delivery and in full.
	QuantityTolerance float64 `yaml:"quantity_tolerance"`
	// DateToleranceDays is the date tolerance of confirmation accuracy.
	DateToleranceDays int `yaml:"date_tolerance_days"`
	// EarlyDays and LateDays are the on-time window around the due date.
	EarlyDays int `yaml:"early_days"`
	LateDays  int `yaml:"late_days"`
	// ASNLeadTime is how long before arrival an ASN must be received.
	ASNLeadTime time.Duration `yaml:"asn_lead_time"`
	// ResponseSLATier1 and ResponseSLA are the acknowledgement SLAs in
	// business time for tier-1 suppliers and for the others.
	ResponseSLATier1 time.Duration `yaml:"response_sla_tier1"`
	ResponseSLA      time.Duration `yaml:"response_sla"`
	// DigitalSources are the event sources that count as governed digital
	// workflows for supplier documents.
	DigitalSources []string `yaml:"digital_sources"`
}

// Config configures the package.
type Config struct {
	Params `yaml:",inline"`
	// RefreshEvery is the Refresher's period. RefreshMonths is ignored (kept
	// so that configurations setting it still load): a refresh recomputes
	// the months that new facts touched, whichever they are.
	RefreshEvery  time.Duration `yaml:"refresh_every"`
	RefreshMonths int           `yaml:"refresh_months"`
	// CalendarYears is how many years before and after now the business
	// hour spans cover.
	CalendarYears int `yaml:"calendar_years"`
	// PieceRows is about how many fact rows one piece of a full build
	// reads (a key range of PO lines, ASNs or invoices); PieceTimeout is
	// the statement timeout of one piece (keep it under the connection's
	// read timeout); PieceAttempts bounds the attempts of a piece failing
	// for a transient reason, PieceBackoff the wait before the next.
	PieceRows int `yaml:"piece_rows"`
	// PieceKeys is about how many touched keys (POs, ASNs, …) one piece
	// of an incremental refresh recomputes.
	PieceKeys     int           `yaml:"piece_keys"`
	PieceTimeout  time.Duration `yaml:"piece_timeout"`
	PieceAttempts int           `yaml:"piece_attempts"`
	PieceBackoff  time.Duration `yaml:"piece_backoff"`
	// StaleAfter is the age of the KPIs' completeness time past which the
	// refresher logs them stale (the Prometheus rule has its own threshold).
	StaleAfter time.Duration `yaml:"stale_after"`
	// MirrorPoll is how often the Mirror looks for new outbox events when
	// it found none.
	MirrorPoll time.Duration `yaml:"mirror_poll"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.QuantityTolerance == 0 {
		c.QuantityTolerance = 0.05
	}
	if c.DateToleranceDays == 0 {
		c.DateToleranceDays = 1
	}
	if c.EarlyDays == 0 {
		c.EarlyDays = 2
	}
	if c.ASNLeadTime == 0 {
		c.ASNLeadTime = 4 * time.Hour
	}
	if c.ResponseSLATier1 == 0 {
		c.ResponseSLATier1 = 24 * time.Hour
	}
	if c.ResponseSLA == 0 {
		c.ResponseSLA = 48 * time.Hour
	}
	if len(c.DigitalSources) == 0 {
		c.DigitalSources = []string{"portal", "edi"}
	}
	if c.RefreshEvery == 0 {
		c.RefreshEvery = 5 * time.Minute
	}
	if c.RefreshMonths == 0 {
		c.RefreshMonths = 3
	}
	if c.CalendarYears == 0 {
		c.CalendarYears = 6
	}
	if c.PieceRows == 0 {
		c.PieceRows = 200_000
	}
	if c.PieceKeys == 0 {
		c.PieceKeys = 50_000
	}
	if c.PieceTimeout == 0 {
		c.PieceTimeout = 50 * time.Second
	}
	if c.PieceAttempts == 0 {
		c.PieceAttempts = 3
	}
	if c.PieceBackoff == 0 {
		c.PieceBackoff = 2 * time.Second
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = 15 * time.Minute
	}
	if c.MirrorPoll == 0 {
		c.MirrorPoll = time.Second
	}
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	switch {
	case c.QuantityTolerance < 0 || c.QuantityTolerance >= 1:
		return errors.New("kpi.quantity_tolerance: must be in [0, 1)")
	case c.DateToleranceDays < 0 || c.EarlyDays < 0 || c.LateDays < 0:
		return errors.New("kpi: day tolerances must not be negative")
	case c.RefreshMonths < 0:
		return errors.New("kpi.refresh_months: must not be negative")
	case c.PieceRows < 0 || c.PieceKeys < 0:
		return errors.New("kpi: piece_rows and piece_keys must not be negative")
	case c.PieceTimeout < 0 || c.PieceBackoff < 0 || c.StaleAfter < 0:
		return errors.New("kpi: piece_timeout, piece_backoff and stale_after must not be negative")
	case c.PieceAttempts < 0 || c.PieceAttempts > 10:
		return errors.New("kpi.piece_attempts: must be between 1 and 10")
	}
	return nil
}

// Kind says how a KPI aggregates.
type Kind string

// The KPI kinds: a ratio Σnum ÷ Σden, or a duration with median and p90
// (and mean Σnum ÷ Σden).
const (
	Ratio    Kind = "ratio"
	Duration Kind = "duration"
)

// Definition describes one KPI.
type Definition struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Kind  Kind   `json:"kind"`
	Unit  string `json:"unit"` // ratio | hours
	// HigherIsBetter tells which direction of change is good.
	HigherIsBetter bool `json:"higher_is_better"`
	// Entity is what a document row of the drill-down is: po, po_line,
	// asn, invoice, exception, supplier_day.
	Entity string `json:"entity"`
	// Date is the date a row is attributed to.
	Date string `json:"date"`
}

// Catalog lists the KPIs, in dashboard order.
var Catalog = []Definition{
	{"ack_cycle_hours", "PO acknowledgement cycle time (business hours)", Duration, "hours", false, "po", "release"},
	{"response_sla", "Supplier response SLA compliance", Ratio, "ratio", true, "po", "release"},
	{"confirmation_rate", "Confirmation rate", Ratio, "ratio", true, "po_line", "release"},
	{"confirmation_accuracy", "Confirmation accuracy (SAP SNC)", Ratio, "ratio", true, "po_line", "need_by"},
	{"asn_timeliness", "ASN timeliness", Ratio, "ratio", true, "asn", "asn_submitted"},
	{"asn_accuracy", "ASN accuracy", Ratio, "ratio", true, "asn", "asn_submitted"},
	{"otd_on_time", "On-time delivery: on time", Ratio, "ratio", true, "po_line", "need_by"},
	{"otd_early", "On-time delivery: early", Ratio, "ratio", false, "po_line", "need_by"},
	{"otd_late", "On-time delivery: late", Ratio, "ratio", false, "po_line", "need_by"},
	{"otd_over_delivered", "On-time delivery: over-delivered", Ratio, "ratio", false, "po_line", "need_by"},
	{"otd_overdue", "On-time delivery: overdue (no ASN)", Ratio, "ratio", false, "po_line", "need_by"},
	{"otif", "OTIF (orders on time and in full)", Ratio, "ratio", true, "po", "last_need_by"},
	{"receipt_variance", "Receipt variance |received − shipped| ÷ shipped", Ratio, "ratio", false, "po_line", "receipt"},
	{"invoice_exception_rate", "Invoice exception rate", Ratio, "ratio", false, "invoice", "invoice_received"},
	{"first_pass_match", "Invoice first-pass match rate", Ratio, "ratio", true, "invoice", "invoice_received"},
	{"touchless", "Touchless PO rate", Ratio, "ratio", true, "po", "release"},
	{"digital_documents", "Supplier documents on digital workflows", Ratio, "ratio", true, "supplier_day", "event"},
	{"exception_ack_hours", "Exception time to acknowledge (hours)", Duration, "hours", false, "exception", "first_seen"},
	{"exception_resolve_hours", "Exception time to resolve (hours)", Duration, "hours", false, "exception", "first_seen"},
}

// DigitalSuppliers is the KPI computed live (distinct suppliers do not add
// up over days): suppliers all of whose documents in the period came from a
// digital source ÷ suppliers with any document in the period.
const DigitalSuppliers = "digital_suppliers"

// Lookup returns the definition of id.
func Lookup(id string) (Definition, bool) {
	for _, d := range Catalog {
		if d.ID == id {
			return d, true
		}
	}
	if id == DigitalSuppliers {
		return Definition{DigitalSuppliers, "Suppliers on digital workflows", Ratio, "ratio", true, "supplier", "event"}, true
	}
	return Definition{}, false
}
