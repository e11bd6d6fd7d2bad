// Package httperr is the one way supplywatch's HTTP APIs (the console, the
// KPI API, ingest and the Slack endpoints) answer an error: the same JSON
// shape, {"error": {"code", "message", "field"?}}, and the same HTTP status
// for the same error code, so a client reads every refusal the same way.
//
// The codes are procure's error codes (invalid, unauthorized, forbidden,
// not_found, conflict, internal); this package knows them by value because
// internal packages import no domain package (the test checks they agree).
package httperr

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Body is the JSON of an error answer.
type Body struct {
	Error Detail `json:"error"`
	// Current is the current state of what a conflicting change was about
	// (the console's 409s).
	Current any `json:"current,omitempty"`
}

// Detail says what went wrong: a code a program can switch on, a message
// for people and, for bad input, the field at fault.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

var statusOf = map[string]int{
	"invalid":      http.StatusBadRequest,
	"unauthorized": http.StatusUnauthorized,
	"forbidden":    http.StatusForbidden,
	"not_found":    http.StatusNotFound,
	"conflict":     http.StatusConflict,
	"internal":     http.StatusInternalServerError,
}

// Status is the HTTP status of an error code: 500 for a code it does not
// know.
func Status(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Abort answers status with d and stops the handler chain.
func Abort(c *gin.Context, status int, d Detail) {
	c.AbortWithStatusJSON(status, Body{Error: d})
}
