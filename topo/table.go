package topo

import (
	"bytes"
	"slices"
	"sync"
)

// Codec says how a Table keys its values and how a State persists them.
// Key bytes order the table (Select) and are the keys of its bucket.
type Codec[K comparable, V any] struct {
	// KeyOf returns the key a value is stored under.
	KeyOf func(V) K
	// KeyBytes renders a key for ordering and for the state file.
	KeyBytes func(K) []byte
	// Encode renders a value for the state file; it should start with a
	// format version byte (ValueVersion).
	Encode func(V) []byte
	// Decode reads a stored record back; an error names what is wrong
	// (the caller adds the bucket and key). A record that does not decode
	// is quarantined by State, never loaded.
	Decode func(k, v []byte) (V, error)
}

// Table is a keyed table of values shared between apps: one writer (the
// app that owns it) and any number of readers (other apps, the API). It
// is safe for concurrent use. A State can journal every change to a
// bucket of the state file.
type Table[K comparable, V any] struct {
	codec Codec[K, V]

	mu      sync.RWMutex
	entries map[K]V
	hook    func(op ChangeOp, key []byte, v V)
	// watchers are the readers' change callbacks, by subscription id.
	watchers map[uint64]func(op ChangeOp, v V)
	nextID   uint64
}

// NewTable returns an empty table using codec.
func NewTable[K comparable, V any](codec Codec[K, V]) *Table[K, V] {
	return &Table[K, V]{codec: codec, entries: map[K]V{}}
}

// ChangeOp says what a table change did.
type ChangeOp uint8

// Table change operations passed to change hooks.
const (
	// ChangePut stored an entry (new, moved or refreshed).
	ChangePut ChangeOp = iota + 1
	// ChangeDelete removed an entry; the hook gets the removed entry.
	ChangeDelete
)

// setHook makes fn observe every later Put and Delete with the key's
// bytes. fn runs under the table's write lock, so calls arrive in table
// order; it must be quick and must not call back into the table.
func (t *Table[K, V]) setHook(fn func(op ChangeOp, key []byte, v V)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hook = fn
}

// Watch makes fn observe every later Put and Delete (a reader app that
// keeps flows derived from another app's table). fn runs under the
// table's write lock, so calls arrive in table order; it must be quick
// (record the change, wake a worker) and must not call back into the
// table. The returned cancel stops the calls.
func (t *Table[K, V]) Watch(fn func(op ChangeOp, v V)) (cancel func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.watchers == nil {
		t.watchers = map[uint64]func(ChangeOp, V){}
	}
	t.nextID++
	id := t.nextID
	t.watchers[id] = fn
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.watchers, id)
	}
}

// notify calls the hook and the watchers; t.mu is held.
func (t *Table[K, V]) notify(op ChangeOp, k K, v V) {
	if t.hook != nil {
		t.hook(op, t.codec.KeyBytes(k), v)
	}
	for _, w := range t.watchers {
		w(op, v)
	}
}

// Get returns the entry for k.
func (t *Table[K, V]) Get(k K) (V, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.entries[k]
	return v, ok
}

// Put stores v under its key.
func (t *Table[K, V]) Put(v V) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := t.codec.KeyOf(v)
	t.entries[k] = v
	t.notify(ChangePut, k, v)
}

// Delete removes k and reports whether it was there.
func (t *Table[K, V]) Delete(k K) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.entries[k]
	delete(t.entries, k)
	if ok {
		t.notify(ChangeDelete, k, v)
	}
	return ok
}

// Len returns the number of entries.
func (t *Table[K, V]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.entries)
}

// Select returns copies of the entries for which keep reports true (all
// when keep is nil), ordered by key bytes.
func (t *Table[K, V]) Select(keep func(V) bool) []V {
	type kv struct {
		key []byte
		v   V
	}
	t.mu.RLock()
	var sel []kv
	for k, v := range t.entries {
		if keep == nil || keep(v) {
			sel = append(sel, kv{t.codec.KeyBytes(k), v})
		}
	}
	t.mu.RUnlock()
	slices.SortFunc(sel, func(a, b kv) int { return bytes.Compare(a.key, b.key) })
	out := make([]V, len(sel))
	for i, e := range sel {
		out[i] = e.v
	}
	return out
}

// load puts a decoded record without calling the hook (a restore).
func (t *Table[K, V]) load(k, v []byte) error {
	val, err := t.codec.Decode(k, v)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.entries[t.codec.KeyOf(val)] = val
	t.mu.Unlock()
	return nil
}
