package validate

import (
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The kustomizations under deploy/k8s, rendered as `kubectl apply -k` renders them.
const (
	k8sBase    = "deploy/k8s/base"
	k8sOverlay = "deploy/k8s/overlays/observability"
	k8sNS      = "tracelab"
)

// k8sObject is one rendered object, decoded into its Kubernetes API type.
type k8sObject struct {
	apiVersion, kind, name, namespace string
	obj                               any // *appsv1.Deployment, *corev1.Service, ...
}

func (o k8sObject) String() string { return o.kind + "/" + o.name }

// newK8sObject returns an empty value of the API type for apiVersion and kind. A kind
// missing here fails the test: add its type, so that it too is decoded strictly.
func newK8sObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		return &corev1.Namespace{}, true
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1 Secret":
		return &corev1.Secret{}, true
	case "v1 Service":
		return &corev1.Service{}, true
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "v1 PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, true
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, true
	case "apps/v1 StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "apps/v1 DaemonSet":
		return &appsv1.DaemonSet{}, true
	case "batch/v1 Job":
		return &batchv1.Job{}, true
	case "batch/v1 CronJob":
		return &batchv1.CronJob{}, true
	case "rbac.authorization.k8s.io/v1 Role":
		return &rbacv1.Role{}, true
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		return &rbacv1.RoleBinding{}, true
	case "rbac.authorization.k8s.io/v1 ClusterRole":
		return &rbacv1.ClusterRole{}, true
	case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}, true
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}, true
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, true
	}
	return nil, false
}

// k8sRender is the output of one kustomization.
type k8sRender struct {
	dir     string
	objects []k8sObject
}

var k8sRenders sync.Map // dir -> *k8sRender, or error

// renderK8s runs kustomize on dir (relative to the repository) and decodes every object
// strictly: a field the API type does not have (a typo, a field at the wrong level) fails,
// as does a duplicate key, an object of a kind newK8sObject does not know, or an
// apiVersion that is not the one served today (apps/v1beta1 and the like).
func renderK8s(t *testing.T, dir string) *k8sRender {
	t.Helper()
	if v, ok := k8sRenders.Load(dir); ok {
		if err, ok := v.(error); ok {
			t.Fatal(err)
		}
		return v.(*k8sRender)
	}
	r, err := doRenderK8s(dir)
	if err != nil {
		k8sRenders.Store(dir, err)
		t.Fatal(err)
	}
	k8sRenders.Store(dir, r)
	return r
}

func doRenderK8s(dir string) (*k8sRender, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), mustAbsPath(repoPath(dir)))
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	r := &k8sRender{dir: dir}
	var errs []string
	for _, res := range m.Resources() {
		doc, err := res.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %s/%s as YAML: %w", dir, res.GetKind(), res.GetName(), err)
		}
		o := k8sObject{apiVersion: res.GetApiVersion(), kind: res.GetKind(), name: res.GetName(), namespace: res.GetNamespace()}
		obj, ok := newK8sObject(o.apiVersion, o.kind)
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: unknown apiVersion/kind %s %s (add its API type to newK8sObject)", o, o.apiVersion, o.kind))
			continue
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			errs = append(errs, fmt.Sprintf("%s: strict decoding into %T: %v", o, obj, err))
			continue
		}
		o.obj = obj
		r.objects = append(r.objects, o)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s:\n\t%s", dir, strings.Join(errs, "\n\t"))
	}
	return r, nil
}

// mustAbsPath makes a repository path absolute, for kustomize's messages to name it
// whatever directory they are read from.
func mustAbsPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}

// get returns the object of that kind and name, or nil.
func (r *k8sRender) get(kind, name string) any {
	for _, o := range r.objects {
		if o.kind == kind && o.name == name {
			return o.obj
		}
	}
	return nil
}

// deployment returns the Deployment of that name, failing the test when there is none.
func (r *k8sRender) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	d, _ := r.get("Deployment", name).(*appsv1.Deployment)
	if d == nil {
		t.Fatalf("%s: no Deployment %s", r.dir, name)
	}
	return d
}

// workload is an object that runs pods.
type workload struct {
	k8sObject
	pod      *corev1.PodTemplateSpec
	selector map[string]string
}

