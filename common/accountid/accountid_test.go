package accountid

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr error
	}{
		{"10000", 10000, nil},
		{"0", 0, nil},
		{"0010", 0, ErrInvalid}, // one spelling per id: leading zeros are refused
		{"007", 0, ErrInvalid},
		{"00", 0, ErrInvalid},
		{"00010000", 0, ErrInvalid},
		{"9999999999999999999", 9999999999999999999, nil}, // 19 digits: the longest
		{"18446744073709551615", 0, ErrInvalid},           // fits a uint64, but 20 digits
		{"", 0, ErrInvalid},
		{"abc", 0, ErrInvalid},
		{"-1", 0, ErrInvalid},
		{"+1", 0, ErrInvalid},
		{"-0", 0, ErrInvalid},
		{"1e5", 0, ErrInvalid},
		{"1_000", 0, ErrInvalid},
		{" 1", 0, ErrInvalid},
		{"１２", 0, ErrInvalid}, // full-width digits
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("Parse(%q) = %d, %v, want %d, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
