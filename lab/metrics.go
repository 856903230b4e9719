package lab

import (
	"bytes"
	"context"
	"fmt"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// MetricSum reads the Prometheus text exposition at url (a controller's
// /metrics) and returns the sum of the counter, gauge or untyped samples
// of the metric name whose labels include every pair in labels (nil: every
// sample), and whether name was exposed at all. A metric vector with no
// series yet is not exposed. Errors: the GET failing or answering other
// than 200 OK, and text that does not parse.
func MetricSum(ctx context.Context, url, name string, labels map[string]string) (sum float64, found bool, err error) {
	body, err := get(ctx, url)
	if err != nil {
		return 0, false, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return 0, false, fmt.Errorf("GET %s: %w", url, err)
	}
	mf, ok := families[name]
	if !ok {
		return 0, false, nil
	}
	for _, m := range mf.GetMetric() {
		if hasLabels(m, labels) {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return sum, true, nil
}

// hasLabels reports whether m carries every name=value pair of want.
func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(want)
}
