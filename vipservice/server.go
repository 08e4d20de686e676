package main

import (
	"log/slog"
	"net/http"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/faults"
	"tracelab/common/instrument"
	"tracelab/common/messaging"
	"tracelab/common/respond"
)

// consumerStatus is what the HTTP side reads from the AMQP consumer (*messaging.Consumer).
type consumerStatus interface {
	Connected() bool
	Stats() messaging.ConsumerStats
}

// newServer lists every route of the service in one place.
func newServer(log *slog.Logger, tracer opentracing.Tracer, sw *faults.Switch, consumer consumerStatus, recent *recentVIPs) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /vips", handleVIPs(consumer, recent))
	mux.Handle("/", respond.NotFound())
	root := instrument.Handler(log, tracer, sw, mux, handleHealthz(consumer, sw))
	root.Handle("/faults", faults.Admin(serviceName, sw)) // untraced, and out of the edge's reach
	return root
}

// handleHealthz answers liveness and readiness probes. It stays 200 while the consumer
// reconnects: restarting vipservice would not bring the broker back, and the messages wait
// in the durable queue meanwhile. The "amqp" field tells a person which state it is in.
func handleHealthz(consumer consumerStatus, sw *faults.Switch) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		amqp := "reconnecting"
		if consumer.Connected() {
			amqp = "connected"
		}
		respond.JSON(w, http.StatusOK, health{Status: "ok", Service: serviceName, AMQP: amqp, Faults: sw.Health()})
	})
}

// health is the body of GET /healthz.
type health struct {
	Status  string        `json:"status"`
	Service string        `json:"service"`
	AMQP    string        `json:"amqp"` // connected or reconnecting
	Faults  faults.Health `json:"faults"`
}
