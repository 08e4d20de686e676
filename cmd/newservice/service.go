package main

import (
	"bytes"
	"embed"
	"fmt"
	"go/format"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// defaultPort is the port of a new service when none is given.
const defaultPort = 9090

// servicesFile is the one list of the services.
const servicesFile = "internal/landscape/services.txt"

//go:embed templates
var templates embed.FS

// serviceNamePattern is a DNS label (what Kubernetes, compose and DNS accept as a name)
// without dashes: the name is also the directory, the binary and the host name, and, in
// upper case, the prefix of the service's variables (LEDGER_ADDR), where a dash cannot be.
var serviceNamePattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,62}$`)

// reserved are the ports the landscape's other processes take, on some platform or other,
// or in the e2e and reliability suites.
var reserved = map[int]string{
	5672: "RabbitMQ", 15672: "RabbitMQ's management UI", 16686: "Jaeger's query API",
	14268: "Jaeger's collector", 4317: "Jaeger's OTLP", 4318: "Jaeger's OTLP", 9411: "Zipkin",
	8766: "the edge's admin listener", 12201: "gelf-relay", 9200: "Elasticsearch", 5601: "Kibana",
	// What the e2e and reliability suites take that is not a service's port plus 10000 or 20000.
	18766: "the e2e suite's admin listener", 28766: "the reliability suite's admin listener",
	27777: "Jaeger v2's expvar extension", 27778: "Jaeger v2's health extension", 29777: "the reliability suite's imageservice",
}

// names are the ways a service's name is spelt in what is generated.
type names struct {
	Name  string // ledger: the folder, binary, tracer, compose and Kubernetes name
	Upper string // LEDGER: the prefix of its variables
	Title string // Ledger: exported Go identifiers
	Port  int
	Kind  string // http or consumer
}

func newNames(name string, port int, kind string) names {
	return names{Name: name, Upper: strings.ToUpper(name), Title: strings.ToUpper(name[:1]) + name[1:], Port: port, Kind: kind}
}

// insertion is text put into an existing file right before anchor, the first line of
// quoteservice's entry there (quoteservice is the template; its entries stay put).
type insertion struct {
	file, anchor, text string
}

// plan is everything a service adds: files it creates, and text it inserts.
type plan struct {
	n       names
	files   map[string]string // path -> content
	order   []string          // the paths of files, in the order they are written
	inserts []insertion
}

// outside are the files the service adds outside its folder.
func (p plan) outside() []string {
	var out []string
	for _, f := range p.order {
		if !strings.HasPrefix(f, p.n.Name+"/") {
			out = append(out, f)
		}
	}
	return out
}

// makePlan renders what a service n adds, reading nothing but its templates.
func makePlan(n names, firstService string) (plan, error) {
	p := plan{n: n, files: map[string]string{}}
	type file struct{ tmpl, path string }
	files := []file{
		{"main.go.tmpl", n.Name + "/main.go"},
		{"server.go.tmpl", n.Name + "/server.go"},
		{"handlers.go.tmpl", n.Name + "/handlers.go"},
		{"main_test.go.tmpl", n.Name + "/main_test.go"},
		{"handlers_test.go.tmpl", n.Name + "/handlers_test.go"},
		{"k8s.yaml.tmpl", "deploy/k8s/base/" + n.Name + ".yaml"},
		{"client.go.tmpl", "accountservice/" + n.Name + "client.go"},
		{"client_test.go.tmpl", "accountservice/" + n.Name + "client_test.go"},
		{"e2e_test.go.tmpl", "e2e/" + n.Name + "_test.go"},
	}
	if n.Kind == "consumer" {
		// vipservice's anatomy; called by publishing to its queue, so no HTTP client.
		files = files[:6]
		for i := range files {
			files[i].tmpl = "consumer_" + files[i].tmpl
		}
	}
	for _, f := range files {
		text, err := render(f.tmpl, n)
		if err != nil {
			return plan{}, err
		}
		if strings.HasSuffix(f.path, ".go") {
			// gofmt's alignment depends on the name's length.
			b, err := format.Source([]byte(text))
			if err != nil {
				return plan{}, fmt.Errorf("%s: %w", f.tmpl, err)
			}
			text = string(b)
		}
		p.files[f.path] = text
		p.order = append(p.order, f.path)
	}
	for _, in := range []struct{ file, anchor, tmpl string }{
		{servicesFile, firstService, serviceLine},
		{"Dockerfile", "FROM runtime AS quoteservice\n", dockerfileStage},
		{"docker-compose.yml", "  quoteservice:\n    <<: *tracelab-service\n", composeService},
		{"deploy/compose/debug.yml", "  quoteservice:\n", "  {{.Name}}:\n    ports: [\"127.0.0.1:{{.Port}}:{{.Port}}\"]\n"},
		{"deploy/swarm/tracelab-stack.yml", "  quoteservice:\n    image:", swarmService},
		{"deploy/k8s/base/kustomization.yaml", "  - quoteservice.yaml\n", "  - {{.Name}}.yaml\n"},
		{"deploy/k8s/base/kustomization.yaml", "  - name: localhost/tracelab/quoteservice\n", "  - name: localhost/tracelab/{{.Name}}\n    newTag: dev\n"},
		{"deploy/k8s/overlays/observability/filebeat.yaml", "          - /var/log/containers/*_tracelab_quoteservice-*.log\n",
			"          - /var/log/containers/*_tracelab_{{.Name}}-*.log\n"},
	} {
		text, err := renderText(in.tmpl, n)
		if err != nil {
			return plan{}, err
		}
		p.inserts = append(p.inserts, insertion{file: in.file, anchor: in.anchor, text: text})
	}
	return p, nil
}

func render(name string, n names) (string, error) {
	b, err := templates.ReadFile(path.Join("templates", name))
	if err != nil {
		return "", err
	}
	return renderText(string(b), n)
}

func renderText(text string, n names) (string, error) {
	t, err := template.New("").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, n); err != nil {
		return "", err
	}
	return b.String(), nil
}

// The entries of a service in the deploy files, as quoteservice's are; a consumer's have
// the broker's address and its queue too, and wait for a healthy broker. Its line in the
// list of services says who made it: remove-service takes out only what new-service made
// (quoteservice's entries are the very same text as the template's).
const (
	serviceLine = "{{.Name}} {{.Port}} {{.Kind}} " + madeBy + "\n"
	madeBy      = "# made by make new-service"

	dockerfileStage = `FROM runtime AS {{.Name}}
