package faults

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in          string
		want        Set
		wantUnknown []string
	}{
		{"", nil, nil},
		{"sequential-calls", Set{SequentialCalls: ""}, nil},
		{" Sequential-Calls , n-plus-one ", Set{SequentialCalls: "", NPlusOne: ""}, nil},
		{"slow-quote", Set{SlowQuote: "300ms"}, nil},
		{"slow-quote=800ms", Set{SlowQuote: "800ms"}, nil},
		{"slow-quote=1h", Set{SlowQuote: "1.5s"}, nil},        // clamped: no hour-long sleeps
		{"slow-quote=40", Set{SlowQuote: "40"}, nil},          // a CPU strength
		{"slow-quote=100000", Set{SlowQuote: "100"}, nil},     // clamped strength
		{"slow-quote=-5ms", Set{SlowQuote: "1ms"}, nil},       // clamped up
		{"slow-quote=lots", Set{SlowQuote: "300ms"}, nil},     // unreadable: the default
		{"retry-storm=2s", Set{RetryStorm: "5"}, nil},         // not a count: the default
		{"sequential-calls=9", Set{SequentialCalls: ""}, nil}, // takes no value
		{"edge-pool=0", Set{EdgePool: "1"}, nil},
		{"quote-timeout=10m", Set{QuoteTimeout: "30s"}, nil},
		{"nope,lock-contention", Set{LockContention: "25ms"}, []string{"nope"}},
		{"mystery", nil, []string{"mystery"}},
		{",,", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, unknown := Parse(tt.in)
			if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(unknown, tt.wantUnknown) {
				t.Errorf("Parse(%q) = %v, %v, want %v, %v", tt.in, got, unknown, tt.want, tt.wantUnknown)
			}
		})
	}
}

func TestMystery(t *testing.T) {
	seen := map[Name]bool{}
	for _, seed := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "alice", "bob"} {
		name := MysteryFault(seed)
		if MysteryFault(seed) != name {
			t.Fatalf("MysteryFault(%q) changed between calls", seed)
		}
		set, _ := Parse("mystery=" + seed)
		if _, ok := set[name]; !ok || set[Mystery] != seed || len(set) != 2 {
			t.Errorf("Parse(mystery=%s) = %v, want %s and the seed", seed, set, name)
		}
		if got := set.String(); got != "mystery="+seed {
			t.Errorf("Parse(mystery=%s).String() = %q, want the mystery, not its fault", seed, got)
		}
		seen[name] = true
	}
	if len(seen) < 3 {
		t.Errorf("14 seeds picked only %v: want them spread over Findable", seen)
	}
	for _, name := range Findable {
		if _, ok := Lookup(name); !ok {
			t.Errorf("Findable has %q, which the catalogue lacks", name)
		}
	}
}

func TestCatalogueDefaultsWithinBounds(t *testing.T) {
	for _, f := range Catalogue {
		if got := clamp(f.Param, ""); got != f.Param.Default {
			t.Errorf("%s: default %q clamps to %q: keep defaults within the bounds", f.Name, f.Param.Default, got)
		}
		if len(f.Services) == 0 || f.Summary == "" {
			t.Errorf("%s: want the services it acts in and a summary", f.Name)
		}
	}
}

func TestSetString(t *testing.T) {
	set, _ := Parse("slow-quote=800ms,sequential-calls")
	if got, want := set.String(), "sequential-calls,slow-quote=800ms"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantOn  bool
		want    Set
		wantErr bool
	}{
		{"nothing set", nil, true, nil, false},
		{"start set", map[string]string{"TRACELAB_FAULTS": "lock-contention=50ms"}, true, Set{LockContention: "50ms"}, false},
		{"off", map[string]string{"TRACELAB_FAULTS_ENABLED": "false"}, false, nil, false},
		{"not a bool", map[string]string{"TRACELAB_FAULTS_ENABLED": "maybe"}, false, nil, true},
		{"unknown name", map[string]string{"TRACELAB_FAULTS": "slwo-quote"}, false, nil, true},
		{"on but off", map[string]string{"TRACELAB_FAULTS": "slow-quote", "TRACELAB_FAULTS_ENABLED": "false"}, false, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sw, err := FromEnv(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("FromEnv(%v) error = %v, want error %v", tt.env, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if sw.Enabled() != tt.wantOn || !reflect.DeepEqual(sw.Active(), tt.want) {
				t.Errorf("FromEnv(%v) = enabled %v, active %v, want %v, %v", tt.env, sw.Enabled(), sw.Active(), tt.wantOn, tt.want)
			}
		})
	}
}

