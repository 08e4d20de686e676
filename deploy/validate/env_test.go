package validate

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The environment is tracelab's configuration contract (STYLE.md): these tests hold every
// deploy file to what the code reads (source_test.go).

// runtimeVars are read by the Go runtime rather than by our code: setting them is no typo.
var runtimeVars = map[string]bool{"GOMEMLIMIT": true, "GOGC": true, "GODEBUG": true, "GOMAXPROCS": true, "GOTRACEBACK": true}

// infraPorts are the ports the infrastructure images listen on inside the network, from
// their documentation (no file here declares them for compose or Swarm; Kubernetes'
// Services do, and are used there instead): RabbitMQ's AMQP, Jaeger's collector for
// Jaeger Thrift over HTTP and OTLP (HTTP, gRPC), Zipkin's API.
var infraPorts = map[string][]int{"rabbitmq": {5672}, "jaeger": {14268, 4318, 4317}, "zipkin": {9411}}

// otlpHTTPPort is where TRACING_SDK=otel sends spans: Jaeger's OTLP/HTTP receiver, on the
// host of JAEGER_ENDPOINT (common/tracing's otlpEndpoint).
const otlpHTTPPort = 4318

// The exact values the URLs to the infrastructure must have.
const (
	jaegerEndpoint = "http://jaeger:14268/api/traces"
	zipkinPath     = "/api/v1/spans" // Zipkin's v1 API: the format common/tracing sends
)

// envPlatform is one way of running tracelab, as the environment checks see it.
type envPlatform struct {
	name       string
	services   map[string]*envContainer // our five
	hosts      map[string][]int         // host names on the platform's network, and their ports
	zipkinHost string                   // where ZIPKIN_ENDPOINT must point; "" when it must be unset
	edgePublic string                   // the edge as a browser reaches it: https://localhost:8765
	rabbitUser string                   // the broker's user and password, as it is configured
	rabbitPass string
	dependsOn  bool // whether a service must depend on the services it calls (compose)
	// Where the edge's admin listener (EDGE_ADMIN_ADDR) can be reached from outside its
	// container: "127.0.0.1:8766" for a port published on the host's loopback interface,
	// ":8766" for one published on every interface, "Service edge" for a Kubernetes Service.
	adminReach []string
}

// envContainer is one of our services on a platform.
type envContainer struct {
	set       map[string]string // what the platform sets, resolved
	shared    map[string]bool   // of set, the keys from a ConfigMap every service gets
	indirect  map[string]bool   // keys set only to build another ($(VAR) in Kubernetes)
	image     map[string]string // the image's ENV (Dockerfile)
	ports     map[string]int    // where the platform expects the service to listen: "healthcheck" -> 6767, ...
	dataDirs  []string          // mount points of persistent volumes
	dependsOn map[string]bool
}

// value returns what the service sees for k: the platform's setting, else the image's,
// and whether either sets it (a code default does not count: it is localhost).
func (c *envContainer) value(k string) (string, bool) {
	if v, ok := c.set[k]; ok {
		return v, true
	}
	v, ok := c.image[k]
	return v, ok
}

// composePlatform builds the environment view of docker-compose.yml with every profile
// and deploy/compose/debug.yml (whose published ports must land on the ports the
// services listen on too).
func composePlatform(t *testing.T) *envPlatform {
	t.Helper()
	p := loadCompose(t, []string{"docker-compose.yml", "deploy/compose/debug.yml"}, []string{"all"}, nil)
	plat := fromCompose(t, "compose", p)
	plat.zipkinHost = "zipkin-relay"
	plat.dependsOn = true
	plat.hosts["zipkin-relay"] = relayPorts(t)
	return plat
}

// swarmPlatform builds the environment view of the Swarm stack.
func swarmPlatform(t *testing.T) *envPlatform {
	t.Helper()
	p := loadCompose(t, []string{"deploy/swarm/tracelab-stack.yml"}, nil, nil)
	plat := fromCompose(t, "swarm", p)
	plat.zipkinHost = "zipkin"
	return plat
}

