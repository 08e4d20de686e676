package validate

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// What the services' Go code reads from the environment, found by parsing it (go/ast): the
// deploy files are checked against the code, not against a list that could drift from it.

// envRead is one environment variable that a service reads.
type envRead struct {
	def string // the default, when the code gives it as a string literal (config.String)
	at  string // file:line of the read, for failure messages
}

// serviceSource is what a service's code says about how it runs.
type serviceSource struct {
	name  string             // the const serviceName of its package main
	reads map[string]envRead // every variable it or a tracelab package it uses reads
}

// addrVar is the variable that holds the service's listen address.
func (s serviceSource) addrVar() string { return strings.ToUpper(s.name) + "_ADDR" }

// port is the port the service listens on when its address is not set.
func (s serviceSource) port(t *testing.T) int {
	t.Helper()
	r, ok := s.reads[s.addrVar()]
	if !ok {
		t.Fatalf("%s does not read %s", s.name, s.addrVar())
	}
	p, _, err := addrPort(r.def)
	if err != nil {
		t.Fatalf("%s: default of %s = %q: %v", s.name, s.addrVar(), r.def, err)
	}
	return p
}

// envName is what an environment variable of ours looks like.
var envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// serviceTemplate stands for the service's upper-cased name in a variable that
// common/instrument builds from it: getenv(strings.ToUpper(service) + "_PPROF_ADDR").
const serviceTemplate = "{SERVICE}"

// sources scans the code once for all tests.
var sources = sync.OnceValues(scanAllSources)

func scanAllSources() (map[string]serviceSource, error) {
	out := make(map[string]serviceSource)
	for _, name := range ourServices {
		s, err := scanService(name)
		if err != nil {
			return nil, err
		}
		out[name] = s
	}
	return out, nil
}

// sourceOf returns the scan of one service, failing the test when the scan failed.
func sourceOf(t *testing.T, name string) serviceSource {
	t.Helper()
	all, err := sources()
	if err != nil {
		t.Fatalf("scanning the Go source: %v", err)
	}
	s, ok := all[name]
	if !ok {
		t.Fatalf("no service %q in the source scan", name)
	}
	return s
}

// parsedFile is one Go file with where it came from.
type parsedFile struct {
	path string // relative to the repository
	file *ast.File
}

// parsePackages parses the non-test files of the package in dir (relative to the
// repository) and of every tracelab package it imports, directly or not.
func parsePackages(fset *token.FileSet, dir string) ([]parsedFile, error) {
	var files []parsedFile
	seen := map[string]bool{}
	queue := []string{dir}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		paths, err := filepath.Glob(repoPath(d, "*.go"))
		if err != nil {
			return nil, err
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("no Go files in %s", d)
		}
		for _, p := range paths {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			rel, _ := filepath.Rel(repoRoot, p)
			files = append(files, parsedFile{path: rel, file: f})
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if sub, ok := strings.CutPrefix(path, "tracelab/"); ok {
					queue = append(queue, sub)
				}
			}
		}
	}
	return files, nil
}

// forwarder is a function that passes one of its parameters to getenv, such as
// config.Set.String(flag, env, def, usage) or the parse(key, set) closure of
// tracing.SettingsFromEnv: a call to it with a literal there reads that variable.
type forwarder struct {
	arity int    // its number of parameters; calls are matched by name and arity
	index int    // the parameter that names the variable
	def   int    // the parameter named def, holding the default, or -1
	name  string // its name, for messages
}

// funcParams flattens a parameter list into names ("_" for unnamed ones).
func funcParams(ft *ast.FuncType) []string {
	var names []string
	if ft.Params == nil {
		return nil
	}
	for _, f := range ft.Params.List {
		if len(f.Names) == 0 {
			names = append(names, "_")
		}
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
	}
	return names
}

// calleeName returns the name a call is made by: f(...) and x.f(...) give "f".
func calleeName(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name
	case *ast.SelectorExpr:
		return fn.Sel.Name
	}
	return ""
}

// isGetenv reports whether call reads the environment directly: getenv(k), s.getenv(k)
// (the getenv a run function is given) or os.Getenv / os.LookupEnv.
func isGetenv(call *ast.CallExpr) bool {
	if len(call.Args) != 1 {
		return false
	}
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name == "getenv"
	case *ast.SelectorExpr:
		if fn.Sel.Name == "getenv" {
			return true
		}
		if x, ok := fn.X.(*ast.Ident); ok && x.Name == "os" {
			return fn.Sel.Name == "Getenv" || fn.Sel.Name == "LookupEnv"
		}
	}
	return false
}

// funcScope is a function body with its parameters: a declared function, or a closure
// bound to a name (parse := func(key string, ...)).
type funcScope struct {
	name   string
	params []string
	body   *ast.BlockStmt
}

