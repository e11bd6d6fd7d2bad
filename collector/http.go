package collector

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/supplywatch/supplywatch/internal/httpauth"
	"github.com/supplywatch/supplywatch/internal/httperr"
	"github.com/supplywatch/supplywatch/procure"
	"golang.org/x/time/rate"
)

// IngestConfig configures the HTTP ingest endpoints.
type IngestConfig struct {
	Tokens []Token `yaml:"tokens"`
	// MaxBodyBytes limits a request body as sent (413 beyond).
	MaxBodyBytes int64 `yaml:"max_body_bytes" env:"MAX_BODY_BYTES"`
	// MaxDecodedBytes limits a gzip body once decompressed (413 beyond).
	MaxDecodedBytes int64 `yaml:"max_decoded_bytes" env:"MAX_DECODED_BYTES"`
	// MaxEvents limits the events of one request (413 beyond).
	MaxEvents int `yaml:"max_events" env:"MAX_EVENTS"`
	// RatePerSecond is the default events/s per token (429 beyond).
	RatePerSecond float64 `yaml:"rate_per_second" env:"RATE_PER_SECOND"`
	// ReplayWindow bounds the age of a signed request's timestamp.
	ReplayWindow time.Duration `yaml:"replay_window" env:"REPLAY_WINDOW"`
}

// Defaults fills unset fields.
func (c *IngestConfig) Defaults() {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 16 << 20
	}
	if c.MaxDecodedBytes == 0 {
		c.MaxDecodedBytes = 64 << 20
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = 20000
	}
	if c.RatePerSecond == 0 {
		c.RatePerSecond = 100000
	}
	if c.ReplayWindow == 0 {
		c.ReplayWindow = 5 * time.Minute
	}
}

// Publisher puts accepted events on the events topic.
type Publisher interface {
	PublishEvents(ctx context.Context, rs []procure.Received) error
}

// Ingest serves POST /v1/events. Accepted events are published to the
// events topic (so the rules engine sees them like any other) and stored by
// the consumer; rejected ones go to the dead letter through the Writer
// before the response is sent.
type Ingest struct {
	cfg     IngestConfig
	auth    *authenticator
	store   EventStore
	pub     Publisher
	writer  *Writer
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
}

// NewIngest returns the HTTP ingest.
func NewIngest(cfg IngestConfig, store EventStore, pub Publisher, w *Writer, log *slog.Logger, m *Metrics) (*Ingest, error) {
	cfg.Defaults()
	a, err := newAuthenticator(cfg.Tokens, cfg.RatePerSecond, cfg.ReplayWindow)
	if err != nil {
		return nil, err
	}
	return &Ingest{cfg: cfg, auth: a, store: store, pub: pub, writer: w, log: log, metrics: m, now: time.Now}, nil
}

// Result is the outcome of one event of a request.
type Result struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Status string `json:"status"` // accepted | duplicate | rejected
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Response is the body of a POST /v1/events answer.
type Response struct {
	Accepted   int      `json:"accepted"`
	Duplicates int      `json:"duplicates"`
	Rejected   int      `json:"rejected"`
	Results    []Result `json:"results"`
}

func httpError(c *gin.Context, status int, code, msg string) {
	httperr.Abort(c, status, httperr.Detail{Code: code, Message: msg})
}

// Register adds the ingest routes to r.
func (h *Ingest) Register(r gin.IRouter) {
	r.POST("/v1/events", h.signed("/v1/events"), h.handleEvents)
}

// ingestChallenge is the WWW-Authenticate of ingest's 401s.
const ingestChallenge = `Bearer realm="supplywatch-ingest"`

// tokenOnly authenticates a request by its ingest token alone (the schema
// routes: nothing is sent, so nothing is signed).
func (h *Ingest) tokenOnly() gin.HandlerFunc {
	return httpauth.Require(httpauth.Scheme{
		Check:     func(c *gin.Context) (any, error) { return h.auth.authenticate(c.GetHeader("Authorization")) },
		Challenge: ingestChallenge,
	})
}

// signed authenticates a POST of endpoint with httpauth: the ingest token
// first, then the body, read within the limit, and the token's signature
// over it where the token has a secret. Refusals are counted per endpoint.
func (h *Ingest) signed(endpoint string) gin.HandlerFunc {
	return httpauth.Require(httpauth.Scheme{
		Check:   func(c *gin.Context) (any, error) { return h.auth.authenticate(c.GetHeader("Authorization")) },
		MaxBody: h.cfg.MaxBodyBytes,
		Verify: func(c *gin.Context, p any, body []byte) error {
			return h.auth.verify(p.(*principal), c.GetHeader(HeaderTimestamp), c.GetHeader(HeaderSignature), body, h.now())
		},
		Challenge: ingestChallenge,
		Refused:   func(_ *gin.Context, status int) { h.count(endpoint, status) },
	})
}

