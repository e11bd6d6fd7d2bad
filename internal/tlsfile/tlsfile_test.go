package tlsfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfig(t *testing.T) {
	if c, err := Config("kafka", false, "/nonexistent", false); c != nil || err != nil {
		t.Errorf("off: %v, %v; want nil, nil", c, err)
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	os.WriteFile(empty, []byte("not a certificate"), 0o600)
	if _, err := Config("clickhouse", true, empty, false); err == nil || !strings.Contains(err.Error(), "clickhouse tls ca "+empty+": no certificate found") {
		t.Errorf("file without a certificate: %v", err)
	}
	if _, err := Config("kafka", true, filepath.Join(dir, "missing.pem"), false); err == nil || !strings.HasPrefix(err.Error(), "kafka tls ca: ") {
		t.Errorf("missing file: %v", err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	c, err := Config("kafka", true, ca, true)
	if err != nil || c.RootCAs == nil || !c.InsecureSkipVerify || c.MinVersion < 0x0303 {
		t.Errorf("with a CA: %+v, %v", c, err)
	}
}
