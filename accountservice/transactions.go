package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"tracelab/common/faults"
	"tracelab/common/tracing"
)

// Transaction is one movement on an account, as GET /accounts/{id}/transactions lists it.
type Transaction struct {
	ID          string    `json:"id"`
	AccountID   string    `json:"accountId"`
	AmountCents int64     `json:"amountCents"` // negative: money out
	Currency    string    `json:"currency"`
	Description string    `json:"description"`
	At          time.Time `json:"at"`
}

// transactionsBucket holds one nested bucket per account, named by the account id. Its keys
// are the transaction's sequence number, zero-padded, so that bolt's byte order is the
// order in time: the cursor walks from the newest (Last) back.
var transactionsBucket = []byte("transactions")

// seedTransactions gives every seeded account that has none yet 10 to 20 transactions,
// the same ones on every machine. It runs inside Seed's transaction, so a bolt file made by
// an earlier version (accounts, no transactions bucket) gets them at the next start.
func seedTransactions(tx *bolt.Tx) error {
	all, err := tx.CreateBucketIfNotExists(transactionsBucket)
	if err != nil {
		return err
	}
	for i := range seededCount {
		id := strconv.Itoa(firstSeededID + i)
		if all.Bucket([]byte(id)) != nil {
			continue // seeded before: never touched again
		}
		b, err := all.CreateBucket([]byte(id))
		if err != nil {
			return err
		}
		for _, t := range seedTransactionsOf(i, id) {
			v, err := json.Marshal(t)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(t.ID), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// seedTransactionsOf makes the i-th seeded account's transactions, oldest first: a salary,
// then shopping, from a fixed date so that every run and every test sees the same ones.
func seedTransactionsOf(i int, accountID string) []Transaction {
	descriptions := []string{"groceries", "coffee", "books", "train ticket", "rent", "cinema",
		"pharmacy", "bakery", "phone bill", "bicycle repair"}
	start := time.Date(2026, time.November, 1, 9, 0, 0, 0, time.UTC)
	n := 10 + i%11
	out := make([]Transaction, n)
	for j := range n {
		t := Transaction{
			ID:          fmt.Sprintf("%04d", j+1),
			AccountID:   accountID,
			AmountCents: -int64(100 + (i*37+j*53)%9000),
			Currency:    "EUR",
			Description: descriptions[(i+j)%len(descriptions)],
			At:          start.Add(time.Duration(j*(i%5+1)) * 7 * time.Hour),
		}
		if j == 0 {
			t.AmountCents, t.Description = 250000+int64(i)*100, "salary"
		}
		out[j] = t
	}
	return out
}

// RecentTransactions reads an account's transactions, newest first. Without the n-plus-one
// fault, that is one bolt read transaction, one span. With it, lab 3's "before": one read
// for the keys, then one more for each transaction.
func (s *store) RecentTransactions(ctx context.Context, accountID string) ([]Transaction, error) {
	if faults.On(ctx, faults.NPlusOne) {
		return s.transactionsOneByOne(ctx, accountID)
	}
	return s.transactionsAtOnce(ctx, accountID)
}

// transactionsAtOnce is the right way: every transaction of the account in one bolt read
// transaction, in one span.
func (s *store) transactionsAtOnce(ctx context.Context, accountID string) ([]Transaction, error) {
	span, _ := tracing.StartChild(ctx, "bolt list transactions")
	defer span.Finish()
	span.SetTag("db.type", "bolt")
	span.SetTag("db.instance", "transactions")

	var out []Transaction
	err := s.db.View(func(tx *bolt.Tx) error {
		b := accountTransactions(tx, accountID)
		if b == nil {
			return nil // an account without transactions
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var t Transaction
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("transaction %s: %w", k, err)
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		tracing.SetError(span, err)
		return nil, fmt.Errorf("read transactions: %w", err)
	}
	span.SetTag("transactions", len(out))
	return out, nil
}

// transactionsOneByOne is the n-plus-one fault's way, the N+1 reads of lab 3: one bolt
// read transaction lists the keys, then each transaction is read in a read transaction of
// its own, each with its own span. Twenty identical sibling spans where one would do, and
// each read pays bolt's transaction cost again. The fix is transactionsAtOnce.
func (s *store) transactionsOneByOne(ctx context.Context, accountID string) ([]Transaction, error) {
	keys, err := s.transactionKeys(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]Transaction, 0, len(keys))
	for _, key := range keys {
		t, err := s.transaction(ctx, accountID, key)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// transactionKeys lists the keys of an account's transactions, newest first (n-plus-one).
func (s *store) transactionKeys(ctx context.Context, accountID string) ([][]byte, error) {
	span, _ := tracing.StartChild(ctx, "bolt list transaction keys")
	defer span.Finish()
	faults.Mark(ctx, span, faults.NPlusOne)
	span.SetTag("db.type", "bolt")
	span.SetTag("db.instance", "transactions")

	var keys [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		b := accountTransactions(tx, accountID)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			keys = append(keys, append([]byte(nil), k...)) // k is only valid inside the transaction
		}
		return nil
	})
	if err != nil {
		tracing.SetError(span, err)
		return nil, fmt.Errorf("list transactions: %w", err)
	}
	span.SetTag("transactions", len(keys))
	return keys, nil
}

// transaction reads one transaction in a bolt read transaction of its own (n-plus-one).
func (s *store) transaction(ctx context.Context, accountID string, key []byte) (Transaction, error) {
	span, _ := tracing.StartChild(ctx, "bolt get transaction")
	defer span.Finish()
	faults.Mark(ctx, span, faults.NPlusOne)
	span.SetTag("db.type", "bolt")
	span.SetTag("db.instance", "transactions")

	var t Transaction
	err := s.db.View(func(tx *bolt.Tx) error {
		b := accountTransactions(tx, accountID)
		if b == nil {
			return fmt.Errorf("transaction %s: gone", key)
		}
		v := b.Get(key)
		if v == nil {
			return fmt.Errorf("transaction %s: gone", key) // deleted between the two reads
		}
		return json.Unmarshal(v, &t)
	})
	if err != nil {
		tracing.SetError(span, err)
		return Transaction{}, fmt.Errorf("read transaction: %w", err)
	}
	return t, nil
}

// accountTransactions is the account's nested bucket, nil when it has none.
func accountTransactions(tx *bolt.Tx, accountID string) *bolt.Bucket {
	all := tx.Bucket(transactionsBucket)
	if all == nil {
		return nil
	}
	return all.Bucket([]byte(accountID))
}