// workloads lists the objects of the render that run pods.
func (r *k8sRender) workloads() []workload {
	var out []workload
	for _, o := range r.objects {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			out = append(out, workload{o, &v.Spec.Template, selectorLabels(v.Spec.Selector)})
		case *appsv1.StatefulSet:
			out = append(out, workload{o, &v.Spec.Template, selectorLabels(v.Spec.Selector)})
		case *appsv1.DaemonSet:
			out = append(out, workload{o, &v.Spec.Template, selectorLabels(v.Spec.Selector)})
		case *batchv1.Job:
			out = append(out, workload{o, &v.Spec.Template, nil})
		}
	}
	return out
}

// selectorLabels returns a selector's matchLabels (nil selector: nil).
func selectorLabels(s *metav1.LabelSelector) map[string]string {
	if s == nil {
		return nil
	}
	return s.MatchLabels
}

// matches reports whether every label of selector is on labels.
func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// containerPort resolves a probe's or a Service's port (a number or a port name) against
// the container's ports; 0 when it names none.
func containerPort(c corev1.Container, p intstr.IntOrString) int {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return int(cp.ContainerPort)
		}
	}
	return 0
}

// The workloads each kustomization must render, as kind/name.
var (
	// A Deployment for each of our services, and the infrastructure's.
	k8sBaseWorkloads    = concat(prefixed("Deployment/", ourServices), []string{"Deployment/jaeger", "Deployment/rabbitmq"})
	k8sOverlayWorkloads = []string{
		"DaemonSet/filebeat", "Deployment/kibana", "Deployment/logstash", "Deployment/zipkin",
		"Job/kibana-setup", "StatefulSet/elasticsearch",
	}
)

// prefixed returns each of names with prefix before it.
func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// TestKustomize renders the base and the overlay and checks every object: the workloads
// expected, the namespace, selectors that select their own pods, pinned images, resources,
// probes on /healthz for our containers, non-root pods, every ConfigMap, Secret and claim
// a pod refers to present in the render (the generated names carry a hash), RabbitMQ's
// credentials from the Secret, the edge as the only Service reachable from outside, and
// accountservice as a single replica replaced with Recreate.
func TestKustomize(t *testing.T) {
	tests := []struct {
		dir       string
		workloads []string
	}{
		{k8sBase, k8sBaseWorkloads},
		{k8sOverlay, concat(k8sBaseWorkloads, k8sOverlayWorkloads)},
	}
	for _, tt := range tests {
		t.Run(path.Base(tt.dir), func(t *testing.T) {
			r := renderK8s(t, tt.dir)
			var got []string
			for _, w := range r.workloads() {
				got = append(got, w.String())
			}
			sort.Strings(got)
			if want := concat(tt.workloads); !slices.Equal(got, want) {
				t.Errorf("%s workloads = %v, want %v", tt.dir, got, want)
			}
			if r.get("Namespace", k8sNS) == nil {
				t.Errorf("%s: no Namespace %s", tt.dir, k8sNS)
			}
			for _, o := range r.objects {
				if o.kind != "Namespace" && !strings.HasPrefix(o.kind, "Cluster") && o.namespace != k8sNS {
					t.Errorf("%s: %s is in namespace %q, want %q", tt.dir, o, o.namespace, k8sNS)
				}
			}
			for _, w := range r.workloads() {
				checkWorkload(t, r, w)
			}
			checkServices(t, r)
			checkRabbitCredentials(t, r)

			acc := r.deployment(t, "accountservice")
			if acc.Spec.Replicas == nil || *acc.Spec.Replicas != 1 {
				t.Errorf("accountservice: replicas = %v, want 1: BoltDB locks its file", acc.Spec.Replicas)
			}
			if acc.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("accountservice: strategy = %q, want Recreate: a rolling update's new pod would wait forever for the old one's lock",
					acc.Spec.Strategy.Type)
			}
		})
	}
}

