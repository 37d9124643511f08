{{/*
A small TOML writer for orch.toml. Helm's own toToml writes every number as a float (values
arrive as float64: `3600` becomes `3600.0`), which orch refuses for integer settings; toJson
writes whole numbers as integers, and JSON strings, numbers, booleans and arrays are also TOML.
Tables become inline tables `{ key = value, … }` (one line, as TOML requires). Null values are
left out, so `--set key=null` removes a key.
*/}}

{{- define "orch.toml.key" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . }}{{ . }}{{ else }}{{ toJson . }}{{ end }}
{{- end }}

{{- define "orch.toml.value" -}}
{{- if kindIs "map" . -}}
{{- $parts := list }}
{{- range $k, $v := . }}
{{- if not (kindIs "invalid" $v) }}
{{- $parts = append $parts (printf "%s = %s" (include "orch.toml.key" $k) (include "orch.toml.value" $v)) }}
{{- end }}
{{- end }}
{{- if $parts }}{ {{ join ", " $parts }} }{{ else }}{}{{ end }}
{{- else if kindIs "slice" . -}}
{{- $parts := list }}
{{- range . }}{{ $parts = append $parts (include "orch.toml.value" .) }}{{ end }}
{{- printf "[%s]" (join ", " $parts) }}
{{- else -}}
{{- toJson . }}
{{- end -}}
{{- end }}

{{/*
A whole document from a map of sections: top-level plain keys first, then one [section] per
map, whose map-valued keys become [section.key] tables of their own (so
[schedules.product_pipeline_schedule] and [launcher.kubernetes] read as in the README).
*/}}
{{- define "orch.toml.document" -}}
{{- range $k, $v := . }}
{{- if and (not (kindIs "map" $v)) (not (kindIs "invalid" $v)) }}
{{ include "orch.toml.key" $k }} = {{ include "orch.toml.value" $v }}
{{- end }}
{{- end }}
{{- range $section, $body := . }}
{{- if kindIs "map" $body }}

[{{ include "orch.toml.key" $section }}]
{{- range $k, $v := $body }}
{{- if and (not (kindIs "map" $v)) (not (kindIs "invalid" $v)) }}
{{ include "orch.toml.key" $k }} = {{ include "orch.toml.value" $v }}
{{- end }}
{{- end }}
{{- range $name, $table := $body }}
{{- if kindIs "map" $table }}

[{{ include "orch.toml.key" $section }}.{{ include "orch.toml.key" $name }}]
{{- range $k, $v := $table }}
{{- if not (kindIs "invalid" $v) }}
{{ include "orch.toml.key" $k }} = {{ include "orch.toml.value" $v }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
