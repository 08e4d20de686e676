// Package validate checks tracelab's deployment files without running them: no Docker engine,
// Kubernetes cluster or Logstash runs where `make test` runs, so each file is read by the
// library its real consumer uses (compose-go for docker-compose.yml and the Swarm stack,
// kustomize and the Kubernetes API types for deploy/k8s, BuildKit's parser for the
// Dockerfile, a Logstash grammar for the pipeline) and checked against what the services'
// Go code actually reads, listens on and logs.
//
// It is a module of its own (deploy/validate/go.mod) so that the services' module carries
// none of these dependencies. `make test` and `make validate` run it; by hand:
//
//	cd deploy/validate && go test -count=1 ./...
//
// The package holds tests only; every path is relative to the repository root, two levels up.
package validate
