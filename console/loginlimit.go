package console

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LoginLimit slows down password guessing: each login name and each client
// address may fail to sign in Burst times in a row, then once per Every.
// A refused attempt (429 with Retry-After) checks no password. Successful
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
}

// maxLimiters bounds the memory of the limiter: past it, the keys that
// have recovered all their attempts are dropped.
const maxLimiters = 10000

// loginLimiter keeps a token bucket per login and per address; only
// failures take tokens.
type loginLimiter struct {
	cfg LoginLimit
	mu  sync.Mutex
	by  map[string]*rate.Limiter
}

func newLoginLimiter(cfg LoginLimit) *loginLimiter {
	return &loginLimiter{cfg: cfg, by: map[string]*rate.Limiter{}}
}

func (l *loginLimiter) limiter(key string, burst int, now time.Time) *rate.Limiter {
	lim, ok := l.by[key]
	if !ok {
		if len(l.by) >= maxLimiters {
			for k, v := range l.by {
				if v.TokensAt(now) >= float64(v.Burst()) {
					delete(l.by, k)
				}
			}
		}
		lim = rate.NewLimiter(rate.Every(l.cfg.Every), burst)
		l.by[key] = lim
	}
	return lim
}

// wait returns how long the login from addr must wait before trying again
// (0: it may try now).
func (l *loginLimiter) wait(login, addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d time.Duration
	for _, lim := range []*rate.Limiter{l.limiter("login:"+login, l.cfg.PerLogin, now), l.limiter("addr:"+addr, l.cfg.PerAddress, now)} {
		if t := lim.TokensAt(now); t < 1 {
			d = max(d, time.Duration(math.Ceil((1-t)*float64(l.cfg.Every))))
		}
	}
	return d
}

// failed spends one attempt of the login and of the address.
func (l *loginLimiter) failed(login, addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limiter("login:"+login, l.cfg.PerLogin, now).AllowN(now, 1)
	l.limiter("addr:"+addr, l.cfg.PerAddress, now).AllowN(now, 1)
}

// succeeded forgets the login's failures (not the address's: one valid
// account must not reset the guessing budget of an address).
func (l *loginLimiter) succeeded(login string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.by, "login:"+login)
}
