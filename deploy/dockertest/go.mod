module tracelab/deploy/dockertest

go 1.26.0
