package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ReadJSON decodes the request body, one JSON value of at most maxBytes
// bytes, into v, refusing unknown fields and trailing data. On failure
// it answers 400 naming what was wrong and returns false; the handler
// then returns.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any, maxBytes int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		WriteError(w, http.StatusBadRequest, fmt.Errorf("request body: %w", err))
		return false
	}
	return true
}
