package simulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// plant is a buying plant.
type plant struct {
	code, name, country, currency, city string
	cal                                 calendar
	weight                              float64 // share of the order volume
	suppliers                           []*supplier
	cumWeight                           []float64 // cumulative supplier weights
}

// supplier is one supplier with the items it sells.
type supplier struct {
	id, name, country, currency, timeZone string
	tier                                  int
	channel                               string // portal | edi | cxml | email
	gs1Prefix                             string // 9-digit GS1 company prefix
	leadDays                              int    // working days from order to delivery
	paymentDays                           int
	items                                 []*item
	ssccSerial                            int64
}

// item is an item with its material class.
type item struct {
	id, description string
	class           *materialClass
	price           float64 // per priceUnit units
	certRequired    bool
}

// materialClass groups items with one unit, price range and certificate rule.
type materialClass struct {
	name, unit         string
	certTypes          []string // certificate types required (empty: none)
	certShare          float64  // share of items of the class that require them
	priceMin, priceMax float64
	priceUnit          float64
	qtyMin, qtyMax     float64
	perPallet          float64
	nouns              []string
}

var materialClasses = []*materialClass{
	{name: "steel_coil", unit: "KGM", certTypes: []string{"coc"}, certShare: 1, priceMin: 0.8, priceMax: 1.6, priceUnit: 1, qtyMin: 2000, qtyMax: 20000, perPallet: 2500, nouns: []string{"Cold-rolled coil DC04", "Hot-dip galvanised coil DX51D", "Stainless coil 1.4301"}},
	{name: "aluminium_extrusion", unit: "KGM", certTypes: []string{"coc"}, certShare: 1, priceMin: 3, priceMax: 6, priceUnit: 1, qtyMin: 500, qtyMax: 5000, perPallet: 800, nouns: []string{"Extrusion profile 6060 T66", "Extrusion profile 6082 T6"}},
	{name: "plastic_resin", unit: "KGM", certTypes: []string{"coa"}, certShare: 1, priceMin: 1.5, priceMax: 4, priceUnit: 1, qtyMin: 1000, qtyMax: 10000, perPallet: 1000, nouns: []string{"PA66 GF30 granulate", "PP copolymer granulate", "ABS granulate"}},
	{name: "chemicals", unit: "LTR", certTypes: []string{"coa"}, certShare: 1, priceMin: 2, priceMax: 15, priceUnit: 1, qtyMin: 200, qtyMax: 2000, perPallet: 800, nouns: []string{"Cutting fluid", "Cleaning agent", "Two-component adhesive", "Primer"}},
	{name: "electronic_components", unit: "C62", certTypes: []string{"coc"}, certShare: 0.7, priceMin: 5, priceMax: 250, priceUnit: 100, qtyMin: 500, qtyMax: 20000, perPallet: 10000, nouns: []string{"Capacitor 10uF 50V", "Microcontroller 32-bit", "Connector 12-pin", "Relay 24V"}},
	{name: "fasteners", unit: "C62", priceMin: 8, priceMax: 120, priceUnit: 1000, qtyMin: 5000, qtyMax: 100000, perPallet: 40000, nouns: []string{"Hex bolt M8x30 8.8", "Nut M10 zinc", "Washer 8.4 A2", "Rivet 4.8x12"}},
	{name: "castings", unit: "C62", certTypes: []string{"coc"}, certShare: 1, priceMin: 15, priceMax: 200, priceUnit: 1, qtyMin: 50, qtyMax: 1000, perPallet: 120, nouns: []string{"Gear housing casting", "Pump body casting", "Bracket casting"}},
	{name: "machined_parts", unit: "C62", certTypes: []string{"coc"}, certShare: 0.3, priceMin: 5, priceMax: 150, priceUnit: 1, qtyMin: 50, qtyMax: 2000, perPallet: 400, nouns: []string{"Shaft 25 mm", "Flange DN50", "Bushing 30x40"}},
	{name: "packaging", unit: "C62", priceMin: 0.2, priceMax: 3, priceUnit: 1, qtyMin: 1000, qtyMax: 20000, perPallet: 2000, nouns: []string{"Corrugated box 600x400", "Foam insert", "Stretch film roll"}},
	{name: "rubber_seals", unit: "C62", priceMin: 0.1, priceMax: 2, priceUnit: 1, qtyMin: 1000, qtyMax: 20000, perPallet: 15000, nouns: []string{"O-ring 40x3 NBR", "Shaft seal 30x47x7", "Gasket EPDM"}},
	{name: "cables", unit: "MTR", priceMin: 0.5, priceMax: 5, priceUnit: 1, qtyMin: 500, qtyMax: 5000, perPallet: 2000, nouns: []string{"Control cable 7x0.75", "Power cable 3G2.5"}},
}

