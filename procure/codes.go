package procure

// UN/ECE Recommendation 20 unit codes that canonical events may carry. The
// list holds the codes seen in manufacturing procurement; a code outside it is
// "not mapped" for the rules (never guessed at).
var rec20Units = map[string]string{
	"C62": "one (piece)", "EA": "each", "H87": "piece", "PR": "pair", "SET": "set", "DZN": "dozen",
	"KGM": "kilogram", "GRM": "gram", "MGM": "milligram", "TNE": "tonne", "LBR": "pound", "ONZ": "ounce",
	"MTR": "metre", "CMT": "centimetre", "MMT": "millimetre", "KMT": "kilometre", "FOT": "foot", "INH": "inch", "YRD": "yard",
	"MTK": "square metre", "FTK": "square foot", "MTQ": "cubic metre", "LTR": "litre", "MLT": "millilitre", "GLL": "US gallon",
	"HUR": "hour", "MIN": "minute", "DAY": "day", "KWH": "kilowatt hour",
	"XPX": "pallet", "XCS": "case", "XBX": "box", "XCT": "carton", "XRO": "roll", "XDR": "drum", "XBG": "bag", "XPK": "package",
	"KT": "kit", "GRO": "gross", "STN": "short ton", "YDQ": "cubic yard", "FTQ": "cubic foot", "YDK": "square yard",
	"SEC": "second", "WEE": "week", "MON": "month", "ANN": "year", "CLT": "centilitre", "DMT": "decimetre",
	"XBO": "bottle", "XCN": "can", "XTU": "tube", "XBE": "bundle", "XPL": "pail", "XSA": "sack", "XCR": "crate",
	"XCY": "cylinder", "XBJ": "bucket", "XJR": "jar", "XTN": "tin", "XBA": "barrel",
}

// KnownUnit reports whether code is a UN/ECE Rec 20 (or Rec 21 "X"-prefixed
// packaging) code that supplywatch knows.
func KnownUnit(code string) bool {
	_, ok := rec20Units[code]
	return ok
}

// currencyMinorUnits maps ISO 4217 codes to their number of minor-unit digits.
var currencyMinorUnits = map[string]int{
	"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0, "CNY": 2, "CAD": 2, "MXN": 2, "BRL": 2, "INR": 2,
	"PLN": 2, "CZK": 2, "HUF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "KRW": 0, "SGD": 2, "AUD": 2, "TRY": 2,
	"ZAR": 2, "RON": 2, "KWD": 3, "BHD": 3, "TND": 3, "THB": 2, "VND": 0, "IDR": 2, "MYR": 2, "HKD": 2,
}

// KnownCurrency reports whether code is an ISO 4217 currency supplywatch knows.
func KnownCurrency(code string) bool {
	_, ok := currencyMinorUnits[code]
	return ok
}

// CurrencyMinorUnits returns the ISO 4217 minor-unit digits of code (2 when
// unknown) so that implied-decimal amounts can be scaled.
func CurrencyMinorUnits(code string) int {
	if n, ok := currencyMinorUnits[code]; ok {
		return n
	}
	return 2
}

// Incoterms by edition. Retired terms of older editions are still valid with
// their edition (cXML allows them).
var incoterms = map[string]map[string]bool{
	"2020": {"EXW": true, "FCA": true, "CPT": true, "CIP": true, "DAP": true, "DPU": true, "DDP": true, "FAS": true, "FOB": true, "CFR": true, "CIF": true},
	"2010": {"EXW": true, "FCA": true, "CPT": true, "CIP": true, "DAT": true, "DAP": true, "DDP": true, "FAS": true, "FOB": true, "CFR": true, "CIF": true},
	"2000": {"EXW": true, "FCA": true, "CPT": true, "CIP": true, "DAF": true, "DES": true, "DEQ": true, "DDU": true, "DDP": true, "FAS": true, "FOB": true, "CFR": true, "CIF": true},
}

// KnownIncoterm reports whether code is a term of the given edition ("2020"
// when edition is empty).
func KnownIncoterm(code, edition string) bool {
	if edition == "" {
		edition = "2020"
	}
	return incoterms[edition][code]
}