// relayPorts reads the ports zipkin-relay's nginx listens on.
func relayPorts(t *testing.T) []int {
	t.Helper()
	conf := readRepoFile(t, "deploy", "compose", "zipkin-relay", "nginx.conf")
	var ports []int
	for _, m := range regexp.MustCompile(`(?m)^\s*listen\s+(\d+)\s*;`).FindAllStringSubmatch(conf, -1) {
		n, _ := strconv.Atoi(m[1])
		ports = append(ports, n)
	}
	if len(ports) == 0 {
		t.Fatal("zipkin-relay/nginx.conf: no listen directive")
	}
	return ports
}

// fromCompose builds the environment view of a loaded compose project.
func fromCompose(t *testing.T, name string, p *types.Project) *envPlatform {
	t.Helper()
	plat := &envPlatform{name: name, services: map[string]*envContainer{}, hosts: map[string][]int{}}
	for svc, ports := range infraPorts {
		if _, ok := p.Services[svc]; ok {
			plat.hosts[svc] = ports
		}
	}
	for _, svc := range ourServices {
		s, ok := p.Services[svc]
		if !ok {
			t.Fatalf("%s: no service %s", name, svc)
		}
		c := &envContainer{set: map[string]string{}, image: imageEnv(t, svc), ports: map[string]int{}, dependsOn: map[string]bool{}}
		for k, v := range s.Environment {
			c.set[k] = deref(v)
		}
		if s.HealthCheck != nil {
			if u, ok := healthcheckURL(s.HealthCheck.Test); ok {
				c.ports["healthcheck "+u.String()] = urlPort(u)
			}
		}
		adminPort := 0
		if svc == "edge" {
			adminPort = edgeAdminPort(t, c)
		}
		for _, port := range s.Ports {
			if adminPort != 0 && int(port.Target) == adminPort {
				plat.adminReach = append(plat.adminReach, port.HostIP+":"+port.Published)
				continue
			}
			c.ports[fmt.Sprintf("published port %s->%d", port.Published, port.Target)] = int(port.Target)
			if svc == "edge" && port.Published != "" {
				plat.edgePublic = "https://localhost:" + port.Published
			}
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume {
				c.dataDirs = append(c.dataDirs, v.Target)
			}
		}
		for dep, d := range s.DependsOn {
			if d.Condition == types.ServiceConditionHealthy {
				c.dependsOn[dep] = true
			}
		}
		plat.services[svc] = c
	}
	for _, svc := range ourServices {
		addr, ok := plat.services[svc].value(strings.ToUpper(svc) + "_ADDR")
		if !ok {
			addr = sourceOf(t, svc).reads[strings.ToUpper(svc)+"_ADDR"].def
		}
		if port, _, err := addrPort(addr); err == nil {
			plat.hosts[svc] = []int{port}
		}
	}
	if r, ok := p.Services["rabbitmq"]; ok {
		plat.rabbitUser, plat.rabbitPass = deref(r.Environment["RABBITMQ_DEFAULT_USER"]), deref(r.Environment["RABBITMQ_DEFAULT_PASS"])
	}
	return plat
}

