package clickhouse

import "testing"

func TestCompressionFollowsTheAddresses(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"loopback server is not compressed", Config{Addr: []string{"127.0.0.1:9000"}}, CompressionNone},
		{"localhost is not compressed", Config{Addr: []string{"localhost:9000"}}, CompressionNone},
		{"ipv6 loopback is not compressed", Config{Addr: []string{"[::1]:9000"}}, CompressionNone},
		{"remote server is lz4", Config{Addr: []string{"ch.internal:9440"}}, CompressionLZ4},
		{"any remote address makes lz4", Config{Addr: []string{"127.0.0.1:9000", "10.0.0.7:9000"}}, CompressionLZ4},
		{"explicit choice wins on loopback", Config{Addr: []string{"127.0.0.1:9000"}, Compression: CompressionLZ4}, CompressionLZ4},
		{"explicit choice wins remotely", Config{Addr: []string{"10.0.0.7:9000"}, Compression: CompressionNone}, CompressionNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.compression(); got != tt.want {
				t.Errorf("compression() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUnknownCompressionIsInvalid(t *testing.T) {
	cfg := Config{Compression: "snappy"}
	cfg.Defaults()
	if err := cfg.Validate(); err == nil {
		t.Fatal("Validate accepted compression snappy")
	}
}