COPY --from=build /out/{{.Name}} /app/{{.Name}}
EXPOSE {{.Port}}
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/app/healthcheck", "http://127.0.0.1:{{.Port}}/healthz"]
ENTRYPOINT ["/app/{{.Name}}"]

`
	composeService = `  {{.Name}}:
    <<: *tracelab-service
    image: "localhost/tracelab/{{.Name}}:${TAG:-dev}"
    build: { context: ., target: {{.Name}} }
    environment:
      <<: [*tracing-env, *faults-env]
      {{.Upper}}_ADDR: ":{{.Port}}"
{{- if eq .Kind "consumer"}}
      AMQP_URL: "amqp://${RABBITMQ_USER:-guest}:${RABBITMQ_PASSWORD:-guest}@rabbitmq:5672/"
      {{.Upper}}_QUEUE: "{{.Name}}Queue"
{{- end}}
    healthcheck:
      <<: *healthcheck-timing
      test: ["CMD", "/app/healthcheck", "http://127.0.0.1:{{.Port}}/healthz"]
    depends_on:
{{- if eq .Kind "consumer"}}
      rabbitmq: { condition: service_healthy }
{{- end}}
      jaeger: { condition: service_healthy }
      zipkin-relay: { condition: service_healthy }
      gelf-relay: { condition: service_healthy }

`
	swarmService = `  {{.Name}}:
    image: "localhost/tracelab/{{.Name}}:${TAG:-dev}"
    environment:
      <<: *tracelab-env
{{- if eq .Kind "consumer"}}
      AMQP_URL: "amqp://guest:guest@rabbitmq:5672/"
      {{.Upper}}_QUEUE: "{{.Name}}Queue"
{{- end}}
    healthcheck:
      <<: *healthcheck-timing
      test: ["CMD", "/app/healthcheck", "http://127.0.0.1:{{.Port}}/healthz"]
    deploy:
      <<: *tracelab-deploy
      replicas: 2

