package server

import (
	"context"
	"testing"
)

func TestTracingIsOffWithoutAnOTLPEndpoint(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tr, err := newTracer(context.Background(), "test")
	if err != nil || tr != nil {
		t.Fatalf("newTracer = %v, %v; want no tracer", tr, err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces")
	tr, err = newTracer(context.Background(), "test")
	if err != nil || tr == nil {
		t.Fatalf("newTracer with a traces endpoint = %v, %v; want a tracer", tr, err)
	}
	_ = tr.shutdown(context.Background())
}
