package portsec

import (
	"errors"
	"net/http"

	"github.com/ovsmesh/ovsmesh/api"
)

// maxBody caps a declaration's JSON body in bytes.
const maxBody = 64 << 10

// Routes implements apps.RouteProvider: GET /api/v1/portsec, and POST
// and DELETE of /api/v1/portsec/ports (mutating: loopback or the bearer
// token, as every change).
func (a *App) Routes() []api.Route {
	return []api.Route{
		{Method: "GET", Path: "/api/v1/portsec", Handler: func(w http.ResponseWriter, r *http.Request) {
			api.WriteJSON(w, http.StatusOK, a.Status(r.Context()))
		}},
		{Method: "POST", Path: "/api/v1/portsec/ports", Handler: func(w http.ResponseWriter, r *http.Request) {
			var p PortDecl
			if !api.ReadJSON(w, r, &p, maxBody) {
				return
			}
			got, created, err := a.AddPort(r.Context(), p)
			status := http.StatusOK
			if created {
				status = http.StatusCreated
			}
			answer(w, status, got, err)
		}},
		{Method: "DELETE", Path: "/api/v1/portsec/ports", Query: []string{"host", "port"}, Handler: func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if q.Get("host") == "" || q.Get("port") == "" {
				api.WriteError(w, http.StatusBadRequest, errors.New("query parameters host and port are required"))
				return
			}
			got, err := a.DeletePort(r.Context(), q.Get("host"), q.Get("port"))
			answer(w, http.StatusOK, got, err)
		}},
	}
}

// answer writes v with status, or err with the status its kind says.
func answer(w http.ResponseWriter, status int, v any, err error) {
	var fe *fieldError
	switch {
	case err == nil:
		api.WriteJSON(w, status, v)
	case errors.As(err, &fe):
		api.WriteError(w, http.StatusBadRequest, err)
	case errors.Is(err, ErrConflict):
		api.WriteError(w, http.StatusConflict, err)
	case errors.Is(err, ErrNotFound):
		api.WriteError(w, http.StatusNotFound, err)
	default:
		api.WriteError(w, http.StatusInternalServerError, err)
	}
}
