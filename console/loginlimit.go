package console

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LoginLimit slows down password guessing and bounds what sign-ins cost:
// each login name and each client address may fail to sign in Burst times
// in a row, then once per Every; at most Concurrent passwords are checked
// at once (argon2id takes 19 MiB each). An attempt is counted before its
// password is checked, so parallel guesses cannot overtake the count. A
// refused attempt (429 with Retry-After) checks no password. Successful
// sign-ins spend nothing, and one clears its login's failures. The counts
// are per console process.
type LoginLimit struct {
	// PerLogin is the failures one login name may have in a row (default 5).
	PerLogin int `yaml:"per_login" env:"PER_LOGIN"`
	// PerAddress is the failures one client address may have in a row
	// (default 20: offices share addresses).
	PerAddress int `yaml:"per_address" env:"PER_ADDRESS"`
	// Every is how often one more failure is allowed once they are spent
	// (default 1m).
	Every time.Duration `yaml:"every" env:"EVERY"`
	// Concurrent is the most passwords checked at the same time (default 4:
	// 76 MiB of argon2id memory); further sign-ins get 429 at once.
	Concurrent int `yaml:"concurrent" env:"CONCURRENT"`
}

func (l *LoginLimit) defaults() {
	if l.PerLogin == 0 {
		l.PerLogin = 5
	}
	if l.PerAddress == 0 {
		l.PerAddress = 20
	}
	if l.Every == 0 {
		l.Every = time.Minute
	}
	if l.Concurrent == 0 {
		l.Concurrent = 4
	}
}

// maxLoginLen bounds a login name before it becomes a limiter key or an
// audit target (logins are at most 64 characters, loginRE).
const maxLoginLen = 64

// maxLimiters bounds the memory of the limiter: past it, the keys that
// have recovered all their attempts and have none in flight are dropped.
const maxLimiters = 10000

// bucket is the failures budget of one key and the attempts of it being
// checked now (counted against the budget until they end).
type bucket struct {
	lim      *rate.Limiter
	inFlight int
}

// loginLimiter keeps a token bucket per login and per address; only
// failures take tokens, attempts in flight hold one.
type loginLimiter struct {
	cfg LoginLimit
	mu  sync.Mutex
	by  map[string]*bucket
}

func newLoginLimiter(cfg LoginLimit) *loginLimiter {
	return &loginLimiter{cfg: cfg, by: map[string]*bucket{}}
}

func (l *loginLimiter) bucket(key string, burst int, now time.Time) *bucket {
	b, ok := l.by[key]
	if !ok {
		if len(l.by) >= maxLimiters {
			for k, v := range l.by {
				if v.inFlight == 0 && v.lim.TokensAt(now) >= float64(v.lim.Burst()) {
					delete(l.by, k)
				}
			}
		}
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.cfg.Every), burst)}
		l.by[key] = b
	}
	return b
}

func (l *loginLimiter) buckets(login, addr string, now time.Time) [2]*bucket {
	return [2]*bucket{l.bucket("login:"+login, l.cfg.PerLogin, now), l.bucket("addr:"+addr, l.cfg.PerAddress, now)}
}

// begin counts an attempt of login from addr before its password is
// checked. It returns how long to wait when the attempt may not be made
// now (nothing counted), else 0; then the caller must call end once.
func (l *loginLimiter) begin(login, addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	bs := l.buckets(login, addr, now)
	var d time.Duration
	for _, b := range bs {
		if t := b.lim.TokensAt(now) - float64(b.inFlight); t < 1 {
			d = max(d, time.Duration(math.Ceil((1-t)*float64(l.cfg.Every))))
		}
	}
	if d > 0 {
		return d
	}
	for _, b := range bs {
		b.inFlight++
	}
	return 0
}

// end settles an attempt counted by begin: a failure spends one attempt of
// the login and of the address; a success forgets the login's failures
// (not the address's: one valid account must not reset the guessing budget
// of an address); neither (the password was not checked) spends nothing.
func (l *loginLimiter) end(login, addr string, now time.Time, checked, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	bs := l.buckets(login, addr, now)
	for _, b := range bs {
		b.inFlight--
		if checked && !ok {
			b.lim.AllowN(now, 1)
		}
	}
	if ok && bs[0].inFlight == 0 {
		delete(l.by, "login:"+login)
	}
}
