package topo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Store is ovsmesh's state file, a bbolt database with one bucket per
// kind of state.
type Store struct {
	db *bolt.DB
}

var bucketMeta = []byte("meta")

// keyGeneration holds the last cookie generation, a big-endian uint16.
var keyGeneration = []byte("generation")

// ErrLocked is returned by OpenStore when another process holds the file.
var ErrLocked = errors.New("state file is locked by another process (is another ovsmesh running?)")

// OpenStore opens (creating if needed) the state file at path, waiting
// at most timeout for the file lock. It returns ErrLocked, wrapped with
// the path, when the lock is held, and an error naming the path when the
// file is not a valid state file.
func OpenStore(path string, timeout time.Duration) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketMeta)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise state file %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// NextGeneration increments, persists (fsync) and returns the cookie
// generation; it never returns 0, so flows of generation 0 are never
// ovsmesh's current ones.
func (s *Store) NextGeneration() (uint16, error) {
	var gen uint16
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if v := b.Get(keyGeneration); len(v) == 2 {
			gen = binary.BigEndian.Uint16(v)
		}
		gen++
		if gen == 0 {
			gen = 1
		}
		return b.Put(keyGeneration, binary.BigEndian.AppendUint16(nil, gen))
	})
	if err != nil {
		return 0, fmt.Errorf("persist cookie generation: %w", err)
	}
	return gen, nil
}
