package main

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"tracelab/common/faults"
	"tracelab/common/respond"
	"tracelab/internal/adminapi"
)

// catalogueEntry is one fault as the page shows it, and builds its copyable command from.
type catalogueEntry struct {
	Name        faults.Name `json:"name"`
	Services    []string    `json:"services"`
	Param       string      `json:"param,omitempty"`   // what a value after = means
	Default     string      `json:"default,omitempty"` // the value when none is given
	Description string      `json:"description"`
}

// faultsAnswer is GET /api/faults, and the answer of a PUT: the catalogue, what is on for
// everyone in each service, and whether this console may switch them.
type faultsAnswer struct {
	Catalogue  []catalogueEntry    `json:"catalogue"`
	Active     map[string][]string `json:"active"`
	Errors     map[string]string   `json:"errors,omitempty"` // a service that did not answer, or refused
	Instructor bool                `json:"instructor"`
}

var catalogue = func() []catalogueEntry {
	var out []catalogueEntry
	for _, f := range faults.Catalogue {
		out = append(out, catalogueEntry{Name: f.Name, Services: f.Services, Param: f.Param.Help, Default: f.Param.Default, Description: f.Summary})
	}
	return out
}()

// handleFaults is GET /api/faults.
func handleFaults(log *slog.Logger, cfg config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if badKeys(w, r, nil) {
			return
		}
		callAdmin(w, r, log, cfg, http.MethodGet, nil)
	})
}

// handleSwitchFaults is PUT /api/faults?set=<spec> or ?clear=<names|all>: the instructor's
// switch for everyone, as make fault SET=... and CLEAR=... A learner's console refuses it:
// a fault for everyone slows the whole room, so it is the instructor's call
// (CONSOLE_INSTRUCTOR=true); a learner sends a fault in the baggage of their own requests.
func handleSwitchFaults(log *slog.Logger, cfg config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cfg.instructor {
			log.WarnContext(r.Context(), "faults switch refused", "url.query", r.URL.RawQuery)
			respond.Error(w, http.StatusForbidden, "switching faults for everyone is the instructor's: this console runs with CONSOLE_INSTRUCTOR=false. "+
				"For your own requests, send the fault in their baggage (the command beside each fault)")
			return
		}
		if badKeys(w, r, []string{"set", "clear"}) {
			return
		}
		q := r.URL.Query()
		if q.Get("set") == "" && q.Get("clear") == "" {
			respond.Error(w, http.StatusBadRequest, "say what to change: ?set=<fault>[=<value>][,...] or ?clear=<fault>|all")
			return
		}
		callAdmin(w, r, log, cfg, http.MethodPut, q)
	})
}

// callAdmin makes one call to the edge's admin listener and answers the page with the
// catalogue and what is on. A service that refused (an unknown fault: 400) gives the answer
// its status and its sentence; an admin listener that does not answer is a 502.
func callAdmin(w http.ResponseWriter, r *http.Request, log *slog.Logger, cfg config, method string, query url.Values) {
	status, admin, err := adminapi.Call(r.Context(), cfg.admin, method, query)
	if err != nil {
		log.WarnContext(r.Context(), "admin listener", "err", err)
		respond.Error(w, http.StatusBadGateway, err.Error())
		return
	}
	answer := faultsAnswer{Catalogue: catalogue, Active: map[string][]string{}, Instructor: cfg.instructor}
	var refused []string
	for _, s := range admin.Services {
		switch {
		case s.Error != "":
			if answer.Errors == nil {
				answer.Errors = map[string]string{}
			}
			answer.Errors[s.Service] = s.Error
			refused = append(refused, s.Service+": "+s.Error)
		case s.State != nil:
			answer.Active[s.Service] = []string{}
			if s.State.Active != "" {
				answer.Active[s.Service] = strings.Split(s.State.Active, ",")
			}
		}
	}
	if status != http.StatusOK && len(refused) > 0 {
		// The change did not take everywhere: the page shows why, in the services' words.
		if status < 400 || status >= 500 {
			status = http.StatusBadGateway
		}
		respond.Error(w, status, refused[0])
		return
	}
	respond.JSON(w, http.StatusOK, answer)
}
