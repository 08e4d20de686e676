// Command accountservice answers GET /accounts/{id}: it reads the account from an embedded
// BoltDB file, asks quoteservice and imageservice for a quote and an image at the same time,
// and tells vipservice about VIP accounts through RabbitMQ. One request makes a trace with
// every kind of hop tracelab shows: a database read, two HTTP calls, and a message. GET
// /accounts/{id}/transactions lists an account's recent transactions, seeded beside the
// accounts: the workshop's N+1 reads (the n-plus-one fault) happen there.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"tracelab/common/config"
	"tracelab/common/faults"
	"tracelab/common/instrument"
	"tracelab/common/messaging"
	"tracelab/common/serve"
)

const serviceName = "accountservice"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, serviceName+":", err)
		os.Exit(1)
	}
}

// run is the whole service; main only wires it to the process. Tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg := config.New(serviceName, getenv)
	addr := cfg.String("addr", "ACCOUNTSERVICE_ADDR", ":6767", "listen address")
	dbPath := cfg.String("db", "ACCOUNTSERVICE_DB", "accounts.db", "BoltDB file (created and seeded if missing)")
	quoteURL := cfg.String("quote-url", "QUOTESERVICE_URL", "http://localhost:8080", "quoteservice base URL")
	imageURL := cfg.String("image-url", "IMAGESERVICE_URL", "http://localhost:7777", "imageservice base URL")
	callTimeout := cfg.Duration("call-timeout", "ACCOUNTSERVICE_CALL_TIMEOUT", 2*time.Second, "timeout of each call to quoteservice and imageservice")
	amqpURL := cfg.String("amqp-url", "AMQP_URL", "amqp://guest:guest@localhost:5672/", "RabbitMQ URL")
	vipQueue := cfg.String("vip-queue", "VIP_QUEUE", "vipQueue", "queue for VIP events")
	heartbeat := cfg.Duration("amqp-heartbeat", "AMQP_HEARTBEAT", messaging.DefaultHeartbeat, "AMQP heartbeat interval (a silent broker is given up after three)")
	outboxLimit := cfg.Int("outbox-limit", "ACCOUNTSERVICE_OUTBOX_LIMIT", DefaultOutboxLimit, "VIP events the outbox keeps at most while the broker is away")
	logLevel := cfg.String("log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	if err := cfg.Parse(args); err != nil {
		return err
	}
	if *outboxLimit < 1 {
		return fmt.Errorf("ACCOUNTSERVICE_OUTBOX_LIMIT=%d: want at least 1", *outboxLimit)
	}
	sw, err := faults.FromEnv(getenv) // TRACELAB_FAULTS_ENABLED and TRACELAB_FAULTS
	if err != nil {
		return err
	}
	log, tracer, closer, err := instrument.New(serviceName, *logLevel, getenv, stdout)
	if err != nil {
		return err
	}

	// Deferred first, so it runs last: spans are flushed after the server has drained.
	defer closer.Close()

	accounts, err := openStore(*dbPath)
	if err != nil {
		return err
	}
	defer accounts.Close()
	added, err := accounts.Seed()
	if err != nil {
		return fmt.Errorf("seed accounts: %w", err)
	}
	events, err := openOutbox(accounts.db, *outboxLimit)
	if err != nil {
		return err
	}
	log.Info("accounts ready", "db.file", *dbPath, "seeded", added, "outbox.depth", events.Depth())

	// The publisher connects in the background and keeps reconnecting; the relay publishes
	// the outbox through it. Accounts are served while the broker is away; their VIP events
	// wait in the outbox, what an earlier run left there included.
	publisher := &messaging.Publisher{URL: *amqpURL, Queue: *vipQueue, Tracer: tracer, Log: log, Heartbeat: *heartbeat}
	pubCtx, stopPublisher := context.WithCancel(context.Background())
	pubDone := make(chan struct{})
	go func() { defer close(pubDone); publisher.Run(pubCtx) }()
	relay := &relay{outbox: events, publisher: publisher, tracer: tracer, log: log}
	relayCtx, stopRelay := context.WithCancel(context.Background())
	relayDone := make(chan struct{})
	go func() { defer close(relayDone); relay.Run(relayCtx) }()
	// Once the server has drained (no request writes an event any more), the relay has up
	// to DrainTimeout to publish what is pending, then the publisher disconnects. What is
	// left stays in the outbox for the next start.
	defer func() {
		stopRelay()
		<-relayDone
		stopPublisher()
		<-pubDone
		published, failed := publisher.Stats()
		log.Info("vip events", "published", published, "failed", failed,
			"outbox.depth", events.Depth(), "outbox.refused", events.Refused())
	}()

	srv := serve.NewServer(newServer(log, tracer, sw, deps{
		accounts: accounts,
		quotes:   &quoteClient{baseURL: *quoteURL, http: newTracedClient("quoteservice", *callTimeout)},
		images:   &imageClient{baseURL: *imageURL, http: newTracedClient("imageservice", *callTimeout)},
		outbox:   events,
		broker:   publisher.State,
	}), log)
	return serve.Run(ctx, log, srv, *addr)
}
