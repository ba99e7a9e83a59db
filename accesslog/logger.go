package accesslog

import (
	"bufio"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultQueueSize is the number of entries that may wait for the writer
	// when Config.QueueSize is 0. Each holds a buffer of at least 512 bytes.
	DefaultQueueSize = 1024
	// DefaultReportEvery is how often drops are reported when
	// Config.ReportEvery is 0.
	DefaultReportEvery = 10 * time.Second
)

// flushAfter bounds how long a line waits in the buffer before it reaches
// the file.
const flushAfter = 100 * time.Millisecond

// bufferSize is the write buffer: at ~200 bytes a line, a few hundred lines
// per write when busy.
const bufferSize = 64 << 10

// Config configures an access log.
type Config struct {
	Path        string        // --access-logfile: a file, "-" for stdout, "" for no access log
	Format      string        // --access-logformat; "" means DefaultFormat; ignored with JSON
	JSON        bool          // --log-json: one JSON object per line (see the package documentation)
	ErrorLog    *slog.Logger  // where drops and write errors are reported; nil means slog.Default()
	QueueSize   int           // entries that may wait for the writer; 0 means DefaultQueueSize
	ReportEvery time.Duration // how often drops are reported; 0 means DefaultReportEvery
}

// Logger writes the access log from its own goroutine. Its methods are safe
// for concurrent use, and a nil *Logger (no access log) accepts them all and
// does nothing.
type Logger struct {
	plan     plan
	render   func(dst []byte, r *record) []byte // belongs to the writer goroutine
	file     *LogFile
	errorLog *slog.Logger

	// Every record is in exactly one place: free, queue, or held by Log or
	// the writer. Log never waits on either channel: it takes a free record
	// or drops the entry, and queue has room for every record.
	free, queue chan *record

	dropped     atomic.Uint64
	reportEvery time.Duration
	closed      atomic.Bool
	stop        chan struct{}
	wg          sync.WaitGroup
	writeErr    error // the writer's last flush error, read by Close after wg.Wait
}

// New opens cfg.Path, compiles the format and starts the writer. It returns
// a nil *Logger, which logs nothing, when cfg.Path is "".
func New(cfg Config) (*Logger, error) {
	if cfg.Path == "" {
		return nil, nil
	}
	l := &Logger{
		errorLog:    cfg.ErrorLog,
		reportEvery: cfg.ReportEvery,
		stop:        make(chan struct{}),
	}
	if l.errorLog == nil {
		l.errorLog = slog.Default()
	}
	if l.reportEvery <= 0 {
		l.reportEvery = DefaultReportEvery
	}
	if cfg.JSON {
		l.plan = jsonPlan()
		pid := os.Getpid()
		l.render = func(dst []byte, r *record) []byte { return appendJSONLine(dst, r, pid) }
	} else {
		format := cfg.Format
		if format == "" {
			format = DefaultFormat
		}
		ops, p, err := compile(format)
		if err != nil {
			return nil, err
		}
		l.plan = p
		l.render = (&textRenderer{ops: ops}).appendLine
	}
	f, err := openLogFile(cfg.Path, os.Stdout)
	if err != nil {
		return nil, err
	}
	l.file = f
	n := cfg.QueueSize
	if n <= 0 {
		n = DefaultQueueSize
	}
	l.free = make(chan *record, n)
	l.queue = make(chan *record, n)
	for range n {
		l.free <- newRecord(l.plan.slots())
	}
	l.wg.Add(2)
	go l.write()
	go l.reportDrops()
	return l, nil
}

// Log queues e for writing and returns at once; it never blocks. It copies
// what the format needs, so e may be reused as soon as it returns. If the
// writer is that far behind, the entry is dropped and counted (Dropped).
// After Close, Log does nothing.
func (l *Logger) Log(e *Entry) {
	if l == nil || l.closed.Load() {
		return
	}
	select {
	case r := <-l.free:
		r.fill(e, &l.plan)
		l.queue <- r
	default:
		l.dropped.Add(1)
	}
}

// Dropped returns how many entries Log has dropped since New.
func (l *Logger) Dropped() uint64 {
	if l == nil {
		return 0
	}
	return l.dropped.Load()
}

// Reopen reopens the access log file, for rotation (see LogFile.Reopen).
func (l *Logger) Reopen() error {
	if l == nil {
		return nil
	}
	return l.file.Reopen()
}

// Close writes what is queued, flushes it, reports drops not yet reported,
// and closes the file. Entries logged concurrently with Close may be lost.
// Close waits for the file to accept the data: if stdout is a pipe nobody
// reads, it waits for that.
func (l *Logger) Close() error {
	if l == nil || !l.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(l.stop)
	l.wg.Wait()
	return errors.Join(l.writeErr, l.file.Close())
}

// write is the writer goroutine: it renders queued records into a buffer
// and flushes it flushAfter after it first holds a line, or when full.
func (l *Logger) write() {
	defer l.wg.Done()
	w := &bufferedWriter{bw: bufio.NewWriterSize(l.file, bufferSize), file: l.file, errorLog: l.errorLog}
	timer := time.NewTimer(flushAfter)
	timer.Stop()
	var flushC <-chan time.Time // nil while the buffer is empty
	for {
		select {
		case r := <-l.queue:
			l.writeRecord(w, r)
			if flushC == nil {
				timer.Reset(flushAfter)
				flushC = timer.C
			}
		case <-flushC:
			flushC = nil
			w.flush()
		case <-l.stop:
			for {
				select {
				case r := <-l.queue:
					l.writeRecord(w, r)
				default:
					l.writeErr = w.flush()
					return
				}
			}
		}
	}
}

// writeRecord renders r into the buffer and frees r.
func (l *Logger) writeRecord(w *bufferedWriter, r *record) {
	w.line = l.render(w.line[:0], r)
	r.reset()
	l.free <- r
	_, err := w.bw.Write(w.line)
	w.check(err)
}

// bufferedWriter is the writer goroutine's output state.
type bufferedWriter struct {
	bw       *bufio.Writer
	file     *LogFile
	line     []byte // the line being rendered, reused
	errorLog *slog.Logger
	failing  bool // the last write failed and was reported
}

// flush writes out the buffer.
func (w *bufferedWriter) flush() error {
	err := w.bw.Flush()
	w.check(err)
	return err
}

// check reports the first of a run of write errors and discards the
// buffer, whose error would otherwise stick and stop all further writes.
func (w *bufferedWriter) check(err error) {
	if err == nil {
		w.failing = false
		return
	}
	if !w.failing {
		w.errorLog.Error("access log: write failed; lines lost", "err", err)
		w.failing = true
	}
	w.bw.Reset(w.file)
}

// reportDrops reports new drops every reportEvery, and once more on Close.
func (l *Logger) reportDrops() {
	defer l.wg.Done()
	t := time.NewTicker(l.reportEvery)
	defer t.Stop()
	var reported uint64
	for {
		select {
		case <-t.C:
			reported = l.reportSince(reported)
		case <-l.stop:
			l.reportSince(reported)
			return
		}
	}
}

// reportSince logs one line if entries were dropped since the count
// reported, and returns the new count.
func (l *Logger) reportSince(reported uint64) uint64 {
	n := l.dropped.Load()
	if n > reported {
		l.errorLog.Warn("access log: dropped " + strconv.FormatUint(n-reported, 10) + " records")
	}
	return n
}
