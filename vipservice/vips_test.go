package main

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDecodeVIPEvent(t *testing.T) {
	occurred := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	event := func(id, account, tier, at string) string {
		return `{"id":"` + id + `","accountId":"` + account + `","tier":"` + tier + `","occurredAt":"` + at + `"}`
	}
	good := vipEvent{ID: "e1", AccountID: "10000", Tier: "vip", OccurredAt: occurred}
	tests := []struct {
		name    string
		body    string
		want    vipEvent
		wantErr error
	}{
		{"event", event("e1", "10000", "vip", "2024-05-01T12:00:00Z"), good, nil},
		{"accountservice's id, nanoseconds", event("0123456789abcdef0123456789abcdef", "10001", "gold", "2024-05-01T12:00:00.123456789Z"),
			vipEvent{ID: "0123456789abcdef0123456789abcdef", AccountID: "10001", Tier: "gold", OccurredAt: occurred.Add(123456789)}, nil},
		{"a uuid id", event("6f1c2a3e-0d5b-4c1e-9a7f-2b8d4e6f0a1c", "10000", "vip", "2024-05-01T12:00:00Z"),
			vipEvent{ID: "6f1c2a3e-0d5b-4c1e-9a7f-2b8d4e6f0a1c", AccountID: "10000", Tier: "vip", OccurredAt: occurred}, nil},
		{"unknown fields ignored", `{"id":"e1","accountId":"10000","tier":"vip","occurredAt":"2024-05-01T12:00:00Z","source":"edge","v":2}`, good, nil},

		{"too large", event("e1", "10000", strings.Repeat("v", maxEventBytes), "2024-05-01T12:00:00Z"), vipEvent{}, errTooLarge},
		{"a 5 MiB tier", event("e1", "10000", strings.Repeat("v", 5<<20), "2024-05-01T12:00:00Z"), vipEvent{}, errTooLarge},
		{"garbage", `garbage{`, vipEvent{}, errBadEvent},
		{"empty body", ``, vipEvent{}, errBadEvent},
		{"array", `[1,2]`, vipEvent{}, errBadEvent},
		{"trailing data", event("e1", "10000", "vip", "2024-05-01T12:00:00Z") + ` {}`, vipEvent{}, errBadEvent},
		{"accountId a number", `{"id":"e1","accountId":10000}`, vipEvent{}, errBadEvent},
		{"null", `null`, vipEvent{}, errBadEventID},
		{"id missing", `{"accountId":"10000","tier":"vip","occurredAt":"2024-05-01T12:00:00Z"}`, vipEvent{}, errBadEventID},
		{"id too long", event(strings.Repeat("a", 65), "10000", "vip", "2024-05-01T12:00:00Z"), vipEvent{}, errBadEventID},
		{"id with a space", event("e 1", "10000", "vip", "2024-05-01T12:00:00Z"), vipEvent{}, errBadEventID},
		{"id with a newline", event(`e\n1`, "10000", "vip", "2024-05-01T12:00:00Z"), vipEvent{}, errBadEventID},
		{"accountId missing", `{"id":"e1","tier":"vip","occurredAt":"2024-05-01T12:00:00Z"}`, vipEvent{}, errBadAccountID},
		{"accountId not digits", event("e1", "10a00", "vip", "2024-05-01T12:00:00Z"), vipEvent{}, errBadAccountID},
		{"accountId negative", event("e1", "-1", "vip", "2024-05-01T12:00:00Z"), vipEvent{}, errBadAccountID},
		{"accountId a name", event("e1", "Ada Lovelace", "vip", "2024-05-01T12:00:00Z"), vipEvent{}, errBadAccountID},
		{"accountId too long", event("e1", "123456789012345678901", "vip", "2024-05-01T12:00:00Z"), vipEvent{}, errBadAccountID},
		{"tier missing", `{"id":"e1","accountId":"10000","occurredAt":"2024-05-01T12:00:00Z"}`, vipEvent{}, errBadTier},
		{"tier upper case", event("e1", "10000", "VIP", "2024-05-01T12:00:00Z"), vipEvent{}, errBadTier},
		{"tier too long", event("e1", "10000", strings.Repeat("v", 17), "2024-05-01T12:00:00Z"), vipEvent{}, errBadTier},
		{"tier with a space", event("e1", "10000", "very vip", "2024-05-01T12:00:00Z"), vipEvent{}, errBadTier},
		{"occurredAt missing", `{"id":"e1","accountId":"10000","tier":"vip"}`, vipEvent{}, errBadTime},
		{"occurredAt not a time", event("e1", "10000", "vip", "yesterday"), vipEvent{}, errBadTime},
		{"occurredAt without a zone", event("e1", "10000", "vip", "2024-05-01T12:00:00"), vipEvent{}, errBadTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeVIPEvent([]byte(tt.body))
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("decodeVIPEvent(%.80q) = %+v, %v, want %+v, %v", tt.body, got, err, tt.want, tt.wantErr)
			}
			if err != nil && len(err.Error()) > 200 {
				t.Errorf("decodeVIPEvent(%.80q) error is %d bytes long, want a bounded message: it ends up in a log line", tt.body, len(err.Error()))
			}
		})
	}
}

func TestRecentVIPs(t *testing.T) {
	recent := newRecentVIPs(3, maxSeenEvents)
	if got := recent.newestFirst(); got == nil || len(got) != 0 {
		t.Errorf("newestFirst() of an empty list = %#v, want an empty, non-nil slice", got)
	}
	for i := 1; i <= 5; i++ {
		recent.add("e"+strconv.Itoa(i), vipRecord{AccountID: strconv.Itoa(i)})
	}
	got := recent.newestFirst()
	var ids []string
	for _, r := range got {
		ids = append(ids, r.AccountID)
	}
	if want := []string{"5", "4", "3"}; !slices.Equal(ids, want) {
		t.Errorf("newestFirst() after adding 1..5 to a list of 3 = %v, want %v", ids, want)
	}
	got[0].AccountID = "changed"
	if again := recent.newestFirst(); again[0].AccountID != "5" {
		t.Errorf("newestFirst()[0] after the caller changed its copy = %q, want %q", again[0].AccountID, "5")
	}
}

// TestRecentVIPsOnce: an event id recorded before is refused, as long as it is among the
// last seenLimit ids; older ids are forgotten, so memory stays bounded.
func TestRecentVIPsOnce(t *testing.T) {
	recent := newRecentVIPs(maxRecentVIPs, 3)
	steps := []struct {
		id   string
		want bool
	}{
		{"a", true}, {"a", false}, {"b", true}, {"c", true}, {"b", false},
		{"d", true}, // the fourth id: "a" is forgotten
		{"a", true}, {"c", false}, {"d", false},
	}
	for i, s := range steps {
		if got := recent.add(s.id, vipRecord{AccountID: "10000"}); got != s.want {
			t.Errorf("step %d: add(%q) = %v, want %v", i, s.id, got, s.want)
		}
	}
	if got, want := len(recent.newestFirst()), 5; got != want {
		t.Errorf("%d records, want %d: a refused duplicate is not recorded", got, want)
	}
	if len(recent.seen) > 3 {
		t.Errorf("%d ids remembered, want at most 3", len(recent.seen))
	}
}
