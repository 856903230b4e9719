package topo

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Backend is where a State keeps its records: one bucket of key/value
// records per table. *Store (bbolt, one file) is the default; another
// backend (an etcd keyspace, for replicas of the controller) implements
// the same five methods.
type Backend interface {
	// NextGeneration increments, persists and returns the cookie
	// generation (never 0).
	NextGeneration() (uint16, error)
	// ForEach calls fn for every record of bucket in key order; a
	// bucket never written is empty. It stops at fn's first error and
	// returns it, or returns the backend's read error.
	ForEach(bucket string, fn func(k, v []byte) error) error
	// Commit writes every change in one atomic, durable step.
	Commit(changes []Change) error
	// Quarantine moves a record out of bucket, keeping its bytes and
	// reason for inspection, durably.
	Quarantine(bucket string, k, v []byte, reason string) error
	// Healthy returns nil while the backend can be read.
	Healthy() error
}

// Change is one write of a commit: Value nil deletes Key.
type Change struct {
	Bucket     string
	Key, Value []byte
}

// ValueVersion is the format version byte every versioned value starts
// with, so formats can evolve; a value of another version is an error
// naming the bucket and key (and is quarantined, not loaded).
const ValueVersion = 1

// EncodeJSON is a value in the JSON format: ValueVersion, then v as
// JSON. v must be plain data (strings, numbers, structs of them): JSON
// encoding then cannot fail.
func EncodeJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return append([]byte{ValueVersion}, b...)
}

// DecodeJSON decodes a value EncodeJSON wrote into out. Errors name what
// the value should be ("NAT record") and what is wrong with it.
func DecodeJSON(v []byte, what string, out any) error {
	if len(v) < 1 || v[0] != ValueVersion {
		return fmt.Errorf("not a version-%d %s", ValueVersion, what)
	}
	if err := json.Unmarshal(v[1:], out); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// State is the controller's persistent state: the tables the apps and the
// controller open, each loaded from and journaled to one bucket of a
// Backend. Records that do not decode are skipped, counted
// (ovsmesh_state_records_quarantined_total) and moved to quarantine, so
// one bad record never stops a start.
type State struct {
	b   Backend
	j   *Journal
	log *slog.Logger
	reg prometheus.Registerer
	m   *stateMetrics

	mu     sync.Mutex
	tables map[string]any // bucket -> *Table[K, V]
}

// StateOptions configures a State.
type StateOptions struct {
	// Logger receives quarantine reports and commit failures; nil
	// discards.
	Logger *slog.Logger
	// Registerer receives the ovsmesh_state_* metrics and each table's
	// gauge; nil registers nothing.
	Registerer prometheus.Registerer
	// RetryInterval is the wait before a failed commit is retried.
	// Default 100 ms.
	RetryInterval time.Duration
}

// NewState starts a State over b: its journal writer runs until Close.
func NewState(b Backend, opts StateOptions) *State {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &State{b: b, log: log, reg: opts.Registerer, tables: map[string]any{}}
	s.m = newStateMetrics(opts.Registerer)
	s.j = NewJournal(b, JournalOptions{RetryInterval: opts.RetryInterval, OnCommit: func(n int, took time.Duration, err error) {
		s.m.writeSeconds.Observe(took.Seconds())
		if err != nil {
			s.m.commits.WithLabelValues("error").Inc()
			log.Error("state commit failed; retrying", "keys", n, "err", err)
			return
		}
		s.m.commits.WithLabelValues("ok").Inc()
		s.m.keys.Add(float64(n))
	}})
	if s.reg != nil {
		s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ovsmesh_state_pending_keys",
			Help: "Table changes waiting for the next state commit."}, func() float64 { return float64(s.j.Pending()) }))
	}
	return s
}

// Journal returns the State's journal, to Flush it.
func (s *State) Journal() *Journal { return s.j }

