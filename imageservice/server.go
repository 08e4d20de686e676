package main

import (
	"log/slog"
	"net/http"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/faults"
	"tracelab/common/instrument"
	"tracelab/common/respond"
)

// newServer lists every route of the service in one place. publicURL is the base that
// image urls start with, without a trailing slash.
func newServer(log *slog.Logger, tracer opentracing.Tracer, sw *faults.Switch, images *gallery, publicURL string) http.Handler {
	leak, lock := &imageLeak{maxBlocks: maxLeakBlocks}, &sharedLock{} // used only by the image-leak and lock-contention faults
	mux := http.NewServeMux()
	mux.Handle("GET /accounts/{id}", handleAccountImage(log, images, leak, publicURL))
	mux.Handle("GET /file/{name}", handleFile(log, images, leak, lock))
	mux.Handle("/", respond.NotFound())
	root := instrument.Handler(log, tracer, sw, mux, handleHealthz(sw))
	root.Handle("/faults", faults.Admin(serviceName, sw)) // untraced, and out of the edge's reach
	return root
}

// handleHealthz answers liveness and readiness probes, and says which faults are on.
func handleHealthz(sw *faults.Switch) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, health{Status: "ok", Service: serviceName, Faults: sw.Health()})
	})
}

// health is the body of GET /healthz.
type health struct {
	Status  string        `json:"status"`
	Service string        `json:"service"`
	Faults  faults.Health `json:"faults"`
}
