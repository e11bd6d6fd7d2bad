package simulator

import (
	"time"

	"github.com/supplywatch/supplywatch/procure"
)

// calendar is a plant's business calendar: working hours on weekdays in the
// plant's time zone, without its public holidays. Business delays (the time
// a supplier takes to acknowledge, a buyer to decide) are added in it.
type calendar struct {
	loc         *time.Location
	open, close int             // local hours
	holidays    map[[2]int]bool // month, day
}

func (c *calendar) workday(lt time.Time) bool {
	if wd := lt.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return !c.holidays[[2]int{int(lt.Month()), lt.Day()}]
}

// isOpen reports whether t is within working hours.
func (c *calendar) isOpen(t time.Time) bool {
	lt := t.In(c.loc)
	return c.workday(lt) && lt.Hour() >= c.open && lt.Hour() < c.close
}

// nextOpen returns the earliest business instant at or after t.
func (c *calendar) nextOpen(t time.Time) time.Time {
	for range 40 { // a year has no 40 closed days in a row
		lt := t.In(c.loc)
		y, m, d := lt.Date()
		switch {
		case !c.workday(lt) || lt.Hour() >= c.close:
			t = time.Date(y, m, d+1, c.open, 0, 0, 0, c.loc)
		case lt.Hour() < c.open:
			return time.Date(y, m, d, c.open, 0, 0, 0, c.loc)
		default:
			return t
		}
	}
	return t
}

// addHours adds a business duration to t.
func (c *calendar) addHours(t time.Time, d time.Duration) time.Time {
	t = c.nextOpen(t)
	for range 10000 {
		lt := t.In(c.loc)
		y, m, day := lt.Date()
		end := time.Date(y, m, day, c.close, 0, 0, 0, c.loc)
		if rem := end.Sub(t); d <= rem {
			return t.Add(d)
		} else {
			d -= rem
		}
		t = c.nextOpen(end)
	}
	return t
}

// addDays adds n working days to t's date and returns that day at the given
// local hour and minute.
func (c *calendar) addDays(t time.Time, n int, hour, minute int) time.Time {
	lt := t.In(c.loc)
	y, m, d := lt.Date()
	day := time.Date(y, m, d, 12, 0, 0, 0, c.loc)
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if c.workday(day) {
			n--
		}
	}
	for !c.workday(day) {
		day = day.AddDate(0, 0, 1)
	}
	y, m, d = day.Date()
	return time.Date(y, m, d, hour, minute, 0, 0, c.loc)
}

// onDay returns the working day on or after the calendar date of t (in the
// plant's zone) at the given local hour and minute.
func (c *calendar) onDay(t time.Time, hour, minute int) time.Time {
	return c.addDays(t, 0, hour, minute)
}

// onDate returns the working day on or after date d at the given local hour
// and minute.
func (c *calendar) onDate(d procure.Date, hour, minute int) time.Time {
	y, m, day := d.Date()
	return c.addDays(time.Date(y, m, day, 12, 0, 0, 0, c.loc), 0, hour, minute)
}

// dateOf returns the plant-local calendar date of t.
func (c *calendar) dateOf(t time.Time) procure.Date { return procure.DateOf(t.In(c.loc)) }
