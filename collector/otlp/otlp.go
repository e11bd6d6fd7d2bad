// Package otlp serves OTLP/HTTP trace ingest (POST /v1/traces) as the
// OpenTelemetry protocol specification defines it: binary protobuf and JSON
// ExportTraceServiceRequest bodies, gzip, partial success, and the status
// codes an exporter knows to retry. Each span becomes one procure.Span
// with its attributes flattened to strings, its correlation id and document
// number lifted out, so spans link to the business events.
//
// The handler answers 200 only once the spans are durably stored: it hands
// them to the collector's Writer and waits for the Writer's Done. Delivery is
// at-least-once; the spans table collapses a retried export.
//
// It deliberately stays narrow: who may send and for which tenant is the
// Authenticator's business (the app supplies one over its token
// configuration); batching, retrying and writing are the Writer's.
package otlp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/procure"
)

// Path is where OTLP/HTTP exporters send traces by default.
const Path = "/v1/traces"

// Media types of the OTLP/HTTP encodings.
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
)

// Authenticator decides who sent a request. body is the request body as
// sent (before gzip is undone), so a signature over it can be checked; it
// must not be kept once Authenticate returns (the buffer is reused). It
// returns the tenant the spans belong to; an error answers 401 with the
// error's text, unless the error has a RetryAfter() time.Duration method,
// which answers 429 (rate limited) with that Retry-After.
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) (tenant string, err error)
}

// HeaderAuthenticator is an Authenticator that can also judge a request by
// its headers alone. When the handler's Authenticator is one, a request
// without valid credentials is answered 401 before any of its body is read
// (Authenticate still runs on the body, for a signature over it).
type HeaderAuthenticator interface {
	AuthenticateHeader(r *http.Request) error
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request, body []byte) (string, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request, body []byte) (string, error) {
	return f(r, body)
}

// Writer is what the handler needs of collector.Writer.
type Writer interface {
	Submit(ctx context.Context, it collector.Item) error
}

var _ Writer = (*collector.Writer)(nil)

