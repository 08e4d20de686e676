package main

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"

	"tracelab/common/respond"
)

// web holds the page: index.html, and the files it loads from /assets/.
//
//go:embed web
var web embed.FS

// newServer lists every route of the console (API.md says what each answers).
func newServer(log *slog.Logger, cfg config) http.Handler {
	assets, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embed pattern names web: it is there, or the build failed
	}
	jaeger := newJaegerProxy(log, cfg.jaeger, cfg.jaegerWait)
	labs := labsDir(cfg)
	mux := http.NewServeMux()

	// Pages: one document; the page's router reads location.pathname.
	page := handlePage(assets)
	for _, path := range []string{"/{$}", "/trace/{id}", "/compare/{a}/{b}", "/graph", "/labs", "/labs/{n}", "/faults"} {
		mux.Handle("GET "+path, page)
	}
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))

	mux.Handle("GET /api/config", handleConfig(cfg))
	mux.Handle("GET /api/jaeger/services", jaeger.services())
	mux.Handle("GET /api/jaeger/services/{svc}/operations", jaeger.operations())
	mux.Handle("GET /api/jaeger/traces", jaeger.search())
	mux.Handle("GET /api/jaeger/traces/{id}", jaeger.trace())
	mux.Handle("GET /api/jaeger/dependencies", jaeger.dependencies())

	mux.Handle("GET /api/labs", handleLabs(log, labs))
	mux.Handle("GET /api/labs/{n}", handleLab(log, labs))
	mux.Handle("POST /api/labs/{n}/setup", handleWorkshop(log, cfg, labs, "setup"))
	mux.Handle("POST /api/labs/{n}/check", handleWorkshop(log, cfg, labs, "check"))

	mux.Handle("POST /api/send", handleSend(log, cfg))

	mux.Handle("GET /api/faults", handleFaults(log, cfg))
	mux.Handle("PUT /api/faults", handleSwitchFaults(log, cfg))

	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	mux.Handle("/", respond.NotFound())
	return logRefusals(log, mux)
}

// logRefusals writes a line for every answer that is an error, with the route and status.
// Only those: the page polls Jaeger while a learner watches, and a line per poll would bury
// the services' own lines in make run's terminal.
func logRefusals(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := respond.NewRecorder(w)
		next.ServeHTTP(rec, r)
		if status := rec.Status(); status >= 400 {
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelWarn
			}
			log.Log(r.Context(), level, "refused", "http.request.method", r.Method, "url.path", r.URL.Path,
				"http.route", r.Pattern, "http.response.status_code", status)
		}
	})
}

// handlePage serves index.html for every page path: the page is one document, and a deep
// link (/trace/<id>, which make trace prints) must open it like the start page does.
func handlePage(assets fs.FS) http.Handler {
	index, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		panic("cmd/console/web/index.html is missing: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(index)
	})
}

// configAnswer tells the page where things are and whether it may switch faults.
type configAnswer struct {
	Jaeger     string `json:"jaeger"`
	Edge       string `json:"edge"`
	Instructor bool   `json:"instructor"`
	Version    string `json:"version"`
}

func handleConfig(cfg config) http.Handler {
	answer := configAnswer{Jaeger: cfg.jaeger, Edge: cfg.edge, Instructor: cfg.instructor, Version: version()}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, answer)
	})
}
