# tracelab's everyday commands. `make help` lists them.

.PHONY: help build run console trace load loadgen lab hint setup check logs test test-otel test-browser test-reliability test-docker test-k8s validate bench fmt-check clean

## help: list these targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

# The services, from the one list of them (internal/landscape/services.txt).
SERVICES := $(shell awk '/^[a-z]/ { print $$1 }' internal/landscape/services.txt)

## build: compile every service, the landscape runner, the trace viewer, the load generator, the workshop and fault commands
##        and the workshop console into bin/
build:
	go build -o bin/ $(addprefix ./,$(SERVICES)) ./cmd/landscape ./cmd/trace ./cmd/loadgen ./cmd/workshop ./cmd/fault ./cmd/console

## new-service: a new traced service from quoteservice's anatomy, in every list and deploy file:
##              make new-service NAME=ledger [PORT=9090] [KIND=http]; it prints what to do next
.PHONY: new-service remove-service
new-service:
	@go run ./cmd/newservice -name '$(NAME)' $(if $(PORT),-port '$(PORT)') $(if $(KIND),-kind '$(KIND)')

## remove-service: take out a service that make new-service made, and all of it: make remove-service NAME=ledger
remove-service:
	@go run ./cmd/newservice -remove -name '$(NAME)'

## run: build, then run the whole landscape in this terminal (needs RabbitMQ; Ctrl-C stops it)
run: build
	./bin/landscape

## console: the workshop console on its own (make run starts it too), on CONSOLE_ADDR (http://localhost:8088), reading
##          JAEGER_QUERY_URL (http://localhost:16686), so it works beside docker compose too; CONSOLE_INSTRUCTOR=true
##          lets its page switch faults for everyone
console:
	@go build -o bin/ ./cmd/console ./cmd/workshop
	./bin/console

## trace: print a trace as a waterfall: make trace ID=<X-Trace-Id>, or SERVICE=<name> for its latest; then its link
##        in the workshop console (CONSOLE_URL, http://localhost:8088)
trace:
	@if [ -z "$(ID)$(SERVICE)" ]; then \
		echo "usage: make trace ID=<trace id>    (the X-Trace-Id header of an answer: curl -ki)"; \
		echo "       make trace SERVICE=<name>   (the latest trace of that service)"; \
		exit 1; \
	fi
	go build -o bin/ ./cmd/trace
	./bin/trace $(if $(ID),-id '$(ID)') $(if $(SERVICE),-service '$(SERVICE)')

## fault: the workshop's faults: make fault lists them and what is on in each service;
##        make fault SET=lock-contention (or SET='slow-quote=300ms', SET=a,b), make fault CLEAR=all
##        (or CLEAR=slow-quote). Through the edge's admin listener (TRACELAB_ADMIN_URL, 127.0.0.1:8766)
.PHONY: fault
fault:
	@go build -o bin/ ./cmd/fault
	@./bin/fault $(if $(SET),-set '$(SET)') $(if $(CLEAR),-clear '$(CLEAR)')

## load: a little load with bash and curl: make load N=500 C=16 (requests and concurrency; 200 and 8)
load:
	./scripts/load.sh -k -n $(or $(N),200) -c $(or $(C),8)

## loadgen: real load, then percentiles and the slowest traces: make loadgen ARGS="-d 30s -c 32" (loadgen -h)
loadgen:
	go build -o bin/ ./cmd/loadgen
	./bin/loadgen $(ARGS)

## lab: the workshop (workshop/README.md): print a lab, make lab LAB=1 (without LAB: the list)
lab:
	@go build -o bin/ ./cmd/workshop
	@./bin/workshop $(if $(LAB),lab '$(LAB)',list)

## hint: the next hint of a lab, make hint LAB=2 (HINT=k for hint k)
hint:
	@go build -o bin/ ./cmd/workshop
	@./bin/workshop hint '$(LAB)' $(HINT)

## setup: prepare a lab (a seed, a start time, requests), make setup LAB=2
setup:
	@go build -o bin/ ./cmd/workshop
	@./bin/workshop setup '$(LAB)'

## check: check a lab against the traces in Jaeger, make check LAB=2 ANSWER="..." (exit 1 on ✗)
check:
	@go build -o bin/ ./cmd/workshop
	@./bin/workshop check '$(LAB)' $(if $(ANSWER),'$(ANSWER)')

## logs: the log lines of one trace, service by service, from make run's output: make logs TRACE=<id>
logs:
	@go build -o bin/ ./cmd/workshop
	@./bin/workshop logs '$(TRACE)'