// Config tunes the handler. The zero value, after Defaults, is usable.
type Config struct {
	// MaxBodyBytes limits a request body as sent (413 beyond).
	MaxBodyBytes int64 `yaml:"max_body_bytes" env:"MAX_BODY_BYTES"`
	// MaxDecodedBytes limits a gzip body once decompressed (413 beyond).
	MaxDecodedBytes int64 `yaml:"max_decoded_bytes" env:"MAX_DECODED_BYTES"`
	// MaxInFlightBytes bounds the decoded bodies being decoded, queued or
	// written at once, and so the handler's memory; a request beyond it is
	// answered 503 with Retry-After (the exporter retries). One request is
	// always admitted, however large.
	MaxInFlightBytes int64 `yaml:"max_in_flight_bytes" env:"MAX_IN_FLIGHT_BYTES"`
	// SubmitTimeout is how long a request waits for room in the Writer's
	// queue, and StoreTimeout how long for its spans to be stored, before it
	// is answered 503 (the spans may still be stored: at-least-once).
	SubmitTimeout time.Duration `yaml:"submit_timeout" env:"SUBMIT_TIMEOUT"`
	StoreTimeout  time.Duration `yaml:"store_timeout" env:"STORE_TIMEOUT"`
	// RetryAfter is the Retry-After sent with 503.
	RetryAfter time.Duration `yaml:"retry_after" env:"RETRY_AFTER"`
	// Limits bound spans per request and attributes, events and links per
	// span (413 beyond).
	Limits Limits `yaml:",inline"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 16 << 20
	}
	if c.MaxDecodedBytes == 0 {
		c.MaxDecodedBytes = 64 << 20
	}
	if c.MaxInFlightBytes == 0 {
		c.MaxInFlightBytes = 64 << 20
	}
	if c.SubmitTimeout == 0 {
		c.SubmitTimeout = 5 * time.Second
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = 30 * time.Second
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = 5 * time.Second
	}
	c.Limits.Defaults()
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	if c.MaxBodyBytes < 1 || c.MaxDecodedBytes < 1 || c.MaxInFlightBytes < 1 || c.SubmitTimeout <= 0 || c.StoreTimeout <= 0 || c.RetryAfter <= 0 {
		return errors.New("otlp: max_body_bytes, max_decoded_bytes, max_in_flight_bytes, submit_timeout, store_timeout and retry_after must be positive")
	}
	if l := c.Limits; l.Spans < 1 || l.Attributes < 1 || l.Events < 1 || l.Links < 1 {
		return errors.New("otlp: max_spans, max_attributes, max_events and max_links must be positive")
	}
	return nil
}

// Metrics counts what the handler does.
type Metrics struct {
	requests *prometheus.CounterVec
	spans    *prometheus.CounterVec
}

// NewMetrics registers the handler's metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_otlp_requests_total", Help: "OTLP/HTTP trace export requests, by HTTP status.",
		}, []string{"status"}),
		spans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supplywatch_otlp_spans_total", Help: "OTLP spans received, by outcome (accepted, refused).",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.spans)
	}
	return m
}

// Handler serves POST /v1/traces. It is safe for concurrent use.
type Handler struct {
	cfg      Config
	auth     Authenticator
	w        Writer
	log      *slog.Logger
	metrics  *Metrics
	inFlight atomic.Int64
	gzips    sync.Pool // *gzip.Reader
	// Decoders and body buffers of requests whose spans are stored, for
	// the next requests to reuse.
	decoders sync.Pool // *decoder
	bodies   sync.Pool // *[]byte
	// Counters resolved once: WithLabelValues per request costs a hash
	// and a lock.
	accepted, refused prometheus.Counter
	byStatus          sync.Map // int -> prometheus.Counter
}

// New returns a Handler that stores spans through w; metrics may be nil.
func New(cfg Config, auth Authenticator, w Writer, log *slog.Logger, metrics *Metrics) (*Handler, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if auth == nil || w == nil || log == nil {
		return nil, errors.New("otlp: authenticator, writer and logger are required")
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	h := &Handler{cfg: cfg, auth: auth, w: w, log: log, metrics: metrics}
	h.accepted = metrics.spans.WithLabelValues("accepted")
	h.refused = metrics.spans.WithLabelValues("refused")
	return h, nil
}

// Register adds the route to mux.
func (h *Handler) Register(mux *http.ServeMux) { mux.Handle(Path, h) }

// encoding is the request's (and so the response's) message encoding.
type encoding int

const (
	encProtobuf encoding = iota
	encJSON
)

func (e encoding) contentType() string {
	if e == encJSON {
		return ContentTypeJSON
	}
	return ContentTypeProtobuf
}

// gRPC status codes used in the google.rpc.Status error body.
const (
	codeInvalidArgument   = 3
	codeResourceExhausted = 8
	codeUnimplemented     = 12
	codeUnavailable       = 14
	codeUnauthenticated   = 16
)

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, encJSON, http.StatusMethodNotAllowed, codeUnimplemented, "only POST is supported")
		return
	}
	enc, ok := parseContentType(r.Header.Get("Content-Type"))
	if !ok {
		h.fail(w, encJSON, http.StatusUnsupportedMediaType, codeInvalidArgument,
			fmt.Sprintf("Content-Type %q: send %s or %s", r.Header.Get("Content-Type"), ContentTypeProtobuf, ContentTypeJSON))
		return
	}
	gz := false
	switch ce := strings.TrimSpace(r.Header.Get("Content-Encoding")); {
	case ce == "" || strings.EqualFold(ce, "identity"):
	case strings.EqualFold(ce, "gzip"):
		gz = true
	default:
		h.fail(w, enc, http.StatusUnsupportedMediaType, codeInvalidArgument, fmt.Sprintf("Content-Encoding %q: only gzip is supported", ce))
		return
	}
	// Credentials first: nothing of the body is read, nor memory spent on
	// it, for a request that names no valid token.
	if ha, ok := h.auth.(HeaderAuthenticator); ok {
		if err := ha.AuthenticateHeader(r); err != nil {
			h.unauthorized(w, enc, err)
			return
		}
	}
	// The memory budget: the body as announced is reserved before it is
	// read (never allocated from Content-Length: the buffer grows with what
	// arrives), then the body, its decompressed form and its decoded spans
	// as they are. The charge is released once the spans are stored (or
	// were never handed to the writer), not when the request is answered.
	b := &budget{h: h}
	defer b.releaseUnlessHandedOn()
	if r.ContentLength > 0 && r.ContentLength <= h.cfg.MaxBodyBytes && !b.charge(r.ContentLength) {
		h.overloaded(w, enc)
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		h.failBody(w, enc, err)
		return
	}
	b.recharge(int64(cap(body)))
	// The buffers go back for reuse only once nothing points into them:
	// after the spans are stored, or when they never reached the Writer.
	// A request answered before its spans were stored (a timeout, a client
	// gone) leaves them to the garbage collector.
	raw, decoded, reuse := body, 0, false
	d, _ := h.decoders.Get().(*decoder)
	if d == nil {
		d = new(decoder)
	}
	d.limits = h.cfg.Limits
	defer func() {
		if !reuse {
			return
		}
		if d.release(decoded) {
			h.decoders.Put(d)
		}
		h.putBody(raw)
	}()
	tenant, err := h.auth.Authenticate(r, body)
	reuse = true // the authenticator keeps no part of the body
	if err != nil {
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) {
			w.Header().Set("Retry-After", retryAfter(ra.RetryAfter()))
			h.fail(w, enc, http.StatusTooManyRequests, codeResourceExhausted, err.Error())
			return
		}
		h.unauthorized(w, enc, err)
		return
	}
	if tenant == "" {
		h.fail(w, enc, http.StatusUnauthorized, codeUnauthenticated, "the credentials name no tenant")
		return
	}
	if gz {
		if body, err = h.gunzip(body); err != nil {
			h.failBody(w, enc, err)
			return
		}
		if !b.charge(int64(cap(body))) {
			h.overloaded(w, enc)
			return
		}
	}
	decoded = len(body)
	// JSON goes through pdata, whose tree is several times the text.
	if enc == encJSON && !b.charge(jsonExpansion*int64(len(body))) {
		h.overloaded(w, enc)
		return
	}
	if err := decode(d, enc, tenant, body); err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			h.fail(w, enc, http.StatusRequestEntityTooLarge, codeInvalidArgument, err.Error())
			return
		}
		h.fail(w, enc, http.StatusBadRequest, codeInvalidArgument, err.Error())
		return
	}
	if !b.charge(d.footprint()) {
		h.overloaded(w, enc)
		return
	}
	if len(d.spans) > 0 {
		status, err := h.store(r.Context(), d.spans, b)
		if status == statusDeadLettered {
			// ClickHouse refused these spans for good: they are in the
			// dead letter; tell the exporter not to send them again.
			d.refused += len(d.spans)
			if d.refusal == "" {
				d.refusal = "the store refused them; they are in the dead letter"
			}
			h.refused.Add(float64(len(d.spans)))
			d.spans = d.spans[:0]
			err = nil
		}
		if err != nil {
			reuse = false
			if status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", retryAfter(h.cfg.RetryAfter))
				h.log.Warn("otlp spans not stored in time", "tenant", tenant, "spans", len(d.spans), "err", err)
			}
			h.fail(w, enc, status, codeUnavailable, err.Error())
			return
		}
	}
	h.accepted.Add(float64(len(d.spans)))
	if d.refused > 0 {
		h.refused.Add(float64(d.refused))
	}
	h.respond(w, enc, d)
}

// jsonExpansion is the memory a JSON body's pdata tree is charged at, per
// byte of JSON.
const jsonExpansion = 4

// statusDeadLettered is store's answer for spans the writer dead-lettered.
const statusDeadLettered = -1

// budget is one request's charge against MaxInFlightBytes.
type budget struct {
	h        *Handler
	charged  int64
	handedOn bool
	once     sync.Once
}

// charge adds n bytes; false (nothing added) when that passes the limit,
// unless the request is the only one in flight.
func (b *budget) charge(n int64) bool {
	if n <= 0 {
		return true
	}
	now := b.h.inFlight.Add(n)
	if now > b.h.cfg.MaxInFlightBytes && now != b.charged+n {
		b.h.inFlight.Add(-n)
		return false
	}
	b.charged += n
	return true
}

// recharge replaces the charge so far (a reservation) with n.
func (b *budget) recharge(n int64) {
	b.h.inFlight.Add(n - b.charged)
	b.charged = n
}

// release gives the charge back, once.
func (b *budget) release() { b.once.Do(func() { b.h.inFlight.Add(-b.charged) }) }

// releaseUnlessHandedOn releases the charge of a request whose spans never
// reached the writer; the writer's Done releases the others.
func (b *budget) releaseUnlessHandedOn() {
	if !b.handedOn {
		b.release()
	}
}

// InFlightBytes is the memory charged by requests now, for tests and metrics.
func (h *Handler) InFlightBytes() int64 { return h.inFlight.Load() }

func (h *Handler) overloaded(w http.ResponseWriter, enc encoding) {
	w.Header().Set("Retry-After", retryAfter(time.Second))
	h.fail(w, enc, http.StatusServiceUnavailable, codeUnavailable, fmt.Sprintf("overloaded: more than max_in_flight_bytes (%d) of spans in flight, retry later", h.cfg.MaxInFlightBytes))
}

func (h *Handler) unauthorized(w http.ResponseWriter, enc encoding, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="supplywatch-ingest"`)
	h.fail(w, enc, http.StatusUnauthorized, codeUnauthenticated, err.Error())
}

