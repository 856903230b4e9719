package topo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Store is ovsmesh's state file, a bbolt database and the default
// Backend of a State: the meta bucket holds the cookie generation, the
// quarantine bucket records that did not decode, and every table opened
// on the State has a bucket of its own (macs, arp, hosts, and whatever
// apps open), created on first write.
//
// Every method commits and fsyncs before it returns. The packet-in path
// writes through the State's Journal, which batches many changes into
// one Commit.
type Store struct {
	db        *bolt.DB
	path      string
	recovered string // where a corrupt file was moved, "" if none
}

// The Store's own buckets.
var (
	bucketMeta       = []byte("meta")
	bucketQuarantine = []byte("quarantine")
)

// keyGeneration holds the last cookie generation, a big-endian uint16
// (the one meta value without a version byte: its layout predates them
// and is fixed).
var keyGeneration = []byte("generation")

// ErrLocked is returned by OpenStore when another process holds the file.
var ErrLocked = errors.New("state file is locked by another process (is another ovsmesh running?)")

// ErrCorrupt is wrapped in errors about a state file bbolt cannot read
// or whose consistency check fails.
var ErrCorrupt = errors.New("state file is corrupt")

// OpenStore opens (creating if needed) the state file at path, waiting
// at most timeout for the file lock. It returns ErrLocked, wrapped with
// the path, when the lock is held.
//
// A file bbolt cannot open as a database, or whose consistency check
// (bbolt's Tx.Check) fails, is never overwritten: it is renamed to
// PATH.corrupt-YYYYMMDDTHHMMSSZ and a new, empty file is created in its
// place. Recovered then returns the new name of the corrupt file, and the
// caller must report it loudly. Other errors (permissions, a missing
// directory that cannot be created) are returned naming the path.
func OpenStore(path string, timeout time.Duration) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	db, err := openChecked(path, timeout)
	var recovered string
	if errors.Is(err, ErrCorrupt) {
		recovered = fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000Z"))
		if rerr := os.Rename(path, recovered); rerr != nil {
			return nil, fmt.Errorf("%w; moving it aside failed: %w", err, rerr)
		}
		db, err = openChecked(path, timeout)
	}
	if err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketQuarantine} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise state file %s: %w", path, err)
	}
	return &Store{db: db, path: path, recovered: recovered}, nil
}

// openChecked opens path and runs bbolt's consistency check. Errors that
// mean the file is not a sound bbolt database wrap ErrCorrupt.
func openChecked(path string, timeout time.Duration) (db *bolt.DB, err error) {
	defer func() {
		// bbolt can panic on a file whose pages point outside it.
		if r := recover(); r != nil {
			if db != nil {
				db.Close()
			}
			db, err = nil, fmt.Errorf("open state file %s: %w: %v", path, ErrCorrupt, r)
		}
	}()
	if err := checkSize(path); err != nil {
		return nil, err
	}
	// A fault while bbolt maps pages of a damaged file becomes a panic
	// (recovered above) instead of killing the process.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrInvalidMapping):
		return nil, fmt.Errorf("open state file %s: %w: %w", path, ErrCorrupt, err)
	case err != nil:
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	var problems []error
	if verr := db.View(func(tx *bolt.Tx) error {
		// Drain the whole channel: its goroutine holds the transaction.
		for e := range tx.Check() {
			if len(problems) < 5 {
				problems = append(problems, e)
			}
		}
		return nil
	}); verr != nil {
		problems = append(problems, verr)
	}
	if len(problems) > 0 {
		db.Close()
		return nil, fmt.Errorf("open state file %s: %w: %w", path, ErrCorrupt, errors.Join(problems...))
	}
	return db, nil
}

