package lab

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGetJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte(`{"n":3}`))
		case "/bad":
			w.Write([]byte(`{"n":`))
		default:
			http.Error(w, "no token", http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	var v struct{ N int }
	if err := GetJSON(ctx, srv.URL+"/ok", &v); err != nil || v.N != 3 {
		t.Errorf("GetJSON /ok = %+v, %v; want N 3", v, err)
	}
	var s string
	if err := GetJSON(ctx, srv.URL+"/ok", &s); err != nil || s != `{"n":3}` {
		t.Errorf("GetJSON /ok into a string = %q, %v", s, err)
	}
	for path, want := range map[string]string{"/bad": "unexpected end of JSON", "/auth": "401 Unauthorized: no token"} {
		if err := GetJSON(ctx, srv.URL+path, &v); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("GetJSON %s: %v, want an error naming the URL and %q", path, err, want)
		}
	}
}
