package simulator

import (
	"errors"
	"fmt"
	"github.com/supplywatch/supplywatch/procure"
	"maps"
	"slices"
)

// Config configures the simulated manufacturer and its failure profile.
// The zero value is valid after Defaults.
type Config struct {
	// Seed drives every random choice: the same seed and clock give the
	// same events.
	Seed uint64 `yaml:"seed" env:"SEED"`
	// Tenant is the tenant of every event.
	Tenant string `yaml:"tenant" env:"TENANT"`
	// Suppliers is the number of suppliers (tiers 1 to 3).
	Suppliers int `yaml:"suppliers" env:"SUPPLIERS"`
	// OrdersPerDay is the number of purchase orders released per working
	// day over all plants.
	OrdersPerDay float64 `yaml:"orders_per_day" env:"ORDERS_PER_DAY"`
	// BlanketShare is the share of blanket (framework) orders.
	BlanketShare float64 `yaml:"blanket_share" env:"BLANKET_SHARE"`
	// FirstPONumber is the number of the first purchase order; later orders
	// count up from it. Two simulators feeding one tenant need ranges apart.
	FirstPONumber int64 `yaml:"first_po_number" env:"FIRST_PO_NUMBER"`
	// MaxAttempts is how many delivery attempts a failed message gets
	// before it is exhausted.
	MaxAttempts int `yaml:"max_attempts" env:"MAX_ATTEMPTS"`
	// BatchSize is the most events handed to the Sink in one Publish.
	BatchSize int `yaml:"batch_size" env:"BATCH_SIZE"`
	// Rate is the live rate of Run, in events per second.
	Rate float64 `yaml:"rate" env:"RATE"`
	// BackfillDays is how many days of history the app backfills before
	// going live (0: none).
	BackfillDays int `yaml:"backfill_days" env:"BACKFILL_DAYS"`

	// Rates is the failure profile. Defaults fills it only when it is
	// entirely zero: a profile that sets some rates means the others are 0.
	// NoFailures switches every failure mode off.
	Rates      Rates `yaml:"rates"`
	NoFailures bool  `yaml:"no_failures" env:"NO_FAILURES"`
}

// Rates are the probabilities of the failure modes and of the ordinary
// variations of a chain, each between 0 and 1. Per-order rates apply once
// per purchase order, per-shipment rates once per delivery, per-message
// rates once per message between two systems.
type Rates struct {
	// AckLate: the acknowledgement comes after 30 business hours or more (per order).
	AckLate float64 `yaml:"ack_late_rate" env:"ACK_LATE_RATE"`
	// AckMissing: the supplier never acknowledges (per order and per
	// re-acknowledgement of a changed order).
	AckMissing float64 `yaml:"ack_missing_rate" env:"ACK_MISSING_RATE"`
	// AckChange: one line is acknowledged with a changed quantity, date or
	// price (per order).
	AckChange float64 `yaml:"ack_change_rate" env:"ACK_CHANGE_RATE"`
	// AckLineReject: one line is rejected (per order).
	AckLineReject float64 `yaml:"ack_line_reject_rate" env:"ACK_LINE_REJECT_RATE"`
	// ChangeRequest: the supplier asks to split a delivery or move a date (per order).
	ChangeRequest float64 `yaml:"change_request_rate" env:"CHANGE_REQUEST_RATE"`
	// BuyerChange: the buyer revises the order after acknowledgement (per order).
	BuyerChange float64 `yaml:"buyer_change_rate" env:"BUYER_CHANGE_RATE"`
	// Cancel: the buyer cancels the order (per order).
	Cancel float64 `yaml:"cancel_rate" env:"CANCEL_RATE"`
	// SplitDelivery: a standard order is scheduled in two deliveries (per order).
	SplitDelivery float64 `yaml:"split_delivery_rate" env:"SPLIT_DELIVERY_RATE"`
	// DeliveryLate: goods arrive 1 to 10 days after the promised date (per shipment).
	DeliveryLate float64 `yaml:"delivery_late_rate" env:"DELIVERY_LATE_RATE"`
	// ASNMissing: goods arrive without an ASN (per shipment).
	ASNMissing float64 `yaml:"asn_missing_rate" env:"ASN_MISSING_RATE"`
	// ReceiptVariance: the count differs from the ASN or goods are rejected (per shipment).
	ReceiptVariance float64 `yaml:"receipt_variance_rate" env:"RECEIPT_VARIANCE_RATE"`
	// CertMissing: a certificate the material class requires is not sent
	// with the shipment (per shipment line that needs one).
	CertMissing float64 `yaml:"cert_missing_rate" env:"CERT_MISSING_RATE"`
	// QualityHold: incoming inspection holds a lot (per shipment).
	QualityHold float64 `yaml:"quality_hold_rate" env:"QUALITY_HOLD_RATE"`
	// InvoiceBlock: the invoice is blocked for price or quantity variance (per invoice).
	InvoiceBlock float64 `yaml:"invoice_block_rate" env:"INVOICE_BLOCK_RATE"`
	// DeliveryFailure: a message fails on its first delivery attempt (per message).
	DeliveryFailure float64 `yaml:"delivery_failure_rate" env:"DELIVERY_FAILURE_RATE"`
	// RetryExhausted: a failed message is never delivered (per failed message).
	RetryExhausted float64 `yaml:"retry_exhausted_rate" env:"RETRY_EXHAUSTED_RATE"`
}