// scopes lists the named functions and named closures of a file.
func scopes(f *ast.File) []funcScope {
	var out []funcScope
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Body != nil {
				out = append(out, funcScope{n.Name.Name, funcParams(n.Type), n.Body})
			}
		case *ast.AssignStmt:
			for i, rhs := range n.Rhs {
				lit, ok := rhs.(*ast.FuncLit)
				if !ok || i >= len(n.Lhs) {
					continue
				}
				if id, ok := n.Lhs[i].(*ast.Ident); ok {
					out = append(out, funcScope{id.Name, funcParams(lit.Type), lit.Body})
				}
			}
		}
		return true
	})
	return out
}

// inspectCalls calls visit for every call under root with the parameters in scope there:
// those of root's function and of every closure around the call.
func inspectCalls(root ast.Node, params []string, visit func(call *ast.CallExpr, params []string)) {
	ast.Inspect(root, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			inspectCalls(n.Body, append(slices.Clone(params), funcParams(n.Type)...), visit)
			return false
		case *ast.CallExpr:
			visit(n, params)
		}
		return true
	})
}

// stringLit returns the value of a string literal expression.
func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// templateSuffix recognises strings.ToUpper(x) + "_SUFFIX", the way common/instrument
// names <SERVICE>_PPROF_ADDR after the service.
func templateSuffix(e ast.Expr) (string, bool) {
	bin, ok := e.(*ast.BinaryExpr)
	if !ok || bin.Op != token.ADD {
		return "", false
	}
	call, ok := bin.X.(*ast.CallExpr)
	if !ok || calleeName(call) != "ToUpper" {
		return "", false
	}
	return stringLit(bin.Y)
}

// scanService finds every environment variable the service reads: literals passed to
// getenv or os.Getenv, to a function that forwards a parameter to them (config's String
// and Duration, tracing's parse closure), and the <SERVICE>_ADDR-style names built with
// strings.ToUpper. A read it cannot name (getenv(someVariable) outside a forwarder) is an
// error: the checks below would be blind to it, so the scanner must learn the new shape.
func scanService(name string) (serviceSource, error) {
	fset := token.NewFileSet()
	files, err := parsePackages(fset, name)
	if err != nil {
		return serviceSource{}, err
	}
	src := serviceSource{reads: map[string]envRead{}}
	for _, f := range files {
		if filepath.Dir(f.path) != name {
			continue
		}
		for _, decl := range f.file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if id.Name == "serviceName" && i < len(vs.Values) {
						src.name, _ = stringLit(vs.Values[i])
					}
				}
			}
		}
	}
	if src.name == "" {
		return src, fmt.Errorf("%s: no `const serviceName = \"...\"` in package main", name)
	}

	// Forwarders, to a fixed point: a function may forward to another forwarder.
	forwarders := map[string]forwarder{}
	passes := func(call *ast.CallExpr) (int, bool) {
		if isGetenv(call) {
			return 0, true
		}
		fw, ok := forwarders[calleeName(call)]
		if ok && fw.arity == len(call.Args) {
			return fw.index, true
		}
		return 0, false
	}
	for changed := true; changed; {
		changed = false
		for _, f := range files {
			for _, sc := range scopes(f.file) {
				if _, done := forwarders[sc.name]; done {
					continue
				}
				ast.Inspect(sc.body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					idx, ok := passes(call)
					if !ok {
						return true
					}
					id, ok := call.Args[idx].(*ast.Ident)
					if !ok {
						return true
					}
					if p := slices.Index(sc.params, id.Name); p >= 0 {
						def := slices.Index(sc.params, "def")
						if def != p+1 {
							def = -1
						}
						forwarders[sc.name] = forwarder{arity: len(sc.params), index: p, def: def, name: sc.name}
						changed = true
						return false
					}
					return true
				})
			}
		}
	}

	// The reads themselves.
	var unknown []string
	visit := func(f parsedFile, call *ast.CallExpr, params []string) {
		idx, ok := passes(call)
		if !ok {
			return
		}
		at := fmt.Sprintf("%s:%d", f.path, fset.Position(call.Pos()).Line)
		arg := call.Args[idx]
		if v, ok := stringLit(arg); ok {
			if !envName.MatchString(v) {
				// otlog.String("event", "error") has a forwarder's name but is no read.
				return
			}
			r := envRead{at: at}
			if fw, ok := forwarders[calleeName(call)]; ok && !isGetenv(call) && fw.def >= 0 {
				r.def, _ = stringLit(call.Args[fw.def])
			}
			if _, seen := src.reads[v]; !seen {
				src.reads[v] = r
			}
			return
		}
		if suffix, ok := templateSuffix(arg); ok {
			src.reads[serviceTemplate+suffix] = envRead{at: at}
			return
		}
		if id, ok := arg.(*ast.Ident); ok && slices.Contains(params, id.Name) {
			return // a forwarder passing its parameter on: its callers are the reads
		}
		unknown = append(unknown, at)
	}
	for _, f := range files {
		for _, decl := range f.file.Decls {
			var params []string
			var root ast.Node = decl
			if fd, ok := decl.(*ast.FuncDecl); ok {
				if fd.Body == nil {
					continue
				}
				params, root = funcParams(fd.Type), fd.Body
			}
			inspectCalls(root, params, func(call *ast.CallExpr, params []string) { visit(f, call, params) })
		}
	}
	if len(unknown) > 0 {
		return src, fmt.Errorf("%s: cannot tell which variable is read at %s; teach scanService this shape",
			name, strings.Join(unknown, ", "))
	}
	// The templates, for this service.
	for k, r := range src.reads {
		if suffix, ok := strings.CutPrefix(k, serviceTemplate); ok {
			delete(src.reads, k)
			src.reads[strings.ToUpper(src.name)+suffix] = r
		}
	}
	return src, nil
}

