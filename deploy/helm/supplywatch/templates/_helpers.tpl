{{- define "supplywatch.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "supplywatch.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "supplywatch.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "supplywatch.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "supplywatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default (include "supplywatch.fullname" .) }}
{{- else -}}
{{ .Values.serviceAccount.name | default "default" }}
{{- end -}}
{{- end -}}

{{- define "supplywatch.secretEnv" -}}
{{- $s := .Values.secrets -}}
{{- range $env, $key := dict "SUPPLYWATCH_POSTGRES_URL" $s.keys.postgresURL "SUPPLYWATCH_CLICKHOUSE_PASSWORD" $s.keys.clickhousePassword "SUPPLYWATCH_KAFKA_SASL_PASSWORD" $s.keys.kafkaSASLPassword "SUPPLYWATCH_SLACK_TOKEN" $s.keys.slackToken "SUPPLYWATCH_SLACK_SIGNING_SECRET" $s.keys.slackSigningSecret "SUPPLYWATCH_CONSOLE_OIDC_CLIENT_SECRET" $s.keys.oidcClientSecret "SUPPLYWATCH_HTTP_METRICS_TOKEN" $s.keys.metricsToken }}
{{- if $key }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $s.name }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The settings every process needs, as environment (the migration Job has no config file). */}}
{{- define "supplywatch.env" -}}
- name: SUPPLYWATCH_KAFKA_BROKERS
  value: {{ required "kafka.brokers is required" (join "," .Values.kafka.brokers) | quote }}
- name: SUPPLYWATCH_KAFKA_TOPIC
  value: {{ .Values.kafka.topic | quote }}
- name: SUPPLYWATCH_KAFKA_DEAD_LETTER_TOPIC
  value: {{ .Values.kafka.deadLetterTopic | quote }}
- name: SUPPLYWATCH_KAFKA_PARTITIONS
  value: {{ .Values.kafka.partitions | quote }}
- name: SUPPLYWATCH_KAFKA_TLS
  value: {{ .Values.kafka.tls | quote }}
{{- if .Values.kafka.sasl.mechanism }}
- name: SUPPLYWATCH_KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.sasl.mechanism | quote }}
- name: SUPPLYWATCH_KAFKA_SASL_USERNAME
  value: {{ .Values.kafka.sasl.username | quote }}
{{- end }}
- name: SUPPLYWATCH_CLICKHOUSE_ADDR
  value: {{ required "clickhouse.addr is required" (join "," .Values.clickhouse.addr) | quote }}
- name: SUPPLYWATCH_CLICKHOUSE_DATABASE
  value: {{ .Values.clickhouse.database | quote }}
- name: SUPPLYWATCH_CLICKHOUSE_USER
  value: {{ .Values.clickhouse.user | quote }}
- name: SUPPLYWATCH_CLICKHOUSE_TLS
  value: {{ .Values.clickhouse.tls | quote }}
{{- if .Values.clickhouse.cluster }}
- name: SUPPLYWATCH_CLICKHOUSE_CLUSTER
  value: {{ .Values.clickhouse.cluster | quote }}
- name: SUPPLYWATCH_CLICKHOUSE_REPLICATED
  value: {{ .Values.clickhouse.replicated | quote }}
{{- end }}
- name: SUPPLYWATCH_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: SUPPLYWATCH_DATA_DIR
  value: /tmp/supplywatch
{{ include "supplywatch.secretEnv" . }}
{{- end -}}
