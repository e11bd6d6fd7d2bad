package console_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/procure"
)

// moneyKeys are the JSON keys of amounts of money; "value" is money too in
// an object that names a currency.
var moneyKeys = []string{"value_at_risk", "amount", "unit_price", "po_unit_price", "price", "total"}

// badValues walks a decoded JSON answer and returns where it holds a zero
// time (0001-01-01…, the JSON of Go's time.Time{}) or an amount of money as
// a number rather than a decimal string.
func badValues(path string, v any) []string {
	var bad []string
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(x, "0001-01-01") || strings.HasPrefix(x, "0000-12-31") {
			bad = append(bad, fmt.Sprintf("%s: zero time %q (want null)", path, x))
		}
	case []any:
		for i, it := range x {
			bad = append(bad, badValues(fmt.Sprintf("%s[%d]", path, i), it)...)
		}
	case map[string]any:
		_, hasCurrency := x["currency"]
		for k, it := range x {
			if n, ok := it.(json.Number); ok && (slices.Contains(moneyKeys, k) || hasCurrency && k == "value") {
				bad = append(bad, fmt.Sprintf("%s.%s: money as a number %s (want a decimal string)", path, k, n))
			}
			bad = append(bad, badValues(path+"."+k, it)...)
		}
	}
	return bad
}

// TestAPIAnswersNullsNotZeroTimesAndDecimalMoney calls every GET route each
// role (and a supplier token) may call, on a console seeded with documents,
// exceptions (one with a value at risk that binary floating point cannot
// hold), tokens without expiry or use and an audit log, and fails on any
// zero time or amount of money as a float in any answer.
func TestAPIAnswersNullsNotZeroTimesAndDecimalMoney(t *testing.T) {
	e := newEnv(t)
	// 3 × 8382.733333…: what summing line values in float64 gives.
	e.raise(procure.ExceptionCandidate{Rule: "po-not-acknowledged", Kind: procure.KindSLA, Subject: "po/4500000009",
		Title: "PO not acknowledged", Message: "PO 4500000009 not acknowledged", Severity: procure.SeverityHigh, Team: "procurement",
		Supplier: "S1", Plant: "P01", PO: "4500000009", ValueAtRisk: 25148.199999999997, Currency: "EUR"})
	admin := e.signIn(procure.RoleAdmin)
	admin.mustOK("POST", "/api/tokens", map[string]any{"name": "no-expiry", "login": e.signIns[procure.RoleAdmin].Login}, nil)
	admin.mustOK("POST", "/api/tokens", map[string]any{"name": "portal-S1", "supplier": "S1"}, nil)
	var q struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	admin.mustOK("GET", "/api/exceptions?limit=500", nil, &q)
	if len(q.Items) < 6 {
		t.Fatalf("seeded queue has %d exceptions", len(q.Items))
	}
	var x struct {
		Exception struct {
			Version int64 `json:"version"`
		} `json:"exception"`
	}
	admin.mustOK("GET", idPath("/api/exceptions/%d", e.ids["price"]), nil, &x)
	admin.mustOK("POST", idPath("/api/exceptions/%d/actions", e.ids["price"]), map[string]any{"action": "resolve", "reason": "credit note", "version": x.Exception.Version}, nil)
	// A team, a routing rule, a saved view, a comment and a retry, so that
	// their answers are checked too.
	admin.mustOK("POST", "/api/teams", map[string]any{"name": "expediting", "queue": "exp", "default_assignee": "eva", "members": []string{"eva", "otto"}}, nil)
	admin.mustOK("POST", "/api/routing/rules", map[string]any{"rule": "po-not-acknowledged", "plant": "P01", "team": "expediting", "assignee": "otto"}, nil)
	admin.mustOK("POST", "/api/views", map[string]any{"name": "critical P01", "query": "severity=critical&plant=P01"}, nil)
	admin.mustOK("POST", idPath("/api/exceptions/%d/comments", e.ids["delivery"]), map[string]any{"note": "asked the carrier"}, nil)
	var pv struct {
		Confirm string `json:"confirm"`
	}
	admin.mustOK("POST", "/api/retries/preview", map[string]any{"exception_ids": []int64{e.ids["delivery"]}}, &pv)
	admin.mustOK("POST", "/api/retries", map[string]any{"exception_ids": []int64{e.ids["delivery"]}, "confirm": pv.Confirm}, nil)

	clients := map[string]*client{procure.RoleSupplier: e.supplierToken("S1")}
	for _, role := range procure.UserRoles {
		clients[role] = e.signIn(role)
	}
	paths := func(cl *client, path string) []string {
		switch {
		case strings.HasPrefix(path, "/api/exceptions/:id"):
			// Every exception the caller sees, and a resolved one.
			cl.mustOK("GET", "/api/exceptions?state=open,acknowledged,resolved&limit=500", nil, &q)
			var out []string
			for _, it := range q.Items {
				out = append(out, strings.Replace(path, ":id", itoa(it.ID), 1))
			}
			return out
		case path == "/api/exceptions":
			return []string{path, path + "?state=resolved,ignored", path + "?snoozed=include&limit=2"}
		case strings.HasPrefix(path, "/api/supplier/v1/orders/"):
			return []string{strings.Replace(path, ":id", "4500000001", 1)}
		case strings.HasPrefix(path, "/api/supplier/v1/invoices/"):
			return []string{strings.Replace(path, ":id", "INV1", 1)}
		case path == "/api/timeline":
			return []string{path + "?correlation_id=C1", path + "?document_id=4500000001"}
		case path == "/api/value-at-risk":
			return []string{path, path + "?by=group"}
		}
		return []string{strings.NewReplacer(":plant", "P01", ":supplier", "S1").Replace(path)}
	}
	checked := map[string]int{}
	// Every answer also matches its schema in openapi.yaml (each mismatch
	// reported once per route).
	schemas := newAnswerSchemas(t)
	mismatch := map[string]bool{}
	for _, rt := range e.console.Routes() {
		method, path := rt[0], rt[1]
		roles, public, _ := e.console.RouteRoles(method, path)
		if method != "GET" || path == "/api/live" || path == "/api/openapi.json" || strings.HasPrefix(path, "/api/auth/oidc") {
			continue
		}
		for name, cl := range clients {
			if !public && !slices.Contains(roles, name) {
				continue
			}
			for _, p := range paths(cl, path) {
				st, b := cl.raw("GET", p, nil)
				if st == 503 {
					continue // a dependency this console has not got
				}
				if st != 200 {
					t.Errorf("GET %s as %s: %d %.300s", p, name, st, b)
					continue
				}
				dec := json.NewDecoder(strings.NewReader(string(b)))
				dec.UseNumber()
				var v any
				if err := dec.Decode(&v); err != nil {
					t.Errorf("GET %s as %s: %v", p, name, err)
					continue
				}
				for _, bad := range badValues("", v) {
					t.Errorf("GET %s as %s: %s", p, name, bad)
				}
				if err := schemas.check(method, path, b); err != nil && !mismatch[path+err.Error()] {
					mismatch[path+err.Error()] = true
					t.Errorf("GET %s as %s: the answer does not match openapi.yaml: %v\n%.600s", p, name, err, b)
				}
				checked[name]++
			}
		}
	}
	for name := range clients {
		if checked[name] < 3 {
			t.Errorf("only %d answers checked as %s", checked[name], name)
		}
	}
	t.Logf("answers checked per caller: %v", checked)
	// The figure itself survives as a decimal.
	st, b := clients[procure.RoleProcurement].raw("GET", "/api/exceptions?supplier=S1&rule=po-not-acknowledged", nil)
	if st != 200 || !contains(b, `"value_at_risk":"25148.20"`) {
		t.Errorf("value at risk 25148.199999999997 answered as %d %.400s, want \"25148.20\"", st, b)
	}
}

