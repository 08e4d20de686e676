package landscape

import (
	"context"
	"strings"
	"testing"

	"tracelab/internal/servicetest"
)

func TestCheckRabbitMQUnreachable(t *testing.T) {
	amqpURL := "amqp://guest:secret@" + servicetest.FreeAddr(t) + "/"
	err := CheckRabbitMQ(amqpURL)
	if err == nil {
		t.Fatalf("CheckRabbitMQ(%q) = nil, want an error", amqpURL)
	}
	msg := err.Error()
	for _, want := range []string{
		strings.Replace(amqpURL, "secret", "xxxxx", 1), // what was tried
		"rabbitmq-server -detached",
		"sudo apt-get install rabbitmq-server",
		"docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3-management",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("CheckRabbitMQ(%q) = %q, want it to contain %q", amqpURL, msg, want)
		}
	}
	if strings.Contains(msg, "secret") {
		t.Errorf("CheckRabbitMQ(%q) = %q, shows the password", amqpURL, msg)
	}
}

// TestCheckRabbitMQ needs the RabbitMQ that tracelab's tests use on 127.0.0.1:5672.
func TestCheckRabbitMQ(t *testing.T) {
	const amqpURL = "amqp://guest:guest@127.0.0.1:5672/"
	if err := CheckRabbitMQ(amqpURL); err != nil {
		t.Fatalf("CheckRabbitMQ(%q) = %v, want nil (these tests need RabbitMQ running there)", amqpURL, err)
	}
}

// TestStartChecksRabbitMQFirst: with no broker, Start fails before it looks for binaries or
// starts anything, and says how to start RabbitMQ.
func TestStartChecksRabbitMQFirst(t *testing.T) {
	cfg := Config{
		Dir:     t.TempDir(),
		Environ: []string{"AMQP_URL=amqp://guest:guest@" + servicetest.FreeAddr(t) + "/", "JAEGER_DISABLED=true"},
	}
	l, err := Start(context.Background(), cfg)
	if err == nil {
		l.Stop()
		t.Fatal("Start without RabbitMQ = nil error, want one")
	}
	if !strings.Contains(err.Error(), "rabbitmq-server -detached") {
		t.Errorf("Start without RabbitMQ: error %q, want the hint to start it", err)
	}
}
