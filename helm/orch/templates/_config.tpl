{{/*
The contents of orch.toml as a map: `config` (run queue, retention, schedules) plus [launcher]
from `launcher`, with the chart's defaults filled into [launcher.kubernetes]: the run namespace,
image, pull policy and secrets, the run ServiceAccount, and the workers' environment (the
`orch` settings every process gets, under the user's `env`; with the bundled PostgreSQL, the
Secret that carries DATABASE_URL into the run namespace).
*/}}
{{- define "orch.config" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $launcher := dict "kind" .Values.launcher.kind }}
{{- if eq .Values.launcher.kind "kubernetes" }}
{{- $k8s := deepCopy .Values.launcher.kubernetes }}
{{- if not $k8s.namespace }}{{ $_ := set $k8s "namespace" (include "orch.runNamespace" .) }}{{ end }}
{{- if not $k8s.image }}{{ $_ := set $k8s "image" (include "orch.image" .) }}{{ end }}
{{- if not $k8s.image_pull_policy }}{{ $_ := set $k8s "image_pull_policy" .Values.image.pullPolicy }}{{ end }}
{{- if not $k8s.service_account }}{{ $_ := set $k8s "service_account" (include "orch.runServiceAccountName" .) }}{{ end }}
{{- if not $k8s.image_pull_secrets }}{{ $_ := set $k8s "image_pull_secrets" (.Values.imagePullSecrets | default list) }}{{ end }}
{{- $env := fromYaml (include "orch.commonEnv" .) | default dict }}
{{- $_ := set $k8s "env" (merge (deepCopy ($k8s.env | default dict)) $env) }}
{{- if include "orch.bundledDatabase" . }}
{{- $secrets := $k8s.env_from_secrets | default list }}
{{- $_ := set $k8s "env_from_secrets" (append $secrets (include "orch.runDatabaseSecretName" .) | uniq) }}
{{- end }}
{{- $_ := set $launcher "kubernetes" $k8s }}
{{- else if ne .Values.launcher.kind "local" }}
{{- fail (printf "launcher.kind must be \"kubernetes\" or \"local\", not %q" .Values.launcher.kind) }}
{{- end }}
{{- $_ := set $config "launcher" $launcher }}
{{- toYaml $config }}
{{- end }}

{{- define "orch.configToml" -}}
# orch.toml, written by the Helm chart from its values (config, launcher). Edit the values,
# not this file.
{{ include "orch.toml.document" (fromYaml (include "orch.config" .)) }}
{{- end }}

{{/* The Secret with DATABASE_URL that run Jobs read, when the bundled PostgreSQL is used. */}}
{{- define "orch.runDatabaseSecretName" -}}
{{- if eq (include "orch.runNamespace" .) .Release.Namespace }}
{{- printf "%s-database" (include "orch.fullname" .) }}
{{- else }}
{{- printf "%s-run-database" (include "orch.fullname" .) }}
{{- end }}
{{- end }}
