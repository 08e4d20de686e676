package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"tracelab/common/tracing"
)

// Account is what the store keeps. VIP accounts make accountservice publish an event.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	VIP  bool   `json:"vip"`
}

// The seeded range: accounts 10000 to 10099, as in goblog.
const (
	firstSeededID = 10000
	seededCount   = 100
)

var (
	// ErrNotFound: no account has that id.
	ErrNotFound = errors.New("account not found")
)

var accountsBucket = []byte("accounts")

// store keeps accounts in an embedded BoltDB file.
type store struct {
	db *bolt.DB
}

// openStore opens (or creates) the BoltDB file at path. Bolt locks the file: a second
// process on the same file waits up to a second and then fails with a clear error.
func openStore(path string) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open bolt file %s: %w", path, err)
	}
	return &store{db: db}, nil
}

func (s *store) Close() error { return s.db.Close() }

// Seed writes the demo accounts that are not there yet, and the recent transactions of
// those that have none, in one transaction: running it at every start changes nothing the
// second time, and never overwrites an edited account. added counts the accounts.
func (s *store) Seed() (added int, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(accountsBucket)
		if err != nil {
			return err
		}
		for i := range seededCount {
			id := strconv.Itoa(firstSeededID + i)
			if b.Get([]byte(id)) != nil {
				continue
			}
			v, err := json.Marshal(Account{ID: id, Name: seedName(i), VIP: i%10 == 0})
			if err != nil {
				return err
			}
			if err := b.Put([]byte(id), v); err != nil {
				return err
			}
			added++
		}
		return seedTransactions(tx)
	})
	return added, err
}

// seedName makes a stable, made-up name for the i-th seeded account.
func seedName(i int) string {
	first := []string{"Ada", "Alan", "Barbara", "Dennis", "Edsger", "Frances", "Grace", "Ken",
		"Leslie", "Margaret"}
	last := []string{"Hopper", "Kernighan", "Lamport", "Liskov", "Lovelace", "Ritchie",
		"Thompson", "Turing", "Allen", "Hamilton"}
	return first[i%len(first)] + " " + last[(i/len(first))%len(last)]
}

// Get reads one account inside a child span, so the trace shows the time spent in bolt.
func (s *store) Get(ctx context.Context, id string) (Account, error) {
	span, _ := tracing.StartChild(ctx, "bolt get account")
	defer span.Finish()
	span.SetTag("db.type", "bolt")
	span.SetTag("db.instance", "accounts")

	var acc Account
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(accountsBucket)
		if b == nil {
			return ErrNotFound
		}
		v := b.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &acc)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		tracing.SetError(span, err)
		return Account{}, fmt.Errorf("read account: %w", err)
	}
	span.SetTag("found", err == nil)
	return acc, err
}

// Ping checks that the file can be read, for /healthz.
func (s *store) Ping() error {
	return s.db.View(func(*bolt.Tx) error { return nil })
}
