package httpauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/internal/httperr"
)

type who struct{ name string }

// server is a real gin engine with one route guarded by a scheme that
// takes "Bearer good" and a body signed by its last byte being '!'.
func server(t *testing.T, maxBody int64, refused *[]int, fail func(*gin.Context, error)) *httptest.Server {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	s := Scheme{
		Check: func(c *gin.Context) (any, error) {
			if c.GetHeader("Authorization") != "Bearer good" {
				return nil, errors.New("token: not known")
			}
			return &who{name: "good"}, nil
		},
		MaxBody: maxBody,
		Verify: func(c *gin.Context, p any, body []byte) error {
			if p.(*who).name != "good" {
				t.Errorf("Verify got principal %v", p)
			}
			if !strings.HasSuffix(string(body), "!") {
				return errors.New("signature: does not match the body")
			}
			return nil
		},
		Challenge: `Bearer realm="test"`,
		Fail:      fail,
		Refused:   func(_ *gin.Context, status int) { *refused = append(*refused, status) },
	}
	r.POST("/x", Require(s), func(c *gin.Context) {
		p, ok := Principal[*who](c)
		if !ok {
			t.Error("handler: no principal")
		}
		c.JSON(http.StatusOK, gin.H{"who": p.name, "body": string(Body(c))})
	})
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	return ts
}

func post(t *testing.T, url, auth, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/x", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, resp.Header, m
}

func errorOf(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("answer has no error object: %v", m)
	}
	return e
}

func TestRequireChecksHeadersThenBodyAndHandsBoth(t *testing.T) {
	var refused []int
	ts := server(t, 16, &refused, nil)

	// Admitted: the handler sees the principal and the body.
	status, _, m := post(t, ts.URL, "Bearer good", "hello!")
	if status != http.StatusOK || m["who"] != "good" || m["body"] != "hello!" {
		t.Fatalf("admitted request: %d %v", status, m)
	}

	// A bad token is refused before the body is read, even an oversized one.
	status, hdr, m := post(t, ts.URL, "Bearer bad", strings.Repeat("x", 100))
	if e := errorOf(t, m); status != http.StatusUnauthorized || e["code"] != "unauthorized" || e["message"] != "token: not known" {
		t.Fatalf("bad token: %d %v", status, m)
	}
	if hdr.Get("WWW-Authenticate") != `Bearer realm="test"` {
		t.Errorf("401 without the challenge: %q", hdr.Get("WWW-Authenticate"))
	}

	// A good token with a body over the limit: 413, the limit named.
	status, _, m = post(t, ts.URL, "Bearer good", strings.Repeat("x", 17))
	if e := errorOf(t, m); status != http.StatusRequestEntityTooLarge || e["code"] != "invalid" || e["message"] != "body: larger than the limit of 16 bytes" {
		t.Fatalf("large body: %d %v", status, m)
	}

	// A body the signature does not match.
	status, _, m = post(t, ts.URL, "Bearer good", "hello?")
	if e := errorOf(t, m); status != http.StatusUnauthorized || e["message"] != "signature: does not match the body" {
		t.Fatalf("bad signature: %d %v", status, m)
	}

	if want := []int{401, 413, 401}; !equal(refused, want) {
		t.Errorf("refusals reported %v, want %v", refused, want)
	}
}

func TestRequireRendersRefusalsWithTheSchemesFail(t *testing.T) {
	var refused []int
	ts := server(t, 16, &refused, func(c *gin.Context, err error) {
		httperr.Abort(c, http.StatusServiceUnavailable, httperr.Detail{Code: "internal", Message: "store down: " + err.Error()})
	})
	status, _, m := post(t, ts.URL, "", "x!")
	if e := errorOf(t, m); status != http.StatusServiceUnavailable || e["message"] != "store down: token: not known" {
		t.Fatalf("scheme's Fail not used: %d %v", status, m)
	}
	if want := []int{503}; !equal(refused, want) {
		t.Errorf("refusals reported %v, want %v", refused, want)
	}
}

func equal(a, b []int) bool { return slices.Equal(a, b) }
