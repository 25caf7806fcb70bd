package observe

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// AccessLog writes one JSON line per request through slog. Lines go to a
// buffer flushed every FlushInterval (and when full), so a busy gateway
// does not pay a write system call per request.
type AccessLog struct {
	logger *slog.Logger
	w      *flushWriter
	file   io.Closer // the file OpenAccessLog opened, closed by Close
}

// FlushInterval bounds how long an access log line may sit in the buffer.
const FlushInterval = 200 * time.Millisecond

// NewAccessLog logs to out.
func NewAccessLog(out io.Writer) *AccessLog {
	fw := &flushWriter{buf: bufio.NewWriterSize(out, 64<<10), stop: make(chan struct{}), stopped: make(chan struct{})}
	go fw.loop()
	return &AccessLog{logger: slog.New(slog.NewJSONHandler(fw, nil)), w: fw}
}

// Entry is one request's record.
type Entry struct {
	Time      time.Time
	Route     string
	Method    string
	Host      string
	Path      string
	Proto     string
	Status    int
	Bytes     int64
	Duration  time.Duration
	ClientIP  string
	Target    string
	Attempts  int
	RequestID string
	// Consumer is the authenticated consumer or subject ("" when none).
	Consumer string
	Error    string
	// Compose summarises a composition's steps ("" for other actions).
	Compose string
}

// Log writes e.
func (a *AccessLog) Log(e *Entry) {
	attrs := [...]slog.Attr{
		slog.String("route", e.Route),
		slog.String("method", e.Method),
		slog.String("host", e.Host),
		slog.String("path", e.Path),
		slog.String("proto", e.Proto),
		slog.Int("status", e.Status),
		slog.Int64("bytes", e.Bytes),
		slog.Float64("duration_ms", float64(e.Duration.Microseconds())/1000),
		slog.String("client_ip", e.ClientIP),
		slog.String("upstream_target", e.Target),
		slog.Int("attempts", e.Attempts),
		slog.String("request_id", e.RequestID),
		slog.String("consumer", e.Consumer),
	}
	if e.Error == "" && e.Compose == "" {
		a.logger.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs[:]...)
		return
	}
	more := attrs[:]
	if e.Error != "" {
		more = append(more, slog.String("error", e.Error))
	}
	if e.Compose != "" {
		more = append(more, slog.String("compose", e.Compose))
	}
	a.logger.LogAttrs(context.Background(), slog.LevelInfo, "request", more...)
}

// Close flushes what is buffered and stops the flusher.
func (a *AccessLog) Close() {
	close(a.w.stop)
	<-a.w.stopped
	if a.file != nil {
		a.file.Close()
	}
}

// OpenAccessLog writes to path: "stdout" (or ""), "stderr", or a file
// opened for appending (created 0644 if missing).
func OpenAccessLog(path string) (*AccessLog, error) {
	switch path {
	case "", "stdout":
		return NewAccessLog(os.Stdout), nil
	case "stderr":
		return NewAccessLog(os.Stderr), nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	a := NewAccessLog(f)
	a.file = f
	return a, nil
}

type flushWriter struct {
	mu      sync.Mutex
	buf     *bufio.Writer
	stop    chan struct{}
	stopped chan struct{}
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.Write(p)
}

func (f *flushWriter) flush() {
	f.mu.Lock()
	f.buf.Flush()
	f.mu.Unlock()
}

func (f *flushWriter) loop() {
	defer close(f.stopped)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f.flush()
		case <-f.stop:
			f.flush()
			return
		}
	}
}