// k8sPlatform builds the environment view of a rendered kustomization.
func k8sPlatform(t *testing.T, dir string, zipkinHost string) *envPlatform {
	t.Helper()
	r := renderK8s(t, dir)
	plat := &envPlatform{name: dir, services: map[string]*envContainer{}, hosts: map[string][]int{}, zipkinHost: zipkinHost}
	for _, o := range r.objects {
		if svc, ok := o.obj.(*corev1.Service); ok {
			for _, p := range svc.Spec.Ports {
				plat.hosts[svc.Name] = append(plat.hosts[svc.Name], int(p.Port))
			}
		}
	}
	for _, name := range ourServices {
		d := r.deployment(t, name)
		pod := d.Spec.Template
		if len(pod.Spec.Containers) == 0 {
			t.Fatalf("%s: Deployment %s has no container", dir, name)
		}
		ctr := pod.Spec.Containers[0]
		c := &envContainer{set: map[string]string{}, shared: map[string]bool{}, image: imageEnv(t, name),
			ports: map[string]int{}, indirect: referencedVars(ctr)}
		for k, v := range resolveEnv(r, ctr) {
			c.set[k] = v.value
			if v.shared {
				c.shared[k] = true
			}
		}
		for _, p := range probes(ctr) {
			if p.probe != nil && p.probe.HTTPGet != nil {
				c.ports[p.kind+" port "+p.probe.HTTPGet.Port.String()] = containerPort(ctr, p.probe.HTTPGet.Port)
			}
		}
		claims := map[string]bool{}
		for _, v := range pod.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				claims[v.Name] = true
			}
		}
		for _, m := range ctr.VolumeMounts {
			if claims[m.Name] {
				c.dataDirs = append(c.dataDirs, m.MountPath)
			}
		}
		adminPort := 0
		if name == "edge" {
			adminPort = edgeAdminPort(t, c)
		}
		for _, o := range r.objects {
			svc, ok := o.obj.(*corev1.Service)
			if !ok || !matches(svc.Spec.Selector, pod.Labels) {
				continue
			}
			for _, p := range svc.Spec.Ports {
				tp := p.TargetPort
				if tp.Type == intstr.Int && tp.IntVal == 0 {
					tp = intstr.FromInt32(p.Port) // targetPort defaults to port
				}
				if adminPort != 0 && containerPort(ctr, tp) == adminPort {
					plat.adminReach = append(plat.adminReach, "Service "+svc.Name)
					continue
				}
				c.ports[fmt.Sprintf("Service %s port %d -> %s", svc.Name, p.Port, tp.String())] = containerPort(ctr, tp)
				if name == "edge" {
					plat.edgePublic = "https://localhost:" + strconv.Itoa(int(p.Port))
				}
			}
		}
		plat.services[name] = c
	}
	rabbit := r.deployment(t, "rabbitmq").Spec.Template.Spec.Containers[0]
	renv := resolveEnv(r, rabbit)
	plat.rabbitUser, plat.rabbitPass = renv["RABBITMQ_DEFAULT_USER"].value, renv["RABBITMQ_DEFAULT_PASS"].value
	return plat
}

// TestEnvironment checks, on every platform (docker-compose.yml, the Kubernetes base and
// overlay, the Swarm stack), that each of our services is given exactly what its code
// reads, with values that work inside that platform's network. See checkServiceEnv.
func TestEnvironment(t *testing.T) {
	platforms := []func(t *testing.T) *envPlatform{
		composePlatform,
		func(t *testing.T) *envPlatform { return k8sPlatform(t, k8sBase, "") },
		func(t *testing.T) *envPlatform { return k8sPlatform(t, k8sOverlay, "zipkin") },
		swarmPlatform,
	}
	for i, build := range platforms {
		t.Run([]string{"compose", "k8s-base", "k8s-observability", "swarm"}[i], func(t *testing.T) {
			plat := build(t)
			if plat.edgePublic == "" {
				t.Fatalf("%s: the edge is published on no port", plat.name)
			}
			for _, name := range ourServices {
				t.Run(name, func(t *testing.T) { checkServiceEnv(t, plat, name) })
			}
			checkSharedEnv(t, plat)
			checkQueue(t, plat)
			checkFaults(t, plat)
		})
	}
}

