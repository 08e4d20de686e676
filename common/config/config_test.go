package config

import (
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestString(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"default", "", nil, ":8080"},
		{"env", ":9090", nil, ":9090"},
		{"flag overrides env", ":9090", []string{"-addr", ":7070"}, ":7070"},
		{"flag without env", "", []string{"-addr=:7070"}, ":7070"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("quoteservice", env(map[string]string{"QUOTESERVICE_ADDR": tt.env}))
			addr := s.String("addr", "QUOTESERVICE_ADDR", ":8080", "listen address")
			if err := s.Parse(tt.args); err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.args, err)
			}
			if *addr != tt.want {
				t.Errorf("addr with env %q, args %q = %q, want %q", tt.env, tt.args, *addr, tt.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want time.Duration
	}{
		{"default", "", nil, 5 * time.Second},
		{"env", "250ms", nil, 250 * time.Millisecond},
		{"flag overrides env", "250ms", []string{"-timeout", "2m"}, 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("quoteservice", env(map[string]string{"QUOTE_TIMEOUT": tt.env}))
			timeout := s.Duration("timeout", "QUOTE_TIMEOUT", 5*time.Second, "how long to wait")
			if err := s.Parse(tt.args); err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.args, err)
			}
			if *timeout != tt.want {
				t.Errorf("timeout with env %q, args %q = %v, want %v", tt.env, tt.args, *timeout, tt.want)
			}
		})
	}
}

func TestBool(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want bool
	}{
		{"default", "", nil, true},
		{"env false", "false", nil, false},
		{"env 0", "0", nil, false},
		{"env true", "TRUE", nil, true},
		{"flag overrides env", "false", []string{"-trust=true"}, true},
		{"flag turns the default off", "", []string{"-trust=false"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("edge", env(map[string]string{"EDGE_TRUST": tt.env}))
			trust := s.Bool("trust", "EDGE_TRUST", true, "trust callers")
			if err := s.Parse(tt.args); err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.args, err)
			}
			if *trust != tt.want {
				t.Errorf("trust with env %q, args %q = %v, want %v", tt.env, tt.args, *trust, tt.want)
			}
		})
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want int
	}{
		{"default", "", nil, 10000},
		{"env", "25", nil, 25},
		{"flag overrides env", "25", []string{"-limit", "7"}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("accountservice", env(map[string]string{"OUTBOX_LIMIT": tt.env}))
			limit := s.Int("limit", "OUTBOX_LIMIT", 10000, "events kept")
			if err := s.Parse(tt.args); err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.args, err)
			}
			if *limit != tt.want {
				t.Errorf("limit with env %q, args %q = %d, want %d", tt.env, tt.args, *limit, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantText []string // each must be in the error
	}{
		{"bad duration env", map[string]string{"QUOTE_TIMEOUT": "5"}, nil, []string{"QUOTE_TIMEOUT", `"5"`}},
		{"every bad env", map[string]string{"QUOTE_TIMEOUT": "soon", "DRAIN_TIMEOUT": "later"}, nil,
			[]string{"QUOTE_TIMEOUT", "DRAIN_TIMEOUT"}},
		{"bad duration flag", nil, []string{"-timeout", "5"}, []string{"timeout"}},
		{"bad bool env", map[string]string{"EDGE_TRUST": "perhaps"}, nil, []string{"EDGE_TRUST", `"perhaps"`, "true or false"}},
		{"bad int env", map[string]string{"OUTBOX_LIMIT": "many"}, nil, []string{"OUTBOX_LIMIT", `"many"`, "whole number"}},
		{"unknown flag", nil, []string{"-nope"}, []string{"nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("quoteservice", env(tt.env))
			s.fs.SetOutput(&strings.Builder{}) // the usage text is not what is tested
			s.Duration("timeout", "QUOTE_TIMEOUT", time.Second, "how long to wait")
			s.Duration("drain", "DRAIN_TIMEOUT", time.Second, "how long to drain")
			s.Bool("trust", "EDGE_TRUST", true, "trust callers")
			s.Int("limit", "OUTBOX_LIMIT", 10000, "events kept")
			err := s.Parse(tt.args)
			if err == nil {
				t.Fatalf("Parse(%q) with env %v error = nil, want one", tt.args, tt.env)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Parse(%q) with env %v error = %q, want it to mention %s", tt.args, tt.env, err, want)
				}
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		s := New("quoteservice", env(nil))
		s.fs.SetOutput(&strings.Builder{})
		if err := s.Parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("Parse(-h) error = %v, want flag.ErrHelp", err)
		}
	})
}

// TestUsageNamesEnv checks that -h tells people which variable a flag mirrors.
func TestUsageNamesEnv(t *testing.T) {
	s := New("quoteservice", env(nil))
	s.String("addr", "QUOTESERVICE_ADDR", ":8080", "listen address")
	s.Duration("timeout", "QUOTE_TIMEOUT", time.Second, "how long to wait")
	for flagName, want := range map[string]string{"addr": "listen address (env QUOTESERVICE_ADDR)", "timeout": "how long to wait (env QUOTE_TIMEOUT)"} {
		if got := s.fs.Lookup(flagName).Usage; got != want {
			t.Errorf("usage of -%s = %q, want %q", flagName, got, want)
		}
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
