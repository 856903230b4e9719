package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
)

// logFormat is the value of --log-format: "text" or "json".
type logFormat string

// String returns the format name; the zero value is text.
func (f *logFormat) String() string {
	if *f == "" {
		return "text"
	}
	return string(*f)
}

// Set accepts text or json.
func (f *logFormat) Set(s string) error {
	switch s {
	case "text", "json":
		*f = logFormat(s)
		return nil
	}
	return fmt.Errorf("%q: want text or json", s)
}

// Type names the value in the help text.
func (f *logFormat) Type() string { return "text|json" }

// newLogger returns the controller's logger: slog text or JSON lines on
// w, at level and above. When w is the systemd journal (stderr of a
// service, named by $JOURNAL_STREAM), each line starts with its syslog
// priority ("<3>" for ERROR), which journald strips and stores as
// PRIORITY, and carries no time, which the journal records itself.
// Elsewhere (a terminal, a file, the lab's log files) lines keep their
// time.
func newLogger(w *os.File, format logFormat, level slog.Leveler) *slog.Logger {
	journal := isJournal(w, os.Getenv("JOURNAL_STREAM"))
	return slog.New(newHandler(w, format, level, journal))
}

// newHandler builds the handler newLogger describes; journal selects the
// journal form.
func newHandler(w io.Writer, format logFormat, level slog.Leveler, journal bool) slog.Handler {
	if !journal {
		return newFormatHandler(w, format, &slog.HandlerOptions{Level: level})
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: dropTime}
	out := &lockedWriter{w: w}
	var h priorityHandler
	for i, p := range priorities {
		h[i] = newFormatHandler(prefixWriter{out, p.prefix}, format, opts)
	}
	return h
}

func newFormatHandler(w io.Writer, format logFormat, opts *slog.HandlerOptions) slog.Handler {
	if format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// isJournal reports whether f is the stream journalStream
// ($JOURNAL_STREAM, "DEVICE:INODE") names, as sd_journal_stream_fd(3)
// and systemd.exec(5) describe.
func isJournal(f *os.File, journalStream string) bool {
	dev, ino, ok := strings.Cut(journalStream, ":")
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fmt.Sprint(st.Dev) == dev && fmt.Sprint(st.Ino) == ino
}

// dropTime removes the record's time: the journal stamps every line.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// priorities maps slog levels to syslog priorities, most severe first:
// the first whose level a record reaches is used.
var priorities = [...]struct {
	level  slog.Level
	prefix string
}{
	{slog.LevelError, "<3>"}, // err
	{slog.LevelWarn, "<4>"},  // warning
	{slog.LevelInfo, "<6>"},  // info
	{slog.LevelDebug - 1000, "<7>"},
}

// priorityHandler sends a record to the handler of its syslog priority;
// each writes its lines with that priority's prefix.
type priorityHandler [len(priorities)]slog.Handler

// Enabled reports whether level is logged (every handler has one level).
func (h priorityHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h[0].Enabled(ctx, level)
}

// Handle writes r with the prefix of its level.
func (h priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	for i, p := range priorities {
		if r.Level >= p.level {
			return h[i].Handle(ctx, r)
		}
	}
	return h[len(h)-1].Handle(ctx, r)
}

// WithAttrs adds attrs to every priority's handler.
func (h priorityHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	for i := range h {
		h[i] = h[i].WithAttrs(attrs)
	}
	return h
}

// WithGroup opens group in every priority's handler.
func (h priorityHandler) WithGroup(name string) slog.Handler {
	for i := range h {
		h[i] = h[i].WithGroup(name)
	}
	return h
}

// lockedWriter serialises writes from the priorities' handlers, which
// each lock only themselves.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// prefixWriter writes each line (slog's handlers write a record in one
// call) with prefix in front, in one write.
type prefixWriter struct {
	out    *lockedWriter
	prefix string
}

// Write writes prefix and p as one write and reports len(p) written.
func (w prefixWriter) Write(p []byte) (int, error) {
	buf := make([]byte, 0, len(w.prefix)+len(p))
	buf = append(append(buf, w.prefix...), p...)
	w.out.mu.Lock()
	defer w.out.mu.Unlock()
	if _, err := w.out.w.Write(buf); err != nil {
		return 0, err
	}
	return len(p), nil
}
