package nat

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/ovsmesh/ovsmesh/api"
)

// maxBody caps a rule's JSON body in bytes.
const maxBody = 64 << 10

// Routes implements apps.RouteProvider: GET /api/v1/nat, and POST and
// DELETE of /api/v1/nat/forwards and /api/v1/nat/redirects (mutating:
// loopback or the bearer token, as every change).
func (a *App) Routes() []api.Route {
	return []api.Route{
		{Method: "GET", Path: "/api/v1/nat", Handler: func(w http.ResponseWriter, r *http.Request) {
			api.WriteJSON(w, http.StatusOK, a.Status(r.Context()))
		}},
		{Method: "POST", Path: "/api/v1/nat/forwards", Handler: func(w http.ResponseWriter, r *http.Request) {
			var f Forward
			if !decodeBody(w, r, &f) {
				return
			}
			got, err := a.AddForward(r.Context(), f)
			answer(w, http.StatusCreated, got, err)
		}},
		{Method: "DELETE", Path: "/api/v1/nat/forwards", Query: []string{"proto", "port"}, Handler: func(w http.ResponseWriter, r *http.Request) {
			port, ok := queryPort(w, r, "port")
			if !ok {
				return
			}
			got, err := a.DeleteForward(r.Context(), r.URL.Query().Get("proto"), port)
			answer(w, http.StatusOK, got, err)
		}},
		{Method: "POST", Path: "/api/v1/nat/redirects", Handler: func(w http.ResponseWriter, r *http.Request) {
			var d Redirect
			if !decodeBody(w, r, &d) {
				return
			}
			got, err := a.AddRedirect(r.Context(), d)
			answer(w, http.StatusCreated, got, err)
		}},
		{Method: "DELETE", Path: "/api/v1/nat/redirects", Query: []string{"proto", "ip", "port"}, Handler: func(w http.ResponseWriter, r *http.Request) {
			port, ok := queryPort(w, r, "port")
			if !ok {
				return
			}
			got, err := a.DeleteRedirect(r.Context(), r.URL.Query().Get("proto"), r.URL.Query().Get("ip"), port)
			answer(w, http.StatusOK, got, err)
		}},
	}
}

// decodeBody reads one JSON object into v, refusing unknown fields,
// trailing data and bodies over maxBody with 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, fmt.Errorf("request body: %w", err))
		return false
	}
	return true
}

// queryPort reads a required port query parameter.
func queryPort(w http.ResponseWriter, r *http.Request, name string) (int, bool) {
	v := r.URL.Query().Get(name)
	n, err := strconv.Atoi(v)
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, fmt.Errorf("query parameter %s=%q: want a port number", name, v))
		return 0, false
	}
	return n, true
}

// answer writes v with status, or err with the status its kind says.
func answer(w http.ResponseWriter, status int, v any, err error) {
	var re *ruleError
	switch {
	case err == nil:
		api.WriteJSON(w, status, v)
	case errors.As(err, &re):
		api.WriteError(w, http.StatusBadRequest, err)
	case errors.Is(err, ErrConflict):
		api.WriteError(w, http.StatusConflict, err)
	case errors.Is(err, ErrNotFound):
		api.WriteError(w, http.StatusNotFound, err)
	default:
		api.WriteError(w, http.StatusInternalServerError, err)
	}
}
