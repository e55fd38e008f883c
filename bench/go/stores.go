package main

import (
	"fmt"

	millsbitcask "git.mills.io/prologic/bitcask"
	pogreb "github.com/akrylysov/pogreb"
	bitcask "github.com/libbitcask/libbitcask/bindings/go"
	"github.com/nutsdb/nutsdb"
	"github.com/rosedblabs/rosedb/v2"
)

// store is what every workload needs of a key-value store: one independent
// operation per call, as an application serving requests would make them.
type store interface {
	put(k, v []byte) error
	// get returns the value, which the caller may keep.
	get(k []byte) ([]byte, error)
	close() error
}

type kind struct {
	name string
	// open creates a store in the empty directory dir; durable: every put is
	// on disk (fsync or fdatasync) before it returns.
	open func(dir string, durable bool) (store, error)
	// how each store is driven, for the report.
	how string
}

var kinds = []kind{
	{"libbitcask", openLibbitcask, "the Go binding (cgo): Put, Get; WithSync(SyncAlways) when durable (fdatasync, group commit)"},
	{"pogreb", openPogreb, "pogreb v0.10.2: Put, Get; BackgroundSyncInterval -1 (Sync after every write) when durable"},
	{"prologic-bitcask", openMills, "git.mills.io/prologic/bitcask v1.0.2: Put, Get; WithSync(true) when durable"},
	{"rosedb", openRosedb, "rosedb v2.3.6: Put, Get; when durable, one batch per put with BatchOptions.Sync (fsync; DB.Put with Options.Sync does not sync in this version)"},
	{"nutsdb", openNutsdb, "nutsdb v1.0.4: one Update transaction per put, one View per get (BTree bucket); SyncEnable when durable"},
}

func kindByName(name string) (kind, error) {
	for _, k := range kinds {
		if k.name == name {
			return k, nil
		}
	}
	return kind{}, fmt.Errorf("unknown store %q", name)
}

type libbitcaskStore struct{ db *bitcask.DB }

func openLibbitcask(dir string, durable bool) (store, error) {
	sync := bitcask.SyncNone
	if durable {
		sync = bitcask.SyncAlways
	}
	db, err := bitcask.Open(dir, bitcask.WithSync(sync))
	if err != nil {
		return nil, err
	}
	return libbitcaskStore{db}, nil
}

func (s libbitcaskStore) put(k, v []byte) error        { return s.db.Put(k, v) }
func (s libbitcaskStore) get(k []byte) ([]byte, error) { return s.db.Get(k) }
func (s libbitcaskStore) close() error                 { return s.db.Close() }

type pogrebStore struct{ db *pogreb.DB }

func openPogreb(dir string, durable bool) (store, error) {
	opts := &pogreb.Options{}
	if durable {
		opts.BackgroundSyncInterval = -1
	}
	db, err := pogreb.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	return pogrebStore{db}, nil
}

func (s pogrebStore) put(k, v []byte) error        { return s.db.Put(k, v) }
func (s pogrebStore) get(k []byte) ([]byte, error) { return s.db.Get(k) }
func (s pogrebStore) close() error                 { return s.db.Close() }

type millsStore struct{ db *millsbitcask.Bitcask }

func openMills(dir string, durable bool) (store, error) {
	db, err := millsbitcask.Open(dir, millsbitcask.WithSync(durable))
	if err != nil {
		return nil, err
	}
	return millsStore{db}, nil
}

func (s millsStore) put(k, v []byte) error        { return s.db.Put(k, v) }
func (s millsStore) get(k []byte) ([]byte, error) { return s.db.Get(k) }
func (s millsStore) close() error                 { return s.db.Close() }

type rosedbStore struct {
	db      *rosedb.DB
	durable bool
}

func openRosedb(dir string, durable bool) (store, error) {
	opts := rosedb.DefaultOptions
	opts.DirPath = dir
	// Not opts.Sync: in v2.3.6, DB.Put with Options.Sync writes without any
	// fsync (Batch.Commit syncs only when the batch asks for it and the DB
	// options do not), so a durable put is a batch with BatchOptions.Sync.
	db, err := rosedb.Open(opts)
	if err != nil {
		return nil, err
	}
	return rosedbStore{db, durable}, nil
}

func (s rosedbStore) put(k, v []byte) error {
	if !s.durable {
		return s.db.Put(k, v)
	}
	b := s.db.NewBatch(rosedb.BatchOptions{Sync: true})
	if err := b.Put(k, v); err != nil {
		_ = b.Rollback()
		return err
	}
	return b.Commit()
}

func (s rosedbStore) get(k []byte) ([]byte, error) { return s.db.Get(k) }
func (s rosedbStore) close() error                 { return s.db.Close() }

const nutsBucket = "bench"

type nutsdbStore struct{ db *nutsdb.DB }

func openNutsdb(dir string, durable bool) (store, error) {
	db, err := nutsdb.Open(nutsdb.DefaultOptions, nutsdb.WithDir(dir), nutsdb.WithSyncEnable(durable))
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *nutsdb.Tx) error { return tx.NewBucket(nutsdb.DataStructureBTree, nutsBucket) })
	if err != nil {
		db.Close()
		return nil, err
	}
	return nutsdbStore{db}, nil
}

func (s nutsdbStore) put(k, v []byte) error {
	return s.db.Update(func(tx *nutsdb.Tx) error { return tx.Put(nutsBucket, k, v, 0) })
}

func (s nutsdbStore) get(k []byte) (v []byte, err error) {
	err = s.db.View(func(tx *nutsdb.Tx) error {
		v, err = tx.Get(nutsBucket, k)
		return err
	})
	return v, err
}

func (s nutsdbStore) close() error { return s.db.Close() }
