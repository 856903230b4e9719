package topo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Journal writes table changes to a Store in the background, many per
// commit (group commit), so the packet-in path never waits for an fsync.
//
// Changes are coalesced by key: only the last change of a key since the
// previous commit is written. The writer goroutine commits as soon as
// there is something to write; changes that arrive while a commit (and
// its fsync) runs go into the next one, so batches grow with the load.
// A change is durable once Flush, called after it, returns nil.
//
// A failed commit is retried every RetryInterval with the changes it
// held (unless newer ones replaced them); Flush reports the error when
// its ctx ends first.
type Journal struct {
	b    Backend
	opts JournalOptions

	mu        sync.Mutex
	pending   map[journalKey][]byte // nil value: delete
	seq       uint64                // changes enqueued
	done      uint64                // changes committed
	committed chan struct{}         // closed and replaced at each commit
	lastErr   error

	wake   chan struct{}
	stop   chan struct{}
	exited chan struct{}
	once   sync.Once
}

// JournalOptions configures a Journal.
type JournalOptions struct {
	// OnCommit, if set, is called from the writer goroutine after each
	// commit attempt with the number of keys written, how long the
	// transaction took including its fsync, and its error.
	OnCommit func(keys int, took time.Duration, err error)
	// RetryInterval is the wait before a failed commit is retried.
	// Default 100 ms.
	RetryInterval time.Duration
}

type journalKey struct {
	bucket string
	key    string
}

// NewJournal starts a journal writing to b. Close it before closing b.
// A State makes its own; tables opened on the State write through it.
func NewJournal(b Backend, opts JournalOptions) *Journal {
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = 100 * time.Millisecond
	}
	j := &Journal{b: b, opts: opts, pending: map[journalKey][]byte{}, committed: make(chan struct{}),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), exited: make(chan struct{})}
	go j.run()
	return j
}

// enqueue queues key=val in bucket for the next commit (val nil:
// delete); tables opened on a State call it from their change hook.
func (j *Journal) enqueue(bucket string, key, val []byte) {
	j.mu.Lock()
	j.pending[journalKey{bucket, string(key)}] = val
	j.seq++
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// Pending returns how many keys wait for the next commit.
func (j *Journal) Pending() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pending)
}

// LastError returns the last commit's error, nil once a commit
// succeeds again.
func (j *Journal) LastError() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lastErr
}

// ErrJournalClosed is returned by Flush when the journal stopped before
// committing the changes Flush waits for.
var ErrJournalClosed = errors.New("state journal closed before the commit")

// Flush waits until every change queued before the call is committed
// and fsynced. It returns ctx's error, with the last commit error if
// any, when ctx ends first.
func (j *Journal) Flush(ctx context.Context) error {
	j.mu.Lock()
	target := j.seq
	for j.done < target {
		ch, last := j.committed, j.lastErr
		j.mu.Unlock()
		select {
		case <-ch:
		case <-j.exited:
			j.mu.Lock()
			ok := j.done >= target
			j.mu.Unlock()
			if !ok {
				return ErrJournalClosed
			}
			return nil
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("flush state journal: %w (last commit failed: %w)", ctx.Err(), last)
			}
			return fmt.Errorf("flush state journal: %w", ctx.Err())
		}
		j.mu.Lock()
	}
	j.mu.Unlock()
	return nil
}

// Close commits what is queued (one attempt) and stops the writer.
// Changes queued after Close are never written. It returns the final
// commit's error.
func (j *Journal) Close() error {
	j.once.Do(func() { close(j.stop) })
	<-j.exited
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lastErr
}

// run is the writer goroutine; it exits after Close's final commit.
func (j *Journal) run() {
	defer close(j.exited)
	for {
		select {
		case <-j.wake:
		case <-j.stop:
			j.commit()
			return
		}
		if !j.commit() {
			t := time.NewTimer(j.opts.RetryInterval)
			select {
			case <-t.C:
				j.signal()
			case <-j.stop:
				t.Stop()
				j.commit()
				return
			}
		}
	}
}

func (j *Journal) signal() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// commit writes the pending changes in one transaction and reports
// whether it succeeded (or had nothing to do).
func (j *Journal) commit() bool {
	j.mu.Lock()
	batch, upto := j.pending, j.seq
	if len(batch) == 0 {
		j.advance(upto)
		j.mu.Unlock()
		return true
	}
	j.pending = make(map[journalKey][]byte, len(batch))
	j.mu.Unlock()

	// Backends insert in key order far faster than at random.
	keys := make([]journalKey, 0, len(batch))
	for k := range batch {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b journalKey) int {
		if c := strings.Compare(a.bucket, b.bucket); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	changes := make([]Change, len(keys))
	for i, k := range keys {
		changes[i] = Change{Bucket: k.bucket, Key: []byte(k.key), Value: batch[k]}
	}
	start := time.Now()
	err := j.b.Commit(changes)
	took := time.Since(start)
	if err != nil {
		err = fmt.Errorf("commit %d changes: %w", len(batch), err)
	}
	j.mu.Lock()
	if err != nil {
		for k, v := range batch {
			if _, newer := j.pending[k]; !newer {
				j.pending[k] = v
			}
		}
		j.lastErr = err
	} else {
		j.lastErr = nil
		j.advance(upto)
	}
	j.mu.Unlock()
	if j.opts.OnCommit != nil {
		j.opts.OnCommit(len(batch), took, err)
	}
	return err == nil
}

// advance marks changes up to upto committed and wakes Flush callers;
// j.mu is held.
func (j *Journal) advance(upto uint64) {
	if upto <= j.done {
		return
	}
	j.done = upto
	close(j.committed)
	j.committed = make(chan struct{})
}