// checkSize reads the file's two meta pages the way bbolt lays them out
// (page header of 16 bytes, then magic u32, version u32, page size u32,
// flags u32, root bucket 16 bytes, freelist page u64, high-water page
// u64) and fails with ErrCorrupt when a meta page claims more pages than
// the file holds: bbolt would map past the end of the file and fault.
// Missing and empty files pass (bbolt initialises them).
func checkSize(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open state file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open state file %s: %w", path, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("open state file %s: is a directory", path)
	}
	size := fi.Size()
	if size == 0 {
		return nil
	}
	const magic = 0xED0CDAED
	var hdr [64]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return fmt.Errorf("open state file %s: %w: %d bytes, too short for a meta page", path, ErrCorrupt, size)
	}
	if binary.LittleEndian.Uint32(hdr[16:]) != magic {
		return nil // bbolt decides (the second meta page may be intact)
	}
	pageSize := int64(binary.LittleEndian.Uint32(hdr[24:]))
	for i := int64(0); i < 2; i++ {
		if _, err := f.ReadAt(hdr[:], i*pageSize); err != nil {
			continue
		}
		if binary.LittleEndian.Uint32(hdr[16:]) != magic {
			continue
		}
		if pages := int64(binary.LittleEndian.Uint64(hdr[56:])); pages*pageSize > size {
			return fmt.Errorf("open state file %s: %w: meta page %d counts %d pages of %d bytes, the file has %d bytes",
				path, ErrCorrupt, i, pages, pageSize, size)
		}
	}
	return nil
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// Recovered returns where OpenStore moved a corrupt file before creating
// this one, or "" when the file opened cleanly.
func (s *Store) Recovered() string { return s.recovered }

// Close closes the file. Close a Journal writing to the store first.
func (s *Store) Close() error { return s.db.Close() }

// Healthy reports whether the file is open (it fails after Close).
func (s *Store) Healthy() error {
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("state file %s: no meta bucket", s.path)
		}
		return nil
	})
}

// NextGeneration increments, persists (fsync) and returns the cookie
// generation; it never returns 0, so flows of generation 0 are never
// ovsmesh's current ones. In a file that replaced a corrupt one the first
// generation is random rather than 1, so it is unlikely to equal the
// generation of flows the lost file's run left on the switches.
func (s *Store) NextGeneration() (uint16, error) {
	var gen uint16
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if v := b.Get(keyGeneration); len(v) == 2 {
			gen = binary.BigEndian.Uint16(v)
		} else if s.recovered != "" {
			gen = uint16(rand.N(1 << 16))
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

// ForEach implements Backend: it calls fn for every record of bucket in
// key order, with slices valid only during the call.
func (s *Store) ForEach(bucket string, fn func(k, v []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return nil // a nested bucket, never ovsmesh's
			}
			return fn(k, v)
		})
	})
}

// Commit implements Backend: every change in one transaction and one
// fsync, buckets created as needed.
func (s *Store) Commit(changes []Change) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, c := range changes {
			b, err := tx.CreateBucketIfNotExists([]byte(c.Bucket))
			if err != nil {
				return fmt.Errorf("bucket %s: %w", c.Bucket, err)
			}
			if c.Value == nil {
				err = b.Delete(c.Key)
			} else {
				err = b.Put(c.Key, c.Value)
			}
			if err != nil {
				return fmt.Errorf("%s key %x: %w", c.Bucket, c.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state file %s: %w", s.path, err)
	}
	return nil
}

// Quarantine implements Backend: the record moves from bucket to the
// quarantine bucket under BUCKET 0x00 KEY, its value prefixed with the
// reason and a 0x00 byte.
func (s *Store) Quarantine(bucket string, k, v []byte, reason string) error {
	qk := append(append([]byte(bucket), 0), k...)
	qv := append(append([]byte(reason), 0), v...)
	err := s.db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketQuarantine).Put(qk, qv)
	})
	if err != nil {
		return fmt.Errorf("state file %s: quarantine %s key %x: %w", s.path, bucket, k, err)
	}
	return nil
}

// Quarantined returns how many records the quarantine bucket holds.
func (s *Store) Quarantined() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketQuarantine).Stats().KeyN
		return nil
	})
	return n, err
}
