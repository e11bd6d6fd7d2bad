package collector

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Token is one ingest credential: a source system of one tenant. The token
// itself is configured as its SHA-256 (token_sha256) or, for development,
// in clear (token). With an HMAC secret, requests may be signed; with
// require_signature they must be.
type Token struct {
	Name             string   `yaml:"name"`
	Tenant           string   `yaml:"tenant"`
	Sources          []string `yaml:"sources"`
	TokenSHA256      string   `yaml:"token_sha256"`
	Token            string   `yaml:"token"`
	HMACSecret       string   `yaml:"hmac_secret"`
	RequireSignature bool     `yaml:"require_signature"`
	// RatePerSecond limits events per second (0: the ingest default).
	RatePerSecond float64 `yaml:"rate_per_second"`
	Burst         int     `yaml:"burst"`
}

// String never shows the secrets.
func (t Token) String() string { return fmt.Sprintf("token %q (tenant %s)", t.Name, t.Tenant) }

func (t *Token) hash() (string, error) {
	switch {
	case t.TokenSHA256 != "":
		if b, err := hex.DecodeString(t.TokenSHA256); err != nil || len(b) != sha256.Size {
			return "", fmt.Errorf("ingest token %q: token_sha256 must be 64 hex digits", t.Name)
		}
		return strings.ToLower(t.TokenSHA256), nil
	case t.Token != "":
		sum := sha256.Sum256([]byte(t.Token))
		return hex.EncodeToString(sum[:]), nil
	}
	return "", fmt.Errorf("ingest token %q: token or token_sha256 is required", t.Name)
}

// Signature headers: X-Supplywatch-Timestamp is unix seconds;
// X-Supplywatch-Signature is "v1=" and the hex HMAC-SHA256, keyed with the
// token's secret, of the timestamp, a dot and the body as sent.
const (
	HeaderTimestamp = "X-Supplywatch-Timestamp"
	HeaderSignature = "X-Supplywatch-Signature"
)

// Sign returns the signature header value for body at ts.
func Sign(secret string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

type principal struct {
	Token
	limiter *rate.Limiter
}

// authenticator resolves bearer tokens to principals.
type authenticator struct {
	byHash       map[string]*principal
	replayWindow time.Duration
}

func newAuthenticator(tokens []Token, defaultRate float64, replayWindow time.Duration) (*authenticator, error) {
	a := &authenticator{byHash: map[string]*principal{}, replayWindow: replayWindow}
	for _, t := range tokens {
		if t.Tenant == "" {
			return nil, fmt.Errorf("ingest token %q: tenant is required", t.Name)
		}
		if t.RequireSignature && t.HMACSecret == "" {
			return nil, fmt.Errorf("ingest token %q: require_signature needs hmac_secret", t.Name)
		}
		h, err := t.hash()
		if err != nil {
			return nil, err
		}
		r, burst := t.RatePerSecond, t.Burst
		if r == 0 {
			r = defaultRate
		}
		if burst == 0 {
			burst = max(int(r), 1000)
		}
		a.byHash[h] = &principal{Token: t, limiter: rate.NewLimiter(rate.Limit(r), burst)}
	}
	return a, nil
}

var (
	errNoToken  = errors.New("missing bearer token")
	errBadToken = errors.New("unknown token")
)

func (a *authenticator) authenticate(authHeader string) (*principal, error) {
	tok, ok := strings.CutPrefix(authHeader, "Bearer ")
	if !ok || tok == "" {
		return nil, errNoToken
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	p, ok := a.byHash[hex.EncodeToString(sum[:])]
	if !ok {
		return nil, errBadToken
	}
	return p, nil
}

// verify checks a request's signature against p's secret, if it has one.
func (a *authenticator) verify(p *principal, tsHeader, sigHeader string, body []byte, now time.Time) error {
	if p.HMACSecret == "" {
		return nil
	}
	if sigHeader == "" && !p.RequireSignature {
		return nil
	}
	if sigHeader == "" || tsHeader == "" {
		return fmt.Errorf("signature required: send %s and %s", HeaderTimestamp, HeaderSignature)
	}
	sec, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("%s: not unix seconds", HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > a.replayWindow || d < -a.replayWindow {
		return fmt.Errorf("%s: outside the %s replay window", HeaderTimestamp, a.replayWindow)
	}
	want := Sign(p.HMACSecret, time.Unix(sec, 0), body)
	if subtle.ConstantTimeCompare([]byte(want), []byte(sigHeader)) != 1 {
		return fmt.Errorf("%s: does not match the body", HeaderSignature)
	}
	return nil
}

func (p *principal) allowsSource(s string) bool {
	return len(p.Sources) == 0 || slices.Contains(p.Sources, s)
}
