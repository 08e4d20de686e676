package main

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestDecodeVIPEvent(t *testing.T) {
	occurred := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		body    string
		want    vipEvent
		wantErr error
	}{
		{"event", `{"accountId":"10000","tier":"vip","occurredAt":"2024-05-01T12:00:00Z"}`,
			vipEvent{AccountID: "10000", Tier: "vip", OccurredAt: occurred}, nil},
		{"unknown fields ignored", `{"accountId":"10001","tier":"gold","source":"edge","v":2}`,
			vipEvent{AccountID: "10001", Tier: "gold"}, nil},
		{"garbage", `garbage{`, vipEvent{}, errBadEvent},
		{"empty body", ``, vipEvent{}, errBadEvent},
		{"array", `[1,2]`, vipEvent{}, errBadEvent},
		{"trailing data", `{"accountId":"10000"} {}`, vipEvent{}, errBadEvent},
		{"accountId a number", `{"accountId":10000}`, vipEvent{}, errBadEvent},
		{"occurredAt not a time", `{"accountId":"10000","occurredAt":"yesterday"}`, vipEvent{}, errBadEvent},
		{"null", `null`, vipEvent{}, errBadAccountID},
		{"accountId missing", `{"tier":"vip"}`, vipEvent{}, errBadAccountID},
		{"accountId empty", `{"accountId":""}`, vipEvent{}, errBadAccountID},
		{"accountId not digits", `{"accountId":"10a00"}`, vipEvent{}, errBadAccountID},
		{"accountId negative", `{"accountId":"-1"}`, vipEvent{}, errBadAccountID},
		{"accountId a name", `{"accountId":"Ada Lovelace"}`, vipEvent{}, errBadAccountID},
		{"accountId too long", `{"accountId":"123456789012345678901"}`, vipEvent{}, errBadAccountID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeVIPEvent([]byte(tt.body))
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("decodeVIPEvent(%q) = %+v, %v, want %+v, %v", tt.body, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRecentVIPs(t *testing.T) {
	recent := newRecentVIPs(3)
	if got := recent.newestFirst(); got == nil || len(got) != 0 {
		t.Errorf("newestFirst() of an empty list = %#v, want an empty, non-nil slice", got)
	}
	for i := 1; i <= 5; i++ {
		recent.add(vipRecord{AccountID: strconv.Itoa(i)})
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