// country is where suppliers sit: zone, currency and GS1 prefix range.
type country struct {
	code, timeZone, currency, suffix string
	gs1                              []string
	weight                           float64
	near                             []string // plant countries it mostly serves
}

var countries = []country{
	{"DE", "Europe/Berlin", "EUR", "GmbH", []string{"400", "410", "425"}, 0.2, []string{"DE", "PL"}},
	{"US", "America/Chicago", "USD", "Inc.", []string{"030", "061", "081"}, 0.18, []string{"US", "MX"}},
	{"MX", "America/Mexico_City", "MXN", "S.A. de C.V.", []string{"750"}, 0.1, []string{"MX", "US"}},
	{"CN", "Asia/Shanghai", "CNY", "Co., Ltd.", []string{"690", "693", "695"}, 0.16, []string{"CN", "DE", "US", "PL", "MX", "BR"}},
	{"PL", "Europe/Warsaw", "PLN", "Sp. z o.o.", []string{"590"}, 0.1, []string{"PL", "DE"}},
	{"BR", "America/Sao_Paulo", "BRL", "Ltda.", []string{"789"}, 0.08, []string{"BR"}},
	{"CZ", "Europe/Prague", "CZK", "s.r.o.", []string{"859"}, 0.06, []string{"DE", "PL"}},
	{"IT", "Europe/Rome", "EUR", "S.p.A.", []string{"800", "805"}, 0.06, []string{"DE", "PL", "BR"}},
	{"JP", "Asia/Tokyo", "JPY", "K.K.", []string{"450", "490"}, 0.03, []string{"CN", "US"}},
	{"IN", "Asia/Kolkata", "INR", "Pvt. Ltd.", []string{"890"}, 0.03, []string{"DE", "US", "CN"}},
}

var nameParts = [2][]string{
	{"Nord", "Atlas", "Vertex", "Summit", "Orion", "Delta", "Pioneer", "Keystone", "Apex", "Meridian", "Falcon", "Granite", "Harbor", "Zenith", "Sterling", "Titan", "Boreal", "Cobalt", "Vega", "Aurora"},
	{"Metall", "Precision", "Components", "Plastics", "Industrial", "Castings", "Chemie", "Electronics", "Fasteners", "Packaging", "Polymers", "Machining", "Supply", "Technik", "Seals"},
}

// Carriers with their SCAC and mode.
var carriers = []procure.Carrier{
	{SCAC: "ODFL", Name: "Old Dominion Freight Line", Mode: "road"},
	{SCAC: "FXFE", Name: "FedEx Freight", Mode: "road"},
	{SCAC: "SAIA", Name: "Saia LTL Freight", Mode: "road"},
	{SCAC: "XPOL", Name: "XPO Logistics", Mode: "road"},
	{SCAC: "DHLG", Name: "DHL Freight", Mode: "road"},
	{SCAC: "DSVF", Name: "DSV Road", Mode: "road"},
	{SCAC: "UPSN", Name: "UPS", Mode: "parcel"},
	{SCAC: "MAEU", Name: "Maersk", Mode: "sea"},
	{SCAC: "CMDU", Name: "CMA CGM", Mode: "sea"},
	{SCAC: "EGLV", Name: "Evergreen Line", Mode: "sea"},
	{SCAC: "LHAC", Name: "Lufthansa Cargo", Mode: "air"},
}

// world is the manufacturer's master data.
type world struct {
	plants    []*plant
	cumPlant  []float64
	suppliers []*supplier
	items     []*item
}