// store submits spans to the writer and waits until they are durable. The
// request's budget is released when the writer is done with them.
func (h *Handler) store(ctx context.Context, spans []procure.Span, b *budget) (int, error) {
	stored := make(chan struct{})
	var outcome collector.Outcome
	it := collector.Item{Spans: spans, At: time.Now(), Done: func(o collector.Outcome) { outcome = o; b.release(); close(stored) }}
	sctx, cancel := context.WithTimeout(ctx, h.cfg.SubmitTimeout)
	err := h.w.Submit(sctx, it)
	cancel()
	if err == nil {
		b.handedOn = true
	}
	if err != nil {
		if ctx.Err() != nil {
			return 499, fmt.Errorf("client went away: %w", ctx.Err())
		}
		return http.StatusServiceUnavailable, fmt.Errorf("overloaded: the span writer is busy (%v), retry later", err)
	}
	t := time.NewTimer(h.cfg.StoreTimeout)
	defer t.Stop()
	select {
	case <-stored:
		if outcome == collector.DeadLettered || outcome == collector.Lost {
			return statusDeadLettered, nil
		}
		return http.StatusOK, nil
	case <-t.C:
		return http.StatusServiceUnavailable, fmt.Errorf("spans not stored within %s, retry later", h.cfg.StoreTimeout)
	case <-ctx.Done():
		return 499, fmt.Errorf("client went away: %w", ctx.Err())
	}
}

