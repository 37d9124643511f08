{{/*
Names, labels and the values every orch pod shares.
*/}}

{{- define "orch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "orch.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "orch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "orch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: orch
{{- end }}

{{/* Selector labels of one component: pass (dict "root" $ "component" "daemon"). */}}
{{- define "orch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orch.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "orch.componentLabels" -}}
{{ include "orch.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "orch.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "orch.runNamespace" -}}
{{- default .Release.Namespace .Values.runs.namespace }}
{{- end }}

{{- define "orch.daemonServiceAccountName" -}}
{{- default (printf "%s-daemon" (include "orch.fullname" .)) .Values.daemon.serviceAccount.name }}
{{- end }}

{{- define "orch.webServiceAccountName" -}}
{{- default (printf "%s-web" (include "orch.fullname" .)) .Values.web.serviceAccount.name }}
{{- end }}

{{- define "orch.runServiceAccountName" -}}
{{- default (printf "%s-run" (include "orch.fullname" .)) .Values.runs.serviceAccount.name }}
{{- end }}

{{/* The Secret and key holding DATABASE_URL for the daemon, web and migration pods. */}}
{{- define "orch.databaseSecretName" -}}
{{- if .Values.database.existingSecret }}
{{- .Values.database.existingSecret }}
{{- else if .Values.postgresql.enabled }}
{{- printf "%s-database" (include "orch.fullname" .) }}
{{- else }}
{{- fail "set database.existingSecret (a Secret holding DATABASE_URL) or postgresql.enabled=true" }}
{{- end }}
{{- end }}

{{- define "orch.databaseSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.key }}{{ else }}DATABASE_URL{{ end }}
{{- end }}

{{/* True (non-empty) when the chart's own PostgreSQL is the run store. */}}
{{- define "orch.bundledDatabase" -}}
{{- if and .Values.postgresql.enabled (not .Values.database.existingSecret) }}true{{ end }}
{{- end }}

{{- define "orch.uiUrl" -}}
{{- if .Values.orch.uiUrl }}
{{- .Values.orch.uiUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- $tls := false }}
{{- range .Values.ingress.tls }}{{ if has $host .hosts }}{{ $tls = true }}{{ end }}{{ end }}
{{- printf "%s://%s" (ternary "https" "http" $tls) $host }}
{{- end }}
{{- end }}

{{/*
The plain environment of every orch process, as a YAML map of name to value (empty values
left out). The run workers get the same through [launcher.kubernetes] env.
*/}}
{{- define "orch.commonEnv" -}}
{{- $o := .Values.orch }}
{{- $env := dict
  "ORCH_LOG" $o.log
  "ORCH_LOG_FORMAT" $o.logFormat
  "ORCH_UI_URL" (include "orch.uiUrl" .)
  "OTEL_EXPORTER_OTLP_ENDPOINT" $o.otlpEndpoint
  "AWS_REGION" $o.awsRegion
  "S3_BUCKET_NAME" $o.s3.bucket
  "ORCH_IO_BUCKET" $o.s3.ioBucket
  "ORCH_IO_PREFIX" $o.s3.ioPrefix
  "WEATHER_RESULTS_BUCKET" $o.s3.weatherResultsBucket
}}
{{- range $k, $v := $o.extraEnv }}{{ $_ := set $env $k $v }}{{ end }}
{{- range $k, $v := $env }}
{{- if not (kindIs "invalid" $v) }}{{ if ne (toString $v) "" }}
{{ $k }}: {{ toString $v | quote }}
{{- end }}{{ end }}
{{- end }}
{{- end }}

{{/* A YAML map of name to value as a container's env list. */}}
{{- define "orch.envList" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  value: {{ toString $v | quote }}
{{- end }}
{{- end }}

{{/*
Secrets mounted as files, for one component: a list of {name, secret, key, env}. Each is
mounted read-only under /var/run/secrets/orch/<name>/ and its path given as <env>_FILE.
Pass (dict "root" $ "component" "daemon|web|migrate").
*/}}
{{- define "orch.secretFiles" -}}
{{- $root := .root }}
{{- $files := list (dict "name" "database" "secret" (include "orch.databaseSecretName" $root) "key" (include "orch.databaseSecretKey" $root) "env" "DATABASE_URL") }}
{{- if and (eq .component "web") $root.Values.secrets.authToken.existingSecret }}
{{- $files = append $files (dict "name" "auth-token" "secret" $root.Values.secrets.authToken.existingSecret "key" $root.Values.secrets.authToken.key "env" "ORCH_AUTH_TOKEN") }}
{{- end }}
{{- if and (eq .component "web") $root.Values.secrets.authTokens.existingSecret }}
{{- $files = append $files (dict "name" "auth-tokens" "secret" $root.Values.secrets.authTokens.existingSecret "key" $root.Values.secrets.authTokens.key "env" "ORCH_AUTH_TOKENS") }}
{{- end }}
{{- if and (eq .component "daemon") $root.Values.secrets.alertWebhook.existingSecret }}
{{- $files = append $files (dict "name" "alert-webhook" "secret" $root.Values.secrets.alertWebhook.existingSecret "key" $root.Values.secrets.alertWebhook.key "env" "ALERT_WEBHOOK_URL") }}
{{- end }}
{{- toYaml (dict "files" $files) }}
{{- end }}

{{- define "orch.secretFileEnv" -}}
{{- range (fromYaml (include "orch.secretFiles" .)).files }}
- name: {{ .env }}_FILE
  value: /var/run/secrets/orch/{{ .name }}/{{ .key }}
{{- end }}
{{- end }}

{{- define "orch.secretFileMounts" -}}
{{- range (fromYaml (include "orch.secretFiles" .)).files }}
- name: secret-{{ .name }}
  mountPath: /var/run/secrets/orch/{{ .name }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "orch.secretFileVolumes" -}}
{{- range (fromYaml (include "orch.secretFiles" .)).files }}
- name: secret-{{ .name }}
  secret:
    secretName: {{ .secret }}
    defaultMode: 288  # 0440: owner and group (fsGroup) read
    items:
      - key: {{ .key }}
        path: {{ .key }}
{{- end }}
{{- end }}

{{/* The writable directories under the read-only root filesystem. */}}
{{- define "orch.homeVolumes" -}}
- name: orch-home
  emptyDir:
    sizeLimit: {{ .Values.orchHome.sizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}

{{- define "orch.homeMounts" -}}
- name: orch-home
  mountPath: /var/lib/orch
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "orch.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* The ConfigMap of job files mounted at /etc/orch-jobs (empty: none). */}}
{{- define "orch.jobsConfigMap" -}}
{{- if .Values.jobs.existingConfigMap -}}
{{ .Values.jobs.existingConfigMap }}
{{- else if .Values.jobs.files -}}
{{ include "orch.fullname" . }}-jobs
{{- end -}}
{{- end }}

{{- define "orch.jobsEnv" -}}
{{- if include "orch.jobsConfigMap" . }}
- name: ORCH_JOBS_DIR
  value: /etc/orch-jobs
{{- end }}
{{- end }}

{{- define "orch.jobsMounts" -}}
{{- if include "orch.jobsConfigMap" . }}
- name: jobs
  mountPath: /etc/orch-jobs
  readOnly: true
{{- end }}
{{- end }}

{{- define "orch.jobsVolumes" -}}
{{- with include "orch.jobsConfigMap" . }}
- name: jobs
  configMap:
    name: {{ . }}
{{- end }}
{{- end }}
