package faults

import (
	"net/http"

	"tracelab/common/respond"
)

// State is the answer of the /faults admin route: the catalogue, and what is on here.
type State struct {
	Service string       `json:"service"`
	Enabled bool         `json:"enabled"`
	Active  string       `json:"active"`
	Faults  []FaultState `json:"faults"`
}

// FaultState is one catalogue entry and whether it is on for everyone.
type FaultState struct {
	Name     Name     `json:"name"`
	Services []string `json:"services"`
	Summary  string   `json:"summary"`
	Param    string   `json:"param,omitempty"`   // what a value means
	Default  string   `json:"default,omitempty"` // the value when none is given
	On       bool     `json:"on"`
	Value    string   `json:"value,omitempty"`
}

// StateOf returns service's state of s.
func StateOf(service string, s *Switch) State {
	active := s.Active()
	st := State{Service: service, Enabled: s.enabled, Active: active.String()}
	for _, f := range Catalogue {
		v, on := active[f.Name]
		st.Faults = append(st.Faults, FaultState{Name: f.Name, Services: f.Services, Summary: f.Summary,
			Param: f.Param.Help, Default: f.Param.Default, On: on, Value: v})
	}
	return st
}

// Admin serves the faults on for everyone, for the instructor (make fault):
//
//	GET /faults                        the catalogue and what is on
//	PUT /faults?set=lock-contention    switch faults on (Parse's syntax), beside those on
//	PUT /faults?clear=all              switch them off: all, or the ones named
//
// Each service mounts it beside /healthz, where neither tracing nor the edge reaches it;
// the edge's admin listener fans one call out to every service. An unknown name is a 400,
// and with faults switched off a PUT is a 403.
func Admin(service string, s *Switch) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPut, http.MethodPost:
			if !s.enabled {
				respond.Error(w, http.StatusForbidden, errDisabled.Error())
				return
			}
			set, clear := r.URL.Query().Get("set"), r.URL.Query().Get("clear")
			if set == "" && clear == "" {
				respond.Error(w, http.StatusBadRequest, "say what to change: ?set=<faults> or ?clear=<faults|all>")
				return
			}
			if clear != "" {
				if err := s.Clear(clear); err != nil {
					respond.Error(w, http.StatusBadRequest, err.Error())
					return
				}
			}
			if set != "" {
				if err := s.Set(set); err != nil {
					respond.Error(w, http.StatusBadRequest, err.Error())
					return
				}
			}
		default:
			w.Header().Set("Allow", "GET, PUT")
			respond.Error(w, http.StatusMethodNotAllowed, "use GET to read the faults, PUT to change them")
			return
		}
		respond.JSON(w, http.StatusOK, StateOf(service, s))
	})
}