type plantSpec struct {
	code, name, country, city, zone, currency string
	weight                                    float64
	holidays                                  [][2]int
}

var plantSpecs = []plantSpec{
	{"P01", "Berlin Assembly", "DE", "Berlin", "Europe/Berlin", "EUR", 0.24, [][2]int{{1, 1}, {5, 1}, {10, 3}, {12, 25}, {12, 26}}},
	{"P02", "Chicago Drives", "US", "Chicago", "America/Chicago", "USD", 0.2, [][2]int{{1, 1}, {7, 4}, {12, 25}}},
	{"P03", "Querétaro Components", "MX", "Mexico City", "America/Mexico_City", "MXN", 0.15, [][2]int{{1, 1}, {5, 1}, {9, 16}, {12, 25}}},
	{"P04", "Suzhou Electronics", "CN", "Shanghai", "Asia/Shanghai", "CNY", 0.15, [][2]int{{1, 1}, {5, 1}, {10, 1}, {10, 2}, {10, 3}}},
	{"P05", "Wrocław Castings", "PL", "Warsaw", "Europe/Warsaw", "PLN", 0.14, [][2]int{{1, 1}, {5, 1}, {5, 3}, {11, 11}, {12, 25}}},
	{"P06", "Campinas Systems", "BR", "Sao Paulo", "America/Sao_Paulo", "BRL", 0.12, [][2]int{{1, 1}, {4, 21}, {5, 1}, {9, 7}, {12, 25}}},
}

// newWorld builds the master data from the seed.
func newWorld(seed uint64, nSuppliers int) (*world, error) {
	r := rand.New(rand.NewPCG(seed, 0x5eed_0001))
	w := &world{}
	byCountry := map[string]*plant{}
	sum := 0.0
	for _, s := range plantSpecs {
		loc, err := time.LoadLocation(s.zone)
		if err != nil {
			return nil, fmt.Errorf("plant %s: time zone %s: %w", s.code, s.zone, err)
		}
		hol := map[[2]int]bool{}
		for _, h := range s.holidays {
			hol[h] = true
		}
		p := &plant{code: s.code, name: s.name, country: s.country, currency: s.currency, city: s.city, weight: s.weight,
			cal: calendar{loc: loc, open: 8, close: 17, holidays: hol}}
		w.plants = append(w.plants, p)
		byCountry[s.country] = p
		sum += s.weight
		w.cumPlant = append(w.cumPlant, sum)
	}
	var cumCountry []float64
	sum = 0
	for _, c := range countries {
		sum += c.weight
		cumCountry = append(cumCountry, sum)
	}
	for i := range nSuppliers {
		c := &countries[pick(r, cumCountry)]
		tier := 3
		switch x := r.Float64(); {
		case x < 0.1:
			tier = 1
		case x < 0.4:
			tier = 2
		}
		s := &supplier{
			id:          fmt.Sprintf("S%04d", i+1),
			name:        fmt.Sprintf("%s %s %s", nameParts[0][r.IntN(len(nameParts[0]))], nameParts[1][r.IntN(len(nameParts[1]))], c.suffix),
			country:     c.code,
			currency:    c.currency,
			timeZone:    c.timeZone,
			tier:        tier,
			channel:     supplierChannel(r, tier),
			gs1Prefix:   c.gs1[r.IntN(len(c.gs1))] + fmt.Sprintf("%06d", r.IntN(1000000)),
			leadDays:    5 + r.IntN(26),
			paymentDays: []int{30, 45, 60, 90}[r.IntN(4)],
		}
		if c.code == "CN" || c.code == "JP" || c.code == "IN" {
			s.leadDays += 20 // sea freight
		}
		// Items: 2 to 12 of one or two material classes.
		classes := []*materialClass{materialClasses[r.IntN(len(materialClasses))]}
		if r.Float64() < 0.4 {
			classes = append(classes, materialClasses[r.IntN(len(materialClasses))])
		}
		for range 2 + r.IntN(11) {
			mc := classes[r.IntN(len(classes))]
			it := &item{
				id:           fmt.Sprintf("M%07d", 1000001+len(w.items)),
				description:  fmt.Sprintf("%s, %s", mc.nouns[r.IntN(len(mc.nouns))], strings.ToUpper(fmt.Sprintf("rev %c", 'A'+rune(r.IntN(6))))),
				class:        mc,
				price:        round(mc.priceMin+r.Float64()*(mc.priceMax-mc.priceMin), 2),
				certRequired: len(mc.certTypes) > 0 && r.Float64() < mc.certShare,
			}
			s.items = append(s.items, it)
			w.items = append(w.items, it)
		}
		w.suppliers = append(w.suppliers, s)
		// Plants served: the plants of the nearby countries.
		weight := map[int]float64{1: 6, 2: 2.5, 3: 1}[tier]
		for j, pc := range c.near {
			if p := byCountry[pc]; p != nil && (j == 0 || r.Float64() < 0.5) {
				p.suppliers = append(p.suppliers, s)
				p.cumWeight = append(p.cumWeight, last(p.cumWeight)+weight)
			}
		}
	}
	// Every plant needs suppliers, however few there are.
	for i, p := range w.plants {
		if len(p.suppliers) == 0 {
			s := w.suppliers[i%len(w.suppliers)]
			p.suppliers = append(p.suppliers, s)
			p.cumWeight = append(p.cumWeight, 1)
		}
	}
	return w, nil
}

