module tracelab

go 1.26

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/opentracing/opentracing-go v1.2.0
	github.com/schollz/progressbar/v3 v3.19.1
	github.com/streadway/amqp v1.1.0
	github.com/uber/jaeger-client-go v2.30.0+incompatible
	github.com/uber/jaeger-lib v2.4.1+incompatible
	go.etcd.io/bbolt v1.5.0
	golang.org/x/term v0.44.0
)

require (
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.46.0 // indirect
)
