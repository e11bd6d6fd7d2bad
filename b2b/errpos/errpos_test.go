package errpos

import "testing"

func TestFormat(t *testing.T) {
	tests := []struct {
		name                       string
		scope                      string
		segment                    int
		tag                        string
		offset, element, component int
		want                       string
	}{
		{"full position", "interchange 1 set 0001", 14, "SE", 631, 1, 0, "interchange 1 set 0001: segment 14 (SE at byte 631) element 01: bad"},
		{"component", "", 3, "N1", -1, 4, 2, "segment 3 (N1) element 04-2: bad"},
		{"segment without tag", "x", 2, "", 10, 0, 0, "x: segment 2 (at byte 10): bad"},
		{"offset only", "", 0, "", 7, 0, 0, "byte 7: bad"},
		{"nothing", "", 0, "", -1, 0, 0, "bad"},
		{"element above nine", "", 1, "ISA", -1, 16, 0, "segment 1 (ISA) element 16: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(tt.scope, tt.segment, tt.tag, tt.offset, tt.element, tt.component, "bad"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
