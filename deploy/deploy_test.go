package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/supplywatch/supplywatch/app"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// helmModule is Helm as a Go module: no binary to download, the version
// pinned. `make deps` installs it as bin/helm; without that, the first test
// that renders builds it once into a temporary directory.
const helmModule = "helm.sh/helm/v4/cmd/helm@v4.3.2"

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// helmBinary is the path of the pinned Helm: bin/helm when make deps has
// installed it, else one `go install` for the whole test binary, with a
// timeout of its own (building Helm takes minutes on a busy machine), so
// that no render's timeout pays for the build.
func helmBinary(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		if p, err := filepath.Abs(filepath.Join("..", "bin", "helm")); err == nil {
			if out, err := exec.Command(p, "version", "--short").Output(); err == nil && strings.HasPrefix(string(out), "v4.3") {
				helmPath = p
				return
			}
		}
		dir, err := os.MkdirTemp("", "supplywatch-helm-")
		if err != nil {
			helmErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "install", helmModule)
		cmd.Env = append(os.Environ(), "GOBIN="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			helmErr = fmt.Errorf("go install %s: %v\n%s", helmModule, err, out)
			return
		}
		helmPath = filepath.Join(dir, "helm")
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	return helmPath
}

func render(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := helmBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"template"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// manifests is the chart rendered with testdata/values.yaml, each document
// strictly decoded into its Kubernetes API type: an unknown field, a wrong
// type or an unknown kind fails.
type manifests struct {
	deployments    map[string]*appsv1.Deployment
	services       map[string]*corev1.Service
	configMaps     map[string]*corev1.ConfigMap
	hpas           map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs           map[string]*policyv1.PodDisruptionBudget
	jobs           map[string]*batchv1.Job
	serviceMonitor *monitoringv1.ServiceMonitor
	kinds          []string
}

func decodeStrict(t *testing.T, js []byte, into any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%T: %v\n%s", into, err, js)
	}
}

func parse(t *testing.T, out []byte) *manifests {
	t.Helper()
	m := &manifests{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		configMaps: map[string]*corev1.ConfigMap{}, hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{}, jobs: map[string]*batchv1.Job{}}
	for _, doc := range strings.Split(string(out), "\n---") {
		if strings.TrimSpace(strings.ReplaceAll(doc, "---", "")) == "" {
			continue
		}
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("yaml: %v\n%s", err, doc)
		}
		if string(js) == "null" {
			continue
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			t.Fatal(err)
		}
		m.kinds = append(m.kinds, tm.APIVersion+"/"+tm.Kind)
		component := func(labels map[string]string) string { return labels["app.kubernetes.io/component"] }
		switch tm.APIVersion + "/" + tm.Kind {
		case "apps/v1/Deployment":
			var d appsv1.Deployment
			decodeStrict(t, js, &d)
			m.deployments[component(d.Labels)] = &d
		case "v1/Service":
			var s corev1.Service
			decodeStrict(t, js, &s)
			m.services[component(s.Labels)] = &s
		case "v1/ConfigMap":
			var c corev1.ConfigMap
			decodeStrict(t, js, &c)
			m.configMaps[c.Name] = &c
		case "v1/ServiceAccount":
			decodeStrict(t, js, &corev1.ServiceAccount{})
		case "autoscaling/v2/HorizontalPodAutoscaler":
			var h autoscalingv2.HorizontalPodAutoscaler
			decodeStrict(t, js, &h)
			m.hpas[component(h.Labels)] = &h
		case "policy/v1/PodDisruptionBudget":
			var p policyv1.PodDisruptionBudget
			decodeStrict(t, js, &p)
			m.pdbs[component(p.Labels)] = &p
		case "batch/v1/Job":
			var j batchv1.Job
			decodeStrict(t, js, &j)
			m.jobs[component(j.Labels)] = &j
		case "monitoring.coreos.com/v1/ServiceMonitor":
			var s monitoringv1.ServiceMonitor
			decodeStrict(t, js, &s)
			m.serviceMonitor = &s
		default:
			t.Errorf("unexpected kind %s/%s", tm.APIVersion, tm.Kind)
		}
	}
	return m
}

