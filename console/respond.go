package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json/jsontext"
)

// Every JSON answer of the API goes through apiJSON, so that two rules hold
// everywhere, also in stored documents passed through as they are (an
// order's body on the detail page) and in types the console does not own
// (procure.Exception):
//
//   - "none" is null: a zero time (encoding/json writes time.Time{} as
//     "0001-01-01T00:00:00Z") is answered as null;
//   - money is a decimal string: a number under one of moneyKeys is answered
//     as a decimal string ("25148.20", not 25148.199999999997), rounded
//     once from the number's exact decimal value.
//
// Amounts the console computes itself (value at risk sums, the supplier
// view's order value) are decimal strings at the source.

const zeroTime = "0001-01-01T00:00:00Z"

// moneyKeys are the JSON keys of amounts of money and their decimals:
// amounts to cents, unit prices up to six decimals (at least two).
var moneyKeys = map[string]int{
	"value_at_risk": 2,
	"amount":        2,
	"unit_price":    -6,
	"po_unit_price": -6,
}

// decimalString formats a JSON number literal with places decimals; a
// negative places keeps up to -places decimals and at least two.
func decimalString(lit string, places int) (string, bool) {
	r, ok := new(big.Rat).SetString(lit)
	if !ok {
		return "", false
	}
	if places >= 0 {
		return r.FloatString(places), true
	}
	s := r.FloatString(-places)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = strings.TrimRight(s, "0")
		for len(s)-i-1 < 2 {
			s += "0"
		}
	}
	return s, true
}

// amountString is an amount the console computed, to cents.
func amountString(v float64) string {
	s, _ := decimalString(strconv.FormatFloat(v, 'f', -1, 64), 2)
	return s
}

// apiJSON rewrites a JSON document by the rules above; it keeps everything
// else, including the order of keys.
func apiJSON(b []byte) ([]byte, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	var out bytes.Buffer
	out.Grow(len(b))
	enc := jsontext.NewEncoder(&out, jsontext.EscapeForHTML(true))
	var name string
	for {
		kind, n := dec.StackIndex(dec.StackDepth())
		inObject := kind == '{'
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch {
		case inObject && n%2 == 0 && tok.Kind() == '"':
			name = tok.String() // an object's key
		case tok.Kind() == '"' && tok.String() == zeroTime:
			tok = jsontext.Null
		case inObject && tok.Kind() == '0':
			if places, ok := moneyKeys[name]; ok {
				if s, ok := decimalString(tok.String(), places); ok {
					tok = jsontext.String(s)
				}
			}
		}
		if err := enc.WriteToken(tok); err != nil {
			return nil, err
		}
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}

// marshalAPI is json.Marshal followed by apiJSON.
func marshalAPI(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return apiJSON(b)
}

// respond writes v as the JSON answer with status.
func (k *kit) respond(g *gin.Context, status int, v any) {
	b, err := marshalAPI(v)
	if err != nil {
		k.log.Error("console answer not encoded", "method", g.Request.Method, "path", g.FullPath(), "err", err)
		g.Status(http.StatusInternalServerError)
		return
	}
	g.Data(status, "application/json; charset=utf-8", b)
}
