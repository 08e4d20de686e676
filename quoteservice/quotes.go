package main

import (
	"sort"
	"time"
)

// Quote is what quoteservice answers.
type Quote struct {
	Text     string `json:"quote"`
	Language string `json:"language"`
	ServedBy string `json:"servedBy"`
}

// quoteBook holds the built-in quotes by language. The service needs no network or
// database at run time: the collection is compiled in.
type quoteBook struct {
	byLanguage map[string][]string
}

var builtinQuotes = &quoteBook{byLanguage: map[string][]string{
	"en": {
		"Simplicity is prerequisite for reliability.",
		"Make it work, make it right, make it fast.",
		"The cheapest, fastest and most reliable components are those that aren't there.",
		"If you can't measure it, you can't improve it.",
	},
	"de": {
		"Wer nichts misst, weiß nichts.",
		"Ordnung ist das halbe Leben.",
		"Übung macht den Meister.",
	},
	"fr": {
		"La simplicité est la sophistication suprême.",
		"Petit à petit, l'oiseau fait son nid.",
		"Il faut mesurer deux fois et couper une fois.",
	},
	"es": {
		"Poco a poco se va lejos.",
		"Más vale prevenir que curar.",
		"Quien mide, sabe.",
	},
	"sv": {
		"Lagom är bäst.",
		"Den som väntar på något gott väntar aldrig för länge.",
		"Bättre lite rök än ingen eld.",
	},
}}

// languages lists the languages the book has, sorted, for error messages.
func (b *quoteBook) languages() []string {
	langs := make([]string, 0, len(b.byLanguage))
	for l := range b.byLanguage {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	return langs
}

// has reports whether the book has quotes in language.
func (b *quoteBook) has(language string) bool {
	_, ok := b.byLanguage[language]
	return ok
}

// ofTheDay picks the quote of day in language: the same all day long, a new one tomorrow.
func (b *quoteBook) ofTheDay(language string, day time.Time) string {
	quotes := b.byLanguage[language]
	return quotes[day.YearDay()%len(quotes)]
}