// decode turns a body of either encoding into spans in d. JSON is
// translated to the protobuf wire format through pdata (JSON is the rare
// case; one decoder keeps the two encodings' semantics identical).
func decode(d *decoder, enc encoding, tenant string, body []byte) error {
	if enc == encJSON {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON(body); err != nil {
			return fmt.Errorf("invalid OTLP JSON: %w", err)
		}
		b, err := req.MarshalProto()
		if err != nil {
			return fmt.Errorf("invalid OTLP JSON: %w", err)
		}
		body = b
	}
	if err := d.decode(tenant, body); err != nil {
		return fmt.Errorf("invalid OTLP protobuf: %w", err)
	}
	return nil
}

// respond writes an ExportTraceServiceResponse, with partial_success when
// spans were refused.
func (h *Handler) respond(w http.ResponseWriter, enc encoding, d *decoder) {
	var body []byte
	switch {
	case enc == encProtobuf && d.refused == 0:
		// The empty message: no body.
	default:
		resp := ptraceotlp.NewExportResponse()
		if d.refused > 0 {
			ps := resp.PartialSuccess()
			ps.SetRejectedSpans(int64(d.refused))
			ps.SetErrorMessage(fmt.Sprintf("%d spans refused; the first: %s", d.refused, d.refusal))
		}
		var err error
		if enc == encJSON {
			body, err = resp.MarshalJSON()
		} else {
			body, err = resp.MarshalProto()
		}
		if err != nil {
			// Cannot happen for this message; the spans are stored, so
			// still answer success.
			h.log.Error("otlp response encoding failed", "err", err)
			body = nil
		}
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	h.count(http.StatusOK)
}

// fail answers with status and a google.rpc.Status in the request's encoding.
func (h *Handler) fail(w http.ResponseWriter, enc encoding, status, code int, msg string) {
	h.count(status)
	if status == 499 {
		return // nobody is listening
	}
	var body []byte
	if enc == encJSON {
		body = append(body, `{"code":`...)
		body = strconv.AppendInt(body, int64(code), 10)
		body = append(body, `,"message":`...)
		body = appendJSONString(body, []byte(msg))
		body = append(body, '}')
	} else {
		body = protowire.AppendTag(body, 1, protowire.VarintType)
		body = protowire.AppendVarint(body, uint64(code))
		body = protowire.AppendTag(body, 2, protowire.BytesType)
		body = protowire.AppendString(body, msg)
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (h *Handler) count(status int) {
	c, ok := h.byStatus.Load(status)
	if !ok {
		c, _ = h.byStatus.LoadOrStore(status, h.metrics.requests.WithLabelValues(strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
}

// bodyError is a body that could not be taken, with its HTTP status.
type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

func (h *Handler) failBody(w http.ResponseWriter, enc encoding, err error) {
	var be *bodyError
	if errors.As(err, &be) {
		h.fail(w, enc, be.status, codeInvalidArgument, be.msg)
		return
	}
	h.fail(w, enc, http.StatusBadRequest, codeInvalidArgument, "body: "+err.Error())
}

// readBody reads the body within MaxBodyBytes into a buffer that grows
// with what arrives (never sized from Content-Length, which a client can
// set to anything), reused from the pool when one is there. Decoded strings
// point into it: it goes back to the pool (putBody) only once they are dead.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := h.cfg.MaxBodyBytes
	tooLarge := &bodyError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than the limit of %d bytes", limit)}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	buf := h.getBody(0)
	body := http.MaxBytesReader(w, r.Body, limit)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(len(buf), 64<<10))
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge
			}
			return nil, fmt.Errorf("read: %w", err)
		}
	}
}

// getBody returns a buffer of n bytes, reused when one is pooled (up to
// maxPooledBody; bodies of the SDKs' default batch of 512 spans are a few
// hundred kilobytes). Pooled
// buffers have power-of-two capacities, so that they fit most requests.
func (h *Handler) getBody(n int) []byte {
	if n > maxPooledBody {
		return make([]byte, n)
	}
	if p, _ := h.bodies.Get().(*[]byte); p != nil && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]byte, n, max(64<<10, 1<<bits.Len(uint(n-1))))
}

