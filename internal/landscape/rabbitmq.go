package landscape

import (
	"fmt"
	"net/url"

	"tracelab/common/messaging"
)

// DefaultAMQPURL is the broker the services use when AMQP_URL is not set.
const DefaultAMQPURL = "amqp://guest:guest@localhost:5672/"

// rabbitMQHint tells a newcomer how to get the one dependency the landscape does not start
// itself: RabbitMQ is a system service, not something to run in a terminal tab.
const rabbitMQHint = `Start RabbitMQ with one of:
  rabbitmq-server -detached                   (installed already)
  sudo apt-get install rabbitmq-server        (not installed; Debian/Ubuntu, starts it too)
  docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3-management
or point AMQP_URL at a broker that runs.`

// CheckRabbitMQ opens and closes a real AMQP connection to amqpURL: an open port is not
// enough, the broker must also accept the credentials. The dial and handshake are bounded
// by messaging.Dial. The error says what was tried and how to start RabbitMQ.
func CheckRabbitMQ(amqpURL string) error {
	conn, err := messaging.Dial(amqpURL)
	if err != nil {
		return fmt.Errorf("RabbitMQ is not reachable at %s (AMQP_URL): %w\n%s", redact(amqpURL), err, rabbitMQHint)
	}
	return conn.Close()
}

// redact hides the password of a URL, for printing.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
