package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// state is what a lab's setup keeps for its check, in .run/workshop/lab-N.json.
type state struct {
	Started time.Time `json:"started"`          // set by setup: checks read only newer traces
	Seed    string    `json:"seed,omitempty"`   // lab 2: the mystery's seed
	Traces  []string  `json:"traces,omitempty"` // trace ids of the requests setup sent
	Ops     []string  `json:"ops,omitempty"`    // lab 4: imageservice's operations before the change
	Before  string    `json:"before,omitempty"` // lab 3: the figures at setup, with the code unchanged
	Hints   int       `json:"hints"`            // how many hints were shown
}

func statePath(e env, l lab) string {
	return filepath.Join(e.stateDir, fmt.Sprintf("lab-%d.json", l.n))
}

func loadState(e env, l lab) (state, error) {
	var st state
	b, err := os.ReadFile(statePath(e, l))
	if errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("lab %d is not set up yet: run make setup LAB=%d first", l.n, l.n)
	}
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

func saveState(e env, l lab, st state) error {
	if err := os.MkdirAll(e.stateDir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(statePath(e, l), append(b, '\n'), 0o644)
}

// mustBeSetUp returns the state, or an error that says to run the setup.
func mustBeSetUp(e env, l lab) (state, error) {
	st, err := loadState(e, l)
	if err == nil && st.Started.IsZero() {
		err = fmt.Errorf("lab %d is not set up yet: run make setup LAB=%d first", l.n, l.n)
	}
	return st, err
}