func TestHelmChartRendersValidManifestsForEveryRole(t *testing.T) {
	m := parse(t, render(t, "sw", "./helm/supplywatch", "--namespace", "supplywatch", "-f", "testdata/values.yaml"))
	roles := map[string][]string{"serve": {"serve"}, "collect": {"collect"}, "rules": {"rules", "run"}}
	for role, args := range roles {
		d := m.deployments[role]
		if d == nil {
			t.Errorf("no Deployment for %s (kinds: %v)", role, m.kinds)
			continue
		}
		spec := d.Spec.Template.Spec
		c := spec.Containers[0]
		if want := append(args, "--config", "/etc/supplywatch/config/supplywatch.yaml"); !slices.Equal(c.Args, want) {
			t.Errorf("%s args %v, want %v", role, c.Args, want)
		}
		if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
			t.Errorf("%s probes: liveness %+v readiness %+v, want /healthz and /readyz", role, c.LivenessProbe, c.ReadinessProbe)
		}
		if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s does not run as non-root", role)
		}
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s container: root filesystem not read-only or privilege escalation allowed", role)
		}
		if c.Image != "registry.example.com/supplywatch:v0.1.0" {
			t.Errorf("%s image %q", role, c.Image)
		}
		checkSecretsByReference(t, role, c.Env)
		if m.pdbs[role] == nil {
			t.Errorf("no PodDisruptionBudget for %s", role)
		}
		if m.services[role] == nil {
			t.Errorf("no Service for %s (the ServiceMonitor scrapes through it)", role)
		}
		// The configuration the pod gets loads, strictly, with the env it
		// gets: the values cannot hold a key supplywatch does not know.
		checkConfigLoads(t, role, m.configMaps, c.Env)
	}
	for _, role := range []string{"collect", "rules"} {
		h := m.hpas[role]
		if h == nil {
			t.Errorf("no HorizontalPodAutoscaler for %s", role)
			continue
		}
		if h.Spec.ScaleTargetRef.Name != m.deployments[role].Name || h.Spec.MaxReplicas > 12 {
			t.Errorf("%s HPA targets %q with max %d; want its Deployment and at most the 12 partitions", role, h.Spec.ScaleTargetRef.Name, h.Spec.MaxReplicas)
		}
		if m.deployments[role].Spec.Replicas != nil {
			t.Errorf("%s Deployment sets replicas beside its HPA (they would fight on every upgrade)", role)
		}
	}
	if m.hpas["serve"] != nil {
		t.Error("serve has an HPA; only collect and rules scale by load")
	}
	job := m.jobs["migrate"]
	if job == nil {
		t.Fatalf("no migration Job (kinds %v)", m.kinds)
	}
	if hook := job.Annotations["helm.sh/hook"]; hook != "pre-install,pre-upgrade" {
		t.Errorf("migration Job hook %q, want pre-install,pre-upgrade", hook)
	}
	if args := job.Spec.Template.Spec.Containers[0].Args; !slices.Equal(args, []string{"migrate"}) {
		t.Errorf("migration Job args %v", args)
	}
	checkSecretsByReference(t, "migrate", job.Spec.Template.Spec.Containers[0].Env)
	sm := m.serviceMonitor
	if sm == nil {
		t.Fatal("no ServiceMonitor")
	}
	if ep := sm.Spec.Endpoints; len(ep) != 1 || ep[0].Path != "/metrics" || ep[0].Authorization == nil ||
		ep[0].Authorization.Credentials == nil || ep[0].Authorization.Credentials.Name != "supplywatch-secrets" {
		t.Errorf("ServiceMonitor endpoints %+v, want /metrics with the bearer token from the secret", ep)
	}
}

// checkSecretsByReference fails when a secret setting has a literal value.
func checkSecretsByReference(t *testing.T, role string, env []corev1.EnvVar) {
	t.Helper()
	refs := 0
	for _, e := range env {
		secret := strings.HasSuffix(e.Name, "_PASSWORD") || strings.HasSuffix(e.Name, "_TOKEN") ||
			strings.HasSuffix(e.Name, "_SECRET") || e.Name == "SUPPLYWATCH_POSTGRES_URL"
		if !secret {
			continue
		}
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: %s is not taken from a Secret", role, e.Name)
			continue
		}
		refs++
	}
	if refs != 7 {
		t.Errorf("%s: %d secrets by reference, want 7 (postgres, clickhouse, kafka, slack token and signing secret, oidc, metrics)", role, refs)
	}
}

func checkConfigLoads(t *testing.T, role string, cms map[string]*corev1.ConfigMap, env []corev1.EnvVar) {
	t.Helper()
	var data string
	for _, cm := range cms {
		data = cm.Data["supplywatch.yaml"]
	}
	if data == "" {
		t.Fatalf("%s: no supplywatch.yaml in a ConfigMap", role)
	}
	path := filepath.Join(t.TempDir(), "supplywatch.yaml")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, e := range env {
		if e.ValueFrom == nil {
			t.Setenv(e.Name, e.Value)
		}
	}
	cfg, err := app.LoadConfig(path)
	if err != nil {
		t.Fatalf("%s: the rendered configuration does not load: %v\n%s", role, err, data)
	}
	if !cfg.SkipMigrations || cfg.Kafka.Embedded || cfg.ClickHouse.Embedded || len(cfg.Kafka.Brokers) != 3 {
		t.Errorf("%s: skip_migrations %v, embedded kafka %v, embedded clickhouse %v, brokers %v", role,
			cfg.SkipMigrations, cfg.Kafka.Embedded, cfg.ClickHouse.Embedded, cfg.Kafka.Brokers)
	}
}

func TestHelmChartRefusesAnInstallWithoutBrokers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBinary(t), "template", "sw", "./helm/supplywatch", "--set", "clickhouse.addr={ch:9000}")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "kafka.brokers is required") {
		t.Fatalf("helm template without kafka.brokers: err %v, output:\n%s", err, out)
	}
}

