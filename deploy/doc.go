// Package deploy holds how supplywatch is deployed: the local
// configuration (local.yaml), the container images (Dockerfile,
// Containerfile), compose.yaml, the Helm chart (helm/supplywatch) and the
// Prometheus rules on supplywatch itself (prometheus/). Its tests render
// the chart and check every manifest against the Kubernetes API types, and
// build the FROM scratch image where podman is present. It has no Go code
// of its own.
package deploy