// putBody returns a buffer from getBody for reuse.
func (h *Handler) putBody(b []byte) {
	if cap(b) > maxPooledBody {
		return
	}
	h.bodies.Put(&b)
}

// gunzip decompresses body within MaxDecodedBytes into a fresh buffer.
func (h *Handler) gunzip(body []byte) ([]byte, error) {
	limit := h.cfg.MaxDecodedBytes
	zr, _ := h.gzips.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(body))
	} else {
		err = zr.Reset(bytes.NewReader(body))
	}
	if err != nil {
		return nil, &bodyError{http.StatusBadRequest, "body: not gzip: " + err.Error()}
	}
	defer h.gzips.Put(zr)
	out := make([]byte, 0, min(int64(4*len(body)+512), limit+1))
	for {
		if int64(len(out)) > limit {
			return nil, &bodyError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body: decompressed larger than the limit of %d bytes", limit)}
		}
		if len(out) == cap(out) {
			out = slices.Grow(out, len(out))
		}
		n, err := zr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &bodyError{http.StatusBadRequest, "body: gzip: " + err.Error()}
		}
	}
	if int64(len(out)) > limit {
		return nil, &bodyError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body: decompressed larger than the limit of %d bytes", limit)}
	}
	return out, nil
}

// parseContentType maps a Content-Type to the encoding it names.
func parseContentType(ct string) (encoding, bool) {
	// The exporters send the bare media type: avoid mime parsing then.
	switch ct {
	case ContentTypeProtobuf:
		return encProtobuf, true
	case ContentTypeJSON:
		return encJSON, true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, false
	}
	switch mt {
	case ContentTypeProtobuf:
		return encProtobuf, true
	case ContentTypeJSON:
		return encJSON, true
	}
	return 0, false
}

func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
