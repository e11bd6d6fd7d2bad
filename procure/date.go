package procure

import (
	"fmt"
	"time"
)

// Date is a calendar date without a time of day (a need-by or promised date),
// written as "2006-01-02". It is held as midnight UTC of that day.
type Date struct{ time.Time }

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// ParseDate parses "2006-01-02": what time.Parse(time.DateOnly, s) accepts,
// read by hand because every line of every order has dates (time.Parse was
// a tenth of decoding a PO).
func ParseDate(s string) (Date, error) {
	digits := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, oky := digits(s[:4])
		m, okm := digits(s[5:7])
		d, okd := digits(s[8:])
		if oky && okm && okd && m >= 1 && m <= 12 && d >= 1 {
			t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
			if t.Day() == d { // not normalised into the next month
				return Date{t}, nil
			}
		}
	}
	return Date{}, fmt.Errorf("%q is not a date of the form YYYY-MM-DD", s)
}

// MarshalText writes the date as "2006-01-02".
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	return []byte(d.Format(time.DateOnly)), nil
}

// UnmarshalText reads "2006-01-02".
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// String is the date as "2006-01-02", or "" for the zero date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format(time.DateOnly)
}

// MarshalJSON and UnmarshalJSON shadow the promoted methods of time.Time so
// that a Date reads and writes as "2006-01-02".
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte(`""`), nil
	}
	return []byte(`"` + d.Format(time.DateOnly) + `"`), nil
}

// UnmarshalJSON reads a JSON string "2006-01-02".
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("%s is not a date string of the form YYYY-MM-DD", b)
	}
	return d.UnmarshalText(b[1 : len(b)-1])
}