// requestWith returns a context with a span whose baggage carries fault=item (none when
// item is empty), passed through sw as the tracing middleware does.
func requestWith(t *testing.T, sw *Switch, item string) (context.Context, *mocktracer.MockSpan) {
	t.Helper()
	span := mocktracer.New().StartSpan("GET /accounts/{id}")
	if item != "" {
		span.SetBaggageItem(BaggageKey, item)
	}
	ctx := sw.Context(opentracing.ContextWithSpan(context.Background(), span))
	return ctx, span.(*mocktracer.MockSpan)
}

func TestOnPerRequest(t *testing.T) {
	sw := NewSwitch(true, nil)
	ctx, span := requestWith(t, sw, "sequential-calls,lock-contention=40ms")
	if !On(ctx, SequentialCalls) {
		t.Fatal("On(sequential-calls) = false for a request whose baggage names it")
	}
	if On(ctx, NPlusOne) {
		t.Error("On(n-plus-one) = true, want false: the baggage does not name it")
	}
	if d, ok := DurationOf(ctx, LockContention); !ok || d != 40*time.Millisecond {
		t.Errorf("DurationOf(lock-contention) = %v, %v, want 40ms, true", d, ok)
	}
	if _, ok := CountOf(ctx, LockContention); ok {
		t.Error("CountOf(lock-contention) ok, want false: its value is a duration")
	}
	On(ctx, LockContention)
	On(ctx, SequentialCalls) // a second time: tagged once
	if got := span.Tag(Tag); got != "sequential-calls,lock-contention" {
		t.Errorf("span tag fault = %v, want sequential-calls,lock-contention", got)
	}

	other, otherSpan := requestWith(t, sw, "")
	if On(other, SequentialCalls) {
		t.Error("On(sequential-calls) = true for a request without the baggage: faults leak between requests")
	}
	if otherSpan.Tag(Tag) != nil {
		t.Errorf("untouched request's span tagged %v", otherSpan.Tag(Tag))
	}
	if other.Value(activeKey{}) != nil {
		t.Error("a request without faults got a faults value in its context: want none (nothing added when off)")
	}
}

func TestUnknownBaggageIsIgnoredAndCounted(t *testing.T) {
	sw := NewSwitch(true, nil)
	ctx, span := requestWith(t, sw, "slwo-quote,sequential-calls")
	if !On(ctx, SequentialCalls) {
		t.Error("On(sequential-calls) = false: a typo beside it must not cancel it")
	}
	if sw.Ignored() != 1 || span.Tag(IgnoredTag) != "slwo-quote" {
		t.Errorf("Ignored() = %d, tag %v, want 1 and slwo-quote", sw.Ignored(), span.Tag(IgnoredTag))
	}
}

func TestMysteryIsUntagged(t *testing.T) {
	sw := NewSwitch(true, nil)
	ctx, span := requestWith(t, sw, "mystery=42")
	name := MysteryFault("42")
	if !On(ctx, name) {
		t.Fatalf("On(%s) = false under mystery=42", name)
	}
	Mark(ctx, span, name)
	if span.Tag(Tag) != nil {
		t.Errorf("mystery span tagged fault=%v, want no tag: the learner must find it", span.Tag(Tag))
	}
}

