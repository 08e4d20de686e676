package landscape

import (
	"reflect"
	"strings"
	"testing"
)

func TestTracerReports(t *testing.T) {
	out := strings.Join([]string{
		`edge           | {"log.level":"info","message":"access","service.name":"edge"}`,
		`edge           | {"log.level":"info","message":"tracer closed: spans reported 20, dropped 0, unconfirmed 0","service.name":"edge","spans.started":20,"spans.finished":20,"spans.jaeger.reported":20,"spans.jaeger.dropped":0,"spans.jaeger.unconfirmed":0}`,
		`accountservice | {"log.level":"warn","message":"tracer closed: spans reported 13, dropped 2, unconfirmed 1","service.name":"accountservice","spans.started":10,"spans.finished":10,"spans.jaeger.reported":7,"spans.jaeger.dropped":2,"spans.jaeger.unconfirmed":1,"spans.zipkin.reported":6,"spans.zipkin.dropped":0,"spans.zipkin.unconfirmed":0}`,
		`jaeger         | 2026-11-22T01:00:00Z info something`,
		`landscape      | stopping edge`,
	}, "\n")
	got, err := TracerReports(strings.NewReader(out))
	want := []TracerReport{
		{Service: "edge", Level: "info", Message: "tracer closed: spans reported 20, dropped 0, unconfirmed 0", Finished: 20, Reported: 20},
		{Service: "accountservice", Level: "warn", Message: "tracer closed: spans reported 13, dropped 2, unconfirmed 1", Finished: 10, Reported: 13, Dropped: 2, Unconfirmed: 1},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("TracerReports() = %+v, %v\nwant %+v", got, err, want)
	}
	if _, err := TracerReports(strings.NewReader(`edge | {"message":"tracer closed`)); err == nil {
		t.Errorf("TracerReports(a cut line) = nil error, want one naming the line")
	}
}