func supplierChannel(r *rand.Rand, tier int) string {
	x := r.Float64()
	switch tier {
	case 1:
		if x < 0.6 {
			return "edi"
		}
		return "portal"
	case 2:
		switch {
		case x < 0.6:
			return "portal"
		case x < 0.85:
			return "edi"
		}
		return "cxml"
	}
	switch {
	case x < 0.7:
		return "portal"
	case x < 0.9:
		return "email"
	}
	return "cxml"
}

// system is the system a supplier's messages come from and go to.
func (s *supplier) system() string {
	if s.channel == "edi" {
		return "edi"
	}
	return "portal"
}

// nextSSCC returns the supplier's next SSCC-18: extension digit, GS1
// company prefix, serial reference and the GS1 mod-10 check digit.
func (s *supplier) nextSSCC() string {
	s.ssccSerial++
	body := fmt.Sprintf("%d%s%07d", s.ssccSerial/10000000%10, s.gs1Prefix, s.ssccSerial%10000000)
	return body + string('0'+procure.GS1CheckDigit(body))
}

// masterEvents returns supplier.updated and item.updated for all master
// data, at times from start on, 10 ms apart.
func (w *world) masterEvents(tenant string, start time.Time, newID func() string) []*procure.Event {
	var evs []*procure.Event
	at := start
	for _, s := range w.suppliers {
		evs = append(evs, &procure.Event{
			ID: newID(), Type: procure.SupplierUpdated, Source: procure.SourceERP, Tenant: tenant, OccurredAt: at,
			Supplier: s.id, Document: procure.DocumentRef{Kind: procure.DocSupplier, ID: s.id},
			Payload: &procure.Supplier{Name: s.name, Tier: s.tier, Status: "active", Country: s.country, TimeZone: s.timeZone, Channel: s.channel},
		})
		at = at.Add(10 * time.Millisecond)
		for _, it := range s.items {
			p := &procure.Item{Description: it.description, MaterialClass: it.class.name, BaseUnit: it.class.unit}
			if it.certRequired {
				p.CertificateRequired = true
				p.CertificateTypes = it.class.certTypes
			}
			evs = append(evs, &procure.Event{
				ID: newID(), Type: procure.ItemUpdated, Source: procure.SourceERP, Tenant: tenant, OccurredAt: at,
				Supplier: s.id, Document: procure.DocumentRef{Kind: procure.DocItem, ID: it.id}, Payload: p,
			})
			at = at.Add(10 * time.Millisecond)
		}
	}
	return evs
}

// pick returns the index chosen from cumulative weights.
func pick(r *rand.Rand, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	for i, c := range cum {
		if x < c {
			return i
		}
	}
	return len(cum) - 1
}

func last(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}

func round(v float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(v*p) / p
}