// checkServiceEnv checks one service on one platform:
//   - every variable set is one the service reads (or the Go runtime reads, or one only
//     used to build another): no typo, no dead setting;
//   - <SERVICE>_ADDR listens on every interface, on the port the healthcheck, probes,
//     Service and published ports use;
//   - each <SERVICE>_URL is set (the default is localhost, wrong in a container) and
//     names that service by its host name, on the port it listens on;
//   - AMQP_URL names rabbitmq, with the broker's own user and password;
//   - JAEGER_ENDPOINT is Jaeger's collector; ZIPKIN_ENDPOINT Zipkin's (or the relay's)
//     /api/v1/spans where Zipkin runs, and unset where it does not;
//   - IMAGESERVICE_PUBLIC_URL is the edge's public address plus the prefix of its route
//     to imageservice, so a browser can follow the image URLs;
//   - ACCOUNTSERVICE_DB lies on a persistent volume;
//   - in compose, a service depends on (and waits for the health of) every service it calls.
func checkServiceEnv(t *testing.T, plat *envPlatform, name string) {
	src := sourceOf(t, name)
	c := plat.services[name]
	where := plat.name + ": " + name

	for _, k := range sortedKeys(c.set) {
		_, read := src.reads[k]
		if read || runtimeVars[k] || c.shared[k] || c.indirect[k] {
			continue
		}
		t.Errorf("%s: sets %s=%q, which %s does not read (a typo, or a setting nothing uses)", where, k, c.set[k], name)
	}
	if v, ok := c.value("LOG_LEVEL"); ok && !slices.Contains([]string{"debug", "info", "warn", "error"}, v) {
		t.Errorf("%s: LOG_LEVEL=%q, want debug, info, warn or error", where, v)
	}

	// The listen address against every port the platform uses to reach the service.
	addrVar := src.addrVar()
	addr, ok := c.value(addrVar)
	if !ok {
		addr = src.reads[addrVar].def
	}
	port, all, err := addrPort(addr)
	if err != nil {
		t.Errorf("%s: %s=%q: %v", where, addrVar, addr, err)
	} else if !all {
		t.Errorf("%s: %s=%q listens on one interface only; other containers could not reach it", where, addrVar, addr)
	}
	if len(c.ports) == 0 {
		t.Errorf("%s: no healthcheck, probe or Service port to hold %s against", where, addrVar)
	}
	for _, k := range sortedKeys(c.ports) {
		if c.ports[k] != port {
			t.Errorf("%s: %s uses port %d, but %s=%q listens on %d", where, k, c.ports[k], addrVar, addr, port)
		}
	}

	calls := map[string]bool{} // services this one calls, for depends_on
	checkURL := func(k, scheme, host string, wantPath string) *url.URL {
		t.Helper()
		v, ok := c.value(k)
		if !ok {
			t.Errorf("%s: %s is not set; its default (%q) means this container itself", where, k, src.reads[k].def)
			return nil
		}
		u, err := url.Parse(v)
		if err != nil {
			t.Errorf("%s: %s=%q: %v", where, k, v, err)
			return nil
		}
		if u.Scheme != scheme || u.Hostname() != host || !slices.Contains(plat.hosts[host], urlPort(u)) {
			t.Errorf("%s: %s=%q, want %s://%s:<port> with a port %s listens on (%v)", where, k, v, scheme, host, host, plat.hosts[host])
		}
		if wantPath != "*" && strings.TrimSuffix(u.Path, "/") != wantPath {
			t.Errorf("%s: %s=%q: path %q, want %q", where, k, v, u.Path, wantPath)
		}
		calls[host] = true
		return u
	}

	for _, k := range sortedKeys(src.reads) {
		m := regexp.MustCompile(`^([A-Z]+)_URL$`).FindStringSubmatch(k)
		if m == nil || !isOurs(strings.ToLower(m[1])) {
			continue
		}
		target := strings.ToLower(m[1])
		scheme := "http"
		if target == "edge" {
			scheme = "https"
		}
		checkURL(k, scheme, target, "")
	}
	if _, ok := src.reads["AMQP_URL"]; ok {
		if u := checkURL("AMQP_URL", "amqp", "rabbitmq", "*"); u != nil {
			pass, _ := u.User.Password()
			if u.User.Username() != plat.rabbitUser || pass != plat.rabbitPass {
				t.Errorf("%s: AMQP_URL logs in as %q/%q, but rabbitmq's user is %q/%q", where, u.User.Username(), pass, plat.rabbitUser, plat.rabbitPass)
			}
		}
	}
	if v, ok := c.value("JAEGER_ENDPOINT"); !ok || v != jaegerEndpoint {
		t.Errorf("%s: JAEGER_ENDPOINT=%q (set: %v), want %q", where, v, ok, jaegerEndpoint)
	} else {
		checkURL("JAEGER_ENDPOINT", "http", "jaeger", "/api/traces")
	}
	// Either SDK must work where the platform runs: the default is set, and Jaeger listens
	// where the otel mode sends, so switching TRACING_SDK needs no other change.
	if v, _ := c.value("TRACING_SDK"); v != "jaeger" {
		t.Errorf("%s: TRACING_SDK=%q, want jaeger (the default; otel is the user's switch)", where, v)
	}
	if !slices.Contains(plat.hosts["jaeger"], otlpHTTPPort) {
		t.Errorf("%s: jaeger listens on %v, not on OTLP's %d: TRACING_SDK=otel would lose every span", where, plat.hosts["jaeger"], otlpHTTPPort)
	}
	if plat.zipkinHost == "" {
		if v, ok := c.value("ZIPKIN_ENDPOINT"); ok {
			t.Errorf("%s: ZIPKIN_ENDPOINT=%q, but no Zipkin runs here: every flush would fail", where, v)
		}
	} else {
		checkURL("ZIPKIN_ENDPOINT", "http", plat.zipkinHost, zipkinPath)
	}
	if _, ok := src.reads["IMAGESERVICE_PUBLIC_URL"]; ok {
		want := plat.edgePublic + imagesPrefix(t)
		if v, _ := c.value("IMAGESERVICE_PUBLIC_URL"); v != want {
			t.Errorf("%s: IMAGESERVICE_PUBLIC_URL=%q, want %q: the edge, where a browser can follow the image URLs", where, v, want)
		}
	}
	if _, ok := src.reads["ACCOUNTSERVICE_DB"]; ok {
		db, ok := c.value("ACCOUNTSERVICE_DB")
		if !ok || !path.IsAbs(db) {
			t.Errorf("%s: ACCOUNTSERVICE_DB=%q, want an absolute path on a volume", where, db)
		} else if !slices.Contains(c.dataDirs, path.Dir(db)) {
			t.Errorf("%s: ACCOUNTSERVICE_DB=%q is not on a persistent volume (mounted: %v); the accounts would go with the container", where, db, c.dataDirs)
		}
	}
	if plat.dependsOn {
		for _, dep := range sortedKeys(calls) {
			if !c.dependsOn[dep] {
				t.Errorf("%s: calls %s but has no depends_on %s with condition service_healthy", where, dep, dep)
			}
		}
	}
}

