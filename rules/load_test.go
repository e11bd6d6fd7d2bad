package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultPackLoads(t *testing.T) {
	rs, err := LoadDir("default", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) < 10 || len(rs.SLAs) < 5 {
		t.Fatalf("rules %d slas %d", len(rs.Rules), len(rs.SLAs))
	}
	if want := fmt.Sprintf("%d rules, %d SLAs, 3 segments (pilot, strategic, edi)", len(rs.Rules), len(rs.SLAs)); rs.String() != want {
		t.Fatalf("String() = %q, want %q", rs.String(), want)
	}
}

const goodRule = `rules:
  - id: r1
    title: T
    severity: low
    subject: line
    on: [po.acknowledged]
    when: line.ack.quantity > line.quantity
`

func TestLoadRefusesBadFiles(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown key names the line", goodRule + "    colour: red\n", "bad.yaml:8: field colour not found in a rule"},
		{"misspelt field names the line", strings.Replace(goodRule, "line.ack.quantity", "line.ack.quantty", 1), "bad.yaml:7: rule \"r1\": when: type procure.LineAck has no field quantty"},
		{"type error names the line", strings.Replace(goodRule, "line.ack.quantity > line.quantity", "line.item + 1", 1), "bad.yaml:7: rule \"r1\": when:"},
		{"unknown event type", strings.Replace(goodRule, "po.acknowledged", "po.acked", 1), `on: unknown event type "po.acked"`},
		{"bad severity", strings.Replace(goodRule, "low", "urgent", 1), `severity "urgent"`},
		{"duration of the wrong type", "slas:\n  - id: s1\n    title: T\n    severity: low\n    subject: document\n    start: 'true'\n    duration: '\"2h\"'\n", "bad.yaml:7: sla \"s1\": duration: is string, must be time.Duration"},
		{"message hole with a bad field", goodRule + "    message: 'x {{ line.nope }}'\n", "message: type procure.OrderLine has no field nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(tt.src), 0o644)
			_, err := LoadDir(dir, time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadRefusesDuplicateIDsAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(goodRule), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(goodRule), 0o644)
	if _, err := LoadDir(dir, time.Now()); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("err = %v", err)
	}
}
