// Package accountid is the one rule for what an account id looks like, shared by every
// service that receives one (in a path, in a message), so that all of them refuse the same
// inputs with the same words.
package accountid

import (
	"errors"
	"strconv"
)

// MaxDigits bounds an account id. Every 19-digit number fits in a uint64 and no account id
// is longer, so a longer one is a mistake or a probe, not an account.
const MaxDigits = 19

// ErrInvalid is the answer to anything that is not an account id.
var ErrInvalid = errors.New("account id must be a number of 1 to 19 digits, without leading zeros")

// Parse reads an account id: 1 to MaxDigits decimal digits, no sign, no spaces, and no
// leading zero ("0" itself is an id). An id has one spelling only: accountservice finds an
// account by its id as written, while imageservice reads the number, so "00010000" was a
// 404 in one and account 10000's picture in the other. Refusing it is simpler and clearer
// than rewriting it: a caller that pads ids learns so at once, and traces, logs and
// answers never show two spellings of one account.
func Parse(s string) (uint64, error) {
	if len(s) > MaxDigits || (len(s) > 1 && s[0] == '0') {
		return 0, ErrInvalid
	}
	n, err := strconv.ParseUint(s, 10, 64) // refuses "", signs, spaces, "1_000", "1e5"
	if err != nil {
		return 0, ErrInvalid
	}
	return n, nil
}