// imagesPrefix returns the path under which the edge serves imageservice's files, from
// the edge's route table, after checking that the route and imageservice's own agree:
// GET <prefix>/file/{name} on the edge, the prefix stripped, is GET /file/{name}.
func imagesPrefix(t *testing.T) string {
	t.Helper()
	for _, r := range edgeRoutes(t) {
		if r.service != "imageservice" {
			continue
		}
		method, p, _ := strings.Cut(r.pattern, " ")
		inner := method + " " + strings.TrimPrefix(p, r.stripPrefix)
		if !strings.HasPrefix(p, r.stripPrefix) || !slices.Contains(muxPatterns(t, "imageservice"), inner) {
			t.Errorf("edge route %q minus %q is %q, which imageservice does not serve (it serves %v)",
				r.pattern, r.stripPrefix, inner, muxPatterns(t, "imageservice"))
		}
		return r.stripPrefix
	}
	t.Fatal("the edge has no route to imageservice: the image URLs it hands out cannot be followed")
	return ""
}

// checkSharedEnv: a key of a ConfigMap every service gets must be read by one of them.
func checkSharedEnv(t *testing.T, plat *envPlatform) {
	t.Helper()
	shared := map[string]bool{}
	for _, c := range plat.services {
		for k := range c.shared {
			shared[k] = true
		}
	}
	for _, k := range sortedKeys(shared) {
		readBy := false
		for _, name := range ourServices {
			if _, ok := sourceOf(t, name).reads[k]; ok && plat.services[name].shared[k] {
				readBy = true
			}
		}
		if !readBy && !runtimeVars[k] {
			t.Errorf("%s: the shared ConfigMap sets %s, which no service reads", plat.name, k)
		}
	}
}

