// Command vipservice consumes the VIP events that accountservice publishes on RabbitMQ and
// shows the latest ones. It is the asynchronous end of tracelab: its spans continue the
// publisher's trace with a FollowsFrom reference, because the publisher did not wait for it.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"tracelab/common/config"
	"tracelab/common/faults"
	"tracelab/common/instrument"
	"tracelab/common/messaging"
	"tracelab/common/serve"
)

const serviceName = "vipservice"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, serviceName+":", err)
		os.Exit(1)
	}
}

// run is the whole service; main only wires it to the process. Tests call it directly.
// It returns when ctx is cancelled and every span is flushed, or on a startup error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg := config.New(serviceName, getenv)
	addr := cfg.String("addr", "VIPSERVICE_ADDR", ":6868", "listen address")
	amqpURL := cfg.String("amqp-url", "AMQP_URL", "amqp://guest:guest@localhost:5672/", "RabbitMQ URL")
	queue := cfg.String("vip-queue", "VIP_QUEUE", "vipQueue", "queue the VIP events arrive on")
	heartbeat := cfg.Duration("amqp-heartbeat", "AMQP_HEARTBEAT", messaging.DefaultHeartbeat, "AMQP heartbeat interval (after three silent ones, unacknowledged messages go back to the queue)")
	logLevel := cfg.String("log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	if err := cfg.Parse(args); err != nil {
		return err
	}
	sw, err := faults.FromEnv(getenv) // TRACELAB_FAULTS_ENABLED and TRACELAB_FAULTS
	if err != nil {
		return err
	}
	log, tracer, closer, err := instrument.New(serviceName, *logLevel, getenv, stdout)
	if err != nil {
		return err
	}

	// Deferred first, so it runs last: spans are flushed after consuming and serving stopped.
	defer closer.Close()

	recent := newRecentVIPs(maxRecentVIPs, maxSeenEvents)
	consumer := &messaging.Consumer{
		URL:       *amqpURL,
		Queue:     *queue,
		Tracer:    tracer,
		Log:       log,
		Handle:    handleVIPEvent(log, sw, recent),
		Heartbeat: *heartbeat,
	}

	// Shutdown goes in three steps: stop taking messages (the one in hand is finished and
	// acknowledged), then drain HTTP, then flush spans. The consumer reconnects on its own,
	// so a broker that is down at start is no startup error.
	consumeCtx, stopConsuming := context.WithCancel(ctx)
	consumerDone := make(chan struct{})
	go func() {
		defer close(consumerDone)
		consumer.Run(consumeCtx)
	}()
	defer func() {
		stopConsuming() // on a startup error of the server, ctx is still live
		<-consumerDone
	}()

	// The server outlives the consumer by a moment: it answers probes while the last message
	// is handled, and its last /vips shows the final counts.
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	go func() {
		<-consumerDone
		stopServing()
	}()
	srv := serve.NewServer(newServer(log, tracer, sw, consumer, recent), log)
	return serve.Run(serveCtx, log, srv, *addr)
}