// checkWorkload checks one workload's pod template.
func checkWorkload(t *testing.T, r *k8sRender, w workload) {
	t.Helper()
	pod := w.pod
	if w.kind != "Job" && !matches(w.selector, pod.Labels) {
		t.Errorf("%s: selector %v does not match its pod labels %v: the API server refuses it", w, w.selector, pod.Labels)
	}
	ours := isOurs(w.name)
	if ours {
		if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
			t.Errorf("%s: enableServiceLinks is not false: a Service named jaeger-agent would inject JAEGER_AGENT_PORT, which common/tracing reads", w)
		}
		if sc := pod.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s: pod securityContext.runAsNonRoot is not true", w)
		} else if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("%s: runAsUser 0 with runAsNonRoot: the pod would not start", w)
		}
	}
	// A Deployment that mounts a claim must not run two pods on it.
	if d, ok := w.obj.(*appsv1.Deployment); ok {
		for _, v := range pod.Spec.Volumes {
			if v.PersistentVolumeClaim == nil {
				continue
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("%s: mounts claim %s but is not one replica with strategy Recreate: a ReadWriteOnce volume holds one pod",
					w, v.PersistentVolumeClaim.ClaimName)
			}
		}
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.ConfigMap != nil && r.get("ConfigMap", v.ConfigMap.Name) == nil:
			t.Errorf("%s: volume %s: no ConfigMap %s in the render", w, v.Name, v.ConfigMap.Name)
		case v.Secret != nil && r.get("Secret", v.Secret.SecretName) == nil:
			t.Errorf("%s: volume %s: no Secret %s in the render", w, v.Name, v.Secret.SecretName)
		case v.PersistentVolumeClaim != nil && r.get("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName) == nil:
			t.Errorf("%s: volume %s: no PersistentVolumeClaim %s in the render", w, v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}
	for _, c := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
		where := fmt.Sprintf("%s container %s", w, c.Name)
		if ours {
			repo, tag := splitImage(c.Image)
			if repo != "localhost/tracelab/"+w.name || tag == "" || tag == "latest" {
				t.Errorf("%s: image %q, want localhost/tracelab/%s:<tag>: a name under a registry nobody else owns", where, c.Image, w.name)
			}
		} else if why := unpinned(c.Image); why != "" {
			t.Errorf("%s: image %q is not pinned: %s", where, c.Image, why)
		}
		checkResources(t, where, c.Resources)
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil && r.get("ConfigMap", ef.ConfigMapRef.Name) == nil {
				t.Errorf("%s: envFrom ConfigMap %s is not in the render", where, ef.ConfigMapRef.Name)
			}
			if ef.SecretRef != nil && r.get("Secret", ef.SecretRef.Name) == nil {
				t.Errorf("%s: envFrom Secret %s is not in the render", where, ef.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				if lower := strings.ToLower(e.Name); (strings.Contains(lower, "pass") || strings.Contains(lower, "secret")) && e.Value != "" {
					t.Errorf("%s: %s is a plain value; a password belongs in a Secret", where, e.Name)
				}
				continue
			}
			if ref := e.ValueFrom.SecretKeyRef; ref != nil && secretValue(r, ref.Name, ref.Key) == nil {
				t.Errorf("%s: %s from Secret %s key %s, which the render does not have", where, e.Name, ref.Name, ref.Key)
			}
			if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
				if cm, _ := r.get("ConfigMap", ref.Name).(*corev1.ConfigMap); cm == nil || cm.Data[ref.Key] == "" {
					t.Errorf("%s: %s from ConfigMap %s key %s, which the render does not have", where, e.Name, ref.Name, ref.Key)
				}
			}
		}
		if w.kind == "Deployment" || w.kind == "StatefulSet" {
			if c.ReadinessProbe == nil {
				t.Errorf("%s: no readinessProbe: its Service would send requests before it answers", where)
			}
			if c.LivenessProbe == nil {
				t.Errorf("%s: no livenessProbe: a hung process would never be restarted", where)
			}
		}
		if !ours {
			continue
		}
		if len(pod.Spec.Containers) != 1 || c.Name != w.name {
			t.Errorf("%s: want one container named %s", w, w.name)
		}
		if len(c.EnvFrom) == 0 || c.EnvFrom[0].ConfigMapRef == nil {
			t.Errorf("%s: no envFrom ConfigMap: configuration comes from the tracelab-env ConfigMap", where)
		}
		scheme := corev1.URISchemeHTTP
		if w.name == "edge" {
			scheme = corev1.URISchemeHTTPS
		}
		for _, probe := range probes(c) {
			kind, p := probe.kind, probe.probe
			switch {
			case p == nil:
				// reported above
			case p.HTTPGet == nil:
				t.Errorf("%s: %s is not an httpGet", where, kind)
			case p.HTTPGet.Path != "/healthz":
				t.Errorf("%s: %s path %q, want /healthz", where, kind, p.HTTPGet.Path)
			case p.HTTPGet.Scheme != scheme:
				t.Errorf("%s: %s scheme %q, want %q", where, kind, p.HTTPGet.Scheme, scheme)
			case containerPort(c, p.HTTPGet.Port) == 0:
				t.Errorf("%s: %s port %s is none of the container's ports", where, kind, p.HTTPGet.Port.String())
			}
		}
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: readOnlyRootFilesystem is not true", where)
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation is not false", where)
		}
	}
}

