package httperr_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/internal/httperr"
	"github.com/supplywatch/supplywatch/procure"
)

// TestStatusOfEveryProcureCode keeps the codes known here in step with
// procure's.
func TestStatusOfEveryProcureCode(t *testing.T) {
	for code, want := range map[string]int{
		procure.EINVALID: 400, procure.EUNAUTHORIZED: 401, procure.EFORBIDDEN: 403,
		procure.ENOTFOUND: 404, procure.ECONFLICT: 409, procure.EINTERNAL: 500, "something_else": 500,
	} {
		if got := httperr.Status(code); got != want {
			t.Errorf("Status(%q) = %d, want %d", code, got, want)
		}
	}
}

// TestAbortWritesTheOneShape checks the bytes of an answer through a real
// gin engine and that the chain stops.
func TestAbortWritesTheOneShape(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	after := false
	r.GET("/x", func(c *gin.Context) {
		httperr.Abort(c, http.StatusUnauthorized, httperr.Detail{Code: procure.EUNAUTHORIZED, Message: "no <token>"})
	}, func(*gin.Context) { after = true })
	r.GET("/y", func(c *gin.Context) {
		httperr.Abort(c, http.StatusBadRequest, httperr.Detail{Code: procure.EINVALID, Message: "unknown format", Field: "format"})
	})
	for _, tc := range []struct {
		path, body string
		status     int
	}{
		{"/x", `{"error":{"code":"unauthorized","message":"no \u003ctoken\u003e"}}`, 401},
		{"/y", `{"error":{"code":"invalid","message":"unknown format","field":"format"}}`, 400},
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", tc.path, nil))
		if w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("%s: %d %s, want %d %s", tc.path, w.Code, w.Body, tc.status, tc.body)
		}
	}
	if after {
		t.Error("the handler after Abort ran")
	}
}