// TestSourceScan checks that the scanner finds what every service is known to read, so a
// scanner that stopped seeing config.String or the tracing variables fails here instead of
// making the environment checks vacuous, and that each service's name is its directory's.
func TestSourceScan(t *testing.T) {
	for _, name := range ourServices {
		t.Run(name, func(t *testing.T) {
			src := sourceOf(t, name)
			if src.name != name {
				t.Errorf("const serviceName = %q in %s/, want %q: the directory name is the service name", src.name, name, name)
			}
			up := strings.ToUpper(name)
			for _, v := range []string{up + "_ADDR", up + "_PPROF_ADDR", "LOG_LEVEL", "JAEGER_ENDPOINT", "ZIPKIN_ENDPOINT", "JAEGER_DISABLED"} {
				if _, ok := src.reads[v]; !ok {
					t.Errorf("scanService(%q).reads has no %s; it found %v", name, v, sortedKeys(src.reads))
				}
			}
			if p, all, err := addrPort(src.reads[up+"_ADDR"].def); err != nil || p == 0 || !all {
				t.Errorf("default of %s = %q: want \":<port>\" (every interface)", up+"_ADDR", src.reads[up+"_ADDR"].def)
			}
		})
	}
}

// edgeRoute is one entry of the edge's route table (edge/proxy.go routeTable).
type edgeRoute struct {
	pattern, stripPrefix, service string
}

// edgeRoutes reads the route table from the edge's source: the composite literals with
// pattern, stripPrefix and service fields.
func edgeRoutes(t *testing.T) []edgeRoute {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, repoPath("edge", "proxy.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var routes []edgeRoute
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		var r edgeRoute
		for _, elt := range lit.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			key, _ := kv.Key.(*ast.Ident)
			if key == nil {
				continue
			}
			v, _ := stringLit(kv.Value)
			switch key.Name {
			case "pattern":
				r.pattern = v
			case "stripPrefix":
				r.stripPrefix = v
			case "service":
				r.service = v
			}
		}
		if r.pattern != "" && r.service != "" {
			routes = append(routes, r)
		}
		return true
	})
	if len(routes) == 0 {
		t.Fatal("edge/proxy.go: no route table entries (composite literals with pattern and service) found")
	}
	return routes
}

// muxPatterns returns the ServeMux patterns a service registers in its server.go:
// mux.Handle("GET /file/{name}", ...).
func muxPatterns(t *testing.T, service string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, repoPath(service, "server.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if ok && (calleeName(call) == "Handle" || calleeName(call) == "HandleFunc") && len(call.Args) == 2 {
			if p, ok := stringLit(call.Args[0]); ok {
				patterns = append(patterns, p)
			}
		}
		return true
	})
	return patterns
}

// loggedFields returns the top-level field names that common/logging writes: the ECS
// renames of slog's built-in keys (a.Key = "message", slog.String("log.level", ...)),
// the attributes of the access log and the trace ids (slog.String("trace.id", ...)) and
// the logger's own With("service.name", ...).
func loggedFields(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	paths, _ := filepath.Glob(repoPath("common", "logging", "*.go"))
	seen := map[string]bool{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || len(n.Args) == 0 {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "slog" {
					if k, ok := stringLit(n.Args[0]); ok {
						seen[k] = true
					}
				}
				if sel.Sel.Name == "With" {
					for i := 0; i < len(n.Args); i += 2 {
						if k, ok := stringLit(n.Args[i]); ok {
							seen[k] = true
						}
					}
				}
			case *ast.AssignStmt:
				if sel, ok := n.Lhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Key" && len(n.Rhs) == 1 {
					if k, ok := stringLit(n.Rhs[0]); ok {
						seen[k] = true
					}
				}
			}
			return true
		})
	}
	return sortedKeys(seen)
}