// namedProbe is a container's probe with the name of its field.
type namedProbe struct {
	kind  string
	probe *corev1.Probe
}

// probes returns a container's readiness and liveness probes, in that order.
func probes(c corev1.Container) []namedProbe {
	return []namedProbe{{"readinessProbe", c.ReadinessProbe}, {"livenessProbe", c.LivenessProbe}}
}

// checkResources wants CPU and memory requests and limits, requests within limits.
func checkResources(t *testing.T, where string, res corev1.ResourceRequirements) {
	t.Helper()
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := res.Requests[name]
		lim, hasLim := res.Limits[name]
		if !hasReq {
			t.Errorf("%s: no %s request: the scheduler cannot place it", where, name)
		}
		if !hasLim {
			t.Errorf("%s: no %s limit", where, name)
		}
		if hasReq && hasLim && req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above its limit %s", where, name, req.String(), lim.String())
		}
		if hasLim && lim.Cmp(resource.MustParse("0")) <= 0 {
			t.Errorf("%s: %s limit %s", where, name, lim.String())
		}
	}
}

// secretValue returns a Secret's value for key, or nil.
func secretValue(r *k8sRender, name, key string) []byte {
	s, _ := r.get("Secret", name).(*corev1.Secret)
	if s == nil {
		return nil
	}
	if v, ok := s.Data[key]; ok {
		return v
	}
	if v, ok := s.StringData[key]; ok {
		return []byte(v)
	}
	return nil
}

// checkServices: every Service selects the pods of a workload and targets ports those
// pods have; only the edge is reachable from outside the cluster.
func checkServices(t *testing.T, r *k8sRender) {
	t.Helper()
	for _, o := range r.objects {
		svc, ok := o.obj.(*corev1.Service)
		if !ok {
			continue
		}
		switch svc.Spec.Type {
		case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
			if svc.Name != "edge" {
				t.Errorf("%s: Service %s is of type %s; only the edge is reachable from outside", r.dir, svc.Name, svc.Spec.Type)
			}
		case "", corev1.ServiceTypeClusterIP:
			if svc.Name == "edge" {
				t.Errorf("%s: Service edge is ClusterIP: nothing outside the cluster could reach tracelab", r.dir)
			}
		default:
			t.Errorf("%s: Service %s is of type %s", r.dir, svc.Name, svc.Spec.Type)
		}
		if len(svc.Spec.ExternalIPs) > 0 {
			t.Errorf("%s: Service %s has externalIPs", r.dir, svc.Name)
		}
		var target *workload
		for _, w := range r.workloads() {
			if matches(svc.Spec.Selector, w.pod.Labels) {
				target = &w
				break
			}
		}
		if target == nil {
			t.Errorf("%s: Service %s selects %v, the labels of no pod", r.dir, svc.Name, svc.Spec.Selector)
			continue
		}
		for _, p := range svc.Spec.Ports {
			tp := p.TargetPort
			if tp.Type == intstr.Int && tp.IntVal == 0 {
				tp = intstr.FromInt32(p.Port)
			}
			found := false
			for _, c := range target.pod.Spec.Containers {
				if containerPort(c, tp) != 0 {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: Service %s port %d targets %s, which no container of %s exposes", r.dir, svc.Name, p.Port, tp.String(), target)
			}
		}
	}
}

// checkRabbitCredentials: the broker's user and password come from a Secret, and the
// AMQP_URL of its clients is built from that same Secret's keys, with no password in the
// pod spec.
func checkRabbitCredentials(t *testing.T, r *k8sRender) {
	t.Helper()
	rabbit := r.deployment(t, "rabbitmq").Spec.Template.Spec.Containers[0]
	refs := map[string]*corev1.SecretKeySelector{}
	for _, e := range rabbit.Env {
		if e.Name == "RABBITMQ_DEFAULT_USER" || e.Name == "RABBITMQ_DEFAULT_PASS" {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("rabbitmq: %s is not from a Secret", e.Name)
				continue
			}
			refs[e.Name] = e.ValueFrom.SecretKeyRef
		}
	}
	if len(refs) != 2 {
		t.Fatalf("rabbitmq: RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS from a Secret: found %v", sortedKeys(refs))
	}
	for _, name := range []string{"accountservice", "vipservice"} {
		c := r.deployment(t, name).Spec.Template.Spec.Containers[0]
		env := resolveEnv(r, c)
		u, ok := env["AMQP_URL"]
		if !ok {
			t.Errorf("%s: AMQP_URL is not set", name)
			continue
		}
		if bytes.Contains([]byte(u.raw), secretValue(r, refs["RABBITMQ_DEFAULT_PASS"].Name, refs["RABBITMQ_DEFAULT_PASS"].Key)) {
			t.Errorf("%s: AMQP_URL %q holds the password in the pod spec; build it from the Secret with $(VAR)", name, u.raw)
		}
		for _, key := range []string{"RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS"} {
			ref := refs[key]
			found := false
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
					e.ValueFrom.SecretKeyRef.Name == ref.Name && e.ValueFrom.SecretKeyRef.Key == ref.Key &&
					strings.Contains(u.raw, "$("+e.Name+")") {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: AMQP_URL %q does not use Secret %s key %s, where rabbitmq's %s comes from", name, u.raw, ref.Name, ref.Key, key)
			}
		}
	}
}