// authenticated is what signed admitted: the principal and the body,
// gunzipped within the decoded limit when it came compressed; it writes
// the error response itself and returns ok=false.
func (h *Ingest) authenticated(c *gin.Context, endpoint string) (p *principal, body []byte, ok bool) {
	p, _ = httpauth.Principal[*principal](c)
	body = httpauth.Body(c)
	if p == nil {
		// Not reached through signed: a wiring error, not the client's.
		h.count(endpoint, http.StatusInternalServerError)
		httpError(c, http.StatusInternalServerError, procure.EINTERNAL, "ingest route without authentication")
		return nil, nil, false
	}
	if strings.EqualFold(c.GetHeader("Content-Encoding"), "gzip") {
		var err error
		body, err = gunzip(body, h.cfg.MaxDecodedBytes)
		if err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, errTooLarge) {
				status = http.StatusRequestEntityTooLarge
			}
			h.count(endpoint, status)
			httpError(c, status, procure.EINVALID, "body: "+err.Error())
			return nil, nil, false
		}
	}
	return p, body, true
}

func (h *Ingest) count(endpoint string, status int) {
	h.metrics.httpRequests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
}

// limited applies the token's rate limit for n items; it answers 429 with
// Retry-After itself.
func (h *Ingest) limited(c *gin.Context, p *principal, n int, endpoint string) bool {
	now := h.now()
	if n > p.limiter.Burst() {
		// Charging the burst instead would let one large batch pass for the
		// price of a smaller one: the limit is per event.
		h.count(endpoint, http.StatusRequestEntityTooLarge)
		httpError(c, http.StatusRequestEntityTooLarge, procure.EINVALID, fmt.Sprintf("token %q may send at most %d events per request (its burst); this one has %d", p.Name, p.limiter.Burst(), n))
		return true
	}
	r := p.limiter.ReserveN(now, n)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		if !r.OK() || d == rate.InfDuration {
			d = time.Second
		}
		h.count(endpoint, http.StatusTooManyRequests)
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
		httpError(c, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("token %q: more than %.0f events/s; retry after %s", p.Name, float64(p.limiter.Limit()), d.Round(time.Millisecond)))
		return true
	}
	return false
}

func (h *Ingest) handleEvents(c *gin.Context) {
	const endpoint = "/v1/events"
	p, body, ok := h.authenticated(c, endpoint)
	if !ok {
		return
	}
	items, err := splitItems(body, h.cfg.MaxEvents)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		h.count(endpoint, status)
		httpError(c, status, procure.EINVALID, "body: "+err.Error())
		return
	}
	if h.limited(c, p, len(items), endpoint) {
		return
	}
	resp, status, err := h.ingest(c.Request.Context(), p, items)
	if err != nil {
		h.log.Error("http ingest failed", "token", p.Name, "err", err)
		h.count(endpoint, status)
		httpError(c, status, procure.EINTERNAL, "events not taken, send them again: "+err.Error())
		return
	}
	h.count(endpoint, http.StatusOK)
	c.JSON(http.StatusOK, resp)
}

// ingest decodes items, answers duplicates, publishes the accepted and
// stores the rejected; it returns once all of that is durable.
func (h *Ingest) ingest(ctx context.Context, p *principal, items [][]byte) (*Response, int, error) {
	now := h.now().UTC()
	resp := &Response{Results: make([]Result, len(items))}
	var (
		accepted []procure.Received
		acceptIx []int
		rejs     []*procure.Rejection
		rejIx    []int
		seen     = map[procure.EventKey]int{}
	)
	for i, raw := range items {
		res := &resp.Results[i]
		res.Index = i
		e, err := procure.Check(raw) // the raw bytes are stored, not the payload
		if err == nil {
			res.ID = e.ID
			switch {
			case e.Tenant != p.Tenant:
				err = &procure.FieldError{Field: "tenant", Reason: fmt.Sprintf("%q is not the tenant of token %q", e.Tenant, p.Name)}
			case !p.allowsSource(string(e.Source)):
				err = &procure.FieldError{Field: "source", Reason: fmt.Sprintf("token %q may not send events of source %q", p.Name, e.Source)}
			}
		}
		if err != nil {
			r := rejection(err, raw, procure.ChannelHTTP, now, contentID("http", p.Tenant, raw), nil)
			if r.Tenant == "" || r.Tenant != p.Tenant {
				r.Tenant = p.Tenant // the dead letter belongs to the sender's tenant
			}
			r.Sender = p.Name
			res.ID, res.Status, res.Field, res.Reason = r.EventID, "rejected", r.Field, r.Reason
			rejs, rejIx = append(rejs, r), append(rejIx, i)
			continue
		}
		if _, dup := seen[e.Key()]; dup {
			res.Status = "duplicate"
			continue
		}
		seen[e.Key()] = i
		accepted = append(accepted, procure.Received{Event: e, Raw: raw, Channel: procure.ChannelHTTP, ReceivedAt: now})
		acceptIx = append(acceptIx, i)
	}
	keys := make([]procure.EventKey, len(accepted))
	for i := range accepted {
		keys[i] = accepted[i].Event.Key()
	}
	stored, err := h.store.ExistingEvents(ctx, keys)
	if err != nil {
		return nil, http.StatusServiceUnavailable, fmt.Errorf("duplicate check: %w", err)
	}
	fresh := accepted[:0]
	for j, r := range accepted {
		if stored[r.Event.Key()] {
			resp.Results[acceptIx[j]].Status = "duplicate"
			continue
		}
		resp.Results[acceptIx[j]].Status = "accepted"
		fresh = append(fresh, r)
	}
	if len(fresh) > 0 {
		if err := h.pub.PublishEvents(ctx, fresh); err != nil {
			return nil, http.StatusServiceUnavailable, fmt.Errorf("publish: %w", err)
		}
	}
	if err := h.writer.StoreRejections(ctx, rejs); err != nil {
		return nil, http.StatusServiceUnavailable, err
	}
	for _, r := range resp.Results {
		switch r.Status {
		case "accepted":
			resp.Accepted++
		case "duplicate":
			resp.Duplicates++
		case "rejected":
			resp.Rejected++
		}
	}
	return resp, http.StatusOK, nil
}

