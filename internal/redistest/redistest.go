// Package redistest runs a real redis-server for tests.
//
// Tests that need Redis call Start; the server listens on a free loopback
// port, keeps nothing on disk and is stopped when the test ends. When
// redis-server is not installed the test is skipped, unless the
// environment sets GATEHOUSE_REQUIRE_REDIS=1 (CI does), in which case it
// fails: a missing server must not silently turn the Redis tests green.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireEnv names the environment variable that turns a missing
// redis-server from a skip into a failure.
const RequireEnv = "GATEHOUSE_REQUIRE_REDIS"

// readyTimeout bounds how long Start and Restart wait for the server to
// answer PING.
const readyTimeout = 10 * time.Second

// Server is a running redis-server owned by one test.
type Server struct {
	// Addr is the server's "127.0.0.1:port" address. It stays the same
	// across Stop and Restart.
	Addr string
	// Password is the server's requirepass ("" for none).
	Password string

	t     testing.TB
	bin   string
	dir   string
	port  int
	extra func() []string // more arguments, chosen afresh per port tried
	args  []string        // extra's choice, kept across Restart

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start runs redis-server for the test and returns once it answers PING.
// The server is stopped in t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	return startServer(t, lookPath(t, "redis-server"), "", nil)
}

// StartWithPassword is Start with requirepass set to password: clients
// must AUTH (go-redis: Options.Password) before any other command.
func StartWithPassword(t testing.TB, password string) *Server {
	t.Helper()
	if password == "" {
		t.Fatalf("redistest: StartWithPassword with an empty password")
	}
	return startServer(t, lookPath(t, "redis-server"), password, nil)
}

// lookPath finds a binary the tests need, skipping the test when it is
// missing unless RequireEnv is set.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("redistest: %s not found on PATH and %s=1: %v", name, RequireEnv, err)
		}
		t.Skipf("redistest: %s not found on PATH (set %s=1 to fail instead)", name, RequireEnv)
	}
	return bin
}

// startServer runs redis-server on a free port. extra, when set, returns
// more arguments for each start attempt (a Cluster node's bus port).
func startServer(t testing.TB, bin, password string, extra func() []string) *Server {
	t.Helper()
	s := &Server{Password: password, t: t, bin: bin, dir: t.TempDir(), extra: extra}
	t.Cleanup(s.Stop)
	// The free port is found by binding :0 and closing it again, so
	// another process may take it before redis-server binds it. Retry a
	// few times with a fresh port rather than flaking.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		s.port = port
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if s.extra != nil {
			s.args = s.extra()
		}
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("redistest: start redis-server: %v", lastErr)
	return nil
}

// Stop kills the server and waits for it to exit. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Restart starts the server again on the same port, for outage tests,
// and returns once it answers PING. Data is not kept: the server has no
// persistence. A running server is stopped first.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	s.stopLocked()
	s.mu.Unlock()
	// The port was ours a moment ago; redis-server sets SO_REUSEADDR, so
	// connections in TIME_WAIT do not stop it from binding again.
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart redis-server on %s: %v", s.Addr, err)
	}
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// start runs redis-server on s.port and waits until it answers PING or
// exits.
func (s *Server) start() error {
	logPath := filepath.Join(s.dir, "redis.log")
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", logPath,
	}
	if s.Password != "" {
		args = append(args, "--requirepass", s.Password)
	}
	args = append(args, s.args...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(readyTimeout)
	backoff := 5 * time.Millisecond
	for {
		select {
		case <-done:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("redis-server exited before answering PING; log tail:\n%s", tail(logPath))
		default:
		}
		if err := pingAuth(s.Addr, s.Password); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("no PONG within %v: %v; log tail:\n%s", readyTimeout, err, tail(logPath))
		}
		// Poll: the wait is the readiness check, the backoff only keeps
		// the loop from spinning.
		select {
		case <-done:
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

// ping sends PING and expects +PONG.
func ping(addr string) error { return pingAuth(addr, "") }

// pingAuth authenticates with password (unless "") and sends PING,
// expecting +PONG.
func pingAuth(addr, password string) error {
	var cmds [][]string
	if password != "" {
		cmds = append(cmds, []string{"AUTH", password})
	}
	replies, err := do(addr, append(cmds, []string{"PING"})...)
	if err != nil {
		return err
	}
	if r := replies[len(replies)-1]; r != "PONG" {
		return fmt.Errorf("PING answered %q", r)
	}
	return nil
}

// maxReply bounds one reply read by do.
const maxReply = 64 << 10

// do sends commands on one connection, each as a RESP array (so
// arguments may hold spaces), and returns the replies: the text of
// simple strings, integers and bulk strings. An error reply (such as
// "-LOADING": not ready yet) or a reply of another type is an error.
func do(addr string, cmds ...[]string) ([]string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	var req bytes.Buffer
	for _, args := range cmds {
		fmt.Fprintf(&req, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if _, err := c.Write(req.Bytes()); err != nil {
		return nil, err
	}
	rd := bufio.NewReaderSize(c, 4096)
	replies := make([]string, 0, len(cmds))
	for range cmds {
		line, err := rd.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return nil, errors.New("empty reply")
		}
		switch line[0] {
		case '+', ':':
			replies = append(replies, line[1:])
		case '$':
			n, err := strconv.Atoi(line[1:])
			if err != nil || n < 0 || n > maxReply {
				return nil, fmt.Errorf("unexpected bulk reply %q", line)
			}
			b := make([]byte, n+2) // with the CRLF
			if _, err := io.ReadFull(rd, b); err != nil {
				return nil, err
			}
			replies = append(replies, string(b[:n]))
		case '-':
			return nil, fmt.Errorf("%s answered %q", cmds[len(replies)][0], line)
		default:
			return nil, fmt.Errorf("unexpected reply %q", line)
		}
	}
	return replies, nil
}

// freePort picks a free port below the kernel's ephemeral range. A port
// from ":0" lies inside that range, where after Stop any outgoing
// connection of the test process may take it as its local port and make
// Restart fail with "address already in use".
func freePort() (int, error) {
	low := 32768 // Linux's default ip_local_port_range start
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11024 {
				low = n
			}
		}
	}
	var lastErr error
	for range 100 {
		port := 10000 + rand.IntN(low-10000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			lastErr = err
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port below %d: %w", low, lastErr)
}

// tail returns the end of the server log, bounded, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return tailBytes(b)
}

// tailBytes bounds command output and logs for error messages.
func tailBytes(b []byte) string {
	const max = 2048
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