// k8sEnvValue is one variable of a container, as the kubelet would set it.
type k8sEnvValue struct {
	raw    string // as written: a value with $(VAR), or "<secret name/key>"
	value  string // resolved: $(VAR) expanded, Secret and ConfigMap values read
	shared bool   // from an envFrom ConfigMap or Secret, given to several services
}

// resolveEnv returns a container's environment as the kubelet builds it: envFrom first,
// then env in order, $(VAR) expanded against what is defined before it.
func resolveEnv(r *k8sRender, c corev1.Container) map[string]k8sEnvValue {
	env := map[string]k8sEnvValue{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			if cm, _ := r.get("ConfigMap", ef.ConfigMapRef.Name).(*corev1.ConfigMap); cm != nil {
				for k, v := range cm.Data {
					env[ef.Prefix+k] = k8sEnvValue{raw: v, value: v, shared: true}
				}
			}
		}
		if ef.SecretRef != nil {
			if s, _ := r.get("Secret", ef.SecretRef.Name).(*corev1.Secret); s != nil {
				for k, v := range s.Data {
					env[ef.Prefix+k] = k8sEnvValue{raw: "<secret>", value: string(v), shared: true}
				}
			}
		}
	}
	for _, e := range c.Env {
		v := k8sEnvValue{raw: e.Value}
		switch {
		case e.ValueFrom == nil:
			v.value = expandK8s(e.Value, env)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v.raw = "<secret " + ref.Name + "/" + ref.Key + ">"
			v.value = string(secretValue(r, ref.Name, ref.Key))
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			v.raw = "<configmap " + ref.Name + "/" + ref.Key + ">"
			if cm, _ := r.get("ConfigMap", ref.Name).(*corev1.ConfigMap); cm != nil {
				v.value = cm.Data[ref.Key]
			}
		default:
			v.raw, v.value = "<field>", "<field>"
		}
		env[e.Name] = v
	}
	return env
}

// expandK8s expands $(VAR) the way the kubelet does: a defined variable is replaced,
// an undefined one is left as written, $$ is a literal $.
func expandK8s(s string, env map[string]k8sEnvValue) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) {
			if s[i+1] == '$' {
				b.WriteByte('$')
				i++
				continue
			}
			if s[i+1] == '(' {
				if end := strings.IndexByte(s[i:], ')'); end > 0 {
					name := s[i+2 : i+end]
					if v, ok := env[name]; ok {
						b.WriteString(v.value)
						i += end
						continue
					}
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// referencedVars returns the names a container's env values refer to as $(VAR).
func referencedVars(c corev1.Container) map[string]bool {
	refs := map[string]bool{}
	for _, e := range c.Env {
		s := e.Value
		for {
			i := strings.Index(s, "$(")
			if i < 0 {
				break
			}
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				break
			}
			refs[s[i+2:i+end]] = true
			s = s[i+end:]
		}
	}
	return refs
}
