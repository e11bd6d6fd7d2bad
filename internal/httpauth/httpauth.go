// Package httpauth is the one authentication middleware of supplywatch's
// HTTP APIs: the console and the KPI API (sessions and API tokens), ingest
// (ingest tokens, and a signature over the body where the token has a
// secret) and Slack's interactions (Slack's signature over the body). Each
// API brings its Scheme (how its credentials are checked and how a refusal
// is rendered); the middleware is the same: credentials in the headers are
// checked before the body is read, a signed body is read once within a
// limit and verified, a refusal stops the chain, and the principal and the
// body are handed to the handler through the context.
//
// Authorisation (roles, scopes) is the API's: it runs after Require, on
// the principal Require stored.
package httpauth

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/internal/httperr"
)

const (
	principalKey = "httpauth.principal"
	bodyKey      = "httpauth.body"
)

// Scheme is how one API authenticates a request.
type Scheme struct {
	// Check checks the credentials in the headers and returns who sent the
	// request (nil when the scheme has none in the headers, as Slack's). It
	// runs before the body is read.
	Check func(c *gin.Context) (principal any, err error)
	// MaxBody, when above zero, has the body read (at most MaxBody bytes,
	// else 413) after Check, and verified by Verify. The body is then
	// Body(c) for the handler.
	MaxBody int64
	// Verify checks a signature over the body; nil when the scheme signs
	// nothing.
	Verify func(c *gin.Context, principal any, body []byte) error
	// Challenge, if set, is the WWW-Authenticate header of a 401.
	Challenge string
	// Fail answers a refusal of Check or Verify (the API's own rendering:
	// the status of the error's code, logging). nil answers 401
	// unauthorized with the error's text.
	Fail func(c *gin.Context, err error)
	// Refused, if set, is told the status of every refusal (metrics).
	Refused func(c *gin.Context, status int)
}

// Require authenticates every request it guards with s. A request it
// refuses is answered and aborted (c.IsAborted); one it admits carries its
// principal (Principal) and, when s reads it, its body (Body), and goes on
// to the next handler. An API that authorises in the same handler calls
// it and checks c.IsAborted.
func Require(s Scheme) gin.HandlerFunc {
	return func(c *gin.Context) {
		var p any
		if s.Check != nil {
			var err error
			if p, err = s.Check(c); err != nil {
				s.refuse(c, http.StatusUnauthorized, err)
				return
			}
		}
		if s.MaxBody > 0 {
			body, status, err := readBody(c, s.MaxBody)
			if err != nil {
				if s.Refused != nil {
					s.Refused(c, status)
				}
				httperr.Abort(c, status, httperr.Detail{Code: "invalid", Message: err.Error()})
				return
			}
			c.Set(bodyKey, body)
			if s.Verify != nil {
				if err := s.Verify(c, p, body); err != nil {
					s.refuse(c, http.StatusUnauthorized, err)
					return
				}
			}
		}
		c.Set(principalKey, p)
	}
}

// SetPrincipal stores p as the request's principal, for a request that
// authenticates in its handler (a sign-in starting a session).
func SetPrincipal(c *gin.Context, p any) { c.Set(principalKey, p) }

func (s Scheme) refuse(c *gin.Context, status int, err error) {
	if s.Challenge != "" {
		c.Header("WWW-Authenticate", s.Challenge)
	}
	if s.Fail != nil {
		s.Fail(c, err)
		c.Abort()
	} else {
		httperr.Abort(c, status, httperr.Detail{Code: "unauthorized", Message: err.Error()})
	}
	if s.Refused != nil {
		s.Refused(c, c.Writer.Status())
	}
}

// readBody reads the request body within limit: a declared or actual
// length above it is 413, another read error 400.
func readBody(c *gin.Context, limit int64) ([]byte, int, error) {
	tooLarge := fmt.Errorf("body: larger than the limit of %d bytes", limit)
	if c.Request.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, tooLarge
		}
		return nil, http.StatusBadRequest, fmt.Errorf("body: %w", err)
	}
	return body, 0, nil
}

// Principal is the principal Require admitted the request with, if it is
// a P.
func Principal[P any](c *gin.Context) (P, bool) {
	v, _ := c.Get(principalKey)
	p, ok := v.(P)
	return p, ok
}

// Body is the request body Require read and verified (nil when its scheme
// reads none).
func Body(c *gin.Context) []byte {
	v, _ := c.Get(bodyKey)
	b, _ := v.([]byte)
	return b
}
