package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// printNew says what newService wrote, and what to do next.
func printNew(w io.Writer, p plan, edited []string) {
	n := p.n
	if n.Kind == "consumer" {
		printNewConsumer(w, p, edited)
		return
	}
	fmt.Fprintf(w, `made %[1]s, an http service on port %[2]d:
  %[1]s/               main.go (run, %[3]s_ADDR), server.go (routes, /healthz, /faults),
                       handlers.go (GET /api/greeting, a child span), tests that drive run()
  %[4]s
                       and its entries in %[5]s

next:
  1. Fill in the route: handlers.go's handleGreeting and greet, listed in server.go's newServer.
     go test -race ./%[1]s/ runs its tests; make validate checks the deploy files;
     go test -run Test%[8]sTrace ./e2e/ checks its trace in Jaeger (a landscape of its own).
  2. make run starts it with the other five (http://127.0.0.1:%[2]d/api/greeting?name=Ada).
  3. Call it from accountservice: %[6]s has %[7]sClient, traced (its call
     a client span "GET %[1]s", %[1]s's server span the child), and its test. Its doc comment
     says the two lines for accountservice's run; then set %[3]s_URL where accountservice runs:
       docker-compose.yml and deploy/swarm/tracelab-stack.yml   %[3]s_URL: "http://%[1]s:%[2]d"
       deploy/k8s/base/kustomization.yaml (tracelab-env)        - %[3]s_URL=http://%[1]s:%[2]d
     make run sets it by itself.
  4. The edge's admin listener (make fault) does not reach %[1]s: switch its faults on its own
     port, curl -X PUT 'http://127.0.0.1:%[2]d/faults?...' (common/faults), or add it to the
     edge's peers (edge/main.go).

make remove-service NAME=%[1]s takes all of it out again (its folder with whatever is in it).
`, n.Name, n.Port, n.Upper, strings.Join(p.outside(), "\n  "), strings.Join(edited, ", "),
		"accountservice/"+n.Name+"client.go", n.Name, n.Title)
}

// printNewConsumer says what newService wrote for a consumer, and what to do next.
func printNewConsumer(w io.Writer, p plan, edited []string) {
	n := p.n
	fmt.Fprintf(w, `made %[1]s, a consumer of the AMQP queue %[3]s_QUEUE (default %[1]sQueue), on port %[2]d:
  %[1]s/               main.go (run, %[3]s_ADDR, AMQP_URL, %[3]s_QUEUE), server.go (GET /api/received,
                       /healthz, /faults), handlers.go (handleMessage, a child span), tests that drive run()
  %[4]s
                       and its entries in %[5]s

next:
  1. Fill in the handler: handlers.go's handleMessage, given to the consumer in main.go's run.
     go test -race ./%[1]s/ runs its tests (RabbitMQ on 127.0.0.1:5672); make validate checks the deploy files.
  2. make run starts it with the others (http://127.0.0.1:%[2]d/api/received counts what it handled).
  3. Send it messages from another service as accountservice sends VIP events: a
     messaging.Publisher{URL: AMQP_URL, Queue: "%[1]sQueue"}, Publish(ctx, ...) with the request's
     ctx: the consumer span follows from the producer span, in the same trace.
  4. The edge's admin listener (make fault) does not reach %[1]s: switch its faults on its own
     port, curl -X PUT 'http://127.0.0.1:%[2]d/faults?set=...' (common/faults).

make remove-service NAME=%[1]s takes all of it out again (its folder with whatever is in it).
`, n.Name, n.Port, n.Upper, strings.Join(p.outside(), "\n  "), strings.Join(edited, ", "))
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