// checkQueue: the producer and the consumer of the VIP events use the same queue.
func checkQueue(t *testing.T, plat *envPlatform) {
	t.Helper()
	queues := map[string]string{}
	for _, name := range ourServices {
		r, ok := sourceOf(t, name).reads["VIP_QUEUE"]
		if !ok {
			continue
		}
		q, set := plat.services[name].value("VIP_QUEUE")
		if !set {
			q = r.def
		}
		queues[name] = q
	}
	if len(queues) < 2 {
		t.Fatalf("%s: VIP_QUEUE is read by %v; want the producer and the consumer", plat.name, sortedKeys(queues))
	}
	var first string
	for _, name := range sortedKeys(queues) {
		if first == "" {
			first = name
		}
		if queues[name] != queues[first] {
			t.Errorf("%s: VIP_QUEUE of %s = %q but of %s = %q: the events would go where nobody reads", plat.name, first, queues[first], name, queues[name])
		}
	}
}

// edgeAdminPort is the port the edge's admin listener takes in c (EDGE_ADMIN_ADDR, else
// the code's default), 0 when it is off.
func edgeAdminPort(t *testing.T, c *envContainer) int {
	t.Helper()
	addr, ok := c.value("EDGE_ADMIN_ADDR")
	if !ok {
		addr = sourceOf(t, "edge").reads["EDGE_ADMIN_ADDR"].def
	}
	if addr == "off" {
		return 0
	}
	port, _, err := addrPort(addr)
	if err != nil {
		t.Errorf("edge: EDGE_ADMIN_ADDR=%q: %v", addr, err)
	}
	return port
}

// checkFaults holds the workshop's fault switches to what a deployment must be:
//   - the edge's admin listener, which switches faults for everyone, is published on the
//     host's loopback interface at most (compose), and never by a Kubernetes Service or
//     a Swarm port: nobody from outside switches faults;
//   - every service reads TRACELAB_FAULTS and TRACELAB_FAULTS_ENABLED and is given both
//     the same way where the platform sets them (one service with the machinery on while
//     the edge has it off would take faults the edge was meant to refuse), with
//     TRACELAB_FAULTS_ENABLED a bool and no fault on from the start.
func checkFaults(t *testing.T, plat *envPlatform) {
	t.Helper()
	for _, reach := range plat.adminReach {
		if plat.name != "compose" || !strings.HasPrefix(reach, "127.0.0.1:") {
			t.Errorf("%s: the edge's admin listener (EDGE_ADMIN_ADDR) is reachable from outside as %q; "+
				"publish it on 127.0.0.1 only (compose), or not at all", plat.name, reach)
		}
	}
	for _, k := range []string{"TRACELAB_FAULTS", "TRACELAB_FAULTS_ENABLED"} {
		values := map[string]string{}
		for _, name := range ourServices {
			if _, read := sourceOf(t, name).reads[k]; !read {
				t.Errorf("%s does not read %s: every service switches faults through common/faults", name, k)
			}
			v, set := plat.services[name].value(k)
			if !set {
				v = "<unset>"
			}
			values[name] = v
		}
		first := values[ourServices[0]]
		for _, name := range ourServices {
			if values[name] != first {
				t.Errorf("%s: %s is %q for %s but %q for %s: set it alike for every service", plat.name, k, values[name], name, first, ourServices[0])
			}
		}
		switch {
		case k == "TRACELAB_FAULTS" && first != "" && first != "<unset>":
			t.Errorf("%s: TRACELAB_FAULTS=%q: a deployment starts with no fault on (set it when you run it)", plat.name, first)
		case k == "TRACELAB_FAULTS_ENABLED" && first != "<unset>":
			if _, err := strconv.ParseBool(first); err != nil {
				t.Errorf("%s: TRACELAB_FAULTS_ENABLED=%q: want true or false", plat.name, first)
			}
		}
	}
}