func TestAPIJSONRewritesZeroTimesAndMoneyOnly(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"zero time becomes null", `{"at":"0001-01-01T00:00:00Z","b":"2026-01-02T00:00:00Z"}`, `{"at":null,"b":"2026-01-02T00:00:00Z"}`},
		{"money to cents, rounded half away from zero", `{"value_at_risk":25148.199999999997,"amount":0.125}`, `{"value_at_risk":"25148.20","amount":"0.13"}`},
		{"unit prices keep up to six decimals", `{"unit_price":0.145,"po_unit_price":12}`, `{"unit_price":"0.145","po_unit_price":"12.00"}`},
		{"nested documents, arrays and key order kept", `{"z":[{"body":{"lines":[{"unit_price":0.1,"quantity":1000}]}}],"a":1.5}`,
			`{"z":[{"body":{"lines":[{"unit_price":"0.10","quantity":1000}]}}],"a":1.5}`},
		{"a key's name is not a value", `{"amount":{"amount":3}}`, `{"amount":{"amount":"3.00"}}`},
		{"other numbers and strings stay", `{"value":1.25,"quantity":0.30000000000000004,"amount":"12.00","note":"amount"}`,
			`{"value":1.25,"quantity":0.30000000000000004,"amount":"12.00","note":"amount"}`},
		{"HTML stays escaped", `{"m":"\u003cb\u003e"}`, `{"m":"\u003cb\u003e"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := console.APIJSON([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// queueItem is an exception as the API answers it: the value at risk is a
// decimal string.
type queueItem struct {
	procure.QueueItem
	ValueAtRisk string `json:"value_at_risk"`
}
