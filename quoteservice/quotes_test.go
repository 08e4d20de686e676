package main

import (
	"slices"
	"testing"
	"time"
)

func TestLanguages(t *testing.T) {
	want := []string{"de", "en", "es", "fr", "sv"}
	if got := builtinQuotes.languages(); !slices.Equal(got, want) {
		t.Errorf("languages() = %v, want %v", got, want)
	}
	for _, tt := range []struct {
		language string
		want     bool
	}{{"en", true}, {"sv", true}, {"", false}, {"EN", false}, {"xx", false}} {
		if got := builtinQuotes.has(tt.language); got != tt.want {
			t.Errorf("has(%q) = %v, want %v", tt.language, got, tt.want)
		}
	}
}

// TestOfTheDay checks that the quote holds all day and changes with the day.
func TestOfTheDay(t *testing.T) {
	morning := time.Date(2025, time.March, 3, 0, 0, 1, 0, time.UTC)
	evening := time.Date(2025, time.March, 3, 23, 59, 59, 0, time.UTC)
	tomorrow := morning.AddDate(0, 0, 1)
	for _, language := range builtinQuotes.languages() {
		quotes := builtinQuotes.byLanguage[language]
		first := builtinQuotes.ofTheDay(language, morning)
		if !slices.Contains(quotes, first) {
			t.Errorf("ofTheDay(%q, %v) = %q, want one of the %q quotes", language, morning, first, language)
		}
		if got := builtinQuotes.ofTheDay(language, evening); got != first {
			t.Errorf("ofTheDay(%q, %v) = %q, want %q as in the morning", language, evening, got, first)
		}
		if got := builtinQuotes.ofTheDay(language, tomorrow); got == first {
			t.Errorf("ofTheDay(%q, %v) = %q, want another quote than the day before", language, tomorrow, got)
		}
	}
}
