// Package dockertest runs tracelab's deployment for real: docker-compose.yml's default
// profile brought up with `docker compose up --build --wait` and the Swarm stack deployed
// with `docker stack deploy`, each proven by the trace of a request through it, as Jaeger
// stored it. What it runs and checks:
//
//   - compose: the build and start, timed; ten seconds of load through the edge with no
//     failed and no stalled request; the account answer, its X-Trace-Id and that trace in
//     Jaeger (twelve spans, five services, the FOLLOWS_FROM hops from the outbox through
//     RabbitMQ); the image URL of the answer fetched through the edge; a fault switched
//     on and off in all five services through the edge's admin listener on
//     127.0.0.1:8766 (make fault's calls); ECS JSON lines with
//     trace.id in `docker compose logs`; every container non-root on a read-only root
//     file system; every service's lines delivered by the Docker daemon's gelf driver,
//     through gelf-relay, to a GELF receiver of the test's, uncompressed, with no field
//     that Elasticsearch would map two ways; the accounts kept across `down` and `up`;
//     VIP events flowing again after `docker compose restart rabbitmq`; nothing left after
//     `down -v`.
//   - swarm: `docker swarm init`, the stack at its replica counts, reads through the edge
//     on :8765 served by both quoteservice replicas, a VIP read's trace, a rolling update of
//     quoteservice under load without a failed request, then `docker stack rm` and
//     `docker swarm leave --force`. On a kernel without IPVS (our CI machines), which
//     Swarm's virtual IPs and routing mesh need, the same stack runs with DNS round robin
//     and host-mode ports, and the test says so; and where Zipkin cannot be pulled, a fake
//     that drops its spans stands in for it.
//   - the RabbitMQ image's credentials contract, which the README's note rests on.
//   - kubernetes (k8s_test.go, build tag k8s, `make test-k8s`): a one-node cluster started
//     on this machine by scripts/k8s-cluster.sh, deploy/k8s/base applied with
//     `kubectl apply -k`, the VIP trace through the edge Service, the observability overlay
//     in a server-side dry run, quoteservice scaled to 0 and back, a rolling update under
//     load, the claim surviving its pod, `kubectl delete -k` leaving nothing, and the
//     machine holding nothing of the cluster after `down`.
//
// What cannot run here (the zipkin and elk profiles: no Zipkin, Elasticsearch, Logstash or
// Kibana image can be pulled or built on our machines) stays with deploy/validate, which
// loads those files without running them.
//
// It is a module of its own, like deploy/validate, so that `go test ./...` of the services'
// module never starts a container. `make test-docker` runs it, after making sure an engine
// answers (scripts/ensure-docker.sh) and the pinned images exist (deploy/standins). Its
// tests never skip: without an engine, or with the ports taken, they fail and say why. They
// hold the lock the other landscape suites hold (/tmp/tracelab-landscape-tests.lock), since
// compose and the routing mesh publish 8765, 8766, 16686 and 15672 on the host.
//
//	cd deploy/dockertest && go test -count=1 -v ./...
package dockertest
