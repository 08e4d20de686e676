package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"tracelab/internal/jaegerapi"
)

// errUnreachable means nothing answered at the query API's address.
var errUnreachable = errors.New("Jaeger is not reachable")

// fetch reads the trace with the given id, or else the latest trace of service, from the
// Jaeger query API at base. Its errors say what to do about them: they are what a
// workshop sees when a trace is not there.
func fetch(ctx context.Context, base, id, service string) (jaegerapi.Trace, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return jaegerapi.Trace{}, fmt.Errorf("-jaeger %q: want the query API's base URL, like http://localhost:16686", base)
	}
	base = strings.TrimSuffix(base, "/")
	api := &jaegerapi.Client{BaseURL: base}

	var tr jaegerapi.Trace
	if id != "" {
		tr, err = api.Trace(ctx, id)
	} else {
		tr, err = api.Latest(ctx, service)
	}
	var uerr *url.Error
	switch {
	case err == nil && len(tr.Spans) == 0:
		return tr, fmt.Errorf("%s: %w: Jaeger at %s holds no spans of it", id, jaegerapi.ErrNotFound, base)
	case err == nil:
		return tr, nil
	case errors.Is(err, jaegerapi.ErrNotFound) && id != "":
		return tr, fmt.Errorf("%s: %w in Jaeger at %s (spans reach Jaeger about a second after the request; "+
			"the landscape's Jaeger forgets every trace when it restarts)", id, err, base)
	case errors.Is(err, jaegerapi.ErrNotFound):
		return tr, fmt.Errorf("%w (Jaeger at %s; `curl -s %s/api/services` lists the services it has traces of)",
			err, base, base)
	case ctx.Err() == nil && errors.As(err, &uerr):
		// The url.Error repeats the whole URL; its cause alone says what went wrong.
		return tr, fmt.Errorf("%w at %s (is `make run` running?): %v", errUnreachable, base, uerr.Err)
	}
	return tr, err
}

// value is a tag's or log field's value as a person reads it. JSON has no integers, so
// Jaeger's int64 tags arrive as float64: 200, not 2e+02.
func value(kv jaegerapi.KV) string {
	if f, ok := kv.Value.(float64); ok && f == float64(int64(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	return fmt.Sprint(kv.Value)
}
