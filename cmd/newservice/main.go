// Command newservice adds a traced service to the landscape, or takes one out again:
//
//	go run ./cmd/newservice -name ledger [-port 9090] [-kind http|consumer]   # make new-service NAME=ledger
//	go run ./cmd/newservice -remove -name ledger                      # make remove-service NAME=ledger
//
// A new service is quoteservice's anatomy under another name (vipservice's for a consumer
// of an AMQP queue): main.go (run, config), server.go (the routes, /healthz, /faults),
// handlers.go (one example route, or message handler, with a child span), tests that drive
// run(), and its entries in every list and deploy file: the list
// of services (internal/landscape/services.txt), the Dockerfile, docker-compose.yml and
// its debug file, the Swarm stack, the Kubernetes base and the Filebeat paths. A client
// for accountservice to call an http service with comes with it
// (accountservice/<name>client.go), and its end-to-end test (e2e/<name>_test.go).
//
// It writes nothing until every check has passed, and removes exactly what it wrote, so
// that new then remove leaves the tree as it was, byte for byte.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "newservice:", err)
		os.Exit(1)
	}
}

// run is the whole command; tests call it on a copy of the repository.
func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("newservice", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "the service's name: a DNS label, e.g. ledger")
	port := fs.Int("port", defaultPort, "the port it listens on")
	kind := fs.String("kind", "http", "http (quoteservice's anatomy) or consumer (vipservice's: it consumes an AMQP queue)")
	remove := fs.Bool("remove", false, "take the service out again")
	root := fs.String("root", ".", "the repository")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w (usage: -name NAME [-port N] [-kind http], or -remove -name NAME)", err)
	}
	if *name == "" {
		return errors.New("no name: make new-service NAME=ledger [PORT=9090], or make remove-service NAME=ledger")
	}
	repo := repository{root: *root}
	if *remove {
		return removeService(repo, *name, stdout)
	}
	return newService(repo, *name, *port, *kind, stdout)
}
