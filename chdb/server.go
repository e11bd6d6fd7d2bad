// Package chdb runs an embedded ClickHouse for local runs and tests: the chDB
// engine library (libchdb.so from npm, version pinned) hosted in a child
// process that serves the native and HTTP protocols on loopback, so the rest of
// supplywatch talks to it with clickhouse-go exactly as to a production server.
//
// It fetches and verifies the library (Fetch), starts and stops the child
// (Start, Server.Stop) and turns a re-executed binary into that child
// (MaybeRunChild). It deliberately stays narrow: schemas, queries, users and
// the production ClickHouse belong to the clickhouse adapter and to
// deployment; per-test databases belong to chdb/chtest. Linux x86-64 only.
package chdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Config says where and how to run the engine. The zero value, with Dir set,
// serves on 127.0.0.1 on two free ports with the library from the default cache.
type Config struct {
	Dir          string        `yaml:"dir"`           // data directory, kept across restarts; required
	Host         string        `yaml:"host"`          // listen address; default 127.0.0.1
	TCPPort      int           `yaml:"tcp_port"`      // native protocol; 0 picks a free port
	HTTPPort     int           `yaml:"http_port"`     // HTTP interface; 0 picks a free port
	LibPath      string        `yaml:"lib_path"`      // libchdb.so; empty fetches it into CacheDir
	CacheDir     string        `yaml:"cache_dir"`     // for Fetch; empty is DefaultCacheDir
	LogLevel     string        `yaml:"log_level"`     // engine log level in Dir/clickhouse.log; default "warning"
	StartTimeout time.Duration `yaml:"start_timeout"` // until healthy, not counting Fetch; default 60s
	// ConfigFile is a ClickHouse server configuration file (XML or YAML)
	// the engine loads, e.g. remote_servers and macros for a cluster of
	// embedded servers; empty: the engine's defaults. The settings Start
	// passes (path, ports, logger) override the file's.
	ConfigFile string `yaml:"config_file"`

	Logger *slog.Logger `yaml:"-"` // nil discards
}

// Validate checks the configuration without touching the system.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("chdb config: dir is required")
	}
	for name, p := range map[string]int{"tcp_port": c.TCPPort, "http_port": c.HTTPPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("chdb config: %s %d out of range", name, p)
		}
	}
	if c.TCPPort != 0 && c.TCPPort == c.HTTPPort {
		return fmt.Errorf("chdb config: tcp_port and http_port are both %d", c.TCPPort)
	}
	if c.StartTimeout < 0 {
		return errors.New("chdb config: start_timeout is negative")
	}
	if c.ConfigFile != "" {
		if _, err := os.Stat(c.ConfigFile); err != nil {
			return fmt.Errorf("chdb config: config_file: %w", err)
		}
	}
	return nil
}

// Server is a running engine child process.
type Server struct {
	cmd        *exec.Cmd
	logger     *slog.Logger
	nativeAddr string
	httpAddr   string
	logPath    string
	logOffset  int64 // where this run's output starts in logPath

	done    chan struct{} // closed when the child has exited and been reaped
	waitErr error         // set before done is closed

	stopOnce sync.Once
	stopErr  error
}

// stopGrace bounds how long Stop waits for an orderly exit before SIGKILL.
const stopGrace = 15 * time.Second

// Start fetches the library if needed, starts the engine child on cfg.Dir and
// returns once both protocols answer. The child is killed if this process
// dies; call Stop for an orderly shutdown. The process must call MaybeRunChild
// at the top of main or TestMain.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if os.Getenv(envChild) != "" {
		return nil, errors.New("chdb: Start called inside the engine child: call chdb.MaybeRunChild first in main or TestMain")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	startTimeout := cfg.StartTimeout
	if startTimeout == 0 {
		startTimeout = 60 * time.Second
	}
	logLevel := cfg.LogLevel
	if logLevel == "" {
		logLevel = "warning"
	}
	lib := cfg.LibPath
	if lib == "" {
		var err error
		if lib, err = Fetch(ctx, cfg.CacheDir, logger); err != nil {
			return nil, err
		}
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("chdb dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chdb dir: %w", err)
	}
	tcpPort, httpPort, err := choosePorts(host, cfg.TCPPort, cfg.HTTPPort)
	if err != nil {
		return nil, err
	}
	s := &Server{
		logger:     logger,
		nativeAddr: net.JoinHostPort(host, strconv.Itoa(tcpPort)),
		httpAddr:   net.JoinHostPort(host, strconv.Itoa(httpPort)),
		logPath:    filepath.Join(dir, "chdb.log"),
		done:       make(chan struct{}),
	}

	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("chdb: find own executable: %w", err)
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("chdb log: %w", err)
	}
	defer logFile.Close() // the child has its own copy
	if s.logOffset, err = logFile.Seek(0, io.SeekEnd); err != nil {
		return nil, fmt.Errorf("chdb log: %w", err)
	}
	fmt.Fprintf(logFile, "--- chdb start %s native=%s http=%s\n", time.Now().Format(time.RFC3339), s.nativeAddr, s.httpAddr)

	configFile := cfg.ConfigFile
	if configFile != "" {
		if configFile, err = filepath.Abs(configFile); err != nil {
			return nil, fmt.Errorf("chdb config_file: %w", err)
		}
	}
	s.cmd = exec.Command(exe, engineArgs(dir, host, tcpPort, httpPort, logLevel, configFile)...)
	s.cmd.Env = append(os.Environ(), envChild+"=1", envLib+"="+lib, envHTTP+"="+s.httpAddr)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Own process group, so signals aimed at ours (a terminal's ^C) do not
	// bypass Stop; Pdeathsig so the child never outlives us. Pdeathsig fires
	// when the forking OS thread exits, which the Go runtime does not do to
	// threads it has not locked.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	began := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("chdb: start child: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	logger.Info("chdb: starting", "pid", s.cmd.Process.Pid, "dir", dir, "native", s.nativeAddr, "http", s.httpAddr)

	if err := s.waitHealthy(ctx, startTimeout); err != nil {
		s.kill()
		return nil, err
	}
	logger.Info("chdb: ready", "pid", s.cmd.Process.Pid, "took", time.Since(began).Round(time.Millisecond))
	return s, nil
}

