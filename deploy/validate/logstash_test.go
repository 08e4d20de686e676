package validate

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	config "github.com/breml/logstash-config"
	"github.com/breml/logstash-config/ast"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The log pipeline, checked without a Logstash: deploy/compose/logstash/pipeline/*.conf is
// parsed with github.com/breml/logstash-config, a Go port of Logstash's own Treetop
// grammar (v0.5.3: the newest version the module proxy serves here), so its syntax is
// checked as Logstash would check it. What only a running Logstash can tell (that a plugin
// is installed, that Elasticsearch accepts the documents) is not checked; what the
// pipeline does to fields is, plugin by plugin, by the rules in checkFieldWrites.

// pipelineDir holds the pipeline; docker-compose.yml mounts it, the Kubernetes overlay makes
// a ConfigMap of it.
const pipelineDir = "deploy/compose/logstash/pipeline"

// knownOptions are the options of the plugins the pipeline uses, from their reference pages
// (elastic.co/guide/en/logstash/current/plugins-*.html), common options included. An option
// missing here is most likely a typo, which Logstash would refuse at start; if it is a real
// one, add it.
var knownOptions = map[string][]string{
	"input/gelf": {"host", "port", "port_tcp", "port_udp", "use_udp", "use_tcp", "remap", "strip_leading_underscore",
		"add_field", "codec", "enable_metric", "id", "tags", "type"},
	"input/beats": {"host", "port", "client_inactivity_timeout", "ecs_compatibility", "enrich", "event_loop_threads",
		"executor_threads", "include_codec_tag", "add_hostname", "ssl_enabled", "ssl_certificate", "ssl_key",
		"ssl_certificate_authorities", "ssl_client_authentication", "add_field", "codec", "enable_metric", "id", "tags", "type"},
	"filter/json": {"source", "target", "skip_on_invalid_json", "tag_on_failure", "ecs_compatibility",
		"add_field", "add_tag", "enable_metric", "id", "periodic_flush", "remove_field", "remove_tag"},
	"filter/mutate": {"convert", "copy", "gsub", "join", "lowercase", "merge", "coerce", "rename", "replace", "split",
		"strip", "update", "uppercase", "capitalize", "tag_on_failure",
		"add_field", "add_tag", "enable_metric", "id", "periodic_flush", "remove_field", "remove_tag"},
	"output/elasticsearch": {"hosts", "index", "action", "document_id", "pipeline", "data_stream", "data_stream_type",
		"data_stream_dataset", "data_stream_namespace", "data_stream_auto_routing", "data_stream_sync_fields",
		"ecs_compatibility", "user", "password", "api_key", "cloud_id", "cloud_auth", "ssl_enabled",
		"ssl_certificate_authorities", "ssl_verification_mode", "ilm_enabled", "manage_template", "template_name",
		"codec", "enable_metric", "id"},
}

// parsePipeline parses one pipeline file.
func parsePipeline(t *testing.T, file string) ast.Config {
	t.Helper()
	v, err := config.ParseFile(file)
	if err != nil {
		t.Fatalf("%s does not parse as a Logstash pipeline: %v", file, err)
	}
	c, ok := v.(ast.Config)
	if !ok {
		t.Fatalf("%s: parser returned %T", file, v)
	}
	for _, w := range c.Warnings {
		t.Errorf("%s: %s", file, w)
	}
	return c
}

// pipelinePlugin is a plugin with the conditions it runs under.
type pipelinePlugin struct {
	section string // input, filter or output
	plugin  ast.Plugin
	guards  []ast.Condition // of every enclosing if (an else or else if counts as its own)
}

func (p pipelinePlugin) String() string {
	return fmt.Sprintf("%s %s (line %d)", p.section, p.plugin.Name(), p.plugin.Pos().Line)
}

// plugins lists every plugin of a section, in order, with its guards.
func plugins(section string, sections []ast.PluginSection) []pipelinePlugin {
	var out []pipelinePlugin
	var walk func(bops []ast.BranchOrPlugin, guards []ast.Condition)
	walk = func(bops []ast.BranchOrPlugin, guards []ast.Condition) {
		for _, bop := range bops {
			switch b := bop.(type) {
			case ast.Plugin:
				out = append(out, pipelinePlugin{section, b, guards})
			case ast.Branch:
				walk(b.IfBlock.Block, append(slices.Clone(guards), b.IfBlock.Condition))
				for _, e := range b.ElseIfBlock {
					walk(e.Block, append(slices.Clone(guards), e.Condition))
				}
				// An else runs when the conditions above are false: no guard it can be
				// credited with.
				walk(b.ElseBlock.Block, append(slices.Clone(guards), ast.Condition{}))
			}
		}
	}
	for _, s := range sections {
		walk(s.BranchOrPlugins, nil)
	}
	return out
}

// attr returns a plugin's attribute of that name, or nil.
func attr(p ast.Plugin, name string) ast.Attribute {
	for _, a := range p.Attributes {
		if a != nil && a.Name() == name {
			return a
		}
	}
	return nil
}

// attrString returns the value of a string, bareword or number attribute.
func attrString(a ast.Attribute) string {
	switch a := a.(type) {
	case ast.StringAttribute:
		return a.Value()
	case ast.NumberAttribute:
		return strconv.FormatFloat(a.Value(), 'f', -1, 64)
	}
	return ""
}

// fieldName writes a field reference the way the services name their fields: [a][b] and
// a.b both become a.b (Elasticsearch maps them to the same field).
func fieldName(ref string) string {
	ref = strings.TrimSpace(ref)
	if strings.HasPrefix(ref, "[") {
		return strings.Join(strings.Split(strings.Trim(ref, "[]"), "]["), ".")
	}
	return ref
}

// touches reports whether writing or removing ref changes field: the same field, or an
// object that holds it.
func touches(ref, field string) bool {
	r := fieldName(ref)
	return r == field || strings.HasPrefix(field, r+".")
}

// onlyForeignLines reports whether one of guards runs its block only for lines that lack
// a field every tracelab service writes (if ![service.name]): lines that are not ours,
// whose fields the pipeline may fill in.
func onlyForeignLines(guards []ast.Condition, logged []string) bool {
	for _, g := range guards {
		if len(g.Expression) != 1 {
			continue
		}
		if neg, ok := g.Expression[0].(ast.NegativeSelectorExpression); ok && slices.Contains(logged, fieldName(neg.Selector.String())) {
			return true
		}
	}
	return false
}

// TestLogstashPipeline checks the pipeline: it parses, with the input, filter and output
// sections; every option is one its plugin has; the gelf input listens where compose
// publishes it and the services' log driver sends, the beats input where the Kubernetes
// Service and Filebeat point; the json filter reads the field the line arrives in and puts
// its fields at the top; the filters leave every field the services log (collected from
// common/logging) as it is; the output writes the data stream Kibana's data view covers.
func TestLogstashPipeline(t *testing.T) {
	files, _ := filepath.Glob(repoPath(pipelineDir, "*.conf"))
	if len(files) == 0 {
		t.Fatalf("no pipeline in %s", pipelineDir)
	}
	var all []pipelinePlugin
	for _, f := range files {
		c := parsePipeline(t, f)
		all = append(all, plugins("input", c.Input)...)
		all = append(all, plugins("filter", c.Filter)...)
		all = append(all, plugins("output", c.Output)...)
	}
	bySection := map[string][]pipelinePlugin{}
	for _, p := range all {
		bySection[p.section] = append(bySection[p.section], p)
		opts, ok := knownOptions[p.section+"/"+p.plugin.Name()]
		if !ok {
			t.Errorf("%s: a plugin this test does not know; add its options to knownOptions, and its effect on fields to checkFieldWrites", p)
			continue
		}
		for _, a := range p.plugin.Attributes {
			if a != nil && !slices.Contains(opts, a.Name()) {
				t.Errorf("%s: option %q is not one of the plugin's: %v", p, a.Name(), opts)
			}
		}
	}
	for _, s := range []string{"input", "filter", "output"} {
		if len(bySection[s]) == 0 {
			t.Errorf("pipeline: no %s plugins", s)
		}
	}

	logged := loggedFields(t)
	for _, f := range []string{"@timestamp", "log.level", "message", "service.name", "trace.id", "span.id",
		"http.request.method", "url.path", "http.route", "http.response.status_code", "http.response.body.bytes",
		"event.duration", "client.address"} {
		if !slices.Contains(logged, f) {
			t.Errorf("loggedFields() = %v, missing %s: common/logging changed, or the scan lost it", logged, f)
		}
	}

	t.Run("inputs", func(t *testing.T) { checkInputs(t, bySection["input"]) })
	t.Run("json", func(t *testing.T) { checkJSONFilter(t, bySection["filter"]) })
	t.Run("fields", func(t *testing.T) {
		for _, p := range bySection["filter"] {
			checkFieldWrites(t, p, logged)
		}
	})
	t.Run("output", func(t *testing.T) { checkOutput(t, bySection["output"]) })
}

// checkInputs: gelf on the UDP port that gelf-relay passes the services' lines to (it
// listens where compose publishes it and the services' gelf driver sends); beats on the
// port the Kubernetes Service targets and Filebeat sends to.
func checkInputs(t *testing.T, inputs []pipelinePlugin) {
	ports := map[string]string{}
	for _, p := range inputs {
		ports[p.plugin.Name()] = attrString(attr(p.plugin, "port"))
		if p.plugin.Name() == "gelf" {
			if v := attrString(attr(p.plugin, "use_udp")); v == "false" {
				t.Errorf("%s: use_udp => false, but Docker's gelf driver sends over UDP", p)
			}
			if v := attrString(attr(p.plugin, "remap")); v == "false" {
				t.Errorf("%s: remap => false leaves the line in short_message, and the json filter reads message", p)
			}
		}
	}
	gelfPort, beatsPort := ports["gelf"], ports["beats"]
	if gelfPort == "" {
		gelfPort = "12201" // the plugin's default
	}

	// The daemon sends to gelf-relay's published port, gelf-relay to logstash's input.
	relay := readRepoFile(t, "deploy", "compose", "gelf-relay", "nginx.conf")
	listen := regexp.MustCompile(`(?m)^\s*listen\s+(\d+)\s+udp\s*;`).FindStringSubmatch(relay)
	upstream := regexp.MustCompile(`(?m)^\s*set\s+\$logstash\s+logstash:(\d+)\s*;`).FindStringSubmatch(relay)
	if listen == nil || upstream == nil {
		t.Fatalf("gelf-relay/nginx.conf: want `listen <port> udp;` and `set $logstash logstash:<port>;`")
	}
	if upstream[1] != gelfPort {
		t.Errorf("gelf-relay passes the lines to logstash:%s, but the gelf input listens on %s", upstream[1], gelfPort)
	}
	p := loadCompose(t, []string{"docker-compose.yml"}, []string{"elk"}, nil)
	var published string
	for _, port := range p.Services["gelf-relay"].Ports {
		if port.Protocol == "udp" && strconv.Itoa(int(port.Target)) == listen[1] {
			published = port.Published
		}
	}
	if published == "" {
		t.Errorf("compose: gelf-relay publishes no UDP port to its listen port %s", listen[1])
	}
	for _, name := range ourServices {
		l := p.Services[name].Logging
		if l == nil {
			t.Errorf("compose: %s has no logging section: its lines would never reach Logstash", name)
			continue
		}
		u, err := url.Parse(l.Options["gelf-address"])
		if l.Driver != "gelf" || err != nil || u.Scheme != "udp" || u.Port() != published {
			t.Errorf("compose: %s logs with %s to gelf-address %q, want gelf to udp://127.0.0.1:%s (where gelf-relay is published)",
				name, l.Driver, l.Options["gelf-address"], published)
		}
	}

	r := renderK8s(t, k8sOverlay)
	svc, _ := r.get("Service", "logstash").(*corev1.Service)
	logstash := r.deployment(t, "logstash").Spec.Template.Spec.Containers[0]
	var svcPort int32
	if svc != nil {
		for _, sp := range svc.Spec.Ports {
			if strconv.Itoa(containerPort(logstash, sp.TargetPort)) == beatsPort {
				svcPort = sp.Port
			}
		}
	}
	if beatsPort == "" || svcPort == 0 {
		t.Fatalf("k8s: no logstash Service port targets the beats input's port %q", beatsPort)
	}
	cm, _ := r.get("ConfigMap", "filebeat-config").(*corev1.ConfigMap)
	if cm == nil {
		t.Fatal("k8s: no ConfigMap filebeat-config")
	}
	var fb map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["filebeat.yml"]), &fb); err != nil {
		t.Fatalf("filebeat.yml: %v", err)
	}
	// Beats reads output.logstash: as output: {logstash: ...}; either way of writing it.
	out, _ := fb["output.logstash"].(map[string]any)
	if o, ok := fb["output"].(map[string]any); ok && out == nil {
		out, _ = o["logstash"].(map[string]any)
	}
	hosts := fmt.Sprint(out["hosts"])
	if want := fmt.Sprint([]any{"logstash:" + strconv.Itoa(int(svcPort))}); hosts != want {
		t.Errorf("filebeat.yml output.logstash.hosts = %s, want %s", hosts, want)
	}
	checkFilebeatMounts(t, r)
}

// filebeatLogDirs are where a node's container logs are, read-only for Filebeat: the
// links its inputs name (/var/log/containers), what they point to (/var/log/pods), and
// what those are links to where the node's runtime is Docker (Docker Desktop's
// Kubernetes, which deploy/README.md suggests): Docker's own directory. A link whose
// target is not mounted leads nowhere, and Filebeat reads nothing without a word.
var filebeatLogDirs = []string{"/var/log/containers", "/var/log/pods", "/var/lib/docker/containers"}

// checkFilebeatMounts: the Filebeat DaemonSet mounts each of filebeatLogDirs from the
// node, read-only.
func checkFilebeatMounts(t *testing.T, r *k8sRender) {
	t.Helper()
	ds, _ := r.get("DaemonSet", "filebeat").(*appsv1.DaemonSet)
	if ds == nil || len(ds.Spec.Template.Spec.Containers) == 0 {
		t.Fatal("k8s: no DaemonSet filebeat with a container")
	}
	hostPaths := map[string]string{} // volume name -> host path
	for _, v := range ds.Spec.Template.Spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	for _, dir := range filebeatLogDirs {
		found := false
		for _, m := range ds.Spec.Template.Spec.Containers[0].VolumeMounts {
			if m.MountPath == dir && hostPaths[m.Name] == dir {
				found = true
				if !m.ReadOnly {
					t.Errorf("k8s: filebeat mounts the node's %s writable, want readOnly", dir)
				}
			}
		}
		if !found {
			t.Errorf("k8s: filebeat does not mount the node's %s at %s: the log files' links into it would lead nowhere", dir, dir)
		}
	}
}

// checkJSONFilter: one json filter, first, reading message (where the gelf input, which
// remaps GELF's short_message, and Filebeat's container parser both put the line the
// service wrote) with no target, so the service's fields land at the top of the event
// under the names it gave them.
func checkJSONFilter(t *testing.T, filters []pipelinePlugin) {
	var jsons []pipelinePlugin
	for _, p := range filters {
		if p.plugin.Name() == "json" {
			jsons = append(jsons, p)
		}
	}
	if len(jsons) != 1 {
		t.Fatalf("json filters: %d, want 1", len(jsons))
	}
	j := jsons[0]
	if filters[0].plugin.Name() != "json" || len(j.guards) > 0 {
		t.Errorf("%s: want the json filter first and unconditional: every rule after it reads the parsed fields", j)
	}
	if src := attrString(attr(j.plugin, "source")); src != "message" {
		t.Errorf("%s: source => %q, want \"message\"", j, src)
	}
	if attr(j.plugin, "target") != nil {
		t.Errorf("%s: has a target: the services' fields would be nested under it, not where Kibana looks for them", j)
	}
}

// checkFieldWrites: no filter removes or renames a field the services log; a filter may
// write one only for lines that lack a field every service line has (a Go panic's plain
// text), where it fills in what is missing. The json filter and the rest of mutate's
// operations (tags) leave fields alone.
func checkFieldWrites(t *testing.T, p pipelinePlugin, logged []string) {
	t.Helper()
	foreign := onlyForeignLines(p.guards, logged)
	check := func(op, ref string, write bool) {
		for _, f := range logged {
			if !touches(ref, f) {
				continue
			}
			if !write || !foreign {
				t.Errorf("%s: %s %q changes %s, a field the services log", p, op, ref, f)
			}
		}
	}
	for _, a := range p.plugin.Attributes {
		if a == nil {
			continue
		}
		switch a.Name() {
		case "remove_field":
			for _, ref := range attrStrings(a) {
				check("remove_field", ref, false)
			}
		case "rename":
			for _, e := range hashEntries(a) {
				check("rename from", e[0], false)
				check("rename to", e[1], true)
			}
		case "copy": // source => destination
			for _, e := range hashEntries(a) {
				check("copy to", e[1], true)
			}
		case "add_field", "replace", "update": // field => value
			for _, e := range hashEntries(a) {
				check(a.Name(), e[0], true)
			}
		case "convert", "gsub", "lowercase", "uppercase", "capitalize", "strip", "split", "join", "merge", "coerce":
			for _, ref := range attrStrings(a) {
				check(a.Name(), ref, true)
			}
			for _, e := range hashEntries(a) {
				check(a.Name(), e[0], true)
			}
		case "target":
			check("target", attrString(a), true)
		}
	}
}

// attrStrings returns the strings of an array attribute (or the one of a string one).
func attrStrings(a ast.Attribute) []string {
	switch a := a.(type) {
	case ast.ArrayAttribute:
		var out []string
		for _, v := range a.Value() {
			out = append(out, attrString(v))
		}
		return out
	case ast.StringAttribute:
		return []string{a.Value()}
	}
	return nil
}

// hashEntries returns the key/value pairs of a hash attribute.
func hashEntries(a ast.Attribute) [][2]string {
	h, ok := a.(ast.HashAttribute)
	if !ok {
		return nil
	}
	var out [][2]string
	for _, e := range h.Value() {
		key := e.Key.ValueString()
		if s, ok := e.Key.(ast.StringAttribute); ok {
			key = s.Value()
		}
		out = append(out, [2]string{key, attrString(e.Value)})
	}
	return out
}

// checkOutput: the pipeline writes to Elasticsearch, reached by the URL compose and
// Kubernetes give Logstash, into an index or data stream that Kibana's data view
// (deploy/compose/kibana/setup.sh) covers.
func checkOutput(t *testing.T, outputs []pipelinePlugin) {
	view := kibanaDataView(t)
	found := false
	for _, p := range outputs {
		if p.plugin.Name() != "elasticsearch" {
			continue
		}
		found = true
		target := attrString(attr(p.plugin, "index"))
		if attrString(attr(p.plugin, "data_stream")) == "true" {
			get := func(name, def string) string {
				if v := attrString(attr(p.plugin, name)); v != "" {
					return v
				}
				return def
			}
			target = get("data_stream_type", "logs") + "-" + get("data_stream_dataset", "generic") + "-" + get("data_stream_namespace", "default")
		}
		if ok, _ := path.Match(view.Title, target); target == "" || !ok {
			t.Errorf("%s writes to %q, which Kibana's data view %q does not cover", p, target, view.Title)
		}
		hosts := attrStrings(attr(p.plugin, "hosts"))
		m := regexp.MustCompile(`^\$\{([A-Z_]+)(:[^}]*)?\}$`).FindStringSubmatch(strings.Join(hosts, ","))
		if m == nil {
			t.Errorf("%s: hosts => %v, want one ${VAR:default}, set by compose and Kubernetes", p, hosts)
			continue
		}
		p := loadCompose(t, []string{"docker-compose.yml"}, []string{"elk"}, nil)
		if v := deref(p.Services["logstash"].Environment[m[1]]); v != "http://elasticsearch:9200" {
			t.Errorf("compose: logstash %s=%q, want http://elasticsearch:9200", m[1], v)
		}
		r := renderK8s(t, k8sOverlay)
		env := resolveEnv(r, r.deployment(t, "logstash").Spec.Template.Spec.Containers[0])
		u, err := url.Parse(env[m[1]].value)
		if err != nil || u.Hostname() != "elasticsearch" {
			t.Errorf("k8s: logstash %s=%q, want http://elasticsearch:<port>", m[1], env[m[1]].value)
			continue
		}
		svc, _ := r.get("Service", "elasticsearch").(*corev1.Service)
		if svc == nil || !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return int(sp.Port) == urlPort(u) }) {
			t.Errorf("k8s: logstash %s=%q, but Service elasticsearch has no port %d", m[1], env[m[1]].value, urlPort(u))
		}
	}
	if !found {
		t.Error("pipeline: no elasticsearch output")
	}
}

// dataView is what setup.sh sends Kibana.
type dataView struct {
	Title         string `json:"title"`
	Name          string `json:"name"`
	TimeFieldName string `json:"timeFieldName"`
	FieldFormats  map[string]struct {
		ID     string `json:"id"`
		Params struct {
			Type          string `json:"type"`
			URLTemplate   string `json:"urlTemplate"`
			LabelTemplate string `json:"labelTemplate"`
		} `json:"params"`
	} `json:"fieldFormats"`
}

// kibanaDataView reads the data view out of deploy/compose/kibana/setup.sh: the JSON of its
// here-document, with the shell variables in it replaced by their values in the script,
// JAEGER_UI_URL at its default. It fails when the result is not JSON.
func kibanaDataView(t *testing.T) dataView {
	t.Helper()
	script := readRepoFile(t, "deploy", "compose", "kibana", "setup.sh")
	vars := map[string]string{}
	for _, re := range []string{
		`(?m)^(DATA_VIEW_PATTERN)='([^']*)'$`,
		`(?m)^(JAEGER_UI_URL)=\$\{JAEGER_UI_URL:-([^}]*)\}$`,
	} {
		m := regexp.MustCompile(re).FindStringSubmatch(script)
		if m == nil {
			t.Fatalf("setup.sh: no line matching %s", re)
		}
		vars[m[1]] = m[2]
	}
	m := regexp.MustCompile(`(?m)^trace_link=\$JAEGER_UI_URL'([^']*)'$`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("setup.sh: no trace_link=$JAEGER_UI_URL'...' line")
	}
	vars["trace_link"] = vars["JAEGER_UI_URL"] + m[1]
	m = regexp.MustCompile(`(?s)view=\$\(cat <<EOF\n(.*?)\nEOF\n\)`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("setup.sh: no view=$(cat <<EOF ... EOF) here-document")
	}
	doc := regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`).ReplaceAllStringFunc(m[1], func(v string) string {
		val, ok := vars[v[1:]]
		if !ok {
			t.Errorf("setup.sh: the data view uses %s, which this test cannot resolve", v)
		}
		return val
	})
	var view dataView
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&view); err != nil {
		t.Fatalf("setup.sh: the data view is not the JSON expected: %v\n%s", err, doc)
	}
	if view.Title != vars["DATA_VIEW_PATTERN"] {
		t.Errorf("setup.sh: data view title %q, want the pattern %q", view.Title, vars["DATA_VIEW_PATTERN"])
	}
	return view
}

// TestKibanaSetup checks the data view that setup.sh creates: timed by the services'
// @timestamp, and trace.id formatted as a link to the trace in the Jaeger UI
// (/trace/{{value}}), at the address where compose publishes the UI.
func TestKibanaSetup(t *testing.T) {
	view := kibanaDataView(t)
	logged := loggedFields(t)
	if !slices.Contains(logged, view.TimeFieldName) {
		t.Errorf("data view timeFieldName = %q, not a field the services log (%v)", view.TimeFieldName, logged)
	}
	f, ok := view.FieldFormats["trace.id"]
	if !ok {
		t.Fatalf("data view has no field format for trace.id: %v", sortedKeys(view.FieldFormats))
	}
	if !slices.Contains(logged, "trace.id") {
		t.Errorf("the services log no trace.id field (%v)", logged)
	}
	if f.ID != "url" || f.Params.Type != "a" {
		t.Errorf("trace.id format = %q type %q, want url type a (a link)", f.ID, f.Params.Type)
	}
	u, err := url.Parse(strings.Replace(f.Params.URLTemplate, "{{value}}", "TRACEID", 1))
	if err != nil || u.Path != "/trace/TRACEID" {
		t.Fatalf("trace.id urlTemplate = %q, want <Jaeger UI>/trace/{{value}}", f.Params.URLTemplate)
	}
	// setup.sh builds the link from JAEGER_UI_URL, which must be where a browser finds
	// the Jaeger UI: compose publishes it on localhost; on Kubernetes it is the
	// port-forward of the jaeger Service (deploy/README.md).
	p := loadCompose(t, []string{"docker-compose.yml"}, []string{"elk"}, nil)
	composeUI := deref(p.Services["kibana-setup"].Environment["JAEGER_UI_URL"])
	var published []string
	for _, port := range p.Services["jaeger"].Ports {
		if port.Target == 16686 {
			published = append(published, port.Published)
		}
	}
	checkJaegerUI(t, "compose kibana-setup", composeUI, published)

	r := renderK8s(t, k8sOverlay)
	job, _ := r.get("Job", "kibana-setup").(*batchv1.Job)
	if job == nil {
		t.Fatal("k8s: no Job kibana-setup")
	}
	k8sUI := resolveEnv(r, job.Spec.Template.Spec.Containers[0])["JAEGER_UI_URL"].value
	var forwarded []string
	if svc, _ := r.get("Service", "jaeger").(*corev1.Service); svc != nil {
		jaeger := r.deployment(t, "jaeger").Spec.Template.Spec.Containers[0]
		for _, sp := range svc.Spec.Ports {
			if containerPort(jaeger, sp.TargetPort) == 16686 {
				forwarded = append(forwarded, strconv.Itoa(int(sp.Port)))
			}
		}
	}
	checkJaegerUI(t, "k8s Job kibana-setup", k8sUI, forwarded)
}

// checkJaegerUI wants uiURL to be http://localhost:<one of ports>.
func checkJaegerUI(t *testing.T, where, uiURL string, ports []string) {
	t.Helper()
	u, err := url.Parse(uiURL)
	if err != nil || u.Scheme != "http" || u.Hostname() != "localhost" || !slices.Contains(ports, u.Port()) {
		t.Errorf("%s: JAEGER_UI_URL = %q, want http://localhost:<port> with a port where the Jaeger UI is reachable (%v)", where, uiURL, ports)
	}
}
