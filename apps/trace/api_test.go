package trace

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/api"
)

// TestRoute posts to /api/v1/trace through the API's own mux (loopback
// needs no token): a probe, bad requests, and a second probe while one
// runs.
func TestRoute(t *testing.T) {
	n := newFakeNet(t, testConfig)
	h, err := api.New(api.Sources{Routes: n.app.Routes()})
	if err != nil {
		t.Fatal(err)
	}
	post := func(body string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
		req.RemoteAddr = "127.0.0.1:5555"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	code, body := post(`{"src": "10.0.1.1", "dst": "10.0.2.1", "proto": "udp", "port": 53}`)
	var res Result
	if code != http.StatusOK || json.Unmarshal([]byte(body), &res) != nil || res.Mode != "probe" || !res.Agree || res.Port != 53 {
		t.Errorf("a probe: %d %s", code, body)
	}
	for _, tc := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"src": "10.0.1.1"`, 400, "want JSON"},
		{`{"src": "10.0.1.1", "dst": "10.0.2.1", "nope": 1}`, 400, "unknown field"},
		{`{"src": "10.0.1.1", "dst": "10.0.2.1", "proto": "gre"}`, 400, "want icmp"},
		{`{"src": "10.0.9.9", "dst": "10.0.2.1"}`, 400, "does not place it"},
	} {
		if code, body := post(tc.body); code != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d %s, want %d mentioning %q", tc.body, code, body, tc.code, tc.msg)
		}
	}
	n.app.busy <- struct{}{}
	if code, body := post(`{"src": "10.0.1.1", "dst": "10.0.2.1"}`); code != http.StatusConflict {
		t.Errorf("a second probe: %d %s, want 409", code, body)
	}
	req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(`{}`))
	req.RemoteAddr = "192.0.2.1:5555"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("from another address without a token: %d, want 403", rec.Code)
	}
}
