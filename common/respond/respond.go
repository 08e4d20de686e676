// Package respond is how tracelab's handlers answer: JSON bodies, and errors as
// {"error": "..."} with the status that says whose fault it was. Internals are logged by
// the handler and never sent to the client.
package respond

import (
	"encoding/json"
	"net/http"
	"os"
)

// JSON writes v as the JSON body with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Error writes {"error": msg} with the given status.
func Error(w http.ResponseWriter, status int, msg string) {
	JSON(w, status, errorBody{Error: msg})
}

type errorBody struct {
	Error string `json:"error"`
}

// NotFound answers every request no route matched, as JSON like every other error.
func NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Error(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path)
	})
}

// ServedBy names this process in answers ("quoteservice@<hostname>"), so a load-balanced
// demo shows which replica served what. It is computed once, at start.
func ServedBy(service string) string {
	host, _ := os.Hostname()
	return service + "@" + host
}