## test: vet, then every test with the race detector, the end-to-end traces in Jaeger and the
##       reliability suite included (needs RabbitMQ on 127.0.0.1:5672, and rabbitmq-server installed
##       for the fault tests' private node; builds Jaeger first if it has none, ~10 minutes once),
##       then the deploy files' checks (make validate)
test:
	go vet ./...
	@scripts/ensure-jaeger.sh >/dev/null
	go test -race -count=1 $$(go list ./... | grep -v -e /e2e$$ -e /reliability$$)
	@echo "the landscape suites, after the others: their fault tests must not share the two cores with them"
	go test -race -count=1 -timeout 30m ./e2e/ ./reliability/
	@echo "go benchmarks, once each, so they keep compiling and running:"
	go test -run '^$$' -bench . -benchtime 1x $$(go list ./... | grep -v -e /e2e$$ -e /reliability$$)
	cd deploy/validate && go vet ./... && go test -count=1 ./...

## test-browser: the workshop console in a real browser: headless Chromium (Debian's chromium, installed
##               with apt-get if missing, as root) driven by playwright-core (npm ci in console-tests/),
##               against a landscape of its own ports; SCREENSHOTS=1 also rewrites docs/console-*.png
test-browser: build
	@command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
	cd console-tests && npm ci --no-audit --no-fund && node --test units.test.js
	@scripts/ensure-jaeger.sh >/dev/null
	SCREENSHOT_DIR=$(if $(SCREENSHOTS),$(CURDIR)/docs) go test -tags browser -count=1 -v -timeout 25m ./console-tests/

## test-otel: the end-to-end suite with every service on the OpenTelemetry SDK (TRACING_SDK=otel,
##            through TRACELAB_E2E_SDK), the same trees read back from Jaeger; CI runs it after make test
test-otel:
	@scripts/ensure-jaeger.sh >/dev/null
	TRACELAB_E2E_SDK=otel go test -race -count=1 -timeout 30m ./e2e/

## test-reliability: only the reliability suite (part of make test): hostile requests through the edge,
##                   and faults (broker stopped, services frozen or killed, Jaeger stalled) under load;
##                   see RELIABILITY.md
test-reliability:
	go test -count=1 -v ./reliability/

## test-docker: run docker-compose.yml's default profile and the Swarm stack for real, and prove the
##              trace through each (module deploy/dockertest; CI runs it after make test). First makes
##              sure a Docker engine answers and the compose and buildx plugins exist (scripts/ensure-docker.sh:
##              as root with apt, installs and starts them), then that the pinned images are there, pulled
##              or, where they cannot be, stood in for (deploy/standins/standins.sh); see README.md, "Docker"
test-docker:
	scripts/ensure-docker.sh
	deploy/standins/standins.sh
	cd deploy/dockertest && go vet ./... && go test -count=1 -v -timeout 30m ./...

## test-k8s: apply deploy/k8s/base to a real one-node Kubernetes started on this machine and prove the
##           trace through it (TestKubernetes in deploy/dockertest; CI runs it after make test-docker).
##           Needs root: scripts/k8s-cluster.sh runs etcd, the control plane, containerd, the kubelet,
##           kube-proxy and CoreDNS as local processes (binaries from scripts/ensure-k8s.sh, built once
##           from the Go module proxy) and takes them all down at the end; see README.md, "Kubernetes"
test-k8s:
	scripts/ensure-docker.sh
	deploy/standins/standins.sh
	cd deploy/dockertest && go vet -tags k8s ./... && go test -tags k8s -count=1 -v -timeout 40m -run '^TestKubernetes$$' ./...

## validate: check docker-compose.yml, deploy/ (Kubernetes, Swarm, Logstash, Kibana), the Dockerfile
##           and copyall.sh against the code, with the tools that read them (module deploy/validate;
##           needs shellcheck)
validate:
	cd deploy/validate && go vet ./... && go test -count=1 ./...

## bench: tracing off, on (jaeger-client-go) and otel (the OpenTelemetry SDK) in one run: throughput,
##        percentiles, the ratios, peak RSS, spans lost (add REFERENCE=../shared/reference-chain to load
##        that chain the same way, bare before off, traced before on; DURATION=10s, CONNS=32, MODES=off,on,otel)
MODES ?= off,on,otel
bench: build
	go build -o bin/ ./cmd/bench
	./bin/bench -d $(or $(DURATION),10s) -c $(or $(CONNS),32) -modes '$(MODES)' $(if $(REFERENCE),-reference '$(REFERENCE)')

## fmt-check: fail, listing them, if any Go files are not gofmt-formatted
fmt-check:
	@files=$$(gofmt -l .); \
	if [ -n "$$files" ]; then echo "not gofmt-formatted (run gofmt -w on them):"; echo "$$files"; exit 1; fi

## clean: remove the binaries and what runs keep in .run/ (the account database)
clean:
	rm -rf bin .run
