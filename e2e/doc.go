// Package e2e proves tracelab's traces end to end: its tests start the landscape the way
// `make run` does (Jaeger, the five services, the real RabbitMQ), send requests through the
// edge over HTTPS, and read back from Jaeger's query API what was really stored.
//
// The expected trees in traces_test.go are the documentation of what a correct trace of
// each kind of request looks like.
package e2e
