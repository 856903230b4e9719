package lab

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetricSum(t *testing.T) {
	const text = `# HELP ovsmesh_x_total X.
# TYPE ovsmesh_x_total counter
ovsmesh_x_total{host="h1",port="a"} 2
ovsmesh_x_total{host="h2",port="a"} 3
ovsmesh_x_total{host="h2",port="b"} 5
# HELP ovsmesh_g A gauge.
# TYPE ovsmesh_g gauge
ovsmesh_g 7
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		w.Write([]byte(text))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, path, metric string
		labels             map[string]string
		sum                float64
		found              bool
		err                string
	}{
		{name: "every series", path: "/metrics", metric: "ovsmesh_x_total", sum: 10, found: true},
		{name: "one label", path: "/metrics", metric: "ovsmesh_x_total", labels: map[string]string{"host": "h2"}, sum: 8, found: true},
		{name: "two labels", path: "/metrics", metric: "ovsmesh_x_total", labels: map[string]string{"host": "h2", "port": "b"}, sum: 5, found: true},
		{name: "no series matches", path: "/metrics", metric: "ovsmesh_x_total", labels: map[string]string{"host": "h9"}, found: true},
		{name: "gauge", path: "/metrics", metric: "ovsmesh_g", sum: 7, found: true},
		{name: "absent", path: "/metrics", metric: "ovsmesh_y_total"},
		{name: "refused", path: "/other", metric: "ovsmesh_x_total", err: "403 Forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, found, err := MetricSum(context.Background(), srv.URL+tc.path, tc.metric, tc.labels)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil || sum != tc.sum || found != tc.found {
				t.Errorf("MetricSum = %v, %v, %v; want %v, %v, nil", sum, found, err, tc.sum, tc.found)
			}
		})
	}
}