// engineArgs is the argv handed to chdb_query_cmdline. The keepalive query
// opens the listeners and then sleeps a quarter second per row forever (the
// sleep bounds how fast KILL QUERY ends it); FORMAT Null keeps its output (a
// zero per row) from accumulating in memory.
// After "--" come server config overrides: the engine's own log file.
// configFile, if not empty, is loaded first (--config-file).
func engineArgs(dir, host string, tcpPort, httpPort int, logLevel, configFile string) []string {
	args := []string{"clickhouse"}
	if configFile != "" {
		args = append(args, "--config-file="+configFile)
	}
	return append(args,
		"--path="+dir,
		"--listen_host="+host,
		"--tcp_port="+strconv.Itoa(tcpPort),
		"--http_port="+strconv.Itoa(httpPort),
		"--query_id="+keepaliveID,
		"--query=SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; "+
			"SELECT sleepEachRow(0.25) FROM system.numbers "+
			"SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 2000000 FORMAT Null",
		"--log-level="+logLevel,
		"--",
		"--logger.log="+filepath.Join(dir, "clickhouse.log"),
	)
}

// choosePorts checks that the requested ports are free and picks free ones for
// zeros. A port picked here could be taken before the child binds it; the
// child then fails to start with the engine's "Address already in use".
func choosePorts(host string, tcpPort, httpPort int) (int, int, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	pick := func(name string, port int) (int, error) {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return 0, fmt.Errorf("chdb: %s port %d on %s is not available: %w", name, port, host, err)
		}
		held = append(held, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	tcpPort, err := pick("native", tcpPort)
	if err != nil {
		return 0, 0, err
	}
	httpPort, err = pick("http", httpPort)
	if err != nil {
		return 0, 0, err
	}
	return tcpPort, httpPort, nil
}

// waitHealthy polls until HTTP /ping answers "Ok." and a native SELECT 1
// works, the child exits, or time runs out.
func (s *Server) waitHealthy(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-s.done:
			return fmt.Errorf("chdb: child exited during start (%v); log %s:\n%s", s.waitErr, s.logPath, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("chdb: not healthy after %s (last check: %v); log %s:\n%s", timeout, last, s.logPath, s.logTail())
		case <-tick.C:
		}
		if last = s.check(ctx); last == nil {
			return nil
		}
	}
}

// check asks both protocols whether the engine is serving.
func (s *Server) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.httpAddr+"/ping", nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("http ping: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64))
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || string(bytes.TrimSpace(body)) != "Ok." {
		return fmt.Errorf("http ping: %s %q %v", resp.Status, body, err)
	}

	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.nativeAddr}, DialTimeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("native: %w", err)
	}
	defer conn.Close()
	var one uint8
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("native select 1: %w", err)
	}
	return nil
}

// NativeAddr is host:port of the native protocol, for clickhouse-go.
func (s *Server) NativeAddr() string { return s.nativeAddr }

// HTTPAddr is host:port of the HTTP interface.
func (s *Server) HTTPAddr() string { return s.httpAddr }

// Done is closed when the engine child has exited, whether by Stop or not;
// Err then says how it ended.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is the child's exit status once Done is closed (nil before).
func (s *Server) Err() error {
	select {
	case <-s.done:
		return s.waitErr
	default:
		return nil
	}
}

// LogPath is the file holding the child's stdout and stderr; the engine's own
// log is clickhouse.log next to it.
func (s *Server) LogPath() string { return s.logPath }

// Stop asks the child to shut the engine down (SIGTERM) and waits for it,
// killing its process group if ctx ends or it takes longer than 15s. It
// returns once the child is reaped; later calls return the same result.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		select {
		case <-s.done:
			s.stopErr = fmt.Errorf("chdb: child had already exited (%v); log %s:\n%s", s.waitErr, s.logPath, s.logTail())
			return
		default:
		}
		began := time.Now()
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		grace := time.NewTimer(stopGrace)
		defer grace.Stop()
		select {
		case <-s.done:
			if s.waitErr != nil {
				s.stopErr = fmt.Errorf("chdb: child stopped with %v; log %s:\n%s", s.waitErr, s.logPath, s.logTail())
			}
		case <-grace.C:
			s.kill()
			s.stopErr = fmt.Errorf("chdb: child ignored SIGTERM for %s, killed", stopGrace)
		case <-ctx.Done():
			s.kill()
			s.stopErr = fmt.Errorf("chdb: stop: %w, child killed", ctx.Err())
		}
		s.logger.Info("chdb: stopped", "pid", s.cmd.Process.Pid, "took", time.Since(began).Round(time.Millisecond), "err", s.stopErr)
	})
	return s.stopErr
}

// kill SIGKILLs the child's process group and waits until it is reaped.
func (s *Server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
}

// logTail returns the end of this run's output, for error messages.
func (s *Server) logTail() string {
	const limit = 4 << 10
	f, err := os.Open(s.logPath)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "(" + err.Error() + ")"
	}
	from := max(s.logOffset, fi.Size()-limit)
	b := make([]byte, fi.Size()-from)
	n, _ := f.ReadAt(b, from)
	return string(b[:n])
}
