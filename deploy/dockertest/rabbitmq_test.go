package dockertest

import (
	"testing"
	"time"
)

// rabbitImage is the broker image docker-compose.yml and the Swarm stack run.
const rabbitImage = "rabbitmq:4.1.4-management"

// TestRabbitMQCredentials checks the contract of the RabbitMQ image that the compose
// file's RABBITMQ_USER/RABBITMQ_PASSWORD and the README's note rest on (the image itself,
// or its stand-in, which must honour it): RABBITMQ_DEFAULT_USER/PASS make that user, and
// no guest, when the broker starts on an empty volume; started again on that volume with
// another password, the broker keeps the first one. A container of its own, no port
// published. The commands run in it as the rabbitmq user: run as root before the node has
// made its Erlang cookie, a CLI tool makes one, root's, and the node, which cannot read
// it, stops.
func TestRabbitMQCredentials(t *testing.T) {
	name := project + "-rabbitmq-credentials"
	volume := name
	cleanup := func() {
		run("docker", "rm", "-f", name)
		run("docker", "volume", "rm", "-f", volume)
	}
	cleanup()
	t.Cleanup(cleanup)
	must(t, "docker", "volume", "create", volume)

	start := func(t *testing.T, password string) {
		t.Helper()
		run("docker", "rm", "-f", name)
		must(t, "docker", "run", "-d", "--name", name, "--hostname", "rabbitmq",
			"-v", volume+":/var/lib/rabbitmq",
			"-e", "RABBITMQ_DEFAULT_USER=alice", "-e", "RABBITMQ_DEFAULT_PASS="+password, rabbitImage)
		waitFor(t, "RabbitMQ running in "+name, 120*time.Second, func() error {
			_, err := run("docker", "exec", "-u", "rabbitmq", name, "rabbitmq-diagnostics", "-q", "check_running")
			return err
		})
	}
	// authenticates reports whether the broker lets user in with password.
	authenticates := func(user, password string) bool {
		_, err := run("docker", "exec", "-u", "rabbitmq", name, "rabbitmqctl", "-q", "authenticate_user", user, password)
		return err == nil
	}

	tests := []struct {
		name     string
		start    string // RABBITMQ_DEFAULT_PASS of this start, on the same volume
		user     string
		password string
		want     bool
	}{
		{"first start: the user given", "first", "alice", "first", true},
		{"first start: no guest", "", "guest", "guest", false},
		{"second start: the new password is ignored", "second", "alice", "second", false},
		{"second start: the first one still works", "", "alice", "first", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.start != "" {
				start(t, tt.start)
			}
			if got := authenticates(tt.user, tt.password); got != tt.want {
				t.Errorf("rabbitmqctl authenticate_user %s %s = %v, want %v", tt.user, tt.password, got, tt.want)
			}
		})
	}
}