// TestScratchImageBuildsAndCarriesAWorkingBinary builds deploy/Containerfile
// with podman from a static binary (FROM scratch: nothing is pulled). Running
// a container fails on the test machines (crun cannot set rlimits), so the
// binary is copied out of the image's filesystem and run.
func TestScratchImageBuildsAndCarriesAWorkingBinary(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("podman is needed (make deps installs it)")
		}
		t.Skip("podman not installed (make deps installs it)")
	}
	ctxDir := t.TempDir()
	const version = "v0.0.0-imagetest"
	build := exec.Command("go", "build", "-trimpath", "-tags", "timetzdata",
		"-ldflags", "-X github.com/supplywatch/supplywatch/app.Version="+version,
		"-o", filepath.Join(ctxDir, "bin", "supplywatch-static"), "../cmd/supplywatch")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	if out, err := exec.Command("cp", "-r", "../rules", filepath.Join(ctxDir, "rules")).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	tag := fmt.Sprintf("localhost/supplywatch-test:%d", time.Now().UnixNano())
	if out, err := exec.Command(podman, "build", "-q", "-f", "Containerfile", "-t", tag, ctxDir).CombinedOutput(); err != nil {
		t.Fatalf("podman build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", tag).Run() })
	out, err := exec.Command(podman, "image", "inspect", "--format", "{{.Config.User}} {{json .Config.Entrypoint}}", tag).CombinedOutput()
	if err != nil {
		t.Fatalf("podman inspect: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != `65532:65532 ["/supplywatch"]` {
		t.Errorf("image user and entrypoint %q, want 65532:65532 [\"/supplywatch\"]", got)
	}
	var versionOut []byte
	if run, err := exec.Command(podman, "run", "--rm", tag, "version").CombinedOutput(); err == nil {
		versionOut = run
	} else {
		t.Logf("podman run is not possible here (%v: %s); checking the binary in the image's filesystem", err, bytes.TrimSpace(run))
		id, err := exec.Command(podman, "create", tag).Output()
		if err != nil {
			t.Fatalf("podman create: %v", err)
		}
		ctr := strings.TrimSpace(string(id))
		t.Cleanup(func() { exec.Command(podman, "rm", "-f", ctr).Run() })
		bin := filepath.Join(t.TempDir(), "supplywatch")
		if out, err := exec.Command(podman, "cp", ctr+":/supplywatch", bin).CombinedOutput(); err != nil {
			t.Fatalf("podman cp: %v\n%s", err, out)
		}
		if out, err := exec.Command(podman, "cp", ctr+":/etc/supplywatch/rules/orders.yaml", t.TempDir()).CombinedOutput(); err != nil {
			t.Errorf("the default rules are not in the image: %v\n%s", err, out)
		}
		if versionOut, err = exec.Command(bin, "version").CombinedOutput(); err != nil {
			t.Fatalf("supplywatch version from the image: %v\n%s", err, versionOut)
		}
	}
	if !strings.HasPrefix(string(versionOut), "supplywatch "+version+" ") {
		t.Errorf("supplywatch version = %q, want it to start with supplywatch %s", versionOut, version)
	}
}

// TestHelmChartCarriesTheClusterSettings: clickhouse.cluster and
// clickhouse.replicated reach the configuration every role loads.
func TestHelmChartCarriesTheClusterSettings(t *testing.T) {
	m := parse(t, render(t, "sw", "./helm/supplywatch", "--namespace", "supplywatch", "-f", "testdata/values.yaml",
		"--set", "clickhouse.cluster=supplywatch", "--set", "clickhouse.replicated=false"))
	for _, role := range []string{"serve", "collect", "rules"} {
		d := m.deployments[role]
		if d == nil {
			t.Fatalf("no Deployment for %s", role)
		}
		env := map[string]string{}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = e.Value
		}
		if env["SUPPLYWATCH_CLICKHOUSE_CLUSTER"] != "supplywatch" || env["SUPPLYWATCH_CLICKHOUSE_REPLICATED"] != "false" {
			t.Errorf("%s: cluster %q replicated %q, want supplywatch and false", role,
				env["SUPPLYWATCH_CLICKHOUSE_CLUSTER"], env["SUPPLYWATCH_CLICKHOUSE_REPLICATED"])
		}
	}
	for _, e := range m.deployments["collect"].Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom == nil {
			t.Setenv(e.Name, e.Value)
		}
	}
	var data string
	for _, cm := range m.configMaps {
		data = cm.Data["supplywatch.yaml"]
	}
	path := filepath.Join(t.TempDir(), "supplywatch.yaml")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(path)
	if err != nil {
		t.Fatalf("the rendered configuration does not load: %v", err)
	}
	if cfg.ClickHouse.Cluster != "supplywatch" || cfg.ClickHouse.Replicated == nil || *cfg.ClickHouse.Replicated {
		t.Errorf("loaded clickhouse.cluster %q replicated %v, want supplywatch and false", cfg.ClickHouse.Cluster, cfg.ClickHouse.Replicated)
	}
}
