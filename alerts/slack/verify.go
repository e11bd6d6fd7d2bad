package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// Window is how far a request's timestamp may be from now.
const Window = 5 * time.Minute

// Verify checks Slack's v0 signature of a request: X-Slack-Signature must
// be "v0=" + hex(HMAC-SHA256(secret, "v0:" + X-Slack-Request-Timestamp +
// ":" + body)), compared in constant time, and the timestamp within Window
// of now. It returns an EUNAUTHORIZED error otherwise.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	tsHeader, sig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
	if tsHeader == "" || sig == "" {
		return procure.Errorf(procure.EUNAUTHORIZED, "slack signature missing")
	}
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return procure.Errorf(procure.EUNAUTHORIZED, "slack timestamp malformed")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Window || d < -Window {
		return procure.Errorf(procure.EUNAUTHORIZED, "slack request timestamp outside the 5-minute window")
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "v0="))
	if err != nil || !strings.HasPrefix(sig, "v0=") {
		return procure.Errorf(procure.EUNAUTHORIZED, "slack signature malformed")
	}
	if !hmac.Equal(got, Sign(secret, tsHeader, body)) {
		return procure.Errorf(procure.EUNAUTHORIZED, "slack signature does not match")
	}
	return nil
}

// Sign returns the v0 HMAC of a request (tests and tools sign with it).
func Sign(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + timestamp + ":"))
	m.Write(body)
	return m.Sum(nil)
}
