package e2e

import "tracelab/common/faults"

// mysteryAnswer is the right answer of lab 2 for a seed: where the fault acts, and its name.
func mysteryAnswer(seed string) string {
	name := faults.MysteryFault(seed)
	f, _ := faults.Lookup(name)
	return f.Services[0] + " " + string(name)
}

// wrongMysteryAnswer names the right service and a wrong fault.
func wrongMysteryAnswer(seed string) string {
	name := faults.MysteryFault(seed)
	f, _ := faults.Lookup(name)
	other := faults.SlowQuote
	if name == other {
		other = faults.QuoteTimeout
	}
	return f.Services[0] + " " + string(other)
}