// Healthy returns nil while the backend is readable and the last commit
// succeeded: /healthz fails while commits fail (a full disk), not only
// when the file cannot be read.
func (s *State) Healthy() error {
	if err := s.b.Healthy(); err != nil {
		return err
	}
	return s.j.LastError()
}

// Close commits what is queued and stops the journal; it returns the
// final commit's error. Close the backend after it.
func (s *State) Close() error { return s.j.Close() }

// TableOptions configures a table opened on a State.
type TableOptions struct {
	// Gauge, if set, names a gauge of the table's length registered with
	// the State's Registerer, with Help as its help text.
	Gauge, Help string
}

// Open returns the table journaled to bucket. The first call loads the
// bucket's records into a new table and attaches the journal, so every
// later Put and Delete is persisted; later calls return the same table.
// It fails when bucket is already open with other key or value types, or
// when the backend cannot be read. Undecodable records are quarantined,
// counted and logged, never loaded.
func Open[K comparable, V any](s *State, bucket string, codec Codec[K, V], opts TableOptions) (*Table[K, V], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tables[bucket]; ok {
		tt, ok := t.(*Table[K, V])
		if !ok {
			return nil, fmt.Errorf("state bucket %s is already open as %T", bucket, t)
		}
		return tt, nil
	}
	t := NewTable(codec)
	type bad struct {
		k, v   []byte
		reason string
	}
	var bads []bad
	n := 0
	err := s.b.ForEach(bucket, func(k, v []byte) error {
		if err := t.load(k, v); err != nil {
			bads = append(bads, bad{append([]byte(nil), k...), append([]byte(nil), v...), err.Error()})
			return nil
		}
		n++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", bucket, err)
	}
	for _, b := range bads {
		s.m.quarantined.WithLabelValues(bucket).Inc()
		s.log.Error("state record does not decode: skipped and moved to quarantine", "bucket", bucket,
			"key", fmt.Sprintf("%x", b.k), "reason", b.reason)
		if err := s.b.Quarantine(bucket, b.k, b.v, b.reason); err != nil {
			s.log.Error("moving a bad state record to quarantine failed; it stays and is skipped again next start",
				"bucket", bucket, "key", fmt.Sprintf("%x", b.k), "err", err)
		}
	}
	t.setHook(func(op ChangeOp, key []byte, v V) {
		if op == ChangeDelete {
			s.j.enqueue(bucket, key, nil)
			return
		}
		s.j.enqueue(bucket, key, codec.Encode(v))
	})
	s.tables[bucket] = t
	if opts.Gauge != "" && s.reg != nil {
		if err := s.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: opts.Gauge, Help: opts.Help},
			func() float64 { return float64(t.Len()) })); err != nil {
			return nil, fmt.Errorf("register gauge %s of state bucket %s: %w", opts.Gauge, bucket, err)
		}
	}
	s.log.Info("state table restored", "bucket", bucket, "records", n, "quarantined", len(bads))
	return t, nil
}

type stateMetrics struct {
	writeSeconds prometheus.Histogram
	commits      *prometheus.CounterVec
	keys         prometheus.Counter
	quarantined  *prometheus.CounterVec
}

func newStateMetrics(reg prometheus.Registerer) *stateMetrics {
	m := &stateMetrics{
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ovsmesh_state_write_seconds",
			Help:    "Time one state commit took, fsync included, in seconds.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 14)}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ovsmesh_state_commits_total",
			Help: "State commits by result (ok, error)."}, []string{"result"}),
		keys: prometheus.NewCounter(prometheus.CounterOpts{Name: "ovsmesh_state_keys_written_total",
			Help: "Keys written or deleted by state commits."}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ovsmesh_state_records_quarantined_total",
			Help: "Stored records that did not decode at start, skipped and moved to quarantine, by bucket."}, []string{"bucket"}),
	}
	if reg != nil {
		reg.MustRegister(m.writeSeconds, m.commits, m.keys, m.quarantined)
	}
	return m
}
