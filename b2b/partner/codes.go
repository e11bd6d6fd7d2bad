package partner

import "github.com/supplywatch/supplywatch/procure"

// defaultUnits is the built-in unit table per standard: the codes a partner
// writes → UN/ECE Rec 20 (Rec 21 packaging as Rec 20 "X" codes). Every target
// is a code procure.KnownUnit accepts (checked by a test). X12 element 355 has
// its own code list: X12 PL is a pallet, CA a case, UN a unit; in Rec 20 PL is
// a pail, so EDIFACT and cXML PL are not mapped by default.
var defaultUnits = map[Standard]map[string]string{
	X12: {
		"EA": "C62", "UN": "C62", "PC": "H87", "PR": "PR", "ST": "SET", "DZ": "DZN",
		"CA": "XCS", "PL": "XPX", "BX": "XBX", "CT": "XCT", "RL": "XRO",
		"DR": "XDR", "BG": "XBG", "PK": "XPK",
		"LB": "LBR", "OZ": "ONZ", "KG": "KGM", "GR": "GRM", "ME": "MGM",
		"FT": "FOT", "IN": "INH", "YD": "YRD", "MR": "MTR", "CM": "CMT", "MM": "MMT",
		"SF": "FTK", "SM": "MTK", "CR": "MTQ", "LT": "LTR", "ML": "MLT", "GA": "GLL",
		"HR": "HUR", "MJ": "MIN", "DA": "DAY", "KH": "KWH",
		"KT": "KT", "GS": "GRO", "MT": "TNE", "TN": "STN", "CY": "YDQ", "CF": "FTQ", "SY": "YDK",
		"WK": "WEE", "MO": "MON", "YR": "ANN", "BO": "XBO", "CN": "XCN", "TB": "XTU", "BE": "XBE",
	},
	EDIFACT: rec20Defaults(),
	CXML:    rec20Defaults(),
}

// rec20Defaults is the table for standards that write Rec 20 codes (EDIFACT
// 6411, cXML UnitOfMeasure): the known codes map to themselves, deprecated
// Rec 20 codes to their replacements.
func rec20Defaults() map[string]string {
	m := map[string]string{
		"EA": "C62", "PCE": "H87", "NAR": "C62", "NPR": "PR", "PCS": "H87",
		"PX": "XPX", "CS": "XCS", "BX": "XBX", "CT": "XCT", "RO": "XRO", "DR": "XDR", "BG": "XBG", "PK": "XPK",
	}
	for _, c := range []string{
		"C62", "H87", "PR", "SET", "DZN", "KGM", "GRM", "MGM", "TNE", "LBR", "ONZ", "MTR", "CMT", "MMT", "KMT",
		"FOT", "INH", "YRD", "MTK", "FTK", "MTQ", "LTR", "MLT", "GLL", "HUR", "MIN", "DAY", "KWH",
		"XPX", "XCS", "XBX", "XCT", "XRO", "XDR", "XBG", "XPK",
		"KT", "GRO", "STN", "YDQ", "FTQ", "YDK", "SEC", "WEE", "MON", "ANN", "CLT", "DMT",
		"XBO", "XCN", "XTU", "XBE", "XPL", "XSA", "XCR", "XCY", "XBJ", "XJR", "XTN", "XBA",
	} {
		m[c] = c
	}
	return m
}

// defaultProductQualifiers is the built-in preference order for the item id:
// the buyer's own number first (the ERP item), then the supplier's, then
// global trade item numbers.
var defaultProductQualifiers = map[Standard][]string{
	X12:     {"BP", "IN", "PI", "CB", "BC", "VP", "VN", "VC", "SK", "MG", "MF", "UK", "UP", "EN", "UA", "UI", "IB"},
	EDIFACT: {"BP", "IN", "SA", "MF", "SRV", "EN", "UP"},
	CXML:    {"BuyerPartID", "SupplierPartID"},
}

func knownCurrency(code string) bool { return procure.KnownCurrency(code) }

func knownIncoterm(code, edition string) bool { return procure.KnownIncoterm(code, edition) }

// DefaultUnits returns a copy of the built-in unit table of std (for docs and
// tests).
func DefaultUnits(std Standard) map[string]string {
	m := make(map[string]string, len(defaultUnits[std]))
	for k, v := range defaultUnits[std] {
		m[k] = v
	}
	return m
}
