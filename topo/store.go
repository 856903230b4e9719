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

// Store is ovsmesh's state file, a bbolt database with one bucket per
// kind of state: meta (the cookie generation), macs, arp, hosts and
// static. Every value starts with a format version byte (valueVersion),
// so the format can evolve; a value of an unknown version is an error
// naming the bucket and key, never silently skipped.
//
// The direct methods (NextGeneration, Put*, Delete*) commit and fsync
// before they return. The packet-in path writes through a Journal
// instead, which batches many changes into one commit.
type Store struct {
	db        *bolt.DB
	path      string
	recovered string // where a corrupt file was moved, "" if none
}

// Bucket names, one per kind.
var (
	bucketMeta   = []byte("meta")
	bucketMACs   = []byte("macs")
	bucketARP    = []byte("arp")
	bucketHosts  = []byte("hosts")
	bucketStatic = []byte("static")
	allBuckets   = [][]byte{bucketMeta, bucketMACs, bucketARP, bucketHosts, bucketStatic}
)

// keyGeneration holds the last cookie generation, a big-endian uint16
// (the one meta value without a version byte: its layout predates them
// and is fixed).
var keyGeneration = []byte("generation")

// valueVersion is the format version byte every versioned value starts
// with.
const valueVersion = 1

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
		for _, b := range allBuckets {
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

// Generation returns the last persisted cookie generation (0 if none).
func (s *Store) Generation() (uint16, error) {
	var gen uint16
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyGeneration); len(v) == 2 {
			gen = binary.BigEndian.Uint16(v)
		}
		return nil
	})
	return gen, err
}
