// Package config binds a service's settings to environment variables, the contract that
// docker-compose and Kubernetes speak, with command-line flags mirroring them for people
// running a binary by hand. A flag given on the command line wins over the variable.
package config

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
)

// Set is a FlagSet whose defaults come from the environment.
type Set struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
}

// New returns a Set for the named program reading variables through getenv.
func New(name string, getenv func(string) string) *Set {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &Set{fs: fs, getenv: getenv}
}

// String defines a flag whose default is $env, or def when $env is empty.
func (s *Set) String(flagName, env, def, usage string) *string {
	if v := s.getenv(env); v != "" {
		def = v
	}
	return s.fs.String(flagName, def, fmt.Sprintf("%s (env %s)", usage, env))
}

// Duration defines a duration flag whose default is $env (10s, 1m30s), or def.
func (s *Set) Duration(flagName, env string, def time.Duration, usage string) *time.Duration {
	def = envDefault(s, env, def, time.ParseDuration, "want a duration such as 10s")
	return s.fs.Duration(flagName, def, fmt.Sprintf("%s (env %s)", usage, env))
}

// Bool defines a boolean flag whose default is $env (true, false, 1, 0, as strconv.ParseBool
// reads them), or def. On the command line, -name=false turns off a flag whose default is on.
func (s *Set) Bool(flagName, env string, def bool, usage string) *bool {
	def = envDefault(s, env, def, strconv.ParseBool, "want true or false")
	return s.fs.Bool(flagName, def, fmt.Sprintf("%s (env %s)", usage, env))
}

// Int defines an integer flag whose default is $env, or def.
func (s *Set) Int(flagName, env string, def int, usage string) *int {
	def = envDefault(s, env, def, strconv.Atoi, "want a whole number")
	return s.fs.Int(flagName, def, fmt.Sprintf("%s (env %s)", usage, env))
}

// envDefault is $env read with parse, or def when $env is empty. A value parse refuses is
// kept, with what was wanted instead, for Parse to report beside the others.
func envDefault[T any](s *Set, env string, def T, parse func(string) (T, error), want string) T {
	v := s.getenv(env)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s=%q: %s", env, v, want))
		return def
	}
	return x
}

// Parse parses args and reports every environment variable that could not be read, so
// one run shows all there is to fix.
func (s *Set) Parse(args []string) error {
	if len(s.errs) > 0 {
		return errors.Join(s.errs...)
	}
	return s.fs.Parse(args)
}