// contentID names a rejected input by its content, so the same bad input
// delivered or sent again is one dead letter.
func contentID(channel, tenant string, raw []byte) string {
	s := sha256.New()
	s.Write([]byte(tenant))
	s.Write([]byte{0})
	s.Write(raw)
	return channel + ":" + hex.EncodeToString(s.Sum(nil)[:16])
}

var errTooLarge = errors.New("too large")

func gunzip(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("decompressed body larger than %d bytes: %w", limit, errTooLarge)
	}
	return out, nil
}

// splitItems splits a JSON array or NDJSON body into one raw value per event.
// A malformed array element is its own item (it is rejected with the
// reason); a body that is not an array cannot be split and is an error.
func splitItems(body []byte, max int) ([][]byte, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff")
	if len(trimmed) == 0 {
		return nil, errors.New("empty: send a JSON array or NDJSON of events")
	}
	var items [][]byte
	if trimmed[0] == '[' {
		dec := jsontext.NewDecoder(bytes.NewReader(trimmed))
		if _, err := dec.ReadToken(); err != nil {
			return nil, fmt.Errorf("invalid JSON array: %w", err)
		}
		for dec.PeekKind() != ']' {
			v, err := dec.ReadValue()
			if err != nil {
				return nil, fmt.Errorf("invalid JSON array at item %d: %w", len(items), err)
			}
			if len(items) == max {
				return nil, fmt.Errorf("more than %d events in one request: %w", max, errTooLarge)
			}
			items = append(items, bytes.Clone(v))
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, fmt.Errorf("invalid JSON array end: %w", err)
		}
		return items, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(trimmed))
	sc.Buffer(make([]byte, 0, 64<<10), procure.MaxEventBytes+1)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(items) == max {
			return nil, fmt.Errorf("more than %d events in one request: %w", max, errTooLarge)
		}
		items = append(items, bytes.Clone(line))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("NDJSON: %w", err)
	}
	return items, nil
}

// RegisterSchema serves the JSON Schemas to holders of an ingest token:
// GET /v1/schema lists them, GET /v1/schema/{name} returns one.
func (h *Ingest) RegisterSchema(r gin.IRouter, names []string, file func(string) ([]byte, error)) {
	auth := h.tokenOnly()
	r.GET("/v1/schema", auth, func(c *gin.Context) {
		list := make([]gin.H, len(names))
		for i, n := range names {
			list[i] = gin.H{"name": n, "url": "/v1/schema/" + n}
		}
		c.JSON(http.StatusOK, gin.H{"schemas": list})
	})
	r.GET("/v1/schema/:name", auth, func(c *gin.Context) {
		b, err := file(strings.TrimSuffix(c.Param("name"), ".schema.json"))
		if err != nil {
			httpError(c, http.StatusNotFound, procure.ENOTFOUND, err.Error())
			return
		}
		c.Data(http.StatusOK, "application/schema+json", b)
	})
}

// OTLPAuthenticator is the OTLP handler's authenticator over the ingest
// tokens: AuthenticateHeader checks the bearer token before the body is
// read; Authenticate checks it again with the signature over the body.
func (h *Ingest) OTLPAuthenticator() OTLPAuthenticator { return OTLPAuthenticator{h} }

// OTLPAuthenticator implements otlp.Authenticator and otlp.HeaderAuthenticator.
type OTLPAuthenticator struct{ h *Ingest }

// AuthenticateHeader checks the bearer token alone.
func (a OTLPAuthenticator) AuthenticateHeader(r *http.Request) error {
	_, err := a.h.auth.authenticate(r.Header.Get("Authorization"))
	return err
}

// Authenticate checks the token and the signature over body.
func (a OTLPAuthenticator) Authenticate(r *http.Request, body []byte) (string, error) {
	return a.h.AuthenticateOTLP(r, body)
}

// AuthenticateOTLP authenticates an OTLP/HTTP request with the ingest tokens
// (bearer, and the signature where the token has a secret); it returns the
// token's tenant, which the spans are stored under.
func (h *Ingest) AuthenticateOTLP(r *http.Request, body []byte) (string, error) {
	p, err := h.auth.authenticate(r.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	if err := h.auth.verify(p, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, h.now()); err != nil {
		return "", err
	}
	return p.Tenant, nil
}