func TestGlobalSetAndClear(t *testing.T) {
	sw := NewSwitch(true, nil)
	if err := sw.Set("slow-quote=500ms,edge-pool"); err != nil {
		t.Fatal(err)
	}
	if err := sw.Set("nope"); err == nil {
		t.Error("Set(nope) = nil, want an error: a person typed it")
	}
	ctx, _ := requestWith(t, sw, "slow-quote=50ms")
	if d, _ := DurationOf(ctx, SlowQuote); d != 50*time.Millisecond {
		t.Errorf("DurationOf(slow-quote) = %v, want the request's 50ms over the global 500ms", d)
	}
	if !On(ctx, EdgePool) {
		t.Error("On(edge-pool) = false, want the global fault on for every request")
	}
	if err := sw.Clear("edge-pool"); err != nil {
		t.Fatal(err)
	}
	if got := sw.Active().String(); got != "slow-quote=500ms" {
		t.Errorf("after Clear(edge-pool) active = %q, want slow-quote=500ms", got)
	}
	if err := sw.Clear("all"); err != nil || len(sw.Active()) != 0 {
		t.Errorf("Clear(all) = %v, active %v, want none", err, sw.Active())
	}
}

func TestDisabledSwitch(t *testing.T) {
	sw := NewSwitch(false, Set{SlowQuote: "300ms"})
	ctx, _ := requestWith(t, sw, "slow-quote")
	if On(ctx, SlowQuote) {
		t.Error("On(slow-quote) = true with faults switched off")
	}
	if err := sw.Set("slow-quote"); err == nil {
		t.Error("Set with faults switched off = nil, want an error")
	}
}

func TestAdmin(t *testing.T) {
	sw := NewSwitch(true, nil)
	h := Admin("quoteservice", sw)
	do := func(method, target string) (int, State) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
		var st State
		_ = json.Unmarshal(rec.Body.Bytes(), &st)
		return rec.Code, st
	}
	if code, st := do(http.MethodPut, "/faults?set=slow-quote=700ms"); code != http.StatusOK || st.Active != "slow-quote=700ms" {
		t.Errorf("PUT ?set=slow-quote=700ms = %d %q, want 200 slow-quote=700ms", code, st.Active)
	}
	code, st := do(http.MethodGet, "/faults")
	if code != http.StatusOK || len(st.Faults) != len(Catalogue) || !st.Faults[0].On || st.Faults[0].Value != "700ms" {
		t.Errorf("GET = %d %+v, want the catalogue with slow-quote on at 700ms", code, st)
	}
	if code, _ := do(http.MethodPut, "/faults?set=nope"); code != http.StatusBadRequest {
		t.Errorf("PUT ?set=nope = %d, want 400", code)
	}
	if code, _ := do(http.MethodPut, "/faults"); code != http.StatusBadRequest {
		t.Errorf("PUT without set or clear = %d, want 400", code)
	}
	if code, _ := do(http.MethodDelete, "/faults"); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE = %d, want 405", code)
	}
	if code, st := do(http.MethodPut, "/faults?clear=all"); code != http.StatusOK || st.Active != "" {
		t.Errorf("PUT ?clear=all = %d %q, want 200 and none", code, st.Active)
	}
	off := Admin("quoteservice", NewSwitch(false, nil))
	rec := httptest.NewRecorder()
	off.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/faults?set=slow-quote", nil))
	if rec.Code != http.StatusForbidden {
		t.Errorf("PUT with faults off = %d, want 403", rec.Code)
	}
}

// BenchmarkContextNoFaults is the cost every request pays with no fault on: it must stay
// a baggage lookup, with nothing allocated.
func BenchmarkContextNoFaults(b *testing.B) {
	sw := NewSwitch(true, nil)
	span := mocktracer.New().StartSpan("op")
	ctx := opentracing.ContextWithSpan(context.Background(), span)
	b.ReportAllocs()
	for b.Loop() {
		if c := sw.Context(ctx); c != ctx {
			b.Fatal("a context was added with no fault on")
		}
	}
}