`
)

// repository reads and writes the files of the repository at root.
type repository struct{ root string }

func (r repository) path(rel string) string { return filepath.Join(r.root, filepath.FromSlash(rel)) }

func (r repository) read(rel string) (string, error) {
	b, err := os.ReadFile(r.path(rel))
	return string(b), err
}

// listed is one line of the list of services.
type listed struct {
	name, line string
	port       int
}

// services reads the list of services, in order.
func (r repository) services() ([]listed, error) {
	txt, err := r.read(servicesFile)
	if err != nil {
		return nil, err
	}
	var list []listed
	for _, line := range strings.SplitAfter(txt, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		port, _ := strconv.Atoi(f[1])
		list = append(list, listed{name: f[0], line: line, port: port})
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s lists no services", servicesFile)
	}
	return list, nil
}

// newService checks name, port and kind, then writes the service and its entries.
func newService(r repository, name string, port int, kind string, stdout io.Writer) error {
	if !serviceNamePattern.MatchString(name) {
		return fmt.Errorf("%q: a service's name is a DNS label without dashes (lower-case letters and digits, starting "+
			"with a letter, at most 63): it is the folder, the host name in compose and Kubernetes, the tracer's service "+
			"name and, in upper case, the prefix of its variables", name)
	}
	if kind != "http" && kind != "consumer" {
		return fmt.Errorf("KIND=%s: a service is http (quoteservice's anatomy) or consumer (vipservice's: an AMQP queue's consumer)", kind)
	}
	list, err := r.services()
	if err != nil {
		return err
	}
	if _, err := os.Stat(r.path(name)); err == nil {
		return fmt.Errorf("%s/ exists already: pick another name (make remove-service NAME=%s takes out one that make new-service made)", name, name)
	}
	for _, s := range list {
		if s.name == name {
			return fmt.Errorf("%s is in %s already", name, servicesFile)
		}
		if s.port == port {
			return fmt.Errorf("port %d is %s's: pick another with PORT=", port, s.name)
		}
	}
	if port < 1024 || port > 45535 {
		return fmt.Errorf("port %d: pick one from 1024 to 45535 (the services run as a non-root user; "+
			"the e2e and reliability suites run the service 10000 and 20000 ports higher)", port)
	}
	for _, suite := range []struct {
		offset int
		where  string
	}{{0, ""}, {10000, " in the e2e suite"}, {20000, " in the reliability suite"}} {
		if what, ok := reserved[port+suite.offset]; ok {
			return fmt.Errorf("port %d%s is %d, %s's: pick another with PORT=", port, suite.where, port+suite.offset, what)
		}
	}
	compose, err := r.read("docker-compose.yml")
	if err != nil {
		return err
	}
	if strings.Contains(compose, "\n  "+name+":\n") {
		return fmt.Errorf("docker-compose.yml has a service %s already: pick another name", name)
	}

	p, err := makePlan(newNames(name, port, kind), list[0].line)
	if err != nil {
		return err
	}
	edited, err := p.apply(r)
	if err != nil {
		return err
	}
	for _, f := range p.order {
		if _, err := os.Stat(r.path(f)); err == nil {
			return fmt.Errorf("%s exists already", f)
		}
	}
	// Every check has passed: write.
	if err := os.MkdirAll(r.path(name), 0o755); err != nil {
		return err
	}
	for _, f := range p.order {
		if err := os.WriteFile(r.path(f), []byte(p.files[f]), 0o644); err != nil {
			return err
		}
	}
	for _, f := range sortedKeys(edited) {
		if err := os.WriteFile(r.path(f), []byte(edited[f]), 0o644); err != nil {
			return err
		}
	}
	printNew(stdout, p, sortedKeys(edited))
	return nil
}

// apply returns the edited files' new contents, failing when an anchor is missing.
func (p plan) apply(r repository) (map[string]string, error) {
	edited := map[string]string{}
	for _, in := range p.inserts {
		txt, ok := edited[in.file]
		if !ok {
			var err error
			if txt, err = r.read(in.file); err != nil {
				return nil, err
			}
		}
		if strings.Count(txt, in.anchor) != 1 {
			return nil, fmt.Errorf("%s: want %q exactly once, to add %s before it", in.file, in.anchor, p.n.Name)
		}
		edited[in.file] = strings.Replace(txt, in.anchor, in.text+in.anchor, 1)
	}
	return edited, nil
}

// removeService takes out what newService wrote for name, after checking that all of it
// is there as written: a service made by hand, or whose entries were edited since, is left
// alone, and the error says where it differs.
func removeService(r repository, name string, stdout io.Writer) error {
	list, err := r.services()
	if err != nil {
		return err
	}
	var self *listed
	for i := range list {
		if list[i].name == name {
			self = &list[i]
		}
	}
	if self == nil {
		return fmt.Errorf("%s is not in %s: nothing to remove", name, servicesFile)
	}
	if !strings.HasSuffix(self.line, madeBy+"\n") {
		return fmt.Errorf("%s was not made by make new-service (its line in %s does not say %q): remove it by hand",
			name, servicesFile, madeBy)
	}
	kind := strings.Fields(self.line)[2]
	p, err := makePlan(newNames(name, self.port, kind), "")
	if err != nil {
		return err
	}
	edited := map[string]string{}
	for _, in := range p.inserts {
		txt, ok := edited[in.file]
		if !ok {
			if txt, err = r.read(in.file); err != nil {
				return err
			}
		}
		if strings.Count(txt, in.text) != 1 {
			return fmt.Errorf("%s: %s's entry is not there as make new-service wrote it: remove %s by hand, or put it back:\n%s",
				in.file, name, name, in.text)
		}
		edited[in.file] = strings.Replace(txt, in.text, "", 1)
	}
	for _, f := range sortedKeys(edited) {
		if err := os.WriteFile(r.path(f), []byte(edited[f]), 0o644); err != nil {
			return err
		}
	}
	for _, f := range p.order {
		if err := os.Remove(r.path(f)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	// The folder goes whole: what was written in it since is the service's too.
	if err := os.RemoveAll(r.path(name)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed %s: its folder, %s, and its entries in %s\n", name,
		strings.Join(p.outside(), ", "), strings.Join(sortedKeys(edited), ", "))
	return nil
}
