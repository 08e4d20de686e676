// Command accountservice answers GET /accounts/{id}: it reads the account from an embedded
// BoltDB file, asks quoteservice and imageservice for a quote and an image at the same time,
// and tells vipservice about VIP accounts through RabbitMQ. One request makes a trace with
// every kind of hop tracelab shows: a database read, two HTTP calls, and a message.
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
	logLevel := cfg.String("log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	if err := cfg.Parse(args); err != nil {
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
	log.Info("accounts ready", "db.file", *dbPath, "seeded", added)

	// The publisher connects in the background and keeps reconnecting: accounts are served
	// while the broker is away, only the VIP events are missed (and counted).
	publisher := &messaging.Publisher{URL: *amqpURL, Queue: *vipQueue, Tracer: tracer, Log: log}
	pubCtx, stopPublisher := context.WithCancel(context.Background())
	pubDone := make(chan struct{})
	go func() { defer close(pubDone); publisher.Run(pubCtx) }()
	events := &vipEvents{log: log, publisher: publisher}
	defer func() {
		events.Wait() // the events of the last requests, before the publisher disconnects
		stopPublisher()
		<-pubDone
		published, failed := publisher.Stats()
		log.Info("vip events", "published", published, "failed", failed)
	}()

	srv := serve.NewServer(newServer(log, tracer, deps{
		accounts:      accounts,
		quotes:        &quoteClient{baseURL: *quoteURL, http: newTracedClient("quoteservice", *callTimeout)},
		images:        &imageClient{baseURL: *imageURL, http: newTracedClient("imageservice", *callTimeout)},
		vips:          events,
		amqpConnected: publisher.Connected,
	}), log)
	return serve.Run(ctx, log, srv, *addr)
}
