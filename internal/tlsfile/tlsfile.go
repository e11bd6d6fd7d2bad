// Package tlsfile builds the client TLS configuration of a connection to a
// server (ClickHouse, Kafka) from the settings every such connection has:
// TLS on or off, a CA file, and whether to skip verification.
package tlsfile

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Config returns the TLS configuration, or nil when on is false. what names
// the connection in errors ("clickhouse", "kafka").
func Config(what string, on bool, caFile string, skipVerify bool) (*tls.Config, error) {
	if !on {
		return nil, nil
	}
	t := &tls.Config{InsecureSkipVerify: skipVerify, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%s tls ca: %w", what, err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s tls ca %s: no certificate found", what, caFile)
		}
	}
	return t, nil
}