// DefaultRates is a failure profile seen at mid-size manufacturers: most
// orders flow, one in five needs a person somewhere along the chain.
func DefaultRates() Rates {
	return Rates{
		AckLate:         0.12,
		AckMissing:      0.04,
		AckChange:       0.10,
		AckLineReject:   0.03,
		ChangeRequest:   0.06,
		BuyerChange:     0.08,
		Cancel:          0.01,
		SplitDelivery:   0.15,
		DeliveryLate:    0.10,
		ASNMissing:      0.05,
		ReceiptVariance: 0.06,
		CertMissing:     0.08,
		QualityHold:     0.03,
		InvoiceBlock:    0.12,
		DeliveryFailure: 0.02,
		RetryExhausted:  0.10,
	}
}

// Defaults fills the fields left at their zero value.
func (c *Config) Defaults() {
	if c.Tenant == "" {
		c.Tenant = "acme"
	}
	if c.Suppliers == 0 {
		c.Suppliers = 400
	}
	if c.OrdersPerDay == 0 {
		c.OrdersPerDay = 600
	}
	if c.BlanketShare == 0 {
		c.BlanketShare = 0.15
	}
	if c.FirstPONumber == 0 {
		c.FirstPONumber = 4500000001
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.Rate == 0 {
		c.Rate = 50
	}
	if c.Rates == (Rates{}) && !c.NoFailures {
		c.Rates = DefaultRates()
	}
}

// Validate checks the configuration; it does no I/O.
func (c *Config) Validate() error {
	var errs []error
	if !procure.ValidTenant(c.Tenant) {
		errs = append(errs, fmt.Errorf("tenant %q must be lowercase letters, digits, '-' or '_', at most 64", c.Tenant))
	}
	if c.Suppliers < 6 || c.Suppliers > 100000 {
		errs = append(errs, fmt.Errorf("suppliers is %d, must be between 6 and 100000", c.Suppliers))
	}
	if !(c.OrdersPerDay > 0) || c.OrdersPerDay > 1e7 {
		errs = append(errs, fmt.Errorf("orders_per_day is %g, must be above 0 and at most 1e7", c.OrdersPerDay))
	}
	if c.BlanketShare < 0 || c.BlanketShare > 1 {
		errs = append(errs, fmt.Errorf("blanket_share is %g, must be between 0 and 1", c.BlanketShare))
	}
	if c.FirstPONumber < 1 || c.FirstPONumber > 9e17 {
		errs = append(errs, fmt.Errorf("first_po_number is %d, must be positive", c.FirstPONumber))
	}
	if c.MaxAttempts < 2 || c.MaxAttempts > 20 {
		errs = append(errs, fmt.Errorf("max_attempts is %d, must be between 2 and 20", c.MaxAttempts))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch_size is %d, must be positive", c.BatchSize))
	}
	if !(c.Rate > 0) {
		errs = append(errs, fmt.Errorf("rate is %g, must be above 0 events per second", c.Rate))
	}
	if c.BackfillDays < 0 || c.BackfillDays > 3650 {
		errs = append(errs, fmt.Errorf("backfill_days is %d, must be between 0 and 3650", c.BackfillDays))
	}
	named := c.Rates.named()
	for _, name := range slices.Sorted(maps.Keys(named)) {
		if v := named[name]; !(v >= 0 && v <= 1) {
			errs = append(errs, fmt.Errorf("rates.%s is %g, must be between 0 and 1", name, v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	return nil
}

// named maps the rates' YAML names to their values.
func (r *Rates) named() map[string]float64 {
	return map[string]float64{
		"ack_late_rate": r.AckLate, "ack_missing_rate": r.AckMissing, "ack_change_rate": r.AckChange,
		"ack_line_reject_rate": r.AckLineReject, "change_request_rate": r.ChangeRequest,
		"buyer_change_rate": r.BuyerChange, "cancel_rate": r.Cancel, "split_delivery_rate": r.SplitDelivery,
		"delivery_late_rate": r.DeliveryLate, "asn_missing_rate": r.ASNMissing,
		"receipt_variance_rate": r.ReceiptVariance, "cert_missing_rate": r.CertMissing,
		"quality_hold_rate": r.QualityHold, "invoice_block_rate": r.InvoiceBlock,
		"delivery_failure_rate": r.DeliveryFailure, "retry_exhausted_rate": r.RetryExhausted,
	}
}
